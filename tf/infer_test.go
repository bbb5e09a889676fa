package tf

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestInferMLPMatchesApplyMLP: the fusable forward pass computes what the
// training one does, for every activation and for batches of 1 and more
// (the fused kernel may round differently, not more than float32 noise).
func TestInferMLPMatchesApplyMLP(t *testing.T) {
	for _, act := range []Activation{ReLU, LeakyReLU, Tanh, Linear} {
		rng := rand.New(rand.NewPCG(7, uint64(act)))
		g := NewGraph()
		x := g.Placeholder("x", 45)
		m := g.MLP("net", 45, []int{128, 256, 512, 2}, act, rng)
		for _, d := range m.Layers {
			// Non-zero biases, so that a bias left out shows.
			d.B.init = uniform(rng, len(d.B.init), -0.5, 0.5)
		}
		plain, fused := g.ApplyMLP(m, x), g.InferMLP(m, x)
		s, err := NewSession(g, SessionOptions{CallerThread: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Init(); err != nil {
			t.Fatal(err)
		}
		for _, rows := range []int{1, 7, 300} {
			in := uniform(rng, rows*45, -2, 2)
			out, err := s.Run([]Feed{{Node: x, Data: in, Rows: rows}}, []Node{plain, fused}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(out[0]) != 2*rows || len(out[1]) != 2*rows {
				t.Fatalf("%v, %d rows: %d and %d values", act, rows, len(out[0]), len(out[1]))
			}
			var scale, worst float64
			for i := range out[0] {
				scale = max(scale, math.Abs(float64(out[0][i])))
				worst = max(worst, math.Abs(float64(out[0][i]-out[1][i])))
			}
			if scale == 0 || worst > 1e-5*max(scale, 1) {
				t.Errorf("%v, %d rows: largest difference %g (outputs up to %g)", act, rows, worst, scale)
			}
		}
		s.Close()
	}
}
