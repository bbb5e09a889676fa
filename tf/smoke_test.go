package tf

import (
	"math/rand/v2"
	"testing"
)

func TestSmokeGradientPenalty(t *testing.T) {
	g := NewGraph()
	rng := rand.New(rand.NewPCG(1, 2))
	x := g.Placeholder("x", 3)
	critic := g.MLP("critic", 3, []int{8, 4, 1}, ReLU, rng)
	y := g.ApplyMLP(critic, x)
	gx := g.Gradients(y, x)[0]
	norm := g.Sqrt(g.Add(g.SumCols(g.Square(gx)), g.Scalar(1e-12)))
	gp := g.Mean(g.Square(g.Sub(norm, g.Scalar(1))))
	loss := g.Add(g.Mean(y), g.Mul(g.Scalar(10), gp))
	opt := g.Adam("adam", loss, critic.Variables(), AdamConfig{LR: 1e-4, Beta1: 0.5, Beta2: 0.9, Epsilon: 1e-7})
	s, err := NewSession(g, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	data := []float32{1, 2, 3, 4, 5, 6}
	out, err := opt.Run(s, []Feed{{Node: x, Data: data, Rows: 2}}, []Node{loss, gp}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(out)
	if err := s.Close(); err != nil || s.Close() != nil {
		t.Fatal("close twice")
	}
}
