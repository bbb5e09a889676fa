package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat"
)

// ecdf returns the fraction of x that is <= v, by counting: the textbook
// definition, independent of any merge.
func ecdf(x []float64, v float64) float64 {
	n := 0
	for _, a := range x {
		if a <= v {
			n++
		}
	}
	return float64(n) / float64(len(x))
}

// bruteKS evaluates |F_x - F_y| at every sample value; the supremum of two
// right-continuous step functions is reached at one of them.
func bruteKS(x, y []float64) float64 {
	var d float64
	for _, v := range slices.Concat(x, y) {
		d = math.Max(d, math.Abs(ecdf(x, v)-ecdf(y, v)))
	}
	return d
}

// bruteW1 integrates |F_x - F_y| over the gaps between consecutive distinct
// values of both samples.
func bruteW1(x, y []float64) float64 {
	u := slices.Concat(x, y)
	slices.Sort(u)
	u = slices.Compact(u)
	var s float64
	for i := 0; i+1 < len(u); i++ {
		s += math.Abs(ecdf(x, u[i])-ecdf(y, u[i])) * (u[i+1] - u[i])
	}
	return s
}

// tiedSample draws n small integers (many ties within and across samples).
func tiedSample(rng *rand.Rand, n, max int, off float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(rng.IntN(max)) + off
	}
	return x
}

// TestGonumKSAgrees shows that gonum's stat.KolmogorovSmirnov is the
// definition sup |F_x - F_y|, ties included, up to rounding, and so is KS.
func TestGonumKSAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		x := tiedSample(rng, 1+rng.IntN(40), 1+rng.IntN(12), 0)
		y := tiedSample(rng, 1+rng.IntN(40), 1+rng.IntN(12), float64(rng.IntN(3)))
		xs, ys := slices.Sorted(slices.Values(x)), slices.Sorted(slices.Values(y))
		g := stat.KolmogorovSmirnov(xs, nil, ys, nil)
		if b := bruteKS(x, y); math.Abs(g-b) > 1e-12 {
			t.Fatalf("trial %d: gonum KS %v, definition %v\nx=%v\ny=%v", trial, g, b, x, y)
		}
		if k := KS(x, y); !(k >= 0 && k <= 1) {
			t.Fatalf("trial %d: KS %v outside [0,1]", trial, k)
		}
		if k := KS(x, y); math.Abs(k-g) > 1e-12 {
			t.Fatalf("trial %d: KS %v, gonum %v", trial, k, g)
		}
	}
}

// TestGonumW1Agrees shows that gonum's stat.WassersteinDistance computes the
// same number as W1 (it is not used because it is O(n*m)).
func TestGonumW1Agrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		x := tiedSample(rng, 1+rng.IntN(40), 1+rng.IntN(12), 0)
		y := tiedSample(rng, 1+rng.IntN(40), 1+rng.IntN(12), rng.Float64()*3)
		g := stat.WassersteinDistance(x, y, nil, nil)
		w := W1(x, y)
		if b := bruteW1(x, y); math.Abs(w-b) > 1e-12 || math.Abs(g-b) > 1e-12 {
			t.Fatalf("trial %d: W1 %v, gonum %v, definition %v\nx=%v\ny=%v", trial, w, g, b, x, y)
		}
	}
}

// TestGonumJensenShannonIsNats shows that stat.JensenShannon is the same
// divergence in nats: JSDProb = stat.JensenShannon / ln 2 on normalised
// histograms, and two disjoint histograms give ln 2 (1 bit).
func TestGonumJensenShannonIsNats(t *testing.T) {
	if g := stat.JensenShannon([]float64{1, 0}, []float64{0, 1}); math.Abs(g-math.Ln2) > 1e-15 {
		t.Errorf("gonum JS of disjoint histograms = %v, want ln 2", g)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		p, q := make([]float64, 8), make([]float64, 8)
		var sp, sq float64
		for i := range p {
			p[i], q[i] = float64(rng.IntN(4)), float64(rng.IntN(4))
			sp += p[i]
			sq += q[i]
		}
		if sp == 0 || sq == 0 {
			continue
		}
		for i := range p {
			p[i] /= sp
			q[i] /= sq
		}
		if g, o := stat.JensenShannon(p, q)/math.Ln2, JSDProb(p, q); math.Abs(g-o) > 1e-15 {
			t.Fatalf("gonum/ln2 %v, JSDProb %v", g, o)
		}
	}
}

// TestGonumQuantileDiffers shows why Quantile does not use gonum: its
// LinInterp is R's type 4, numpy's default is type 7.
func TestGonumQuantileDiffers(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	g := stat.Quantile(0.25, stat.LinInterp, x, nil)
	// numpy: h = (4-1)*0.25 = 0.75 -> 1.75. R type 4: n*p = 1 -> x[0] = 1.
	if g != 1 {
		t.Errorf("gonum LinInterp Q(0.25) = %v; this test documents it as 1", g)
	}
	if q := Quantile(x, 0.25); q != 1.75 {
		t.Errorf("Quantile(0.25) = %v, want numpy's 1.75", q)
	}
	// gonum's StdDev, used by Std, is the n-1 estimator: 1,2,3,4 has
	// squared deviations summing to 5, 5/3.
	if s := stat.StdDev(x, nil); math.Abs(s-math.Sqrt(5.0/3)) > 1e-15 {
		t.Errorf("gonum StdDev = %v, want sqrt(5/3)", s)
	}
}

// TestKSStaysInRange is the case that made KS stop calling gonum: nine
// values all below one other value are disjoint samples, KS exactly 1, but
// gonum sums 1/9 nine times.
func TestKSStaysInRange(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8}
	y := []float64{1000}
	if k := KS(x, y); k != 1 {
		t.Errorf("KS = %.17g, want exactly 1", k)
	}
	if g := stat.KolmogorovSmirnov(x, nil, y, nil); g != 1 {
		t.Logf("gonum KolmogorovSmirnov = %.17g here (rounding of its running 1/n sum)", g)
	}
}
