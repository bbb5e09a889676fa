// Package bench measures SPATGAN against real traffic and against simple
// generators, and measures its speed.
//
// Fidelity protocol (Evaluate, RunFidelity): a real conversation is split in
// time (trace.SplitAt); models and baselines are fitted on the first part
// only; every comparator then generates, offline and closed-loop
// (simulate.GenerateAll), as many packets as the held-out part holds, and is
// compared with the held-out part only, never with training rows. The real
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
// The speed benchmarks live in this package's bench_test.go (offline
// generation, closed-loop decision latency, training and critic throughput,
// and the matrix-multiply roofline of the TensorFlow runtime); see
// BENCHMARKS.md at the repository root.
package bench
