package tf

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	tfgo "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	tg "github.com/galeone/tfgo"
)

// Version returns the version of the TensorFlow C library in use.
func Version() string { return tfgo.Version() }

// Node is a symbolic float32 tensor in a Graph.
type Node struct {
	out tfgo.Output
}

// Valid reports whether n refers to an op (it is invalid after a graph error).
func (n Node) Valid() bool { return n.out.Op != nil }

// Name returns the name of the op producing n.
func (n Node) Name() string {
	if n.out.Op == nil {
		return "<invalid>"
	}
	return n.out.Op.Name()
}

// Target is an op run for its side effect (an assignment, an optimiser step).
type Target struct {
	op *tfgo.Operation
}

// Graph is a TensorFlow graph under construction with a sticky error.
type Graph struct {
	g      *tfgo.Graph
	root   *op.Scope
	scope  *op.Scope
	vars   []*Variable
	prefix string // "a/b/" inside WithScope("a") and WithScope("b")
	err    error  // errors of this package (the bindings keep their own in scope)
}

// NewGraph returns an empty graph.
func NewGraph() *Graph {
	g := tfgo.NewGraph()
	root := op.NewScopeWithGraph(g)
	return &Graph{g: g, root: root, scope: root}
}

// Err returns the first error met while building the graph, if any.
func (g *Graph) Err() error {
	if g.err != nil {
		return g.err
	}
	if err := g.root.Err(); err != nil {
		// The bindings append a goroutine dump to the message; keep the
		// message itself.
		msg, _, _ := strings.Cut(err.Error(), " (Stacktrace:")
		return fmt.Errorf("tf: building graph: %s", msg)
	}
	return nil
}

func (g *Graph) fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

// WithScope runs build with op names prefixed by name/ and restores the
// previous prefix afterwards.
func (g *Graph) WithScope(name string, build func()) {
	prev, prevPrefix := g.scope, g.prefix
	g.scope = prev.SubScope(name)
	g.prefix = prevPrefix + name + "/"
	build()
	g.scope, g.prefix = prev, prevPrefix
}

// sub returns a fresh sub-scope named after the op type: the bindings name
// an op "<scope>/<Type>" without making it unique, so every op gets a scope.
func (g *Graph) sub(typ string) *op.Scope { return g.scope.SubScope(typ) }

// unique returns a fresh, uniquely named sub-scope (tfgo's naming helper).
func (g *Graph) unique() *op.Scope { return tg.NewScope(g.scope) }

func (g *Graph) check(nodes ...Node) bool {
	if g.Err() != nil {
		return false
	}
	for _, n := range nodes {
		if n.out.Op == nil {
			g.fail(errors.New("tf: use of an invalid node"))
			return false
		}
	}
	return true
}

// Placeholder adds a float32 input of shape [?, cols] (cols < 0 for a scalar).
func (g *Graph) Placeholder(name string, cols int) Node {
	if g.Err() != nil {
		return Node{}
	}
	s := g.scope.SubScope(name)
	if cols < 0 {
		return Node{op.Placeholder(s, tfgo.Float, op.PlaceholderShape(tfgo.ScalarShape()))}
	}
	return Node{op.Placeholder(s, tfgo.Float, op.PlaceholderShape(tfgo.MakeShape(-1, int64(cols))))}
}

// Scalar adds a float32 constant.
func (g *Graph) Scalar(v float32) Node {
	if g.Err() != nil {
		return Node{}
	}
	return Node{op.Const(g.unique(), v)}
}

func (g *Graph) axis(a ...int32) tfgo.Output { return op.Const(g.unique(), a) }

// MatMul returns a·b.
func (g *Graph) MatMul(a, b Node) Node {
	if !g.check(a, b) {
		return Node{}
	}
	return Node{op.MatMul(g.sub("MatMul"), a.out, b.out)}
}

// BiasAdd returns a with bias (a vector of a's column count) added to
// every row. Unlike Add it lets TensorFlow's graph optimiser fuse a
// preceding MatMul, the bias and a following activation into one kernel.
func (g *Graph) BiasAdd(a, bias Node) Node {
	if !g.check(a, bias) {
		return Node{}
	}
	return Node{op.BiasAdd(g.sub("BiasAdd"), a.out, bias.out)}
}

// Add returns a+b with broadcasting (AddV2).
func (g *Graph) Add(a, b Node) Node {
	if !g.check(a, b) {
		return Node{}
	}
	return Node{op.AddV2(g.sub("Add"), a.out, b.out)}
}

// Sub returns a-b with broadcasting.
func (g *Graph) Sub(a, b Node) Node {
	if !g.check(a, b) {
		return Node{}
	}
	return Node{op.Sub(g.sub("Sub"), a.out, b.out)}
}

// Mul returns a*b elementwise with broadcasting.
func (g *Graph) Mul(a, b Node) Node {
	if !g.check(a, b) {
		return Node{}
	}
	return Node{op.Mul(g.sub("Mul"), a.out, b.out)}
}

// Neg returns -a.
func (g *Graph) Neg(a Node) Node {
	if !g.check(a) {
		return Node{}
	}
	return Node{op.Neg(g.sub("Neg"), a.out)}
}

// Square returns a*a elementwise.
func (g *Graph) Square(a Node) Node {
	if !g.check(a) {
		return Node{}
	}
	return Node{op.Square(g.sub("Square"), a.out)}
}

// Sqrt returns the elementwise square root.
func (g *Graph) Sqrt(a Node) Node {
	if !g.check(a) {
		return Node{}
	}
	return Node{op.Sqrt(g.sub("Sqrt"), a.out)}
}

// Tanh returns the elementwise hyperbolic tangent. It can be differentiated
// once only: TanhGrad has no registered gradient.
func (g *Graph) Tanh(a Node) Node {
	if !g.check(a) {
		return Node{}
	}
	return Node{op.Tanh(g.sub("Tanh"), a.out)}
}

// Relu returns max(a, 0), built as LeakyRelu with alpha 0 so that it can be
// differentiated twice (see the package documentation).
func (g *Graph) Relu(a Node) Node { return g.LeakyRelu(a, 0) }

// LeakyRelu returns max(a, alpha*a).
func (g *Graph) LeakyRelu(a Node, alpha float32) Node {
	if !g.check(a) {
		return Node{}
	}
	return Node{op.LeakyRelu(g.sub("LeakyRelu"), a.out, op.LeakyReluAlpha(alpha))}
}

// Concat joins nodes along the column axis (ConcatV2, which has a gradient).
func (g *Graph) Concat(nodes ...Node) Node { return g.concat("Concat", 1, nodes) }

// ConcatRows stacks nodes along the row axis (ConcatV2 on axis 0): one
// batch through a network instead of several, for larger matrix products.
func (g *Graph) ConcatRows(nodes ...Node) Node { return g.concat("ConcatRows", 0, nodes) }

func (g *Graph) concat(name string, axis int32, nodes []Node) Node {
	if !g.check(nodes...) {
		return Node{}
	}
	outs := make([]tfgo.Output, len(nodes))
	for i, n := range nodes {
		outs[i] = n.out
	}
	return Node{op.ConcatV2(g.sub(name), outs, op.Const(g.unique(), axis))}
}

// GroupMeans splits a's elements, in row-major order, into groups equal
// consecutive parts and averages each, giving a [groups] node: the means
// of the parts of a ConcatRows of equally long batches.
func (g *Graph) GroupMeans(a Node, groups int) Node {
	if !g.check(a) {
		return Node{}
	}
	s := g.unique()
	r := op.Reshape(s.SubScope("reshape"), a.out, op.Const(s.SubScope("shape"), []int32{int32(groups), -1}))
	return Node{op.Mean(s.SubScope("mean"), r, op.Const(s.SubScope("axis"), int32(1)))}
}

// Vector adds a constant float32 vector.
func (g *Graph) Vector(v []float32) Node {
	if g.Err() != nil {
		return Node{}
	}
	return Node{op.Const(g.unique(), append([]float32(nil), v...))}
}

// Sum adds up all elements of a rank-1 node, giving a scalar.
func (g *Graph) Sum(a Node) Node {
	if !g.check(a) {
		return Node{}
	}
	return Node{op.Sum(g.sub("Sum"), a.out, g.axis(0))}
}

// SumCols sums over the columns, giving a [rows, 1] node.
func (g *Graph) SumCols(a Node) Node {
	if !g.check(a) {
		return Node{}
	}
	return Node{op.Sum(g.sub("Sum"), a.out, g.axis(1), op.SumKeepDims(true))}
}

// Mean averages all elements, giving a scalar.
func (g *Graph) Mean(a Node) Node {
	if !g.check(a) {
		return Node{}
	}
	return Node{op.Mean(g.sub("Mean"), a.out, g.axis(0, 1))}
}

// MeanAll averages all elements of a node of any rank, giving a scalar.
func (g *Graph) MeanAll(a Node) Node {
	if !g.check(a) {
		return Node{}
	}
	s := g.unique()
	rank := op.Rank(s, a.out)
	axes := op.Range(s, op.Const(s.SubScope("start"), int32(0)), rank, op.Const(s.SubScope("delta"), int32(1)))
	return Node{op.Mean(s, a.out, axes)}
}

// Gradients returns d(sum y)/dx for each x, added to the graph. Gradients
// of gradients are allowed (second order), within what the C++ gradient
// registry supports. A nil entry is an error: y does not depend on that x.
func (g *Graph) Gradients(y Node, xs ...Node) []Node {
	if !g.check(append([]Node{y}, xs...)...) {
		return make([]Node, len(xs))
	}
	in := make([]tfgo.Output, len(xs))
	for i, x := range xs {
		in[i] = x.out
	}
	// The seed gradient is StopGradient(OnesLike(y)) rather than the implicit
	// OnesLike(y): OnesLike has no C++ gradient, and a second differentiation
	// would otherwise fail on it.
	s := g.unique()
	seed := op.StopGradient(s.SubScope("seed"), op.OnesLike(s.SubScope("ones"), y.out))
	// The bindings return an Operation wrapping NULL for an x that y does
	// not depend on, and any use of it crashes the C library: find such an
	// x first, on a copy of the graph.
	if g.Err() != nil {
		return make([]Node, len(xs))
	}
	var def bytes.Buffer
	if _, err := g.g.WriteTo(&def); err != nil {
		g.fail(fmt.Errorf("tf: gradients: %w", err))
		return make([]Node, len(xs))
	}
	cxs := make([]cOut, len(xs))
	for i, x := range xs {
		cxs[i] = cOut{name: x.out.Op.Name(), index: x.out.Index}
	}
	missing, err := missingGradients(def.Bytes(), cOut{name: y.out.Op.Name(), index: y.out.Index}, cxs, cOut{name: seed.Op.Name(), index: seed.Index})
	if err != nil {
		g.fail(err)
		return make([]Node, len(xs))
	}
	for i, m := range missing {
		if m {
			g.fail(fmt.Errorf("tf: %s does not depend on %s (unreachable: no gradient path)", y.Name(), xs[i].Name()))
			return make([]Node, len(xs))
		}
	}
	out := op.Gradients(s, []tfgo.Output{y.out}, in, seed)
	res := make([]Node, len(xs))
	if g.Err() != nil {
		return res
	}
	for i := range out {
		if out[i].Op == nil {
			g.fail(fmt.Errorf("tf: %s does not depend on %s", y.Name(), xs[i].Name()))
			return res
		}
		res[i] = Node{out[i]}
	}
	return res
}

// Variables returns the graph's variables in creation order.
func (g *Graph) Variables() []*Variable { return append([]*Variable(nil), g.vars...) }
