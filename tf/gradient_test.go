package tf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/galeone/tensorflow/tensorflow/go/op"
)

// Gradient checks. Every gradient the graph computes (float32) is compared
// with two references:
//
//   - refFD: central differences, step 1e-6, of refMLP, an independent
//     float64 re-implementation of the network in Go. Its truncation and
//     rounding errors are ~1e-10, far below float32's, so the comparison is
//     tight: relative error at most 1e-3 per element (elements smaller than
//     1e-2 of the largest are judged against 1e-2 of the largest instead).
//   - graphFD: central differences of the graph's own float32 loss,
//     perturbing the variables with Session.Assign and differencing in
//     float64. With float32 evaluations the step must be large (1e-2 here)
//     so that the rounding error of the loss (~1e-7 relative, divided by
//     2h) stays small, which costs an O(h^2) truncation error; the tolerance
//     is accordingly 1e-2 relative (floor 5e-2 of the largest element).
//
// ReLU and LeakyReLU are differentiable only away from their kink at 0, so
// for them the inputs are checked to keep every hidden pre-activation's sign
// under every perturbation used (kinkSafe); the test fails loudly, rather
// than passing vacuously, if a seed violates this.
const (
	refStep   = 1e-6
	refRTol   = 1e-3
	refFloor  = 1e-2
	graphStep = 1e-2
	graphRTol = 1e-2
	graphFlr  = 5e-2
)

// kinkSafe reports an error if perturbing any parameter of r by ±h, or any
// input by ±hx, flips the sign of a hidden pre-activation.
func kinkSafe(r *refMLP, x []float64, rows int, h, hx float64) error {
	base := r.pattern(x, rows)
	check := func(p []float64, step float64, what string) error {
		for j := range p {
			orig := p[j]
			for _, d := range []float64{-step, step} {
				p[j] = orig + d
				if r.pattern(x, rows) != base {
					p[j] = orig
					return fmt.Errorf("perturbing %s[%d] by %g crosses a kink (margin %.3g)", what, j, d, r.kinkMargin(x, rows))
				}
			}
			p[j] = orig
		}
		return nil
	}
	for i, p := range r.params() {
		if err := check(p, h, fmt.Sprintf("param%d", i)); err != nil {
			return err
		}
	}
	if hx > 0 {
		return check(x, hx, "x")
	}
	return nil
}

// safeInputs draws rows*in inputs from U(lo, hi). For ReLU and LeakyReLU it
// redraws (at most 100 times, deterministically from rng) until kinkSafe
// holds for weight steps hw and input steps hx: inputs away from the kinks.
func safeInputs(t *testing.T, rng *rand.Rand, ref *refMLP, act Activation, rows, in int, lo, hi, hw, hx float64) []float32 {
	t.Helper()
	var err error
	for try := 0; try < 100; try++ {
		x := uniform(rng, rows*in, lo, hi)
		if act == Tanh || act == Linear {
			return x
		}
		if err = kinkSafe(ref, to64(x), rows, hw, hx); err == nil {
			return x
		}
	}
	t.Fatalf("no kink-free input in 100 draws: %v", err)
	return nil
}

var gradCases = []struct {
	act  Activation
	seed uint64
}{
	{Tanh, 1},
	{ReLU, 2},
	{LeakyReLU, 3},
}

// TestMLPWeightGradients checks d loss/d weights for loss = mean(y^2) of a
// 3 -> 6 -> 5 -> 1 MLP on a batch of 5.
func TestMLPWeightGradients(t *testing.T) {
	for _, tc := range gradCases {
		t.Run(tc.act.String(), func(t *testing.T) {
			const rows, in = 5, 3
			rng := rand.New(rand.NewPCG(tc.seed, 11))
			g := NewGraph()
			x := g.Placeholder("x", in)
			mlp := g.MLP("mlp", in, []int{6, 5, 1}, tc.act, rng)
			y := g.ApplyMLP(mlp, x)
			loss := g.Mean(g.Square(y))
			vars := mlp.Variables()
			grads := g.Gradients(loss, reads(vars)...)
			s := newSession(t, g)

			ref := newRefMLP(mlp, tc.act)
			xv := safeInputs(t, rng, ref, tc.act, rows, in, -1.5, 1.5, graphStep, 0)
			x64 := to64(xv)
			feeds := []Feed{{Node: x, Data: xv, Rows: rows}}
			got := run(t, s, feeds, grads...)

			refLoss := func() float64 {
				_, yr := ref.forward(x64, rows)
				var m float64
				for _, v := range yr {
					m += v * v
				}
				return m / float64(len(yr))
			}
			// The forward passes agree before any gradient is compared.
			if l := run(t, s, feeds, loss)[0][0]; math.Abs(float64(l)-refLoss()) > 1e-5*max(1, refLoss()) {
				t.Fatalf("loss: graph %g, float64 reference %g", l, refLoss())
			}

			want := centralDiff(ref.params(), refStep, refLoss)
			if msg, worst := gradMismatch(varNames(vars), got, want, refRTol, refFloor); msg != "" {
				t.Errorf("graph gradient vs float64 reference differences: %s", msg)
			} else {
				t.Logf("vs float64 reference: worst |diff|/max|grad| = %.2g", worst)
			}
			fd := graphDiff(t, s, vars, feeds, loss, graphStep)
			if msg, worst := gradMismatch(varNames(vars), got, fd, graphRTol, graphFlr); msg != "" {
				t.Errorf("graph gradient vs graph finite differences: %s", msg)
			} else {
				t.Logf("vs graph finite differences: worst |diff|/max|grad| = %.2g", worst)
			}
		})
	}
}

// TestMLPInputGradient checks dy_i/dx_i (the gradient of sum(y) with
// respect to the input; rows are independent) of a 4 -> 7 -> 5 -> 1 MLP.
func TestMLPInputGradient(t *testing.T) {
	for _, tc := range gradCases {
		t.Run(tc.act.String(), func(t *testing.T) {
			const rows, in = 6, 4
			rng := rand.New(rand.NewPCG(tc.seed, 12))
			g := NewGraph()
			x := g.Placeholder("x", in)
			mlp := g.MLP("mlp", in, []int{7, 5, 1}, tc.act, rng)
			y := g.ApplyMLP(mlp, x)
			gx := g.Gradients(y, x)[0]
			s := newSession(t, g)

			ref := newRefMLP(mlp, tc.act)
			xv := safeInputs(t, rng, ref, tc.act, rows, in, -1.5, 1.5, 0, graphStep)
			x64 := to64(xv)
			got := run(t, s, []Feed{{Node: x, Data: xv, Rows: rows}}, gx)

			sumY := func() float64 {
				_, yr := ref.forward(x64, rows)
				var s float64
				for _, v := range yr {
					s += v
				}
				return s
			}
			// The hand-written back-propagation of refMLP, itself checked
			// against its own finite differences, so that the penalty test
			// below can rely on it.
			hand := ref.inputGrad(x64, rows)
			fdRef := centralDiff([][]float64{x64}, refStep, sumY)
			for i := range hand {
				if math.Abs(hand[i]-fdRef[0][i]) > 1e-7 {
					t.Fatalf("refMLP.inputGrad[%d] = %g, its finite difference %g", i, hand[i], fdRef[0][i])
				}
			}
			names := []string{"dy/dx"}
			if msg, _ := gradMismatch(names, got, fdRef, refRTol, refFloor); msg != "" {
				t.Errorf("graph input gradient vs float64 reference: %s", msg)
			}

			// Finite differences of the graph itself, perturbing the feed.
			fd := make([]float64, len(xv))
			xp := append([]float32(nil), xv...)
			for i := range xv {
				plus, minus := float32(float64(xv[i])+graphStep), float32(float64(xv[i])-graphStep)
				eval := func(v float32) float64 {
					xp[i] = v
					out := run(t, s, []Feed{{Node: x, Data: xp, Rows: rows}}, y)[0]
					xp[i] = xv[i]
					var s float64
					for _, o := range out {
						s += float64(o)
					}
					return s
				}
				fd[i] = (eval(plus) - eval(minus)) / (float64(plus) - float64(minus))
			}
			if msg, worst := gradMismatch(names, got, [][]float64{fd}, graphRTol, graphFlr); msg != "" {
				t.Errorf("graph input gradient vs graph finite differences: %s", msg)
			} else {
				t.Logf("vs graph finite differences: worst |diff|/max|grad| = %.2g", worst)
			}
		})
	}
}

// buildPenalty adds the WGAN-GP gradient penalty of critic at x, exactly as
// a training graph does: mean((sqrt(sum_j (dD/dx_ij)^2 + 1e-12) - 1)^2).
func buildPenalty(g *Graph, critic *MLP, x Node) (y, gp Node) {
	y = g.ApplyMLP(critic, x)
	gx := g.Gradients(y, x)[0]
	norm := g.Sqrt(g.Add(g.SumCols(g.Square(gx)), g.Scalar(1e-12)))
	gp = g.Mean(g.Square(g.Sub(norm, g.Scalar(1))))
	return y, gp
}

// TestGradientPenaltyGradient checks the second-order gradient a WGAN-GP
// needs: d penalty / d critic kernels, for a 3 -> 16 -> 8 -> 1 critic.
//
// The biases are left out: for a piecewise-linear critic the input gradient
// W1·D1·W2·D2·W3 (D = the activations' slopes) does not depend on them, and
// TensorFlow reports no gradient path (LeakyReluGrad's gradient treats its
// features input as constant), which Graph.Gradients turns into an error
// (TestGradientsUnconnected). The float64 reference confirms that the
// penalty's derivative with respect to every bias is zero. In a WGAN-GP loss
// the biases are reached through the critic's output term. Tanh is not
// among the cases: see TestTanhDoubleBackpropRegistry.
func TestGradientPenaltyGradient(t *testing.T) {
	for _, tc := range []struct {
		act  Activation
		seed uint64
	}{{ReLU, 4}, {LeakyReLU, 5}} {
		t.Run(tc.act.String(), func(t *testing.T) {
			const rows, in = 6, 3
			rng := rand.New(rand.NewPCG(tc.seed, 13))
			g := NewGraph()
			x := g.Placeholder("x", in)
			critic := g.MLP("critic", in, []int{16, 8, 1}, tc.act, rng)
			_, gp := buildPenalty(g, critic, x)
			var vars []*Variable
			for _, d := range critic.Layers {
				vars = append(vars, d.W)
			}
			grads := g.Gradients(gp, reads(vars)...)
			s := newSession(t, g)

			ref := newRefMLP(critic, tc.act)
			xv := safeInputs(t, rng, ref, tc.act, rows, in, -1, 1, graphStep, 0)
			x64 := to64(xv)
			feeds := []Feed{{Node: x, Data: xv, Rows: rows}}
			got := run(t, s, feeds, grads...)

			pen := func() float64 { return ref.penalty(x64, rows) }
			if p := run(t, s, feeds, gp)[0][0]; math.Abs(float64(p)-pen()) > 1e-5*max(1, pen()) {
				t.Fatalf("penalty: graph %g, float64 reference %g", p, pen())
			}
			// The reference's derivatives: kernels are compared below; the
			// biases' must vanish.
			all := centralDiff(ref.params(), refStep, pen)
			var want [][]float64
			for i, d := range all {
				if i%2 == 0 {
					want = append(want, d)
					continue
				}
				for j, v := range d {
					if math.Abs(v) > 1e-8 {
						t.Errorf("float64 reference: d penalty / d bias%d[%d] = %g, want 0", i/2, j, v)
					}
				}
			}
			if msg, worst := gradMismatch(varNames(vars), got, want, refRTol, refFloor); msg != "" {
				t.Errorf("penalty gradient vs float64 reference: %s", msg)
			} else {
				t.Logf("vs float64 reference: worst |diff|/max|grad| = %.2g", worst)
			}
			fd := graphDiff(t, s, vars, feeds, gp, graphStep)
			if msg, worst := gradMismatch(varNames(vars), got, fd, graphRTol, graphFlr); msg != "" {
				t.Errorf("penalty gradient vs graph finite differences: %s", msg)
			} else {
				t.Logf("vs graph finite differences: worst |diff|/max|grad| = %.2g", worst)
			}
		})
	}
}

// TestGradMismatchDetectsErrors guards the checker above: a gradient off by
// 5% in one element, or with two elements swapped, must be reported.
func TestGradMismatchDetectsErrors(t *testing.T) {
	want := [][]float64{{0.5, -0.25, 1e-9}, {2}}
	good := [][]float32{{0.5, -0.25, 0}, {2}}
	if msg, _ := gradMismatch([]string{"a", "b"}, good, want, 1e-3, 1e-2); msg != "" {
		t.Fatalf("exact gradient rejected: %s", msg)
	}
	for _, bad := range [][][]float32{
		{{0.525, -0.25, 0}, {2}},
		{{-0.25, 0.5, 0}, {2}},
		{{0.5, -0.25, 0.05}, {2}},
		{{0.5, -0.25}, {2}},
	} {
		if msg, _ := gradMismatch([]string{"a", "b"}, bad, want, 1e-3, 1e-2); msg == "" {
			t.Errorf("gradient %v accepted", bad)
		}
	}
}

// handGraph builds y = relu(x·W + b) with W = [0.5, -0.25]^T, b = 0.1.
func handGraph(g *Graph, relu func(Node) Node) (x Node, w, b *Variable, y Node) {
	x = g.Placeholder("x", 2)
	w = g.Variable("W", []int64{2, 1}, []float32{0.5, -0.25})
	b = g.Variable("b", []int64{1}, []float32{0.1})
	y = relu(g.Add(g.MatMul(x, w.Read()), b.Read()))
	return
}

// TestHandDerivedReluGradients works one case out by hand, first and
// second order, for y = relu(x·W + b) with W = [0.5, -0.25]^T, b = 0.1 and
// the two rows x1 = [1, 2], x2 = [-1, 1]:
//
//	z1 = 0.5 - 0.5 + 0.1 = 0.1 > 0      -> y1 = 0.1
//	z2 = -0.5 - 0.25 + 0.1 = -0.65 < 0  -> y2 = 0
//	d(y1+y2)/dW = x1^T = [1, 2]^T (row 2 is inactive); d/db = 1
//	d(y1+y2)/dx = [W^T; 0] = [[0.5, -0.25], [0, 0]]
//
// Penalty P = ((n1-1)^2 + (n2-1)^2)/2 with n_i = sqrt(|dy_i/dx_i|^2 + 1e-12):
//
//	n1 = sqrt(0.3125 + 1e-12) ~ sqrt(5)/4 = 0.5590169943749474, n2 = 1e-6
//	P  = ((sqrt(5)/4 - 1)^2 + (1 - 1e-6)^2)/2 = (0.1944660112501 + 0.999998000001)/2
//	   = 0.5972320056256
//	dP/dW = (n1-1)/n1 * W = (1 - 4/sqrt(5)) W = -0.788854381999832 W
//	      = [-0.394427190999916, 0.197213595499958]^T
//
// dP/db is 0 (b moves only z, and relu's slope does not depend on z away
// from 0); TensorFlow reports it as no gradient, see TestGradientsUnconnected.
func TestHandDerivedReluGradients(t *testing.T) {
	g := NewGraph()
	x, w, b, y := handGraph(g, g.Relu)
	first := g.Gradients(y, x, w.Read(), b.Read())
	gx := first[0]
	norm := g.Sqrt(g.Add(g.SumCols(g.Square(gx)), g.Scalar(1e-12)))
	p := g.Mean(g.Square(g.Sub(norm, g.Scalar(1))))
	second := g.Gradients(p, w.Read())
	s := newSession(t, g)
	out := run(t, s, []Feed{{Node: x, Data: []float32{1, 2, -1, 1}, Rows: 2}},
		y, first[0], first[1], first[2], p, second[0])

	cases := []struct {
		name string
		got  []float32
		want []float64
		tol  float64
	}{
		{"y", out[0], []float64{0.1, 0}, 1e-7},
		{"dy/dx", out[1], []float64{0.5, -0.25, 0, 0}, 0},
		{"dy/dW", out[2], []float64{1, 2}, 0},
		{"dy/db", out[3], []float64{1}, 0},
		{"P", out[4], []float64{0.5972320056256}, 1e-6},
		{"dP/dW", out[5], []float64{-0.394427190999916, 0.197213595499958}, 1e-6},
	}
	for _, c := range cases {
		if len(c.got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
			continue
		}
		for i := range c.want {
			if d := math.Abs(float64(c.got[i]) - c.want[i]); d > c.tol {
				t.Errorf("%s[%d] = %.9g, want %.9g (tolerance %g)", c.name, i, c.got[i], c.want[i], c.tol)
			}
		}
	}
}

// TestReluDoubleBackpropRegistry documents the limit of the C API's
// gradient registry that Graph.Relu works around: a second differentiation
// through TensorFlow's own "Relu" op fails (ReluGrad has no registered
// gradient), while the package's Relu (LeakyRelu, alpha 0) computes the same
// function and the same first-order gradient and can be differentiated
// twice.
func TestReluDoubleBackpropRegistry(t *testing.T) {
	rawRelu := func(g *Graph) func(Node) Node {
		return func(a Node) Node { return Node{op.Relu(g.sub("RawRelu"), a.out)} }
	}
	feeds := func(x Node) []Feed { return []Feed{{Node: x, Data: []float32{1, 2, -1, 1}, Rows: 2}} }

	// First order through the raw op works and agrees with Graph.Relu.
	g1 := NewGraph()
	x1, w1, _, y1 := handGraph(g1, rawRelu(g1))
	d1 := g1.Gradients(y1, x1, w1.Read())
	g2 := NewGraph()
	x2, w2, _, y2 := handGraph(g2, g2.Relu)
	d2 := g2.Gradients(y2, x2, w2.Read())
	o1 := run(t, newSession(t, g1), feeds(x1), y1, d1[0], d1[1])
	o2 := run(t, newSession(t, g2), feeds(x2), y2, d2[0], d2[1])
	for i := range o1 {
		// Compared as numbers: LeakyRelu gives -0 where Relu gives 0.
		if !equalValues(o1[i], o2[i]) {
			t.Errorf("output %d: raw Relu %v, Graph.Relu %v", i, o1[i], o2[i])
		}
	}

	// Second order: the raw op's graph fails, with an error, not a panic.
	g3 := NewGraph()
	x3, w3, _, y3 := handGraph(g3, rawRelu(g3))
	gx := g3.Gradients(y3, x3)[0]
	if err := g3.Err(); err != nil {
		t.Fatalf("first order through raw Relu: %v", err)
	}
	g3.Gradients(g3.Mean(g3.Square(gx)), w3.Read())
	err := g3.Err()
	if err == nil || !strings.Contains(err.Error(), "ReluGrad") {
		t.Fatalf("second order through raw Relu: error %v, want one naming ReluGrad", err)
	}
	if s, err := NewSession(g3, SessionOptions{}); err == nil {
		s.Close()
		t.Fatal("NewSession accepted a graph with a failed gradient")
	}
	t.Logf("raw Relu, second order: %v", err)

	// The same through Graph.Relu works: mean over rows of |dy/dx|^2 is
	// (0.3125 + 0)/2 = 0.15625, whose gradient w.r.t. W is (2W + 0)/2 = W.
	g4 := NewGraph()
	x4, w4, _, y4 := handGraph(g4, g4.Relu)
	gx4 := g4.Gradients(y4, x4)[0]
	q := g4.Mean(g4.SumCols(g4.Square(gx4)))
	dq := g4.Gradients(q, w4.Read())[0]
	out := run(t, newSession(t, g4), feeds(x4), q, dq)
	if out[0][0] != 0.15625 || out[1][0] != 0.5 || out[1][1] != -0.25 {
		t.Errorf("Graph.Relu second order: q = %v, dq/dW = %v; want 0.15625 and [0.5 -0.25]", out[0], out[1])
	}
}

// TestGradientsUnconnected: asking for the gradient with respect to a node
// the target does not depend on is a graph error (the C API returns a NULL
// operation there, which used to reach Session.Run and crash the process).
// Here the gradient penalty has no gradient path to the critic's biases.
func TestGradientsUnconnected(t *testing.T) {
	for layer := 0; layer < 2; layer++ {
		rng := rand.New(rand.NewPCG(6, 14))
		g := NewGraph()
		x := g.Placeholder("x", 3)
		critic := g.MLP("critic", 3, []int{4, 1}, ReLU, rng)
		_, gp := buildPenalty(g, critic, x)
		bias := critic.Layers[layer].B
		if d := g.Gradients(gp, critic.Layers[0].W.Read(), bias.Read()); d[1].Valid() {
			t.Fatal("Gradients returned a node for an unconnected variable")
		}
		err := g.Err()
		if err == nil || !strings.Contains(err.Error(), "does not depend on "+bias.Name()) {
			t.Fatalf("error %v, want one saying the penalty does not depend on %s", err, bias.Name())
		}
		if _, err := NewSession(g, SessionOptions{}); err == nil {
			t.Fatal("NewSession accepted the graph")
		}
	}
}

func equalValues(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTanhDoubleBackpropRegistry documents a second limit of the C API's
// gradient registry in TF 2.18: TanhGrad has no registered gradient, so a
// gradient penalty cannot be built on a Tanh critic. It must be a clear
// graph error (one line, no goroutine dump), not a crash. If a future
// runtime registers the gradient this test fails, and Tanh critics can be
// added to TestGradientPenaltyGradient.
func TestTanhDoubleBackpropRegistry(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 15))
	g := NewGraph()
	x := g.Placeholder("x", 3)
	critic := g.MLP("critic", 3, []int{4, 1}, Tanh, rng)
	_, gp := buildPenalty(g, critic, x)
	g.Gradients(gp, critic.Layers[0].W.Read())
	_, err := NewSession(g, SessionOptions{})
	if err == nil || !strings.Contains(err.Error(), "TanhGrad") {
		t.Fatalf("error %v, want one naming TanhGrad", err)
	}
	if strings.Contains(err.Error(), "goroutine") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error carries a stack dump: %q", err)
	}
}
