package tsne

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// benchInput returns n seeded 3-D rows shaped like the visualisation's
// scaled (cumulative time, size, merged delta) rows: a time axis spread
// uniformly, a few size modes and a heavy-tailed delta.
func benchInput(n int) *mat.Dense {
	x, _ := gaussianClusters(8, n/8, 3, 3, 99)
	r, _ := x.Dims()
	for i := range r {
		x.Set(i, 0, float64(i%997)/997*3.4-1.7+0.1*x.At(i, 0))
	}
	return x
}

// largeOK reports whether the benchmark may run the slow sizes: they take
// tens of seconds each, so they only run with an explicit count such as
// -benchtime 1x.
func largeOK() bool {
	f := flag.Lookup("test.benchtime")
	return f != nil && strings.HasSuffix(f.Value.String(), "x")
}

func benchmarkEmbed(b *testing.B, n int) {
	if n >= 10000 && !largeOK() {
		b.Skipf("n=%d takes tens of seconds per run: use -benchtime 1x", n)
	}
	x := benchInput(n)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Embed(context.Background(), x, Config{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkEmbed times the full Barnes-Hut t-SNE (1000 iterations,
// perplexity 30) on a ladder of sizes.
func BenchmarkEmbed(b *testing.B) {
	for _, n := range []int{2000, 10000, 20000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchmarkEmbed(b, n) })
	}
}

// BenchmarkEmbedExact times the exact O(n²) t-SNE, for comparison.
func BenchmarkEmbedExact(b *testing.B) {
	for _, n := range []int{500, 2000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			x := benchInput(n)
			for b.Loop() {
				if _, err := EmbedExact(context.Background(), x, Config{Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
		})
	}
}
