// Package bench measures SPATGAN against real traffic and against simple
// generators, and measures its speed.
//
// Fidelity protocol (Evaluate; gan.RunFidelity runs it whole): a real
// conversation is split in time (trace.SplitAt); models and baselines are
// fitted on the first part only; every comparator then generates, offline
// and closed-loop (simulate.GenerateAll), as many packets as the held-out
// part holds, and is compared with the held-out part only, never with
// training rows. The real
// training part compared with the held-out part is the noise floor: two
// stretches of the same real call, about the best any generator can hope
// for. A bundle is only evaluated on the split it was trained on: its
// manifest's training fraction and training-data fingerprint must match.
//
// The Report holds, per comparator and direction, KS / W1 / JSD of size,
// inter-arrival time, merged delta, burst length and reply gap (W1 on
// log-times for times), the autocorrelation error of size and log-IAT at lags
// 1..10, the cross-direction dependence (Spearman correlations between a
// burst and the reply to it), and classifier two-sample tests on single
// packets and on windows of consecutive packets, as Markdown (WriteMarkdown)
// and JSON. The definitions are those of the metrics package.
//
// Every comparator also gets a virtual timeline ratio: the span of its first
// n packets over the held-out span of as many, and its time budget
// (metrics.Budget): per sending side, the reply gaps' and the bursts' share
// of that span and the number of bursts, next to the held-out part's, so a
// wrong pace can be traced to the pauses or to the burst lengths.
// Result.Metrics lists the
// headline numbers that BenchmarkFidelity reports per capture and
// comparator for benchstat, and WriteSummary tabulates several reports.
//
// This package is pure Go (it builds with CGO_ENABLED=0): it evaluates any
// sampler.Sampler and fits the baselines. Opening or training GAN bundles
// needs TensorFlow and lives in the cgo package bench/gan.
//
// The speed benchmarks live in this package's bench_test.go (offline
// generation, closed-loop decision latency, training and critic throughput,
// and the matrix-multiply roofline of the TensorFlow runtime); see
// BENCHMARKS.md at the repository root.
package bench
