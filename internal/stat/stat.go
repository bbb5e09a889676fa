package stat

import (
	"math"
	"slices"

	gstat "gonum.org/v1/gonum/stat"
)

// Quantile returns the p-quantile of x by linear interpolation between
// order statistics, numpy's default (method "linear", R type 7): with x
// sorted and h = (n-1)p, it is x[floor h] + (h - floor h)(x[floor h + 1] -
// x[floor h]). x is not modified. It returns NaN for an empty x, a NaN in x,
// or p outside [0, 1].
//
// gonum's stat.Quantile with stat.LinInterp is R type 4, a different
// estimator (for {1,2,3,4} and p = 0.25 it gives 1, numpy 1.75), so it is
// not used.
func Quantile(x []float64, p float64) float64 {
	s, ok := SortedCopy(x)
	if !ok {
		return math.NaN()
	}
	return QuantileSorted(s, p)
}

// QuantileSorted is Quantile for x already sorted in increasing order
// (not checked).
func QuantileSorted(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 || !(p >= 0 && p <= 1) {
		return math.NaN()
	}
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	f := h - float64(lo)
	a, b := sorted[lo], sorted[lo+1]
	if f == 0 || a == b {
		return a
	}
	return a + f*(b-a)
}

// Mean returns the arithmetic mean of x, NaN if x is empty.
func Mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	return gstat.Mean(x, nil)
}

// Std returns the sample standard deviation of x with n-1 in the
// denominator (numpy's std with ddof=1), NaN if x has fewer than 2 values.
// It is gonum's stat.StdDev, which uses the same definition.
func Std(x []float64) float64 {
	if len(x) < 2 {
		return math.NaN()
	}
	return gstat.StdDev(x, nil)
}

// Summary describes a sample: count, the five quantiles at 0, 0.25, 0.5,
// 0.75 and 1 (Quantile), mean and standard deviation (Std). Undefined
// values are NaN. (metrics.Summary is this type with a JSON encoding that
// writes NaN as null.)
type Summary struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Q1     float64 `json:"q1"`
	Median float64 `json:"median"`
	Q3     float64 `json:"q3"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
}

// Summarize returns the Summary of x. x is not modified. With a NaN in x
// every field but N is NaN.
func Summarize(x []float64) Summary {
	s, ok := SortedCopy(x)
	if !ok || len(x) == 0 {
		nan := math.NaN()
		return Summary{N: len(x), Min: nan, Q1: nan, Median: nan, Q3: nan, Max: nan, Mean: nan, Std: nan}
	}
	return Summary{
		N:      len(x),
		Min:    QuantileSorted(s, 0),
		Q1:     QuantileSorted(s, 0.25),
		Median: QuantileSorted(s, 0.5),
		Q3:     QuantileSorted(s, 0.75),
		Max:    QuantileSorted(s, 1),
		Mean:   Mean(x),
		Std:    Std(x),
	}
}

// SortedCopy returns x sorted in increasing order in new memory, and false
// (with no copy) if x holds a NaN.
func SortedCopy(x []float64) ([]float64, bool) {
	for _, v := range x {
		if math.IsNaN(v) {
			return nil, false
		}
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return s, true
}

// Floats converts integer samples to float64, scaling each by 1/div (for
// example div = 1000 turns nanoseconds into microseconds). An empty sample
// gives nil.
func Floats[T ~int | ~int32 | ~int64](xs []T, div float64) []float64 {
	if len(xs) == 0 {
		return nil
	}
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x) / div
	}
	return out
}
