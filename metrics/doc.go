// Package metrics measures how closely synthetic traffic resembles real
// traffic. It implements the definitions of shared/docs/fidelity.md in pure
// Go (it builds with CGO_ENABLED=0):
//
//   - two-sample distances between empirical 1-D distributions: KS
//     (sup |F_real - F_syn|), W1 (the integral of |F_real - F_syn|, also on
//     log-times) and the Jensen-Shannon divergence in bits on the fixed bins
//     SizeBins, TimeBins and BurstBins, bundled by Compare;
//   - sequence structure: the autocorrelation at lags 1..K and the ACF error
//     sum((acf_real-acf_syn)^2)/sum(acf_real^2);
//   - cross-direction dependence: Spearman rank correlations between a burst
//     and the reply to it (CrossDependence);
//   - a classifier two-sample test (C2ST) with gradient-boosted shallow trees,
//     on single packets or on windows of consecutive packets;
//   - descriptive statistics (numpy-style quantiles, Summary);
//   - the per-direction series the metrics are computed on (Extract): size,
//     inter-arrival time, merged delta, burst length and reply gap.
//
// The per-direction comparisons of a fidelity report are registered in
// series.go: Marginals (a series whose distribution is compared) and
// Sequences (a series whose autocorrelation is compared). CompareSeries
// computes them, and the bench package's tables, headline numbers and
// summary iterate them. Adding a metric touches this package only: an entry
// there, the SeriesDistances field that holds it (its JSON name) and, for a
// new series, a Series field filled by Extract.
//
// Times given to and returned by this package are float64 microseconds, the
// unit of fidelity.md; packet timestamps come in as trace.Packet integer
// nanoseconds. Functions that compare samples return NaN when a result is
// undefined (an empty sample, NaN input), like gonum/stat; functions that take
// parameters a caller can get wrong return an error.
package metrics
