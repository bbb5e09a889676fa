package tf

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// adamReference is tf/testdata/adam_reference.json, written by
// tf/testdata/adam_reference.py (numpy, float64; see testdata/README.md).
type adamReference struct {
	X      []float32 `json:"x"`
	XShape []int     `json:"x_shape"`
	T      []float32 `json:"t"`
	TShape []int     `json:"t_shape"`
	W0     []float32 `json:"W0"`
	WShape []int64   `json:"W_shape"`
	B0     []float32 `json:"b0"`
	Runs   []struct {
		Config struct {
			Name                      string
			LR, Beta1, Beta2, Epsilon float64
		} `json:"config"`
		Steps []struct {
			Step       int       `json:"step"`
			LossBefore float64   `json:"loss_before"`
			W          []float64 `json:"W"`
			B          []float64 `json:"b"`
			MW         []float64 `json:"mW"`
			VW         []float64 `json:"vW"`
			MB         []float64 `json:"mb"`
			VB         []float64 `json:"vb"`
		} `json:"steps"`
	} `json:"runs"`
}

func loadAdamReference(t *testing.T) *adamReference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "adam_reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref adamReference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("testdata/adam_reference.json: %v", err)
	}
	if len(ref.Runs) == 0 || len(ref.X) != ref.XShape[0]*ref.XShape[1] {
		t.Fatal("testdata/adam_reference.json: unexpected content")
	}
	return &ref
}

// adamProblem is the reference's least-squares problem as a graph:
// loss = mean((x·W + b - t)^2).
type adamProblem struct {
	g     *Graph
	x, tg Node
	loss  Node
	w, b  *Variable
	opt   *Adam
	feeds []Feed
}

func newAdamProblem(ref *adamReference, cfg AdamConfig, w0, b0 []float32) *adamProblem {
	p := &adamProblem{g: NewGraph()}
	g := p.g
	p.x = g.Placeholder("x", ref.XShape[1])
	p.tg = g.Placeholder("t", ref.TShape[1])
	p.w = g.Variable("W", ref.WShape, w0)
	p.b = g.Variable("b", []int64{int64(len(b0))}, b0)
	p.loss = g.Mean(g.Square(g.Sub(g.Add(g.MatMul(p.x, p.w.Read()), p.b.Read()), p.tg)))
	p.opt = g.Adam("adam", p.loss, []*Variable{p.w, p.b}, cfg)
	p.feeds = []Feed{
		{Node: p.x, Data: ref.X, Rows: ref.XShape[0]},
		{Node: p.tg, Data: ref.T, Rows: ref.TShape[0]},
	}
	return p
}

// Tolerances against the float64 reference. The graph runs in float32, and
// ResourceApplyAdam forms 1-beta from the float32 beta: 0.999 is stored as
// 0.99900001, so 1-beta2 is 1.3e-5 smaller, relative, than numpy's. The
// largest differences seen over the 10 steps of both runs are 5.6e-7 for W
// and b and 1.4e-5 of the slot's largest magnitude for v (7e-7 for m). The
// tolerances leave a 3-4x margin; a wrong formula (missing bias correction,
// eps inside the root, a lost step count) is off by 1e-3 or more.
const (
	adamVarTol  = 2e-6 // absolute, on W and b
	adamSlotTol = 5e-5 // relative to the slot's largest magnitude, on m and v
	adamLossTol = 1e-5 // relative, on the loss before each step
)

// checkAdamStep compares the variables and slots after a step with the
// reference.
func checkAdamStep(t *testing.T, s *Session, p *adamProblem, step int, want [6][]float64) {
	t.Helper()
	vars := append([]*Variable{p.w, p.b}, p.opt.Slots()...) // m_W, v_W, m_b, v_b
	got, err := s.Values(vars)
	if err != nil {
		t.Fatal(err)
	}
	names := [6]string{"W", "b", "m(W)", "v(W)", "m(b)", "v(b)"}
	for k := range names {
		scale := 0.0
		for _, v := range want[k] {
			scale = max(scale, math.Abs(v))
		}
		tol := adamVarTol
		if k >= 2 {
			tol = adamSlotTol * scale
		}
		if len(got[k]) != len(want[k]) {
			t.Fatalf("step %d %s: %d values, want %d", step, names[k], len(got[k]), len(want[k]))
		}
		for i, w := range want[k] {
			if d := math.Abs(float64(got[k][i]) - w); d > tol {
				t.Errorf("step %d %s[%d] = %.9g, numpy %.9g (|diff| %.2g > %.2g)", step, names[k], i, got[k][i], w, d, tol)
			}
		}
	}
}

// TestAdamAgainstNumpy runs 10 Adam steps on a least-squares problem for two
// hyper-parameter sets and compares the loss, the variables and the slots
// after every step with values computed independently with numpy.
func TestAdamAgainstNumpy(t *testing.T) {
	ref := loadAdamReference(t)
	for _, r := range ref.Runs {
		t.Run(r.Config.Name, func(t *testing.T) {
			cfg := AdamConfig{LR: r.Config.LR, Beta1: r.Config.Beta1, Beta2: r.Config.Beta2, Epsilon: r.Config.Epsilon}
			p := newAdamProblem(ref, cfg, ref.W0, ref.B0)
			s := newSession(t, p.g)
			for _, st := range r.Steps {
				out, err := p.opt.Run(s, p.feeds, []Node{p.loss}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if l := float64(out[0][0]); math.Abs(l-st.LossBefore) > adamLossTol*st.LossBefore {
					t.Errorf("step %d: loss before the update %.9g, numpy %.9g", st.Step, l, st.LossBefore)
				}
				if p.opt.Step() != int64(st.Step) {
					t.Fatalf("Step() = %d after %d updates", p.opt.Step(), st.Step)
				}
				checkAdamStep(t, s, p, st.Step, [6][]float64{st.W, st.B, st.MW, st.VW, st.MB, st.VB})
			}
		})
	}
}

// TestAdamResumeFromFile stops after 4 steps, saves the variables, the
// slots and the step count, restores them into a freshly built graph whose
// variables start elsewhere, and checks that steps 5..10 still follow the
// numpy reference (so the slots and the bias-correction step survive).
func TestAdamResumeFromFile(t *testing.T) {
	ref := loadAdamReference(t)
	r := ref.Runs[len(ref.Runs)-1]
	cfg := AdamConfig{LR: r.Config.LR, Beta1: r.Config.Beta1, Beta2: r.Config.Beta2, Epsilon: r.Config.Epsilon}
	path := filepath.Join(t.TempDir(), "adam.vars")

	p := newAdamProblem(ref, cfg, ref.W0, ref.B0)
	s := newSession(t, p.g)
	const stop = 4
	for range stop {
		if _, err := p.opt.Run(s, p.feeds, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	all := append([]*Variable{p.w, p.b}, p.opt.Slots()...)
	if err := s.Save(path, all, map[string]string{"adam_step": strconv.FormatInt(p.opt.Step(), 10)}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	q := newAdamProblem(ref, cfg, make([]float32, len(ref.W0)), make([]float32, len(ref.B0)))
	s2 := newSession(t, q.g)
	meta, err := s2.Load(path, append([]*Variable{q.w, q.b}, q.opt.Slots()...))
	if err != nil {
		t.Fatal(err)
	}
	step, err := strconv.ParseInt(meta["adam_step"], 10, 64)
	if err != nil || step != stop {
		t.Fatalf("metadata adam_step = %q", meta["adam_step"])
	}
	q.opt.SetStep(step)
	for _, st := range r.Steps[stop:] {
		if _, err := q.opt.Run(s2, q.feeds, nil, nil); err != nil {
			t.Fatal(err)
		}
		checkAdamStep(t, s2, q, st.Step, [6][]float64{st.W, st.B, st.MW, st.VW, st.MB, st.VB})
	}

	// Without the step count the bias correction restarts and the path
	// leaves the reference: the check above is sensitive to it.
	u := newAdamProblem(ref, cfg, ref.W0, ref.B0)
	s3 := newSession(t, u.g)
	if _, err := s3.Load(path, append([]*Variable{u.w, u.b}, u.opt.Slots()...)); err != nil {
		t.Fatal(err)
	}
	if _, err := u.opt.Run(s3, u.feeds, nil, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := s3.Values([]*Variable{u.w})
	want := r.Steps[stop].W
	var worst float64
	for i := range want {
		worst = max(worst, math.Abs(float64(got[0][i])-want[i]))
	}
	if worst <= adamVarTol {
		t.Errorf("resuming with step 0 matches the reference too (max |diff| %.2g): the test cannot see the step", worst)
	}
}

// TestAdamFirstStepOnGradientPenalty applies one Adam step to a WGAN-GP
// style critic loss, mean(D(x)) + 10*penalty, which needs second-order
// gradients, and checks the update against a hand derivation. From m = v = 0,
// step 1 gives m = (1-b1)g, v = (1-b2)g^2, lr_1 = lr*sqrt(1-b2)/(1-b1), so
//
//	delta = -lr_1*m/(sqrt(v)+eps) = -lr*g/(|g| + eps/sqrt(1-b2)),
//
// with g taken from central differences of the float64 reference critic.
func TestAdamFirstStepOnGradientPenalty(t *testing.T) {
	const rows, in, lr = 6, 3, 1e-3
	cfg := AdamConfig{LR: lr, Beta1: 0.5, Beta2: 0.9, Epsilon: 1e-7}
	rng := rand.New(rand.NewPCG(21, 22))
	g := NewGraph()
	x := g.Placeholder("x", in)
	critic := g.MLP("critic", in, []int{16, 8, 1}, ReLU, rng)
	y, gp := buildPenalty(g, critic, x)
	loss := g.Add(g.Mean(y), g.Mul(g.Scalar(10), gp))
	vars := critic.Variables()
	opt := g.Adam("adam", loss, vars, cfg)
	s := newSession(t, g)

	ref := newRefMLP(critic, ReLU)
	xv := safeInputs(t, rng, ref, ReLU, rows, in, -1, 1, refStep, 0)
	x64 := to64(xv)
	grad := centralDiff(ref.params(), refStep, func() float64 {
		_, yr := ref.forward(x64, rows)
		var m float64
		for _, v := range yr {
			m += v
		}
		return m/float64(rows) + 10*ref.penalty(x64, rows)
	})

	before, err := s.Values(vars)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opt.Run(s, []Feed{{Node: x, Data: xv, Rows: rows}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	after, err := s.Values(vars)
	if err != nil {
		t.Fatal(err)
	}
	var gmax float64
	for _, gv := range grad {
		for _, v := range gv {
			gmax = max(gmax, math.Abs(v))
		}
	}
	epsHat := cfg.Epsilon / math.Sqrt(1-cfg.Beta2)
	checked := 0
	for i, v := range vars {
		for j := range grad[i] {
			gij := grad[i][j]
			got := float64(after[i][j]) - float64(before[i][j])
			want := -lr * gij / (math.Abs(gij) + epsHat)
			// An element whose gradient is tiny (dead ReLU units give exact
			// zeros) moves by at most lr*|g|/eps_hat, which float32 noise in
			// g can flip; those are only bounded.
			if math.Abs(gij) < 1e-3*gmax {
				if math.Abs(got) > lr*(1+1e-3) {
					t.Errorf("%s[%d]: moved %.3g, more than lr", v.Name(), j, got)
				}
				continue
			}
			checked++
			// float32 weights near 1 resolve steps to ~1.2e-7.
			if d := math.Abs(got - want); d > 2.5e-7+1e-3*math.Abs(want) {
				t.Errorf("%s[%d]: moved %.6g, hand-derived %.6g (g = %.4g)", v.Name(), j, got, want, gij)
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d elements had a usable gradient", checked)
	}
	t.Logf("%d elements checked", checked)
}

// ExampleGraph_Gradients differentiates y = relu(x·w) by hand-checkable
// numbers: for x = [1, 2] and w = [0.5, -0.1]^T, x·w = 0.3 > 0, so
// dy/dx = w^T and dy/dw = x^T.
func ExampleGraph_Gradients() {
	g := NewGraph()
	x := g.Placeholder("x", 2)
	w := g.Variable("w", []int64{2, 1}, []float32{0.5, -0.1})
	y := g.Relu(g.MatMul(x, w.Read()))
	d := g.Gradients(y, x, w.Read())
	s, err := NewSession(g, SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	if err := s.Init(); err != nil {
		fmt.Println(err)
		return
	}
	out, err := s.Run([]Feed{{Node: x, Data: []float32{1, 2}, Rows: 1}}, []Node{y, d[0], d[1]}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("y=%.2f dy/dx=%.2f dy/dw=%.2f\n", out[0], out[1], out[2])
	// Output: y=[0.30] dy/dx=[0.50 -0.10] dy/dw=[1.00 2.00]
}

// TestAdamLRScale: an optimiser with learning rate r scaled by f takes
// the steps of one configured with r*f, and a later scale applies from the
// next step on.
func TestAdamLRScale(t *testing.T) {
	ref := loadAdamReference(t)
	c := ref.Runs[0].Config
	cfg := AdamConfig{LR: c.LR, Beta1: c.Beta1, Beta2: c.Beta2, Epsilon: c.Epsilon}
	half := cfg
	half.LR = cfg.LR / 2
	scaled, plain := newAdamProblem(ref, cfg, ref.W0, ref.B0), newAdamProblem(ref, half, ref.W0, ref.B0)
	full := newAdamProblem(ref, cfg, ref.W0, ref.B0)
	ss, sp, sf := newSession(t, scaled.g), newSession(t, plain.g), newSession(t, full.g)
	scaled.opt.SetLRScale(0.5)
	for step := 0; step < 3; step++ {
		for _, p := range []struct {
			s *Session
			a *adamProblem
		}{{ss, scaled}, {sp, plain}, {sf, full}} {
			if _, err := p.a.opt.Run(p.s, p.a.feeds, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	vals := func(s *Session, p *adamProblem) []float32 {
		v, err := s.Values([]*Variable{p.w})
		if err != nil {
			t.Fatal(err)
		}
		return v[0]
	}
	a, b, f := vals(ss, scaled), vals(sp, plain), vals(sf, full)
	moved := false
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-7 {
			t.Errorf("W[%d]: %v with the rate scaled by 0.5, %v with half the rate", i, a[i], b[i])
		}
		if math.Abs(float64(a[i]-f[i])) > 1e-4 {
			moved = true
		}
	}
	if !moved {
		t.Error("the scaled run took the full rate's steps")
	}
}
