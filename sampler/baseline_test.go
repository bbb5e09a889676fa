package sampler

import (
	"encoding/csv"
	"github.com/spatgan/spatgan/features"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/trace"
)

// tinyConv is a hand-made conversation (times in microseconds):
//
//	c   0     100    first burst: no preceding opponent burst, not a row
//	s   1000  200    server burst: count 1, gap 1000
//	c   3000  110    client burst: count 2, gap 2000
//	c   3500  130      in-burst time 500
//	s   4500  300    server burst: count 2, gap 1000
//	s   4700  500      in-burst time 200
//	c   8700  120    client burst: count 1, gap 4000
func tinyConv() *trace.Conversation {
	rows := []struct {
		us   int64
		size int32
		from trace.Side
	}{
		{0, 100, trace.Client}, {1000, 200, trace.Server}, {3000, 110, trace.Client}, {3500, 130, trace.Client},
		{4500, 300, trace.Server}, {4700, 500, trace.Server}, {8700, 120, trace.Client},
	}
	c := &trace.Conversation{Source: "tiny"}
	for _, r := range rows {
		c.Packets = append(c.Packets, trace.Packet{TS: 1e15 + r.us*1000, Size: r.size, From: r.from, Proto: 17})
	}
	return c
}

func TestMomentsByHand(t *testing.T) {
	m, err := Fit("normal", tinyConv())
	if err != nil {
		t.Fatal(err)
	}
	mm := m.(*MomentsModel)
	// Derived by hand from tinyConv's table above.
	want := [2]SideMoments{
		trace.Server: {
			Size:  Moments{N: 3, Mean: 1000.0 / 3, Std: math.Sqrt(70000.0 / 3), Min: 200, Max: 500},
			DtUS:  Moments{N: 1, Mean: 200, Min: 200, Max: 200},
			Count: Moments{N: 2, Mean: 1.5, Std: math.Sqrt(0.5), Min: 1, Max: 2},
			GapUS: Moments{N: 2, Mean: 1000, Min: 1000, Max: 1000},
		},
		trace.Client: {
			Size:  Moments{N: 3, Mean: 120, Std: 10, Min: 110, Max: 130},
			DtUS:  Moments{N: 1, Mean: 500, Min: 500, Max: 500},
			Count: Moments{N: 2, Mean: 1.5, Std: math.Sqrt(0.5), Min: 1, Max: 2},
			GapUS: Moments{N: 2, Mean: 3000, Std: math.Sqrt(2e6), Min: 2000, Max: 4000},
		},
	}
	for side := 0; side < 2; side++ {
		got, w := mm.Sides[side], want[side]
		for i, pair := range [][2]Moments{{got.Size, w.Size}, {got.DtUS, w.DtUS}, {got.Count, w.Count}, {got.GapUS, w.GapUS}} {
			g, e := pair[0], pair[1]
			if g.N != e.N || !close(g.Mean, e.Mean, 1e-12) || !close(g.Std, e.Std, 1e-12) || g.Min != e.Min || g.Max != e.Max {
				t.Errorf("side %d feature %d: got %+v want %+v", side, i, g, e)
			}
		}
	}
}

func close(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// TestMomentsSkype compares the fitted statistics of the embedded Skype
// conversation with testdata/skype5_stats.csv, computed independently by
// testdata/make_reference.py (see testdata/README.md).
func TestMomentsSkype(t *testing.T) {
	conv, err := trace.Default()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Fit("normal", conv)
	if err != nil {
		t.Fatal(err)
	}
	mm := m.(*MomentsModel)
	f, err := os.Open("testdata/skype5_stats.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 9 {
		t.Fatalf("%d rows in the reference", len(recs))
	}
	for _, r := range recs[1:] {
		side := trace.Server
		if r[0] == "client" {
			side = trace.Client
		}
		sm := mm.Sides[side]
		got := map[string]Moments{"size": sm.Size, "dt_us": sm.DtUS, "count": sm.Count, "gap_us": sm.GapUS}[r[1]]
		num := func(i int) float64 {
			v, err := strconv.ParseFloat(r[i], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if got.N != int(num(2)) || !close(got.Mean, num(3), 1e-9) || !close(got.Std, num(4), 1e-9) ||
			got.Min != num(5) || got.Max != num(6) {
			t.Errorf("%s %s: got %+v, reference %v", r[0], r[1], got, r[2:])
		}
	}
}

// phi is the standard normal CDF.
func phi(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

func TestNormalDraws(t *testing.T) {
	s, err := FitNormal(tinyConv(), 1)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100000
	pk := make([]Pkt, n)
	if err := s.BurstsTo([][]Pkt{pk}, trace.Client, convs(1)); err != nil {
		t.Fatal(err)
	}
	// Client size ~ N(120, 10), rounded, clamped into [110, 130]: the mass
	// at 110 is P(X < 110.5) = phi(-0.95), at 130 P(X >= 129.5) = phi(-0.95).
	var lo, hi int
	for _, p := range pk {
		if p.Size < 110 || p.Size > 130 || p.DtNS < 0 || p.DtNS > 500e3 {
			t.Fatalf("draw %+v outside the training range", p)
		}
		switch p.Size {
		case 110:
			lo++
		case 130:
			hi++
		}
	}
	want := phi(-0.95)
	se := math.Sqrt(want * (1 - want) / n)
	for _, got := range []float64{float64(lo) / n, float64(hi) / n} {
		if math.Abs(got-want) > 5*se {
			t.Errorf("clamped mass %.4f, want %.4f +- %.4f", got, want, 5*se)
		}
	}
	// Client in-burst time: one row, std 0 => always 500 us.
	if pk[0].DtNS != 500e3 {
		t.Fatalf("dt %d", pk[0].DtNS)
	}
	tu := make([]Turn, n)
	if err := s.TurnsTo(tu, trace.Client, convs(n)); err != nil {
		t.Fatal(err)
	}
	// Client gap ~ N(3000, 1414.2) us clamped into [0, 4000]: P(at 4000) =
	// 1 - phi(1000/1414.2).
	at := 0
	for _, x := range tu {
		if x.Count < 1 || x.Count > 2 || x.GapNS < 0 || x.GapNS > 4000e3 {
			t.Fatalf("turn %+v outside the training range", x)
		}
		if x.GapNS == 4000e3 {
			at++
		}
	}
	want = 1 - phi(1000/math.Sqrt(2e6))
	se = math.Sqrt(want * (1 - want) / n)
	if got := float64(at) / n; math.Abs(got-want) > 5*se {
		t.Errorf("gap mass at max %.4f, want %.4f", got, want)
	}
}

func TestPoissonBaselineDraws(t *testing.T) {
	s, err := FitPoisson(tinyConv(), 2)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100000
	tu := make([]Turn, n)
	if err := s.TurnsTo(tu, trace.Server, convs(n)); err != nil {
		t.Fatal(err)
	}
	// Server count ~ Poisson(1.5) clamped into [1, 2]: P(1) = P(0)+P(1) =
	// e^-1.5 (1 + 1.5).
	ones := 0
	for _, x := range tu {
		if x.Count == 1 {
			ones++
		}
		if x.GapNS%1000 != 0 || x.GapNS > 1000e3 {
			t.Fatalf("gap %d: want whole microseconds <= 1000", x.GapNS)
		}
	}
	want := math.Exp(-1.5) * 2.5
	se := math.Sqrt(want * (1 - want) / n)
	if got := float64(ones) / n; math.Abs(got-want) > 5*se {
		t.Errorf("P(count 1) %.4f, want %.4f", got, want)
	}
}

func TestPoissonGenerator(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 200000
	for _, lambda := range []float64{0.5, 3, 9.9, 10, 15, 100, 25796.7} {
		counts := map[float64]int{}
		var s, ss float64
		for i := 0; i < n; i++ {
			k := Poisson(r, lambda)
			if k < 0 || k != math.Floor(k) {
				t.Fatalf("lambda %v: draw %v", lambda, k)
			}
			counts[k]++
			s += k
			ss += k * k
		}
		mean := s / n
		variance := ss/n - mean*mean
		// Theory: mean = variance = lambda; SE of the mean sqrt(lambda/n),
		// of the variance sqrt((lambda + 2 lambda^2)/n).
		if d := math.Abs(mean - lambda); d > 5*math.Sqrt(lambda/n) {
			t.Errorf("lambda %v: mean %v", lambda, mean)
		}
		if d := math.Abs(variance - lambda); d > 5*math.Sqrt((lambda+2*lambda*lambda)/n) {
			t.Errorf("lambda %v: variance %v", lambda, variance)
		}
		// pmf around the mode against e^-l l^k / k!.
		for _, k := range []float64{math.Floor(lambda), math.Floor(lambda) + 1, math.Max(0, math.Floor(lambda)-2)} {
			lg, _ := math.Lgamma(k + 1)
			p := math.Exp(-lambda + k*math.Log(lambda) - lg)
			got := float64(counts[k]) / n
			if math.Abs(got-p) > 5*math.Sqrt(p*(1-p)/n)+1e-12 {
				t.Errorf("lambda %v: P(%v) = %.5f, want %.5f", lambda, k, got, p)
			}
		}
	}
	if Poisson(r, 0) != 0 || Poisson(r, -1) != 0 || Poisson(r, math.NaN()) != 0 {
		t.Fatal("non-positive lambda")
	}
}

func TestBootstrapDraws(t *testing.T) {
	s, err := FitBootstrap(tinyConv(), 5)
	if err != nil {
		t.Fatal(err)
	}
	const n = 30000
	tu := make([]Turn, n)
	if err := s.TurnsTo(tu, trace.Server, convs(n)); err != nil {
		t.Fatal(err)
	}
	// Server burst rows: (1, 1000 us) and (2, 1000 us), each with p = 1/2.
	c := map[Turn]int{}
	for _, x := range tu {
		c[x]++
	}
	if len(c) != 2 || math.Abs(float64(c[Turn{Count: 1, GapNS: 1e6}])/n-0.5) > 5*math.Sqrt(0.25/n) {
		t.Fatalf("turn frequencies %v", c)
	}
	pk := make([]Pkt, n)
	if err := s.BurstsTo([][]Pkt{pk}, trace.Server, convs(1)); err != nil {
		t.Fatal(err)
	}
	// Server sizes 200, 300, 500 with p = 1/3; in-burst time always 200 us.
	sz := map[int32]int{}
	for _, p := range pk {
		sz[p.Size]++
		if p.DtNS != 200e3 {
			t.Fatalf("dt %d", p.DtNS)
		}
	}
	for _, v := range []int32{200, 300, 500} {
		if math.Abs(float64(sz[v])/n-1.0/3) > 5*math.Sqrt(2.0/9/n) {
			t.Fatalf("size frequencies %v", sz)
		}
	}
	if len(sz) != 3 {
		t.Fatalf("size frequencies %v", sz)
	}
}

// markovConv builds a conversation with known structure: client bursts of
// k = 1, 2, 3 packets in turn; the server answers each with k+10 packets
// after a gap of k ms, its first packet 100*k bytes, then alternating big
// (1000..1009) and small (150..159) packets; the client's packets alternate
// small (60..69) and big (1200..1209).
func markovConv(rounds int) *trace.Conversation {
	c := &trace.Conversation{Source: "markov-fixture"}
	ts := int64(1e15)
	add := func(from trace.Side, size int32) {
		c.Packets = append(c.Packets, trace.Packet{TS: ts, Size: size, From: from, Proto: 17})
	}
	for i := 0; i < rounds; i++ {
		k := 1 + i%3
		for j := 0; j < k; j++ {
			ts += 500e3
			if j%2 == 0 {
				add(trace.Client, int32(60+i%10))
			} else {
				add(trace.Client, int32(1200+i%10))
			}
		}
		ts += int64(k) * 1e6
		for j := 0; j < k+10; j++ {
			if j > 0 {
				ts += 200e3
			}
			switch {
			case j == 0:
				add(trace.Server, int32(100*k))
			case j%2 == 1:
				add(trace.Server, int32(1000+(i+j)%10))
			default:
				add(trace.Server, int32(150+(i+j)%10))
			}
		}
		ts += 3e6
	}
	return c
}

func TestMarkovConditioning(t *testing.T) {
	s, err := FitMarkov(markovConv(300), 9)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for k := 1; k <= 3; k++ {
		cs := make([]*Conv, n)
		for i := range cs {
			cs[i] = afterOpp(trace.Server, k)
		}
		tu := make([]Turn, n)
		if err := s.TurnsTo(tu, trace.Server, cs); err != nil {
			t.Fatal(err)
		}
		for _, x := range tu {
			if x.Count != k+10 || x.GapNS != int64(k)*1e6 {
				t.Fatalf("after a client burst of %d: turn %+v, want (%d, %d ms)", k, x, k+10, k)
			}
		}
		out := make([][]Pkt, n)
		for i := range out {
			out[i] = make([]Pkt, 12)
		}
		if err := s.BurstsTo(out, trace.Server, cs); err != nil {
			t.Fatal(err)
		}
		for _, burst := range out {
			if burst[0].Size != int32(100*k) {
				t.Fatalf("first packet after a burst of %d: size %d, want %d", k, burst[0].Size, 100*k)
			}
			// Within a burst: after the smallest small packet comes a big
			// one and after the biggest big one a small one (the fixture
			// alternates from the second packet; the sizes in between
			// share quantile bins with the first packets).
			for j := 2; j < len(burst); j++ {
				prev, p := burst[j-1].Size, burst[j]
				if prev == 150 && (p.Size < 1000 || p.Size > 1009) || prev == 1009 && (p.Size < 150 || p.Size > 159) || p.DtNS != 200e3 {
					t.Fatalf("after a %d-byte packet: %+v", prev, p)
				}
			}
		}
	}
	// An unseen state (a 40-packet opponent burst) falls back to all rows.
	cs := make([]*Conv, n)
	for i := range cs {
		cs[i] = afterOpp(trace.Server, 40)
	}
	tu := make([]Turn, n)
	if err := s.TurnsTo(tu, trace.Server, cs); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, x := range tu {
		seen[x.Count] = true
	}
	if len(seen) != 3 || !seen[11] || !seen[12] || !seen[13] {
		t.Fatalf("fallback counts %v", seen)
	}
}

// convs returns n empty conversations.
func convs(n int) []*Conv {
	out := make([]*Conv, n)
	for i := range out {
		out[i] = NewConv(uint64(i + 1))
	}
	return out
}

// afterOpp returns a conversation in which side's opponent just sent a
// burst of count packets.
func afterOpp(side trace.Side, count int) *Conv {
	c := NewConv(1)
	c.H.Observe(side.Other(), features.Burst{Count: count, Bytes: int64(100 * count), GapNS: -1})
	return c
}

func TestDeterminismAndBatching(t *testing.T) {
	conv := markovConv(100)
	for _, name := range Names() {
		m, err := Fit(name, conv)
		if err != nil {
			t.Fatal(err)
		}
		draw := func(s Sampler, batch int) ([]Turn, []Pkt) {
			var tu []Turn
			var pk []Pkt
			for len(tu) < 60 {
				cs := make([]*Conv, batch)
				out := make([][]Pkt, batch)
				for i := range cs {
					j := len(tu) + i // global index: the same histories whatever the batch
					cs[i] = afterOpp(trace.Client, 1+j%3)
					out[i] = make([]Pkt, 1+j%4)
				}
				t1 := make([]Turn, batch)
				if err := s.TurnsTo(t1, trace.Client, cs); err != nil {
					t.Fatal(err)
				}
				if err := s.BurstsTo(out, trace.Client, cs); err != nil {
					t.Fatal(err)
				}
				tu = append(tu, t1...)
				for _, o := range out {
					pk = append(pk, o...)
				}
			}
			return tu, pk
		}
		ta, pa := draw(m.New(7), 1)
		tb, pb := draw(m.New(7), 1)
		if !slices.Equal(ta, tb) || !slices.Equal(pa, pb) {
			t.Fatalf("%s: same seed, different draws", name)
		}
		tc, pc := draw(m.New(8), 1)
		if slices.Equal(ta, tc) && slices.Equal(pa, pc) {
			t.Fatalf("%s: different seeds, same draws", name)
		}
		td, pd := draw(m.New(7), 6)
		if !slices.Equal(ta, td) || !slices.Equal(pa, pd) {
			t.Fatalf("%s: batching changed the draws", name)
		}
		s := m.New(1)
		if s.Name() != name || !strings.HasPrefix(s.(Fingerprinter).Fingerprint(), name+"-v1:") {
			t.Fatalf("%s: name %q fingerprint %q", name, s.Name(), s.(Fingerprinter).Fingerprint())
		}
		if err := s.TurnsTo(make([]Turn, 2), trace.Client, convs(3)); err == nil {
			t.Fatalf("%s: mismatched lengths accepted", name)
		}
		if err := s.BurstsTo(make([][]Pkt, 1), trace.Side(5), convs(1)); err == nil {
			t.Fatalf("%s: side 5 accepted", name)
		}
	}
}

func TestFingerprints(t *testing.T) {
	a, b := markovConv(100), markovConv(101)
	for _, name := range Names() {
		ma, _ := Fit(name, a)
		ma2, _ := Fit(name, markovConv(100))
		mb, _ := Fit(name, b)
		if ma.Fingerprint() != ma2.Fingerprint() {
			t.Errorf("%s: same data, different fingerprints", name)
		}
		if ma.Fingerprint() == mb.Fingerprint() {
			t.Errorf("%s: different data, same fingerprint", name)
		}
	}
}

func TestFitErrors(t *testing.T) {
	if _, err := New("gan2", tinyConv(), 1); err == nil || !strings.Contains(err.Error(), "bootstrap, markov, normal, poisson") {
		t.Fatalf("unknown name: %v", err)
	}
	short := &trace.Conversation{Source: "short.csv", Packets: []trace.Packet{
		{TS: 1, Size: 100, From: trace.Client}, {TS: 2, Size: 100, From: trace.Server}, {TS: 3, Size: 100, From: trace.Client},
	}}
	for _, name := range Names() {
		_, err := New(name, short, 1)
		if err == nil || !strings.HasPrefix(err.Error(), "sampler: "+name+": short.csv: the server side has 1 bursts") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := New("normal", nil, 1); err == nil {
		t.Fatal("nil conversation accepted")
	}
}
