package tf

import (
	"bytes"
	"errors"
	"fmt"
	"unsafe"
)

// SessionOptions configure a Session.
type SessionOptions struct {
	// IntraOpThreads and InterOpThreads bound TensorFlow's thread pools
	// (0 = TensorFlow's default, all cores).
	IntraOpThreads int
	InterOpThreads int
	// CallerThread runs every op in the thread that calls Run (TensorFlow's
	// negative inter-op thread count; InterOpThreads is then ignored): no
	// hand-off to a pool thread that may have gone to sleep, the lowest
	// latency for the small batches of live decisions. With IntraOpThreads
	// 1 a Run uses no other thread at all.
	CallerThread bool
}

// configProto encodes the two thread counts as a tensorflow.ConfigProto
// (fields 2 and 5, varints), so no protobuf package is needed.
func (o SessionOptions) configProto() []byte {
	var b []byte
	put := func(field int, v int) {
		if v == 0 {
			return
		}
		b = append(b, byte(field<<3))
		// A negative int32 is a ten-byte varint of its 64-bit two's
		// complement.
		for u := uint64(int64(v)); ; u >>= 7 {
			if u < 0x80 {
				b = append(b, byte(u))
				break
			}
			b = append(b, byte(u)|0x80)
		}
	}
	put(2, max(o.IntraOpThreads, 0))
	if o.CallerThread {
		put(5, -1)
	} else {
		put(5, max(o.InterOpThreads, 0))
	}
	return b
}

// Session runs a Graph. It owns its C session and the C copy of the graph
// the session runs (see cSession): Close it; Close is safe to call more than
// once. Operations added to the Graph after NewSession are not in the
// session.
type Session struct {
	g *Graph
	c *cSession
}

// NewSession checks the graph's sticky error and opens a session on it.
func NewSession(g *Graph, opt SessionOptions) (*Session, error) {
	if err := g.Err(); err != nil {
		return nil, err
	}
	warmUp()
	var def bytes.Buffer
	if _, err := g.g.WriteTo(&def); err != nil {
		return nil, fmt.Errorf("tf: new session: serialize the graph: %w", err)
	}
	c, err := newCSession(def.Bytes(), opt.configProto())
	if err != nil {
		return nil, err
	}
	return &Session{g: g, c: c}, nil
}

// Close releases the C session. It is safe to call twice.
func (s *Session) Close() error {
	if s == nil || s.c == nil {
		return nil
	}
	err := s.c.close()
	s.c = nil
	return err
}

// Feed binds a float32 batch to a placeholder: Data holds Rows rows of
// len(Data)/Rows columns in row-major order; Rows < 0 feeds a scalar.
type Feed struct {
	Node Node
	Data []float32
	Rows int
}

// errClosed is returned by a closed session.
var errClosed = errors.New("tf: session is closed")

// bytesOf views a float32 slice as bytes without copying.
func bytesOf(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
}

// Run feeds the inputs, runs the targets and returns the fetched nodes as
// flat float32 slices. If dst is given, dst[i] is reused when its capacity
// suffices, so a hot loop can run without allocating result buffers.
func (s *Session) Run(feeds []Feed, fetches []Node, dst [][]float32, targets ...Target) ([][]float32, error) {
	if s == nil || s.c == nil {
		return nil, errClosed
	}
	cf := make([]cFeed, len(feeds))
	for i, f := range feeds {
		if !f.Node.Valid() {
			return nil, errors.New("tf: feed to an invalid node")
		}
		var shape []int64
		if f.Rows >= 0 {
			if f.Rows == 0 || len(f.Data)%f.Rows != 0 {
				return nil, fmt.Errorf("tf: feed %s: %d values do not form %d rows", f.Node.Name(), len(f.Data), f.Rows)
			}
			shape = []int64{int64(f.Rows), int64(len(f.Data) / f.Rows)}
		} else if len(f.Data) != 1 {
			return nil, fmt.Errorf("tf: scalar feed %s has %d values", f.Node.Name(), len(f.Data))
		}
		if err := checkFeedShape(f.Node, shape); err != nil {
			return nil, err
		}
		cf[i] = cFeed{name: f.Node.out.Op.Name(), index: f.Node.out.Index, data: f.Data, shape: shape}
	}
	outs := make([]cOut, len(fetches))
	for i, n := range fetches {
		if !n.Valid() {
			return nil, errors.New("tf: fetch of an invalid node")
		}
		outs[i] = cOut{name: n.out.Op.Name(), index: n.out.Index}
	}
	ops := make([]string, len(targets))
	for i, t := range targets {
		ops[i] = t.op.Name()
	}
	return s.c.run(cf, outs, ops, dst)
}

// checkFeedShape compares a feed's shape with the node's static shape.
// TensorFlow does not check a fed tensor against the placeholder's declared
// shape, so a batch of the wrong width (or a matrix fed as a scalar) would
// otherwise flow through broadcasting ops and give silently wrong results.
func checkFeedShape(n Node, shape []int64) error {
	want := n.out.Shape()
	rank := want.NumDimensions()
	if rank < 0 {
		return nil // unknown rank: anything goes
	}
	ok := rank == len(shape)
	for i := 0; ok && i < rank; i++ {
		if d := want.Size(i); d >= 0 && d != shape[i] {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("tf: feed %s: shape %v, the graph expects %v", n.Name(), shape, want)
	}
	return nil
}

// Init assigns every variable of the graph its initial value.
func (s *Session) Init() error {
	vals := make([][]float32, len(s.g.vars))
	for i, v := range s.g.vars {
		vals[i] = v.init
	}
	return s.Assign(s.g.vars, vals)
}

// Assign sets variables to values (each of the variable's size).
func (s *Session) Assign(vars []*Variable, vals [][]float32) error {
	if s == nil || s.c == nil {
		return errClosed
	}
	if len(vars) != len(vals) {
		return fmt.Errorf("tf: assign: %d variables, %d values", len(vars), len(vals))
	}
	if len(vars) == 0 {
		return nil
	}
	feeds := make([]cFeed, len(vars))
	ops := make([]string, len(vars))
	for i, v := range vars {
		if v.assign == nil {
			return fmt.Errorf("tf: assign: variable %s was not built", v.name)
		}
		if len(vals[i]) != v.Size() {
			return fmt.Errorf("tf: assign %s: %d values for shape %v", v.name, len(vals[i]), v.shape)
		}
		feeds[i] = cFeed{name: v.value.Op.Name(), index: v.value.Index, data: vals[i], shape: v.shape}
		ops[i] = v.assign.Name()
	}
	if _, err := s.c.run(feeds, nil, ops, nil); err != nil {
		return fmt.Errorf("tf: assign: %w", err)
	}
	return nil
}

// Values fetches the current values of variables.
func (s *Session) Values(vars []*Variable) ([][]float32, error) {
	nodes := make([]Node, len(vars))
	for i, v := range vars {
		nodes[i] = v.read
	}
	return s.Run(nil, nodes, nil)
}
