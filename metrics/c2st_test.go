package metrics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/trace"
)

// gaussRows draws n rows of d independent normals, all standard but the
// first column, which has mean mean0 and standard deviation sd0.
func gaussRows(rng *rand.Rand, n, d int, mean0, sd0 float64) [][]float64 {
	rows := make([][]float64, n)
	for i := range rows {
		r := make([]float64, d)
		for j := range r {
			r[j] = rng.NormFloat64()
		}
		r[0] = r[0]*sd0 + mean0
		rows[i] = r
	}
	return rows
}

// TestC2STDetects compares the held-out accuracy with the Bayes-optimal
// accuracy of each pair of distributions, derived by hand (equal priors):
//   - means 0 and delta, unit variance: Phi(delta/2);
//     delta = 2: Phi(1) = 0.8413; delta = 0.5: Phi(0.25) = 0.5987;
//   - N(0,1) against N(0,4): the densities cross at |x| = t with
//     t^2 = 2*1*4/(4-1)*ln 2 = 1.8484, t = 1.3596; P(|x|<t | sd 1) =
//     2 Phi(1.3596)-1 = 0.8260, P(|x|>t | sd 2) = 2(1-Phi(0.6798)) = 0.4966;
//     Bayes accuracy (0.8260+0.4966)/2 = 0.6613.
//
// No classifier beats the Bayes accuracy except by chance; a good one comes
// close. With 600 held-out rows the standard error is about 0.02.
func TestC2STDetects(t *testing.T) {
	cases := []struct {
		name        string
		mean, sd    float64
		bayes, lose float64 // Bayes accuracy; the least accuracy accepted
	}{
		{"shift 2 sd", 2, 1, 0.8413, 0.79},
		{"shift 0.5 sd", 0.5, 1, 0.5987, 0.55},
		{"variance x4", 0, 2, 0.6613, 0.60},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			real := gaussRows(rng, 1000, 3, 0, 1)
			syn := gaussRows(rng, 1000, 3, c.mean, c.sd)
			r, err := C2ST(real, syn, C2STConfig{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("accuracy %.4f (Bayes %.4f)", r.Accuracy, c.bayes)
			if r.NTest != 600 || r.NTrain != 1400 {
				t.Errorf("NTrain/NTest = %d/%d, want 1400/600", r.NTrain, r.NTest)
			}
			if r.Accuracy < c.lose || r.Accuracy > c.bayes+3*r.StdErr {
				t.Errorf("accuracy %.4f, want in [%.2f, Bayes %.4f + 3 se %.4f]", r.Accuracy, c.lose, c.bayes, 3*r.StdErr)
			}
		})
	}
}

// TestC2STIndistinguishable checks that samples from one distribution score
// near 0.5: within 4 standard errors (4*0.0204 at 600 held-out rows) for
// each seed, and within 0.03 on average over five seeds (se 0.009).
func TestC2STIndistinguishable(t *testing.T) {
	var sum float64
	const seeds = 5
	for s := range uint64(seeds) {
		rng := rand.New(rand.NewPCG(100+s, 7))
		real := gaussRows(rng, 1000, 3, 0, 1)
		syn := gaussRows(rng, 1000, 3, 0, 1)
		r, err := C2ST(real, syn, C2STConfig{Seed: s})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: accuracy %.4f", s, r.Accuracy)
		if math.Abs(r.Accuracy-0.5) > 4*0.0204 {
			t.Errorf("seed %d: accuracy %.4f on identical distributions", s, r.Accuracy)
		}
		sum += r.Accuracy
	}
	if m := sum / seeds; math.Abs(m-0.5) > 0.03 {
		t.Errorf("mean accuracy %.4f on identical distributions", m)
	}
}

func TestC2STDeterministicAndBalanced(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	real := gaussRows(rng, 3000, 2, 0, 1) // unequal class sizes
	syn := gaussRows(rng, 500, 2, 1, 1)
	a, err := C2ST(real, syn, C2STConfig{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := C2ST(real, syn, C2STConfig{Seed: 9})
	if a != b {
		t.Errorf("same seed, different results: %+v %+v", a, b)
	}
	// 500 per class: 150 held out each.
	if a.NTest != 300 || a.NTrain != 700 {
		t.Errorf("NTrain/NTest = %d/%d, want 700/300 (balanced to the smaller class)", a.NTrain, a.NTest)
	}
	c, _ := C2ST(real, syn, C2STConfig{Seed: 9, MaxRows: 100})
	if c.NTest != 60 || c.NTrain != 140 {
		t.Errorf("MaxRows 100: NTrain/NTest = %d/%d, want 140/60", c.NTrain, c.NTest)
	}
}

func TestC2STErrors(t *testing.T) {
	ok := [][]float64{{1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}}
	cases := []struct {
		name      string
		real, syn [][]float64
		cfg       C2STConfig
		want      string
	}{
		{"no rows", nil, ok, C2STConfig{}, "0 real"},
		{"width", ok, [][]float64{{1, 2}, {3}}, C2STConfig{}, "synthetic row 1 has 1 columns"},
		{"NaN", [][]float64{{1, 2}, {3, math.NaN()}}, ok, C2STConfig{}, "real row 1 column 1 is NaN"},
		{"too few", ok[:2], ok, C2STConfig{}, "2 rows per class"},
		{"fraction", ok, ok, C2STConfig{TestFraction: 1.5}, "test fraction"},
		{"bins", ok, ok, C2STConfig{MaxBins: 300}, "max bins"},
		{"rate", ok, ok, C2STConfig{LearningRate: -1}, "learning rate"},
		{"empty row", [][]float64{{}}, ok, C2STConfig{}, "no columns"},
	}
	for _, c := range cases {
		_, err := C2ST(c.real, c.syn, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "metrics: ") {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// seqFromTuples lays out packets (side, size, delta us) on a timeline.
func seqFromTuples(from []trace.Side, size []int32, dtUS []int64) []trace.Packet {
	p := make([]trace.Packet, len(from))
	var ts int64 = 1_000_000_000
	for i := range p {
		ts += dtUS[i] * 1000
		p[i] = trace.Packet{TS: ts, Size: size[i], From: from[i], Proto: 17}
	}
	return p
}

// TestC2STWindowsSeesOrder builds a real sequence with strict structure
// (two client packets, then two server packets, each side with its own size
// and delta) and a synthetic one drawn from the same per-packet distribution
// in random order. Single packets are identically distributed, so the
// packet test must be near 0.5; windows of 4 packets expose the order.
// (The synthetic packets are fresh draws, not the real ones shuffled: with
// the very same rows on both sides a classifier that memorises training rows
// scores below 0.5, since a held-out real row's twin sits in the synthetic
// training set.)
func TestC2STWindowsSeesOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const n = 8000
	draw := func() ([]trace.Side, []int32, []int64) {
		from := make([]trace.Side, n)
		size := make([]int32, n)
		dt := make([]int64, n)
		for i := range from {
			if i%4 < 2 {
				from[i], size[i], dt[i] = trace.Client, int32(100+rng.IntN(20)), int64(20000+rng.IntN(1000))
			} else {
				from[i], size[i], dt[i] = trace.Server, int32(250+rng.IntN(100)), int64(100+rng.IntN(400))
			}
		}
		return from, size, dt
	}
	real := seqFromTuples(draw())
	from, size, dt := draw()
	perm := rng.Perm(n)
	sf, ss, sd := make([]trace.Side, n), make([]int32, n), make([]int64, n)
	for i, j := range perm {
		sf[i], ss[i], sd[i] = from[j], size[j], dt[j]
	}
	syn := seqFromTuples(sf, ss, sd)

	one, err := C2STWindows(real, syn, 1, C2STConfig{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(one.Accuracy-0.5) > 4*one.StdErr+0.01 {
		t.Errorf("single packets: accuracy %.4f, want about 0.5 (same packets)", one.Accuracy)
	}
	four, err := C2STWindows(real, syn, 4, C2STConfig{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	// A random window of 4 matches the real phase pattern (one of the 4
	// rotations of CCSS) with probability 4/16 at most, so a classifier that
	// knows the pattern reaches at least (1 + 0.75)/2 = 0.875.
	t.Logf("single packets %.4f, windows of 4 %.4f", one.Accuracy, four.Accuracy)
	if four.Accuracy < 0.8 {
		t.Errorf("windows of 4: accuracy %.4f, want >= 0.8", four.Accuracy)
	}
	if _, err := C2STWindows(real, syn, 0, C2STConfig{}); err == nil {
		t.Error("window 0 accepted")
	}
}

// TestC2STWindowsOfFindsTheColumn: real and synthetic sequences share
// their directions and times and differ in sizes only (the synthetic sizes
// come from a wider range). Windows without the size column must be near
// 0.5; windows with it, and sizes alone, must tell them apart.
func TestC2STWindowsOfFindsTheColumn(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 8000
	draw := func(spread int) []trace.Packet {
		from := make([]trace.Side, n)
		size := make([]int32, n)
		dt := make([]int64, n)
		for i := range from {
			from[i] = trace.Side(rng.IntN(2))
			size[i] = int32(100 + rng.IntN(spread))
			dt[i] = int64(100 + rng.IntN(5000))
		}
		return seqFromTuples(from, size, dt)
	}
	real, syn := draw(50), draw(400)
	acc := map[Columns]float64{}
	for _, cols := range []Columns{AllColumns, ColDirection | ColTime, ColSize, ColDirection} {
		r, err := C2STWindowsOf(real, syn, 4, cols, C2STConfig{Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		acc[cols] = r.Accuracy
		t.Logf("%s: %.4f", cols, r.Accuracy)
	}
	for _, cols := range []Columns{ColDirection | ColTime, ColDirection} {
		if math.Abs(acc[cols]-0.5) > 0.05 {
			t.Errorf("without sizes (%s): accuracy %.4f, want about 0.5", cols, acc[cols])
		}
	}
	for _, cols := range []Columns{AllColumns, ColSize} {
		if acc[cols] < 0.9 {
			t.Errorf("with sizes (%s): accuracy %.4f, want >= 0.9", cols, acc[cols])
		}
	}
}
