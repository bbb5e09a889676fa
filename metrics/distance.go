package metrics

import (
	"math"
)

// KS returns the two-sample Kolmogorov-Smirnov statistic
// sup_x |F_x(x) - F_y(x)| between the empirical CDFs of x and y, in [0, 1]
// (scipy.stats.ks_2samp's statistic). The inputs need not be sorted and are
// not modified. It returns NaN if either sample is empty or holds a NaN.
//
// gonum's stat.KolmogorovSmirnov computes the same statistic (ties within
// and across samples included; see TestGonumKSAgrees) but builds each CDF by
// adding 1/n once per value, so its rounding error grows with n and the
// result can exceed 1 (1.0000000000000002 for disjoint samples of some
// sizes). KS merges the sorted samples and divides integer counts,
// |i/n - j/m|, as scipy does, so it stays in [0, 1] and matches scipy to the
// last bit.
func KS(x, y []float64) float64 {
	xs, ys, ok := sortedPair(x, y)
	if !ok {
		return math.NaN()
	}
	return ksSorted(xs, ys)
}

// sortedPair returns sorted copies of two samples, or false if either is
// empty or holds a NaN.
func sortedPair(x, y []float64) (xs, ys []float64, ok bool) {
	if len(x) == 0 || len(y) == 0 {
		return nil, nil, false
	}
	xs, ok1 := sortedCopy(x)
	ys, ok2 := sortedCopy(y)
	return xs, ys, ok1 && ok2
}

func ksSorted(xs, ys []float64) float64 {
	n, m := float64(len(xs)), float64(len(ys))
	i, j := 0, 0
	var d float64
	for i < len(xs) && j < len(ys) {
		v := math.Min(xs[i], ys[j])
		for i < len(xs) && xs[i] == v {
			i++
		}
		for j < len(ys) && ys[j] == v {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/n-float64(j)/m))
	}
	// Once one sample is used up its CDF is 1 and the other's only rises
	// towards 1: the distance cannot grow.
	return d
}

// W1 returns the 1-Wasserstein (earth mover's) distance between the
// empirical distributions of x and y: the integral of |F_x(t) - F_y(t)| dt,
// in the unit of the values (scipy.stats.wasserstein_distance). The inputs
// are not modified. It returns NaN if either sample is empty or holds a NaN.
//
// gonum's stat.WassersteinDistance computes the same number (see
// TestGonumW1Agrees) but rescans the sorted samples for every distinct value,
// O((n+m)^2): 2.9 s on two samples of 40k normals on the 2-core development
// machine, against about 5 ms for this merge of the two sorted samples,
// O((n+m) log(n+m)) (BenchmarkW1).
func W1(x, y []float64) float64 {
	xs, ys, ok := sortedPair(x, y)
	if !ok {
		return math.NaN()
	}
	return w1Sorted(xs, ys)
}

func w1Sorted(xs, ys []float64) float64 {
	n, m := float64(len(xs)), float64(len(ys))
	i, j := 0, 0
	prev := math.Min(xs[0], ys[0])
	var sum float64
	for i < len(xs) || j < len(ys) {
		next := math.Inf(1)
		if i < len(xs) {
			next = xs[i]
		}
		if j < len(ys) && ys[j] < next {
			next = ys[j]
		}
		// On [prev, next) F_x = i/n and F_y = j/m.
		if d := math.Abs(float64(i)/n - float64(j)/m); d != 0 {
			sum += d * (next - prev)
		}
		for i < len(xs) && xs[i] == next {
			i++
		}
		for j < len(ys) && ys[j] == next {
			j++
		}
		prev = next
	}
	return sum
}

// LogTime maps a time in microseconds to log10 of it, with times below
// 1 us (zero and negative included) mapped to 0, matching the [0, 1 us) bin
// of TimeBins. W1 on log-times is in decades.
func LogTime(us float64) float64 {
	if us < 1 {
		return 0
	}
	return math.Log10(us)
}

// LogTimes applies LogTime to every element of us and returns a new slice.
func LogTimes(us []float64) []float64 {
	out := make([]float64, len(us))
	for i, v := range us {
		out[i] = LogTime(v)
	}
	return out
}

// W1Log returns W1 between the log-times (LogTime) of two samples of times
// in microseconds, in decades. Unlike W1 on raw times it is not dominated by
// a few multi-second pauses.
func W1Log(realUS, synUS []float64) float64 {
	return W1(LogTimes(realUS), LogTimes(synUS))
}

// Kind is the kind of a feature, which fixes its JSD bins and unit.
type Kind int

const (
	// SizeKind is a frame size in bytes (SizeBins).
	SizeKind Kind = iota
	// TimeKind is a time in microseconds (TimeBins): IAT, merged delta,
	// reply gap.
	TimeKind
	// BurstKind is a burst length in packets (BurstBins).
	BurstKind
)

// String returns "size", "time" or "burst".
func (k Kind) String() string {
	switch k {
	case SizeKind:
		return "size"
	case TimeKind:
		return "time"
	case BurstKind:
		return "burst"
	}
	return "kind?"
}

// Bins returns the fixed JSD bins of the kind, or a scheme without bins for
// an unknown kind.
func (k Kind) Bins() Bins {
	switch k {
	case SizeKind:
		return SizeBins
	case TimeKind:
		return TimeBins
	case BurstKind:
		return BurstBins
	}
	return Bins{}
}

// Distances holds the two-sample distances of one feature, real against
// synthetic. Undefined values (an empty sample) are NaN and marshal to JSON
// null.
type Distances struct {
	Kind  Kind    `json:"kind"`
	NReal int     `json:"n_real"`
	NSyn  int     `json:"n_syn"`
	KS    float64 `json:"ks"`  // sup |F_real - F_syn|, in [0, 1]
	W1    float64 `json:"w1"`  // earth mover's distance in the feature's unit
	JSD   float64 `json:"jsd"` // Jensen-Shannon divergence in bits on Kind.Bins(), in [0, 1]
	// W1Log is W1 on log10 times (W1Log), in decades; TimeKind only, NaN
	// for the other kinds.
	W1Log float64 `json:"w1_log"`
}

// Compare returns KS, W1 and JSD (and for TimeKind also W1 on log-times)
// between a real and a synthetic sample of one feature of the given kind.
func Compare(real, syn []float64, kind Kind) Distances {
	d := Distances{
		Kind:  kind,
		NReal: len(real),
		NSyn:  len(syn),
		KS:    math.NaN(),
		W1:    math.NaN(),
		JSD:   JSD(real, syn, kind.Bins()),
		W1Log: math.NaN(),
	}
	rs, ok1 := sortedCopy(real)
	ss, ok2 := sortedCopy(syn)
	if ok1 && ok2 && len(rs) > 0 && len(ss) > 0 {
		d.KS = ksSorted(rs, ss)
		d.W1 = w1Sorted(rs, ss)
	}
	if kind == TimeKind {
		d.W1Log = W1Log(real, syn)
	}
	return d
}
