package metrics

import (
	"github.com/spatgan/spatgan/internal/stat"
)

// The descriptive statistics have one implementation, in internal/stat (a
// leaf package, so that the capture package can use it too); these are
// its public names.

// Quantile returns the p-quantile of x by linear interpolation between
// order statistics, numpy's default (method "linear", R type 7): with x
// sorted and h = (n-1)p, it is x[floor h] + (h - floor h)(x[floor h + 1] -
// x[floor h]). x is not modified. It returns NaN for an empty x, a NaN in x,
// or p outside [0, 1].
//
// gonum's stat.Quantile with stat.LinInterp is R type 4, a different
// estimator (for {1,2,3,4} and p = 0.25 it gives 1, numpy 1.75), so it is
// not used.
func Quantile(x []float64, p float64) float64 { return stat.Quantile(x, p) }

// QuantileSorted is Quantile for x already sorted in increasing order
// (not checked).
func QuantileSorted(sorted []float64, p float64) float64 { return stat.QuantileSorted(sorted, p) }

// Mean returns the arithmetic mean of x, NaN if x is empty.
func Mean(x []float64) float64 { return stat.Mean(x) }

// Std returns the sample standard deviation of x with n-1 in the
// denominator (numpy's std with ddof=1), NaN if x has fewer than 2 values.
func Std(x []float64) float64 { return stat.Std(x) }

// Summary describes a sample: count, the five quantiles at 0, 0.25, 0.5,
// 0.75 and 1 (Quantile), mean and standard deviation (Std). Undefined
// values are NaN and marshal to JSON null.
type Summary stat.Summary

// Summarize returns the Summary of x. x is not modified. With a NaN in x
// every field but N is NaN.
func Summarize(x []float64) Summary { return Summary(stat.Summarize(x)) }

// sortedCopy returns x sorted, false if x holds a NaN.
func sortedCopy(x []float64) ([]float64, bool) { return stat.SortedCopy(x) }
