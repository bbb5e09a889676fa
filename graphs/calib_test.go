package graphs

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// normalRows returns n rows of two columns, column j drawn from
// N(mean[j], sd[j]²).
func normalRows(rng *rand.Rand, n int, mean, sd [2]float64) []float32 {
	out := make([]float32, 2*n)
	for i := 0; i < n; i++ {
		for j := 0; j < 2; j++ {
			out[2*i+j] = float32(mean[j] + sd[j]*rng.NormFloat64())
		}
	}
	return out
}

// ksNormal is the KS distance of xs from N(0, 1), with the normal CDF
// written from math.Erfc (independent of the code under test).
func ksNormal(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	n := float64(len(xs))
	d := 0.0
	for i, x := range xs {
		f := 0.5 * math.Erfc(-x/math.Sqrt2)
		d = math.Max(d, math.Max(math.Abs(f-float64(i)/n), math.Abs(float64(i+1)/n-f)))
	}
	return d
}

// A generator whose outputs are too narrow and shifted (N(0.3, 0.5²) and
// N(-1, 2²)) is mapped onto N(0, 1) training targets: fresh outputs of the
// same generator come out N(0, 1) (KS below 0.025, the 1% critical value
// of a 5,000-sample test allowing for the two 200,000-row tables' own
// sampling error), in the same order as they went in.
func TestCalibMapsOntoTrainingMarginal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	mean, sd := [2]float64{0.3, -1}, [2]float64{0.5, 2}
	c, err := FitCalib(normalRows(rng, 200000, mean, sd), normalRows(rng, 200000, [2]float64{}, [2]float64{1, 1}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	fresh := normalRows(rng, 5000, mean, sd)
	for j := 0; j < 2; j++ {
		var before, after []float64
		for i := 0; i < 5000; i++ {
			z := float64(fresh[2*i+j])
			before = append(before, z)
			after = append(after, c.Map(j, z))
		}
		if d := ksNormal(before); d < 0.1 {
			t.Fatalf("target %d: the uncalibrated outputs are already N(0,1) (KS %.3f): the test shows nothing", j, d)
		}
		if d := ksNormal(after); d > 0.025 {
			t.Errorf("target %d: calibrated outputs KS %.4f from N(0,1), want <= 0.025", j, d)
		}
		for i := 1; i < len(before); i++ {
			if (before[i] < before[i-1]) && after[i] > after[i-1] || (before[i] > before[i-1]) && after[i] < after[i-1] {
				t.Fatalf("target %d: map not monotone: %v -> %v, %v -> %v", j, before[i-1], after[i-1], before[i], after[i])
			}
		}
	}
}

// A generator that already matches the training distribution maps to
// itself (up to the sampling error of the tables), and outputs beyond its
// observed range map to the training extremes.
func TestCalibIdentityAndEnds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	one := [2]float64{1, 1}
	c, err := FitCalib(normalRows(rng, 50000, [2]float64{}, one), normalRows(rng, 50000, [2]float64{}, one))
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range []float64{-2, -1, -0.3, 0, 0.5, 1.5, 2} {
		if got := c.Map(0, z); math.Abs(got-z) > 0.06 {
			t.Errorf("Map(%v) = %v, want about %v", z, got, z)
		}
	}
	lo, hi := c.Target[1][0], c.Target[1][len(c.Target[1])-1]
	if got := c.Map(1, -50); got != lo {
		t.Errorf("Map(-50) = %v, want the training minimum %v", got, lo)
	}
	if got := c.Map(1, 50); got != hi {
		t.Errorf("Map(50) = %v, want the training maximum %v", got, hi)
	}
	if got := c.Map(1, math.NaN()); !math.IsNaN(got) {
		t.Errorf("Map(NaN) = %v, want NaN (Valid replaces it)", got)
	}
}

// A generator that piles a third of its outputs onto one value sends that
// value to the middle of the training quantiles it covers, and the rest
// stays monotone.
func TestCalibTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	gen := normalRows(rng, 30000, [2]float64{}, [2]float64{1, 1})
	for i := 0; i < 10000; i++ {
		gen[2*i] = 0.25
	}
	target := normalRows(rng, 30000, [2]float64{}, [2]float64{1, 1})
	c, err := FitCalib(gen, target)
	if err != nil {
		t.Fatal(err)
	}
	// 0.25 holds the levels from Φ(0.25)·(2/3) ≈ 0.40 to that plus 1/3 ≈
	// 0.73: the middle level ≈ 0.57, whose N(0,1) quantile is ≈ 0.17.
	lvlLo := 0.5 * math.Erfc(-0.25/math.Sqrt2) * 2 / 3
	mid := lvlLo + 1.0/6
	want := -math.Sqrt2 * math.Erfcinv(2*mid)
	if got := c.Map(0, 0.25); math.Abs(got-want) > 0.05 {
		t.Errorf("Map(tied value) = %v, want about %v", got, want)
	}
	if !(c.Map(0, 0.2) <= c.Map(0, 0.25) && c.Map(0, 0.25) <= c.Map(0, 0.3)) {
		t.Errorf("not monotone around the tied value: %v %v %v", c.Map(0, 0.2), c.Map(0, 0.25), c.Map(0, 0.3))
	}
}

func TestCalibRejectsBadInput(t *testing.T) {
	if _, err := FitCalib([]float32{1, 2}, []float32{1, 2, 3, 4}); err == nil {
		t.Error("one generated row accepted")
	}
	if _, err := FitCalib([]float32{1, 2, float32(math.NaN()), 4}, []float32{1, 2, 3, 4}); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Errorf("NaN output: %v, want an error naming row 1", err)
	}
	good, err := FitCalib([]float32{0, 0, 1, 1, 2, 2}, []float32{0, 0, 1, 1, 2, 2})
	if err != nil {
		t.Fatal(err)
	}
	for name, damage := range map[string]func(c *Calib){
		"unequal lengths": func(c *Calib) { c.Target[0] = c.Target[0][:3] },
		"out of order":    func(c *Calib) { c.Gen[1][5] = 100 },
		"not finite":      func(c *Calib) { c.Target[1][0] = math.Inf(-1) },
		"too short":       func(c *Calib) { c.Gen[0], c.Target[0] = c.Gen[0][:1], c.Target[0][:1] },
		"damp of one":     func(c *Calib) { c.Damp = []float64{0.5} },
		"damp above 1":    func(c *Calib) { c.Damp = []float64{0, 1.5} },
		"damp NaN":        func(c *Calib) { c.Damp = []float64{math.NaN(), 0} },
	} {
		c := &Calib{}
		for j := 0; j < 2; j++ {
			c.Gen[j], c.Target[j] = slices.Clone(good.Gen[j]), slices.Clone(good.Target[j])
		}
		damage(c)
		if err := c.Check(); err == nil {
			t.Errorf("%s: Check accepted it", name)
		}
	}
}

// Damp d moves the map's output back towards z by the share d: a map that
// doubles (generated N(0,1) onto training N(0,2)) sends z to 2z in full,
// to 1.5z at d = 0.5 and to z at d = 1, per target.
func TestCalibDamp(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	c, err := FitCalib(normalRows(rng, 100000, [2]float64{}, [2]float64{1, 1}), normalRows(rng, 100000, [2]float64{}, [2]float64{2, 2}))
	if err != nil {
		t.Fatal(err)
	}
	full := c.Map(1, 1)
	if math.Abs(full-2) > 0.08 {
		t.Fatalf("Map(1) = %v without damping, want about 2", full)
	}
	for _, tc := range []struct{ d, want float64 }{{0, full}, {0.5, (full + 1) / 2}, {1, 1}} {
		c.Damp = []float64{0, tc.d}
		if err := c.Check(); err != nil {
			t.Fatal(err)
		}
		if got := c.Map(1, 1); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("damp %v: Map(1, 1) = %v, want %v", tc.d, got, tc.want)
		}
		if got := c.Map(0, 1); math.Abs(got-full) > 0.08 {
			t.Errorf("damp %v on the time: the size's Map(0, 1) = %v, want the full map's about %v", tc.d, got, full)
		}
		if !(c.Map(1, -0.5) < c.Map(1, 0) && c.Map(1, 0) < c.Map(1, 0.5)) {
			t.Errorf("damp %v: not monotone", tc.d)
		}
	}
}

// FitCalibByPos fits the burst openers and the later packets each onto
// their own training rows: a generator whose openers come out N(1, 0.5²)
// and later packets N(-1, 2²), against training openers N(0, 1) and later
// packets N(3, 1), maps fresh outputs of each group onto its own training
// distribution (KS below 0.025 after shifting the later packets by 3),
// chosen by the row's pos column (MapCond); without a condition, or for a
// pos of 0, the openers' map applies.
func TestCalibByPos(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 100000
	openGen, laterGen := [2]float64{1, 1}, [2]float64{-1, -1}
	openSD, laterSD := [2]float64{0.5, 0.5}, [2]float64{2, 2}
	gen := append(normalRows(rng, n, openGen, openSD), normalRows(rng, n, laterGen, laterSD)...)
	target := append(normalRows(rng, n, [2]float64{}, [2]float64{1, 1}), normalRows(rng, n, [2]float64{3, 3}, [2]float64{1, 1})...)
	flags := make([]bool, 2*n)
	for i := n; i < 2*n; i++ {
		flags[i] = true
	}
	const posCol = 2
	c, err := FitCalibByPos(gen, flags, target, flags, posCol)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	cond := func(pos float64) []float64 { return []float64{7, 7, pos, 7} }
	for j := 0; j < 2; j++ {
		var open, openNil, later []float64
		for i := 0; i < 5000; i++ {
			zo := openGen[j] + openSD[j]*rng.NormFloat64()
			open = append(open, c.MapCond(j, zo, cond(0)))
			openNil = append(openNil, c.MapCond(j, zo, nil))
			zl := laterGen[j] + laterSD[j]*rng.NormFloat64()
			later = append(later, c.MapCond(j, zl, cond(3))-3)
		}
		if d := ksNormal(open); d > 0.025 {
			t.Errorf("target %d: openers KS %.4f from N(0,1)", j, d)
		}
		if !slices.Equal(open, openNil) {
			t.Errorf("target %d: no condition did not map as an opener", j)
		}
		if d := ksNormal(later); d > 0.025 {
			t.Errorf("target %d: later packets KS %.4f from N(3,1) (shifted)", j, d)
		}
	}
	if _, err := FitCalibByPos(gen, flags[:n], target, flags, posCol); err == nil {
		t.Error("flags for half the generated rows accepted")
	}
	if _, err := FitCalibByPos(gen, make([]bool, 2*n), target, flags, posCol); err == nil || !strings.Contains(err.Error(), "later in bursts") {
		t.Errorf("no generated later packet: %v, want an error naming the later packets", err)
	}
	for name, damage := range map[string]func(c *Calib){
		"negative pos column":   func(c *Calib) { c.PosCol = -1 },
		"pos column, no map":    func(c *Calib) { c.Later, c.PosCol = nil, 2 },
		"later out of order":    func(c *Calib) { c.Later.Gen[0][5] = 100 },
		"later unequal lengths": func(c *Calib) { c.Later.Target[1] = c.Later.Target[1][:3] },
	} {
		d := *c
		l := *c.Later
		for j := 0; j < 2; j++ {
			l.Gen[j], l.Target[j] = slices.Clone(c.Later.Gen[j]), slices.Clone(c.Later.Target[j])
		}
		d.Later = &l
		damage(&d)
		if err := d.Check(); err == nil {
			t.Errorf("%s: Check accepted it", name)
		}
	}
}

// Toward moves the generated quantiles knot by knot the share step of the
// way from prev's (step 1: next's own), the later packets' map from prev's
// later map or, without one, from prev's main map; the training quantiles
// are next's. A step outside (0, 1] or tables of other lengths are refused.
func TestCalibToward(t *testing.T) {
	mk := func(g0, g1, t0 float64) [2][]float64 {
		return [2][]float64{{g0, g0 + 1, g0 + 2}, {g1, g1 + 1, g1 + 2}}
	}
	prev := &Calib{Gen: mk(0, 10, 0), Target: mk(100, 100, 0)}
	next := &Calib{Gen: mk(4, 14, 0), Target: mk(200, 200, 0), Later: &CalibMap{Gen: mk(8, 18, 0), Target: mk(300, 300, 0)}, PosCol: 3}
	got, err := next.Toward(prev, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	// main: 0 + 0.25*(4-0) = 1, 10 + 0.25*4 = 11; later from prev's main:
	// 0 + 0.25*8 = 2, 10 + 0.25*8 = 12.
	want := &Calib{Gen: mk(1, 11, 0), Target: mk(200, 200, 0), Later: &CalibMap{Gen: mk(2, 12, 0), Target: mk(300, 300, 0)}, PosCol: 3}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("step 0.25: %+v\nwant %+v", got, want)
	}
	prev.Later = &CalibMap{Gen: mk(20, 30, 0), Target: mk(0, 0, 0)}
	if got, err = next.Toward(prev, 0.5); err != nil || !reflect.DeepEqual(got.Later.Gen, mk(14, 24, 0)) {
		t.Errorf("from prev's later map: %+v, %v; want generated knots from 14 and 24", got.Later, err)
	}
	if got, err = next.Toward(prev, 1); err != nil || !reflect.DeepEqual(got, next) {
		t.Errorf("step 1: %+v, %v; want next", got, err)
	}
	if next.Gen[0][0] != 4 || next.Later.Gen[0][0] != 8 {
		t.Error("Toward changed next")
	}
	for _, s := range []float64{0, -0.5, 1.5, math.NaN()} {
		if _, err := next.Toward(prev, s); err == nil {
			t.Errorf("step %v accepted", s)
		}
	}
	short := &Calib{Gen: [2][]float64{{0, 1}, {0, 1}}, Target: prev.Target}
	if _, err := next.Toward(short, 0.5); err == nil {
		t.Error("tables of other lengths accepted")
	}
}
