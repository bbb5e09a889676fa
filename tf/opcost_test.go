package tf

import (
	"fmt"
	"testing"
)

// BenchmarkOpCost runs a chain of n elementwise ops (Mul and Add by a fed
// scalar, which Grappler cannot fold) on a 1x1 tensor, one Session.Run per
// iteration: the slope prices one small op inside a Run, the intercept a
// Run. It decides whether drawing a burst's packets inside one graph (the
// features, quantile tables and calibration as ops) could beat one Run per
// packet (BENCHMARKS.md, "One call per burst").
func BenchmarkOpCost(b *testing.B) {
	for _, n := range []int{1, 10, 100, 400} {
		b.Run(fmt.Sprintf("ops=%d", n), func(b *testing.B) {
			g := NewGraph()
			x := g.Placeholder("x", 1)
			c := g.Placeholder("c", 1)
			y := x
			for i := 0; i < n; i++ {
				if i%2 == 0 {
					y = g.Mul(y, c)
				} else {
					y = g.Add(y, c)
				}
			}
			if err := g.Err(); err != nil {
				b.Fatal(err)
			}
			s, err := NewSession(g, SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			feeds := []Feed{{Node: x, Data: []float32{1}, Rows: 1}, {Node: c, Data: []float32{1}, Rows: 1}}
			var dst [][]float32
			for b.Loop() {
				if dst, err = s.Run(feeds, []Node{y}, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
