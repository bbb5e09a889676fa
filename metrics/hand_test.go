package metrics

import (
	"math"
	"testing"
)

// Cases derived by hand; each comment shows the derivation.
func TestHandDerived(t *testing.T) {
	cases := []struct {
		name      string
		got, want float64
		tol       float64
	}{
		// x = {1,2,3}, y = {2,3,4}: on [1,2) F_x-F_y = 1/3-0, on [2,3) 2/3-1/3,
		// on [3,4) 1-2/3: KS = 1/3; W1 = 3 intervals of length 1 at 1/3 = 1.
		{"KS shift", KS([]float64{1, 2, 3}, []float64{2, 3, 4}), 1.0 / 3, 1e-15},
		{"W1 shift", W1([]float64{1, 2, 3}, []float64{2, 3, 4}), 1, 1e-15},
		// x = {0,0,1}, y = {0,1,1}: F_x = 2/3, F_y = 1/3 on [0,1): KS = 1/3,
		// W1 = 1/3 * 1.
		{"KS ties", KS([]float64{0, 0, 1}, []float64{1, 0, 1}), 1.0 / 3, 1e-15},
		{"W1 ties", W1([]float64{0, 0, 1}, []float64{1, 0, 1}), 1.0 / 3, 1e-15},
		// Disjoint supports: KS = 1; W1 = distance between the point masses.
		{"KS disjoint", KS([]float64{5}, []float64{7, 7}), 1, 0},
		{"W1 disjoint", W1([]float64{5}, []float64{7, 7}), 2, 0},
		// W1 with unequal n: x = {0,1}, y = {0}: |F_x - F_y| = 1/2 on [0,1).
		{"W1 unequal n", W1([]float64{0, 1}, []float64{0}), 0.5, 1e-15},
		// W1 on log-times: 10 us vs 1000 us is 2 decades; 0.5 us maps to 0.
		{"W1Log decades", W1Log([]float64{10}, []float64{1000}), 2, 1e-15},
		{"W1Log sub-us", W1Log([]float64{0.5}, []float64{10}), 1, 1e-15},
		// p = (1/2,1/2), q = (1,0), m = (3/4,1/4):
		// JSD = 1/2[1/2 log2(2/3) + 1/2 log2 2] + 1/2 log2(4/3) = 3/2 - 3/4 log2 3.
		{"JSDProb half", JSDProb([]float64{1, 1}, []float64{3, 0}), 1.5 - 0.75*math.Log2(3), 1e-15},
		// Disjoint histograms: JSD = 1 bit.
		{"JSDProb disjoint", JSDProb([]float64{1, 0}, []float64{0, 1}), 1, 1e-15},
		// Sizes 5 and 15 bytes fall in size bins 0 and 1: disjoint, 1 bit;
		// 1600 and 99999 both fall in the overflow bin: identical, 0.
		{"JSD size bins", JSD([]float64{5}, []float64{15}, SizeBins), 1, 1e-15},
		{"JSD overflow", JSD([]float64{1600}, []float64{99999}, SizeBins), 0, 0},
		// Burst lengths 40 and 31 share the 31+ bin; 0 and 1 share bin 1.
		{"JSD burst edges", JSD([]float64{40, 0}, []float64{31, 1}, BurstBins), 0, 0},
		// x = 1,2,3,4: mean 2.5, deviations -1.5,-.5,.5,1.5, sum of squares 5.
		// lag 1: (.75 - .25 + .75)/5 = .25; lag 2: (-.75 - .75)/5 = -.3;
		// lag 3: -2.25/5 = -.45.
		{"ACF lag1", mustACF(t, []float64{1, 2, 3, 4}, 3)[0], 0.25, 1e-15},
		{"ACF lag2", mustACF(t, []float64{1, 2, 3, 4}, 3)[1], -0.3, 1e-15},
		{"ACF lag3", mustACF(t, []float64{1, 2, 3, 4}, 3)[2], -0.45, 1e-15},
		// ACF error of (.25,-.3) against (0,0): (.0625+.09)/(.0625+.09) = 1;
		// against (.25,0): .09/.1525.
		{"ACFErrorFrom none", mustACFErr(t, []float64{.25, -.3}, []float64{0, 0}), 1, 1e-15},
		{"ACFErrorFrom half", mustACFErr(t, []float64{.25, -.3}, []float64{.25, 0}), .09 / .1525, 1e-15},
		// x = 1,2,2,3 has average ranks 1,2.5,2.5,4; y = 1,3,2,4 ranks 1,3,2,4.
		// Deviations from 2.5: (-1.5,0,0,1.5), (-1.5,.5,-.5,1.5):
		// rho = 4.5 / sqrt(4.5 * 5) = 3/sqrt(10).
		{"Spearman ties", mustSpearman(t, []float64{1, 2, 2, 3}, []float64{1, 3, 2, 4}), 3 / math.Sqrt(10), 1e-15},
		// Any strictly decreasing relation: -1.
		{"Spearman monotone", mustSpearman(t, []float64{1, 2, 3, 10}, []float64{9, 4, 1, 0}), -1, 1e-15},
		// x = 1,2,3,4, p = .25: h = 3*.25 = .75, 1 + .75*(2-1) = 1.75 (numpy).
		{"Quantile .25", Quantile([]float64{4, 3, 2, 1}, 0.25), 1.75, 1e-15},
		// p = .5 of 1,2,3,4: h = 1.5, 2.5.
		{"Quantile median", Quantile([]float64{1, 2, 3, 4}, 0.5), 2.5, 1e-15},
		// Std of 2,4,4,4,5,5,7,9: mean 5, squares sum 32, 32/7.
		{"Std", Std([]float64{2, 4, 4, 4, 5, 5, 7, 9}), math.Sqrt(32.0 / 7), 1e-15},
	}
	for _, c := range cases {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %.17g, want %.17g", c.name, c.got, c.want)
		}
	}
}

func mustACF(t *testing.T, x []float64, k int) []float64 {
	t.Helper()
	r, err := ACF(x, k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustACFErr(t *testing.T, a, b []float64) float64 {
	t.Helper()
	r, err := ACFErrorFrom(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustSpearman(t *testing.T, x, y []float64) float64 {
	t.Helper()
	r, err := Spearman(x, y)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBinEdges checks the schemes against fidelity.md by hand: counts and
// the bins that particular values land in.
func TestBinEdges(t *testing.T) {
	if n := SizeBins.Len(); n != 153 { // 1520/10 = 152 bins + overflow
		t.Errorf("SizeBins has %d bins, want 153", n)
	}
	if n := TimeBins.Len(); n != 72 { // [0,1us) + 7 decades * 10 + overflow
		t.Errorf("TimeBins has %d bins, want 72", n)
	}
	if n := BurstBins.Len(); n != 31 { // 1..30 + 31+
		t.Errorf("BurstBins has %d bins, want 31", n)
	}
	cases := []struct {
		bins Bins
		v    float64
		want int
	}{
		{SizeBins, -5, 0}, {SizeBins, 0, 0}, {SizeBins, 9.99, 0}, {SizeBins, 10, 1},
		{SizeBins, 1519, 151}, {SizeBins, 1520, 152}, {SizeBins, 1e9, 152}, {SizeBins, math.Inf(1), 152},
		{SizeBins, math.Inf(-1), 0},
		// time: bin 0 is [0,1); bin 1+k is [10^(k/10), 10^((k+1)/10)).
		{TimeBins, -1, 0}, {TimeBins, 0, 0}, {TimeBins, 0.999, 0}, {TimeBins, 1, 1},
		{TimeBins, 1.2, 1},  // < 10^0.1 = 1.2589
		{TimeBins, 1.26, 2}, // >= 10^0.1
		{TimeBins, 9.99, 10}, {TimeBins, 10, 11}, {TimeBins, 100, 21}, {TimeBins, 1000, 31},
		{TimeBins, 1e6, 61}, {TimeBins, 9.99e6, 70}, {TimeBins, 1e7, 71}, {TimeBins, 6e8, 71},
		{BurstBins, 0, 0}, {BurstBins, 1, 0}, {BurstBins, 2, 1}, {BurstBins, 2.5, 1},
		{BurstBins, 30, 29}, {BurstBins, 31, 30}, {BurstBins, 134, 30},
	}
	for _, c := range cases {
		if got := c.bins.Index(c.v); got != c.want {
			t.Errorf("%s.Index(%v) = %d, want %d", c.bins.Name(), c.v, got, c.want)
		}
	}
	if SizeBins.Index(math.NaN()) != -1 {
		t.Error("Index(NaN) should be -1")
	}
	// Decade edges are exact powers of ten.
	l := TimeBins.Lower()
	for k := 0; k <= 7; k++ {
		if l[1+10*k] != math.Pow10(k) {
			t.Errorf("time edge %d = %v, want 1e%d", 1+10*k, l[1+10*k], k)
		}
	}
}

func TestNewBinsErrors(t *testing.T) {
	for _, lower := range [][]float64{nil, {1, 1}, {2, 1}, {0, math.NaN()}, {math.Inf(-1), 0}} {
		if _, err := NewBins("x", lower); err == nil {
			t.Errorf("NewBins(%v) succeeded", lower)
		}
	}
	b, err := NewBins("thirds", []float64{0, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	// -1 (below the first edge, clamped), 0 and 0.5 land in bin 0, 1.5 in bin 1,
	// 7 in the overflow bin 2; NaN is not counted.
	h := b.Histogram([]float64{-1, 0, 0.5, 1.5, 7, math.NaN()})
	want := []float64{3, 1, 1}
	for i := range want {
		if h[i] != want[i] {
			t.Fatalf("Histogram = %v, want %v", h, want)
		}
	}
}

func TestUndefinedInputs(t *testing.T) {
	nan := math.NaN()
	for name, v := range map[string]float64{
		"KS empty":        KS(nil, []float64{1}),
		"W1 empty":        W1([]float64{1}, nil),
		"JSD empty":       JSD(nil, []float64{1}, SizeBins),
		"KS NaN":          KS([]float64{nan}, []float64{1}),
		"W1 NaN":          W1([]float64{1, nan}, []float64{1}),
		"JSD NaN":         JSD([]float64{1}, []float64{nan}, SizeBins),
		"JSDProb lengths": JSDProb([]float64{1}, []float64{1, 2}),
		"JSDProb zero":    JSDProb([]float64{0, 0}, []float64{1, 2}),
		"JSDProb neg":     JSDProb([]float64{-1, 2}, []float64{1, 2}),
		"Quantile empty":  Quantile(nil, 0.5),
		"Quantile p>1":    Quantile([]float64{1}, 1.5),
		"Quantile NaN":    Quantile([]float64{1, nan}, 0.5),
		"Mean empty":      Mean(nil),
		"Std one":         Std([]float64{3}),
	} {
		if !math.IsNaN(v) {
			t.Errorf("%s = %v, want NaN", name, v)
		}
	}
	if r, err := Spearman([]float64{1, 1, 1}, []float64{1, 2, 3}); err != nil || !math.IsNaN(r) {
		t.Errorf("Spearman of a constant = %v, %v; want NaN, nil (as scipy)", r, err)
	}
	if _, err := Spearman([]float64{1, 2}, []float64{1}); err == nil {
		t.Error("Spearman with mismatched lengths succeeded")
	}
	if _, err := Spearman([]float64{1}, []float64{1}); err == nil {
		t.Error("Spearman with one pair succeeded")
	}
	for _, c := range []struct {
		x []float64
		k int
	}{{[]float64{1, 2, 3}, 0}, {[]float64{1, 2, 3}, 3}, {[]float64{1, nan, 3, 4}, 1}, {[]float64{1, math.Inf(1), 3}, 1}} {
		if _, err := ACF(c.x, c.k); err == nil {
			t.Errorf("ACF(%v, %d) succeeded", c.x, c.k)
		}
	}
	if r, err := ACF([]float64{4, 4, 4}, 2); err != nil || r[0] != 0 || r[1] != 0 {
		t.Errorf("ACF of a constant = %v, %v; want zeros", r, err)
	}
	if _, err := ACFErrorFrom([]float64{0, 0}, []float64{0.1, 0}); err == nil {
		t.Error("ACFErrorFrom with zero real ACF succeeded")
	}
	if _, err := ACFErrorFrom([]float64{0.1}, []float64{0.1, 0}); err == nil {
		t.Error("ACFErrorFrom with mismatched lags succeeded")
	}
	if _, err := ACFError([]float64{1, 2}, []float64{1, 2, 3, 4}, 3); err == nil {
		t.Error("ACFError with a short real series succeeded")
	}
	s := Summarize(nil)
	if s.N != 0 || !math.IsNaN(s.Min) || !math.IsNaN(s.Mean) {
		t.Errorf("Summarize(nil) = %+v", s)
	}
}
