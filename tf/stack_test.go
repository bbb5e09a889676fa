package tf

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGroupMeansByHand: the means of the consecutive parts of a stacked
// batch, on values whose means are known.
func TestGroupMeansByHand(t *testing.T) {
	g := NewGraph()
	a := g.Placeholder("a", 1)
	b := g.Placeholder("b", 1)
	means := g.GroupMeans(g.ConcatRows(a, b), 2)
	diff := g.Sum(g.Mul(means, g.Vector([]float32{-1, 1})))
	s := newSession(t, g)
	out := run(t, s, []Feed{{Node: a, Data: []float32{1, 2, 6}, Rows: 3}, {Node: b, Data: []float32{10, 20, 30}, Rows: 3}}, means, diff)
	if len(out[0]) != 2 || out[0][0] != 3 || out[0][1] != 20 {
		t.Fatalf("group means of [1 2 6] and [10 20 30] = %v, want [3 20]", out[0])
	}
	if out[1][0] != 17 {
		t.Fatalf("20 - 3 = %v", out[1][0])
	}
}

// TestStackedCriticTerm: the Wasserstein term of a critic that sees the
// real and the fake rows as one batch (ConcatRows, GroupMeans), and its
// gradient with respect to the critic's weights, against a float64
// reference that applies the network to each batch on its own:
// mean(D(fake)) - mean(D(real)), differentiated by central differences.
func TestStackedCriticTerm(t *testing.T) {
	for _, tc := range gradCases {
		t.Run(tc.act.String(), func(t *testing.T) {
			const rows, in = 4, 3
			rng := rand.New(rand.NewPCG(tc.seed, 29))
			g := NewGraph()
			real := g.Placeholder("real", in)
			fake := g.Placeholder("fake", in)
			mlp := g.MLP("critic", in, []int{6, 5, 1}, tc.act, rng)
			means := g.GroupMeans(g.ApplyMLP(mlp, g.ConcatRows(real, fake)), 2)
			term := g.Sum(g.Mul(means, g.Vector([]float32{-1, 1})))
			vars := mlp.Variables()
			grads := g.Gradients(term, reads(vars)...)
			s := newSession(t, g)

			ref := newRefMLP(mlp, tc.act)
			rv := safeInputs(t, rng, ref, tc.act, rows, in, -1.5, 1.5, graphStep, 0)
			fv := safeInputs(t, rng, ref, tc.act, rows, in, -1.5, 1.5, graphStep, 0)
			mean := func(x []float32) float64 {
				_, y := ref.forward(to64(x), rows)
				var m float64
				for _, v := range y {
					m += v
				}
				return m / float64(len(y))
			}
			refTerm := func() float64 { return mean(fv) - mean(rv) }
			feeds := []Feed{{Node: real, Data: rv, Rows: rows}, {Node: fake, Data: fv, Rows: rows}}
			out := run(t, s, feeds, means, term)
			if d := math.Abs(float64(out[0][0]) - mean(rv)); d > 1e-5*max(1, math.Abs(mean(rv))) {
				t.Errorf("mean on real rows: graph %g, reference %g", out[0][0], mean(rv))
			}
			if d := math.Abs(float64(out[0][1]) - mean(fv)); d > 1e-5*max(1, math.Abs(mean(fv))) {
				t.Errorf("mean on fake rows: graph %g, reference %g", out[0][1], mean(fv))
			}
			if d := math.Abs(float64(out[1][0]) - refTerm()); d > 1e-5*max(1, math.Abs(refTerm())) {
				t.Fatalf("term: graph %g, reference %g", out[1][0], refTerm())
			}
			got := run(t, s, feeds, grads...)
			want := centralDiff(ref.params(), refStep, refTerm)
			if msg, worst := gradMismatch(varNames(vars), got, want, refRTol, refFloor); msg != "" {
				t.Errorf("graph gradient vs float64 reference: %s", msg)
			} else {
				t.Logf("worst |diff|/max|grad| = %.2g", worst)
			}
		})
	}
}
