// Package stat holds the one implementation of the descriptive statistics
// every other package uses: numpy-style quantiles, the mean, the sample
// standard deviation and a Summary of the three. It is a leaf (it imports
// nothing of this module) so that the capture package (trace), which the
// metrics package imports, can use it too; the metrics package re-exports
// it (metrics.Quantile, metrics.Summarize, ...) as its public API.
//
// Conventions: a statistic that is undefined (an empty sample, a NaN in
// the sample, fewer than two values for a standard deviation) is NaN, as
// in gonum/stat. Inputs are never modified.
package stat
