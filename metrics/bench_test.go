package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// benchSamples returns two seeded samples of n integer-valued sizes with
// ties, like frame sizes (or, scaled, microsecond times).
func benchSamples(n int, scale float64) (x, y []float64) {
	rng := rand.New(rand.NewPCG(uint64(n), 99))
	x, y = make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = math.Round(math.Exp(rng.NormFloat64()*1.5) * scale)
		y[i] = math.Round(math.Exp(rng.NormFloat64()*1.6+0.1) * scale)
	}
	return x, y
}

// benchLadder runs f on n vs n values for a ladder of sizes, reporting
// values/s counting both samples.
func benchLadder(b *testing.B, scale float64, f func(x, y []float64) float64) {
	for _, n := range []int{1000, 10000, 40000} {
		x, y := benchSamples(n, scale)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var sink float64
			for b.Loop() {
				sink += f(x, y)
			}
			b.ReportMetric(float64(2*n)*float64(b.N)/b.Elapsed().Seconds(), "values/s")
			_ = sink
		})
	}
}

func BenchmarkKS(b *testing.B) { benchLadder(b, 100, KS) }
func BenchmarkW1(b *testing.B) { benchLadder(b, 100, W1) }
func BenchmarkJSD(b *testing.B) {
	benchLadder(b, 100, func(x, y []float64) float64 { return JSD(x, y, SizeBins) })
}
func BenchmarkJSDTime(b *testing.B) {
	benchLadder(b, 10000, func(x, y []float64) float64 { return JSD(x, y, TimeBins) })
}
func BenchmarkCompare(b *testing.B) {
	benchLadder(b, 10000, func(x, y []float64) float64 { return Compare(x, y, TimeKind).KS })
}

// BenchmarkC2ST times one test on 2,000 rows (1,000 per class) with the
// default configuration, on single-packet rows (3 columns) and on windows of
// 10 packets (30 columns).
func BenchmarkC2ST(b *testing.B) {
	for _, width := range []int{3, 30} {
		rng := rand.New(rand.NewPCG(5, uint64(width)))
		real := gaussRows(rng, 1000, width, 0, 1)
		syn := gaussRows(rng, 1000, width, 0.3, 1.2)
		b.Run(fmt.Sprintf("rows=2000/cols=%d", width), func(b *testing.B) {
			var acc float64
			for b.Loop() {
				r, err := C2ST(real, syn, C2STConfig{Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				acc = r.Accuracy
			}
			b.ReportMetric(2000*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(acc, "accuracy")
		})
	}
}
