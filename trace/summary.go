package trace

import (
	"math"
	"sort"
)

// Summary describes a sample: count, quartiles by linear interpolation
// (numpy's default, Hyndman-Fan type 7), mean and standard deviation with
// n-1 in the denominator.
type Summary struct {
	N                        int
	Min, Q1, Median, Q3, Max float64
	Mean, Std                float64
}

// Summarize returns the summary of xs; xs is not modified. An empty sample
// gives N = 0 and NaN elsewhere; one value gives Std = NaN.
func Summarize(xs []float64) Summary {
	s := Summary{N: len(xs)}
	if len(xs) == 0 {
		nan := math.NaN()
		return Summary{Min: nan, Q1: nan, Median: nan, Q3: nan, Max: nan, Mean: nan, Std: nan}
	}
	sorted := append([]float64(nil), xs...)
	sort.Float64s(sorted)
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	s.Q1 = Quantile(sorted, 0.25)
	s.Median = Quantile(sorted, 0.5)
	s.Q3 = Quantile(sorted, 0.75)
	var sum float64
	for _, x := range sorted {
		sum += x
	}
	s.Mean = sum / float64(len(sorted))
	s.Std = math.NaN()
	if len(sorted) > 1 {
		var ss float64
		for _, x := range sorted {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.Std = math.Sqrt(ss / float64(len(sorted)-1))
	}
	return s
}

// Quantile returns the p-quantile of an ascending sorted sample by linear
// interpolation between order statistics: h = (n-1)p, x[floor h] +
// (h - floor h)(x[floor h + 1] - x[floor h]) (numpy's default).
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * p
	i := int(math.Floor(h))
	if i < 0 {
		return sorted[0]
	}
	if i >= n-1 {
		return sorted[n-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// Floats converts integer samples to float64, scaling each by 1/div (for
// example div = 1000 turns nanoseconds into microseconds).
func Floats[T ~int | ~int32 | ~int64](xs []T, div float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x) / div
	}
	return out
}
