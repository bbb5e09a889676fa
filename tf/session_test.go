package tf

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// smallGraph is x ([?, 3]) -> dense 3x2 (linear) -> y.
func smallGraph() (*Graph, Node, Node, *Dense) {
	g := NewGraph()
	x := g.Placeholder("x", 3)
	d := g.Dense("d", 3, 2, Linear, rand.New(rand.NewPCG(1, 1)))
	return g, x, g.Apply(d, x), d
}

func TestSessionCloseTwiceAndUseAfterClose(t *testing.T) {
	g, x, y, d := smallGraph()
	s := newSession(t, g)
	feeds := []Feed{{Node: x, Data: []float32{1, 2, 3}, Rows: 1}}
	if _, err := s.Run(feeds, []Node{y}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	var nilSession *Session
	if err := nilSession.Close(); err != nil {
		t.Fatalf("Close of a nil session: %v", err)
	}
	checks := map[string]error{}
	_, checks["Run"] = s.Run(feeds, []Node{y}, nil)
	checks["Init"] = s.Init()
	checks["Assign"] = s.Assign([]*Variable{d.B}, [][]float32{{0, 0}})
	_, checks["Values"] = s.Values([]*Variable{d.W})
	checks["Save"] = s.Save(t.TempDir()+"/x.vars", []*Variable{d.W}, nil)
	for name, err := range checks {
		if !errors.Is(err, errClosed) {
			t.Errorf("%s after Close: %v, want %v", name, err, errClosed)
		}
	}
}

// TestGraphErrorsSurfaceFromNewSession: every way of building a bad graph
// is reported once, by Graph.Err and NewSession, and later building calls
// are harmless no-ops.
func TestGraphErrorsSurfaceFromNewSession(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	cases := []struct {
		name  string
		build func(g *Graph)
		want  string
	}{
		{"matmul shapes", func(g *Graph) {
			x := g.Placeholder("x", 3)
			w := g.Variable("w", []int64{4, 2}, make([]float32, 8))
			g.MatMul(x, w.Read())
		}, "MatMul"},
		{"initial value size", func(g *Graph) {
			g.Variable("w", []int64{2, 2}, []float32{1, 2, 3})
		}, "3 initial values"},
		{"variable defined twice", func(g *Graph) {
			g.Variable("w", []int64{1}, []float32{1})
			g.Variable("w", []int64{1}, []float32{1})
		}, "defined twice"},
		{"invalid node", func(g *Graph) {
			g.Tanh(Node{})
		}, "invalid node"},
		{"gradient of unconnected input", func(g *Graph) {
			x := g.Placeholder("x", 2)
			z := g.Placeholder("z", 2)
			g.Gradients(g.Mean(x), z)
		}, "unreachable"},
		{"concat widths", func(g *Graph) {
			a := g.Placeholder("a", 2)
			g.Add(g.Concat(a, a), a)
		}, "Add"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewGraph()
			c.build(g)
			first := g.Err()
			if first == nil || !strings.Contains(first.Error(), c.want) || !strings.HasPrefix(first.Error(), "tf: ") {
				t.Fatalf("Graph.Err = %v, want an error mentioning %q", first, c.want)
			}
			// Building goes on without panicking and keeps the first error.
			x := g.Placeholder("later", 2)
			m := g.MLP("later_mlp", 2, []int{3, 1}, ReLU, rng)
			y := g.ApplyMLP(m, x)
			g.Gradients(y, x)
			g.Adam("later_adam", g.Mean(y), m.Variables(), AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7})
			s, err := NewSession(g, SessionOptions{})
			if err == nil {
				s.Close()
				t.Fatal("NewSession accepted a graph with an error")
			}
			if s != nil || err.Error() != first.Error() {
				t.Fatalf("NewSession = %v, %v; want nil and the first error %v", s, err, first)
			}
		})
	}
}

func TestRunRejectsBadFeeds(t *testing.T) {
	g, x, y, _ := smallGraph()
	scalar := g.Placeholder("s", -1)
	ys := g.Mul(y, scalar)
	sq := g.Square(x)
	s := newSession(t, g)
	cases := []struct {
		name  string
		feeds []Feed
		fetch Node
		want  string
	}{
		{"wrong column count", []Feed{{Node: x, Data: make([]float32, 8), Rows: 2}}, y, "shape [2 4], the graph expects [?, 3]"},
		// Through an elementwise op TensorFlow itself would accept the
		// wrong width and broadcast it.
		{"wrong column count, broadcasting", []Feed{{Node: x, Data: make([]float32, 2), Rows: 2}}, sq, "shape [2 1]"},
		{"rows do not divide", []Feed{{Node: x, Data: make([]float32, 7), Rows: 2}}, y, "do not form 2 rows"},
		{"zero rows", []Feed{{Node: x, Data: nil, Rows: 0}}, y, "rows"},
		{"scalar with two values", []Feed{{Node: x, Data: []float32{1, 2, 3}, Rows: 1}, {Node: scalar, Data: []float32{1, 2}, Rows: -1}}, ys, "scalar feed"},
		{"matrix into scalar", []Feed{{Node: x, Data: []float32{1, 2, 3}, Rows: 1}, {Node: scalar, Data: []float32{1, 2}, Rows: 1}}, ys, "shape [1 2], the graph expects []"},
		{"missing feed", nil, y, "run"},
		{"invalid feed node", []Feed{{Node: Node{}, Data: []float32{1}, Rows: 1}}, y, "invalid node"},
		{"invalid fetch", []Feed{{Node: x, Data: []float32{1, 2, 3}, Rows: 1}}, Node{}, "invalid node"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Run(c.feeds, []Node{c.fetch}, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "tf: ") {
				t.Fatalf("Run = %v, want an error mentioning %q", err, c.want)
			}
		})
	}
	// The session still works afterwards.
	if _, err := s.Run([]Feed{{Node: x, Data: []float32{1, 2, 3, 4, 5, 6}, Rows: 2}}, []Node{y}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestAssignRejectsBadValues(t *testing.T) {
	g, _, _, d := smallGraph()
	s := newSession(t, g)
	if err := s.Assign([]*Variable{d.W}, [][]float32{make([]float32, 5)}); err == nil || !strings.Contains(err.Error(), d.W.Name()) {
		t.Errorf("assign of 5 values to a 3x2 kernel: %v", err)
	}
	if err := s.Assign([]*Variable{d.W, d.B}, [][]float32{make([]float32, 6)}); err == nil {
		t.Error("assign with fewer values than variables succeeded")
	}
}

// TestRunReusesDst: results are written into the caller's buffers when they
// are large enough, and the values are those of a fresh run.
func TestRunReusesDst(t *testing.T) {
	g, x, y, d := smallGraph()
	s := newSession(t, g)
	feeds := []Feed{{Node: x, Data: []float32{1, 0, 0, 0, 1, 0}, Rows: 2}}
	fresh := run(t, s, feeds, y, d.W.Read())
	dst := [][]float32{make([]float32, 0, 16), make([]float32, 0, 16)}
	out, err := s.Run(feeds, []Node{y, d.W.Read()}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if &out[0][:1][0] != &dst[0][:1][0] || &out[1][:1][0] != &dst[1][:1][0] {
		t.Error("Run did not reuse dst")
	}
	for i := range fresh {
		if !equalValues(out[i], fresh[i]) {
			t.Errorf("fetch %d: %v with dst, %v without", i, out[i], fresh[i])
		}
	}
	// With x = identity rows and zero bias, y's rows are W's first two rows
	// (W is row-major [3, 2]).
	if !equalValues(out[0], out[1][:4]) {
		t.Errorf("y = %v, want the first rows of W %v", out[0], out[1])
	}
}

// The session options are a tensorflow.ConfigProto written by hand:
// field 2 (intra_op_parallelism_threads) and 5 (inter_op_parallelism_threads)
// as varints; the caller-thread setting is inter-op -1, an int32 whose
// varint is the ten-byte two's complement (0xff x 9, 0x01).
func TestConfigProto(t *testing.T) {
	for _, c := range []struct {
		opt  SessionOptions
		want []byte
	}{
		{SessionOptions{}, nil},
		{SessionOptions{IntraOpThreads: 2, InterOpThreads: 1}, []byte{0x10, 2, 0x28, 1}},
		{SessionOptions{IntraOpThreads: 300}, []byte{0x10, 0xac, 0x02}},
		{SessionOptions{IntraOpThreads: 1, InterOpThreads: 4, CallerThread: true}, []byte{0x10, 1, 0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{SessionOptions{IntraOpThreads: -3, InterOpThreads: -1}, nil},
	} {
		if got := c.opt.configProto(); string(got) != string(c.want) {
			t.Errorf("%+v: % x, want % x", c.opt, got, c.want)
		}
	}
}

// A caller-thread session computes what a pooled one does.
func TestCallerThreadSession(t *testing.T) {
	g, x, y, _ := smallGraph()
	in := []float32{1, 2, 3, -1, 0.5, 4}
	var outs [2][]float32
	for i, opt := range []SessionOptions{{}, {CallerThread: true, IntraOpThreads: 1}} {
		s, err := NewSession(g, opt)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Init(); err != nil {
			t.Fatal(err)
		}
		out, err := s.Run([]Feed{{Node: x, Data: in, Rows: 2}}, []Node{y}, nil)
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = out[0]
		s.Close()
	}
	if len(outs[0]) != 4 || fmt.Sprint(outs[0]) != fmt.Sprint(outs[1]) {
		t.Errorf("pooled %v, caller thread %v", outs[0], outs[1])
	}
}
