package tf

import (
	"fmt"
	"math"
	"math/rand/v2"

	tfgo "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
)

// Variable is a float32 resource variable (VarHandleOp) with one read node
// shared by every use, so that gradients with respect to Read() collect all
// uses, and an assign op fed from a placeholder.
type Variable struct {
	name   string
	shape  []int64
	handle tfgo.Output
	read   Node
	value  tfgo.Output // placeholder feeding assign
	assign *tfgo.Operation
	init   []float32
}

// Variable adds a resource variable with the given initial value
// (len(init) must equal the product of shape).
func (g *Graph) Variable(name string, shape []int64, init []float32) *Variable {
	if g.Err() != nil {
		return &Variable{name: name, shape: shape}
	}
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	if int64(len(init)) != n {
		g.fail(fmt.Errorf("tf: variable %s: %d initial values for shape %v", name, len(init), shape))
		return &Variable{name: name, shape: shape}
	}
	s := g.scope.SubScope(name)
	v := &Variable{name: g.prefix + name, shape: append([]int64(nil), shape...), init: init}
	for _, old := range g.vars {
		if old.name == v.name {
			g.fail(fmt.Errorf("tf: variable %s defined twice", v.name))
			return v
		}
	}
	v.handle = op.VarHandleOp(s, tfgo.Float, tfgo.MakeShape(shape...), op.VarHandleOpSharedName(v.name))
	v.read = Node{op.ReadVariableOp(s.SubScope("read"), v.handle, tfgo.Float)}
	v.value = op.Placeholder(s.SubScope("value"), tfgo.Float, op.PlaceholderShape(tfgo.MakeShape(shape...)))
	v.assign = op.AssignVariableOp(s.SubScope("assign"), v.handle, v.value)
	g.vars = append(g.vars, v)
	return v
}

// Name returns the variable's full name.
func (v *Variable) Name() string { return v.name }

// Shape returns the variable's shape.
func (v *Variable) Shape() []int64 { return append([]int64(nil), v.shape...) }

// Size returns the number of elements.
func (v *Variable) Size() int {
	n := 1
	for _, d := range v.shape {
		n *= int(d)
	}
	return n
}

// Read returns the node reading the variable's current value.
func (v *Variable) Read() Node { return v.read }

// GlorotUniform returns fanIn*fanOut values drawn from U(-l, l) with
// l = sqrt(6/(fanIn+fanOut)), Keras' default kernel initialiser.
func GlorotUniform(rng *rand.Rand, fanIn, fanOut int) []float32 {
	limit := math.Sqrt(6 / float64(fanIn+fanOut))
	w := make([]float32, fanIn*fanOut)
	for i := range w {
		w[i] = float32((rng.Float64()*2 - 1) * limit)
	}
	return w
}

// Activation is a layer's nonlinearity.
type Activation int

// Activations.
const (
	Linear Activation = iota
	ReLU
	LeakyReLU // alpha 0.2
	Tanh
)

func (a Activation) String() string {
	switch a {
	case Linear:
		return "linear"
	case ReLU:
		return "relu"
	case LeakyReLU:
		return "leaky_relu"
	case Tanh:
		return "tanh"
	}
	return fmt.Sprintf("activation(%d)", int(a))
}

// ParseActivation is the inverse of Activation.String.
func ParseActivation(s string) (Activation, error) {
	for a := Linear; a <= Tanh; a++ {
		if a.String() == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("tf: unknown activation %q", s)
}

// Dense is a fully connected layer y = act(x·W + b), as Keras' Dense with
// Glorot-uniform W and zero b.
type Dense struct {
	W, B *Variable
	Act  Activation
	In   int
	Out  int
}

// Dense adds a dense layer with variables name/kernel and name/bias.
func (g *Graph) Dense(name string, in, out int, act Activation, rng *rand.Rand) *Dense {
	d := &Dense{Act: act, In: in, Out: out}
	g.WithScope(name, func() {
		d.W = g.Variable("kernel", []int64{int64(in), int64(out)}, GlorotUniform(rng, in, out))
		d.B = g.Variable("bias", []int64{int64(out)}, make([]float32, out))
	})
	return d
}

// Apply returns the layer's output for x ([rows, In]).
func (g *Graph) Apply(d *Dense, x Node) Node {
	return g.act(d.Act, g.Add(g.MatMul(x, d.W.Read()), d.B.Read()))
}

// act applies a layer's activation.
func (g *Graph) act(a Activation, y Node) Node {
	switch a {
	case ReLU:
		return g.Relu(y)
	case LeakyReLU:
		return g.LeakyRelu(y, 0.2)
	case Tanh:
		return g.Tanh(y)
	}
	return y
}

// MLP is a stack of dense layers.
type MLP struct {
	Layers []*Dense
}

// MLP adds dense layers of the given widths: in -> widths[0] -> ... ; hidden
// layers use act, the last layer is linear.
func (g *Graph) MLP(name string, in int, widths []int, act Activation, rng *rand.Rand) *MLP {
	m := &MLP{}
	g.WithScope(name, func() {
		prev := in
		for i, w := range widths {
			a := act
			if i == len(widths)-1 {
				a = Linear
			}
			m.Layers = append(m.Layers, g.Dense(fmt.Sprintf("dense%d", i), prev, w, a, rng))
			prev = w
		}
	})
	return m
}

// ApplyMLP runs x through every layer of m.
func (g *Graph) ApplyMLP(m *MLP, x Node) Node {
	for _, d := range m.Layers {
		x = g.Apply(d, x)
	}
	return x
}

// InferMLP runs x through every layer of m as ApplyMLP does, with the
// bias added by BiasAdd instead of AddV2, so that TensorFlow's remapper
// fuses each layer's MatMul, bias and activation into one kernel
// (_FusedMatMul): the same values to float rounding, about three times
// faster at batch 1 (BenchmarkGenerator's fused rows). For graphs that
// only run forward: the training graphs keep ApplyMLP, whose gradients
// (and the gradient penalty's second-order ones) the C API registers.
func (g *Graph) InferMLP(m *MLP, x Node) Node {
	for _, d := range m.Layers {
		y := g.BiasAdd(g.MatMul(x, d.W.Read()), d.B.Read())
		if d.Act == ReLU && g.check(y) {
			// Relu itself (Graph.Relu is LeakyRelu with alpha 0, which
			// has the gradients training needs): the fusion's fastest case.
			x = Node{op.Relu(g.sub("Relu"), y.out)}
			continue
		}
		x = g.act(d.Act, y)
	}
	return x
}

// Variables returns the MLP's variables, kernel then bias for each layer.
func (m *MLP) Variables() []*Variable {
	var vs []*Variable
	for _, d := range m.Layers {
		vs = append(vs, d.W, d.B)
	}
	return vs
}

// FLOPs returns the multiply-add count times two of one forward pass for one row.
func (m *MLP) FLOPs() float64 {
	var f float64
	for _, d := range m.Layers {
		f += 2 * float64(d.In) * float64(d.Out)
	}
	return f
}
