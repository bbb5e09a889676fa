package tf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// newSession opens a session on g (one intra-op thread, so that tests stay
// cheap on a shared machine), initialises its variables and closes it when
// the test ends.
func newSession(t testing.TB, g *Graph) *Session {
	t.Helper()
	s, err := NewSession(g, SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	return s
}

// run is Session.Run that fails the test on error.
func run(t testing.TB, s *Session, feeds []Feed, fetches ...Node) [][]float32 {
	t.Helper()
	out, err := s.Run(feeds, fetches, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// uniform returns n values from U(lo, hi).
func uniform(rng *rand.Rand, n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return v
}

func to64(v []float32) []float64 {
	w := make([]float64, len(v))
	for i, x := range v {
		w[i] = float64(x)
	}
	return w
}

func to32(v []float64) []float32 {
	w := make([]float32, len(v))
	for i, x := range v {
		w[i] = float32(x)
	}
	return w
}

// refMLP is an independent float64 re-implementation of Graph.MLP's
// forward pass and of its input gradient (back-propagation written out by
// hand), used as the reference for the graph's float32 gradients.
type refMLP struct {
	in   int
	outs []int
	act  Activation  // hidden layers; the last layer is linear, as in Graph.MLP
	w    [][]float64 // kernel of layer l, row-major [in_l, out_l]
	b    [][]float64 // bias of layer l
}

// newRefMLP copies the initial values of m's variables.
func newRefMLP(m *MLP, act Activation) *refMLP {
	r := &refMLP{in: m.Layers[0].In, act: act}
	for _, d := range m.Layers {
		r.outs = append(r.outs, d.Out)
		r.w = append(r.w, to64(d.W.init))
		r.b = append(r.b, to64(d.B.init))
	}
	return r
}

// params returns pointers to every parameter in the order of
// MLP.Variables flattened (kernel then bias for each layer).
func (r *refMLP) params() [][]float64 {
	var p [][]float64
	for l := range r.w {
		p = append(p, r.w[l], r.b[l])
	}
	return p
}

func act64(a Activation, z float64) (y, dy float64) {
	switch a {
	case ReLU:
		if z > 0 {
			return z, 1
		}
		return 0, 0
	case LeakyReLU:
		if z > 0 {
			return z, 1
		}
		return 0.2 * z, 0.2
	case Tanh:
		t := math.Tanh(z)
		return t, 1 - t*t
	}
	return z, 1
}

// forward returns the pre-activations of every layer and the output for
// rows rows of x ([rows, in] row-major).
func (r *refMLP) forward(x []float64, rows int) (zs [][]float64, y []float64) {
	h, width := x, r.in
	for l := range r.w {
		out := r.outs[l]
		z := make([]float64, rows*out)
		a := make([]float64, rows*out)
		for i := 0; i < rows; i++ {
			for k := 0; k < out; k++ {
				s := r.b[l][k]
				for j := 0; j < width; j++ {
					s += h[i*width+j] * r.w[l][j*out+k]
				}
				z[i*out+k] = s
				if l == len(r.w)-1 {
					a[i*out+k] = s
				} else {
					a[i*out+k], _ = act64(r.act, s)
				}
			}
		}
		zs = append(zs, z)
		h, width = a, out
	}
	return zs, h
}

// inputGrad returns dy_i/dx_i for every row of x; the output must have one
// column. Back-propagation: dy/dz_L = 1, dy/da_{l-1} = W_l · dy/dz_l,
// dy/dz_l = dy/da_l * act'(z_l).
func (r *refMLP) inputGrad(x []float64, rows int) []float64 {
	zs, _ := r.forward(x, rows)
	L := len(r.w)
	gx := make([]float64, rows*r.in)
	for i := 0; i < rows; i++ {
		d := []float64{1} // dy/dz of the last (linear, one-unit) layer
		for l := L - 1; l >= 0; l-- {
			out := r.outs[l]
			width := r.in
			if l > 0 {
				width = r.outs[l-1]
			}
			da := make([]float64, width)
			for j := 0; j < width; j++ {
				for k := 0; k < out; k++ {
					da[j] += r.w[l][j*out+k] * d[k]
				}
			}
			if l == 0 {
				copy(gx[i*r.in:], da)
				break
			}
			d = make([]float64, width)
			for j := range d {
				_, dact := act64(r.act, zs[l-1][i*width+j])
				d[j] = da[j] * dact
			}
		}
	}
	return gx
}

// penalty is the gradient-penalty term exactly as the graph builds it:
// mean over rows of (sqrt(sum_j (dy/dx_ij)^2 + 1e-12) - 1)^2.
func (r *refMLP) penalty(x []float64, rows int) float64 {
	gx := r.inputGrad(x, rows)
	var p float64
	for i := 0; i < rows; i++ {
		var ss float64
		for j := 0; j < r.in; j++ {
			ss += gx[i*r.in+j] * gx[i*r.in+j]
		}
		d := math.Sqrt(ss+1e-12) - 1
		p += d * d
	}
	return p / float64(rows)
}

// kinkMargin returns the smallest |pre-activation| over the hidden layers:
// how far the input is from a kink of ReLU or LeakyReLU.
func (r *refMLP) kinkMargin(x []float64, rows int) float64 {
	zs, _ := r.forward(x, rows)
	m := math.Inf(1)
	for _, z := range zs[:len(zs)-1] {
		for _, v := range z {
			m = min(m, math.Abs(v))
		}
	}
	return m
}

// pattern returns the sign pattern of every hidden pre-activation.
func (r *refMLP) pattern(x []float64, rows int) string {
	zs, _ := r.forward(x, rows)
	b := []byte{}
	for _, z := range zs[:len(zs)-1] {
		for _, v := range z {
			if v > 0 {
				b = append(b, '+')
			} else {
				b = append(b, '-')
			}
		}
	}
	return string(b)
}

// centralDiff returns (f(p+h) - f(p-h)) / (2h) for every element of every
// parameter slice, restoring each element afterwards.
func centralDiff(params [][]float64, h float64, f func() float64) [][]float64 {
	out := make([][]float64, len(params))
	for i, p := range params {
		out[i] = make([]float64, len(p))
		for j := range p {
			orig := p[j]
			p[j] = orig + h
			fp := f()
			p[j] = orig - h
			fm := f()
			p[j] = orig
			out[i][j] = (fp - fm) / (2 * h)
		}
	}
	return out
}

// graphDiff returns central differences of the scalar loss computed by the
// graph, perturbing one element of one variable at a time with
// Session.Assign. The values are perturbed and differenced in float64; the
// step actually used is float32(w+h)-float32(w-h), so the rounding of the
// perturbed weight to float32 does not bias the quotient.
func graphDiff(t testing.TB, s *Session, vars []*Variable, feeds []Feed, loss Node, h float64) [][]float64 {
	t.Helper()
	base, err := s.Values(vars)
	if err != nil {
		t.Fatal(err)
	}
	eval := func() float64 { return float64(run(t, s, feeds, loss)[0][0]) }
	out := make([][]float64, len(vars))
	for i, v := range vars {
		cur := append([]float32(nil), base[i]...)
		out[i] = make([]float64, len(cur))
		for j := range cur {
			orig := cur[j]
			plus, minus := float32(float64(orig)+h), float32(float64(orig)-h)
			cur[j] = plus
			if err := s.Assign([]*Variable{v}, [][]float32{cur}); err != nil {
				t.Fatal(err)
			}
			fp := eval()
			cur[j] = minus
			if err := s.Assign([]*Variable{v}, [][]float32{cur}); err != nil {
				t.Fatal(err)
			}
			fm := eval()
			cur[j] = orig
			out[i][j] = (fp - fm) / (float64(plus) - float64(minus))
		}
		if err := s.Assign([]*Variable{v}, [][]float32{base[i]}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// gradMismatch compares a computed gradient with a reference, element by
// element: |got-want| <= rtol*max(|want|, floor*scale), where scale is the
// largest |want| over all elements of all slices. The floor keeps
// elements that are nearly zero (and so dominated by rounding) from being
// judged by a relative error. It returns a description of the first few
// failures and the largest error relative to the scale.
func gradMismatch(names []string, got [][]float32, want [][]float64, rtol, floor float64) (msg string, worst float64) {
	var scale float64
	for _, w := range want {
		for _, v := range w {
			scale = max(scale, math.Abs(v))
		}
	}
	if scale == 0 {
		return "reference gradient is identically zero", math.Inf(1)
	}
	n := 0
	for i := range want {
		if len(got[i]) != len(want[i]) {
			return fmt.Sprintf("%s: %d values, want %d", names[i], len(got[i]), len(want[i])), math.Inf(1)
		}
		for j, w := range want[i] {
			d := math.Abs(float64(got[i][j]) - w)
			worst = max(worst, d/scale)
			if d > rtol*max(math.Abs(w), floor*scale) {
				if n < 5 {
					msg += fmt.Sprintf("\n  %s[%d]: got %.7g, want %.7g (|diff| %.3g)", names[i], j, got[i][j], w, d)
				}
				n++
			}
		}
	}
	if n > 0 {
		msg = fmt.Sprintf("%d of the elements differ:%s", n, msg)
	}
	return msg, worst
}

func varNames(vs []*Variable) []string {
	n := make([]string, len(vs))
	for i, v := range vs {
		n[i] = v.Name()
	}
	return n
}

func reads(vs []*Variable) []Node {
	n := make([]Node, len(vs))
	for i, v := range vs {
		n[i] = v.Read()
	}
	return n
}
