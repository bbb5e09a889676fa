package visualize

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/spatgan/spatgan/trace"
)

// benchTraces: the whole embedded trace (40,697 packets) and 40,000
// packets of the toy generator.
func benchTraces(b *testing.B) (real, syn []trace.Packet) {
	return realPackets(b, 0), synthPackets(40000, 3)
}

// benchFigure builds a figure and renders it to PNG in memory, b.N times,
// and reports the input packets (real + synthetic) handled per second.
func benchFigure(b *testing.B, packets int, build func() (*Figure, error)) {
	b.ReportAllocs()
	for b.Loop() {
		f, err := build()
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := f.Encode(&buf, "png"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// slowOK reports whether benchmarks that take tens of seconds per run may
// run: only with an explicit count such as -benchtime 1x.
func slowOK() bool {
	f := flag.Lookup("test.benchtime")
	return f != nil && strings.HasSuffix(f.Value.String(), "x")
}

// BenchmarkFigures times each figure on a full trace (build + PNG
// encoding).
func BenchmarkFigures(b *testing.B) {
	real, syn := benchTraces(b)
	n := len(real) + len(syn)
	ctx := context.Background()
	all := Window{Length: 700 * time.Second}
	b.Run("flow-2s", func(b *testing.B) {
		benchFigure(b, n, func() (*Figure, error) { return FlowFigure(real, syn, Options{}) })
	})
	b.Run("flow-whole-trace", func(b *testing.B) {
		benchFigure(b, n, func() (*Figure, error) { return FlowFigure(real, syn, Options{Window: all}) })
	})
	b.Run("pca-sample-10k", func(b *testing.B) {
		benchFigure(b, n, func() (*Figure, error) { return PCAFigure(real, syn, Options{}) })
	})
	b.Run("pca-all-rows", func(b *testing.B) {
		benchFigure(b, n, func() (*Figure, error) { return PCAFigure(real, syn, Options{Sample: -1}) })
	})
	b.Run("dist", func(b *testing.B) {
		benchFigure(b, n, func() (*Figure, error) { return DistFigure(real, syn, Options{}) })
	})
	b.Run("tsne-sample-5k", func(b *testing.B) {
		if !slowOK() {
			b.Skip("t-SNE of 5000+5000 rows takes several seconds: use -benchtime 1x")
		}
		benchFigure(b, n, func() (*Figure, error) { return TSNEFigure(ctx, real, syn, Options{}) })
	})
	b.Run("report", func(b *testing.B) {
		if !slowOK() {
			b.Skip("the report's t-SNE takes seconds: use -benchtime 1x")
		}
		benchFigure(b, n, func() (*Figure, error) { return ReportFigure(ctx, real, syn, Options{}) })
	})
}
