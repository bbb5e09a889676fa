package tf

// #cgo LDFLAGS: -ltensorflow
// #include <stdlib.h>
// #include <string.h>
// #include <tensorflow/c/c_api.h>
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// cSession owns a TF_Graph (imported from the bindings' graph as a
// GraphDef) and a TF_Session on it. Running through it, rather than the
// bindings' Session, lets this package free every fed and fetched TF_Tensor
// as soon as the run returns, on every path: the bindings free tensors only
// in finalisers, which the Go garbage collector runs when Go memory (not
// the unseen C memory) grows, so a training loop could pile up C tensors.
// close is safe to call twice; a finaliser closes a forgotten session.
type cSession struct {
	mu    sync.Mutex // guards ops and the handles' lifetime against close
	graph *C.TF_Graph
	sess  *C.TF_Session
	ops   map[string]*C.TF_Operation
}

// status wraps a TF_Status.
func statusErr(st *C.TF_Status, what string) error {
	if C.TF_GetCode(st) == C.TF_OK {
		return nil
	}
	return fmt.Errorf("tf: %s: %s", what, C.GoString(C.TF_Message(st)))
}

// newCSession imports graphDef and opens a session with the serialized
// ConfigProto config.
func newCSession(graphDef, config []byte) (*cSession, error) {
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	g := C.TF_NewGraph()
	var def *C.TF_Buffer
	if len(graphDef) > 0 {
		def = C.TF_NewBufferFromString(unsafe.Pointer(&graphDef[0]), C.size_t(len(graphDef)))
	} else {
		def = C.TF_NewBuffer()
	}
	opts := C.TF_NewImportGraphDefOptions()
	C.TF_GraphImportGraphDef(g, def, opts, st)
	C.TF_DeleteImportGraphDefOptions(opts)
	C.TF_DeleteBuffer(def)
	if err := statusErr(st, "import graph"); err != nil {
		C.TF_DeleteGraph(g)
		return nil, err
	}
	so := C.TF_NewSessionOptions()
	if len(config) > 0 {
		C.TF_SetConfig(so, unsafe.Pointer(&config[0]), C.size_t(len(config)), st)
		if err := statusErr(st, "session options"); err != nil {
			C.TF_DeleteSessionOptions(so)
			C.TF_DeleteGraph(g)
			return nil, err
		}
	}
	sess := C.TF_NewSession(g, so, st)
	C.TF_DeleteSessionOptions(so)
	if err := statusErr(st, "new session"); err != nil {
		C.TF_DeleteGraph(g)
		return nil, err
	}
	s := &cSession{graph: g, sess: sess, ops: map[string]*C.TF_Operation{}}
	runtime.SetFinalizer(s, (*cSession).close)
	return s, nil
}

// close releases the session and the graph.
func (s *cSession) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	runtime.SetFinalizer(s, nil)
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	C.TF_CloseSession(s.sess, st)
	err := statusErr(st, "close session")
	C.TF_DeleteSession(s.sess, st)
	if err == nil {
		err = statusErr(st, "delete session")
	}
	C.TF_DeleteGraph(s.graph)
	s.sess, s.graph = nil, nil
	return err
}

// op looks an operation up by name; s.mu is held.
func (s *cSession) op(name string) (*C.TF_Operation, error) {
	if o, ok := s.ops[name]; ok {
		return o, nil
	}
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	o := C.TF_GraphOperationByName(s.graph, cn)
	if o == nil {
		return nil, fmt.Errorf("tf: operation %q is not in the session's graph (added after NewSession?)", name)
	}
	s.ops[name] = o
	return o, nil
}

// cFeed is a float32 tensor fed to output index of op name.
type cFeed struct {
	name  string
	index int
	data  []float32
	shape []int64 // nil for a scalar
}

// cOut names an op output.
type cOut struct {
	name  string
	index int
}

// run feeds, fetches and runs targets. dst[i] is reused when large enough.
// Every TF_Tensor it creates or receives is deleted before it returns.
func (s *cSession) run(feeds []cFeed, fetches []cOut, targets []string, dst [][]float32) (out [][]float32, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil, errClosed
	}
	inputs := make([]C.TF_Output, len(feeds))
	inVals := make([]*C.TF_Tensor, len(feeds))
	outputs := make([]C.TF_Output, len(fetches))
	outVals := make([]*C.TF_Tensor, len(fetches))
	tops := make([]*C.TF_Operation, len(targets))
	defer func() {
		for _, t := range inVals {
			if t != nil {
				C.TF_DeleteTensor(t)
			}
		}
		for _, t := range outVals {
			if t != nil {
				C.TF_DeleteTensor(t)
			}
		}
	}()
	for i, f := range feeds {
		o, err := s.op(f.name)
		if err != nil {
			return nil, err
		}
		inputs[i] = C.TF_Output{oper: o, index: C.int(f.index)}
		var dims *C.int64_t
		if len(f.shape) > 0 {
			dims = (*C.int64_t)(unsafe.Pointer(&f.shape[0]))
		}
		n := 4 * len(f.data)
		t := C.TF_AllocateTensor(C.TF_FLOAT, dims, C.int(len(f.shape)), C.size_t(n))
		if t == nil {
			return nil, fmt.Errorf("tf: feed %s: cannot allocate a tensor of %d bytes", f.name, n)
		}
		inVals[i] = t
		if n > 0 {
			copy(unsafe.Slice((*float32)(C.TF_TensorData(t)), len(f.data)), f.data)
		}
	}
	for i, f := range fetches {
		o, err := s.op(f.name)
		if err != nil {
			return nil, err
		}
		outputs[i] = C.TF_Output{oper: o, index: C.int(f.index)}
	}
	for i, name := range targets {
		if tops[i], err = s.op(name); err != nil {
			return nil, err
		}
	}
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	var inP, outP *C.TF_Output
	var inV, outV **C.TF_Tensor
	var tP **C.TF_Operation
	if len(inputs) > 0 {
		inP, inV = &inputs[0], &inVals[0]
	}
	if len(outputs) > 0 {
		outP, outV = &outputs[0], &outVals[0]
	}
	if len(tops) > 0 {
		tP = &tops[0]
	}
	C.TF_SessionRun(s.sess, nil, inP, inV, C.int(len(inputs)), outP, outV, C.int(len(outputs)), tP, C.int(len(tops)), nil, st)
	if err := statusErr(st, "run"); err != nil {
		return nil, err
	}
	if len(dst) < len(fetches) {
		dst = append(dst, make([][]float32, len(fetches)-len(dst))...)
	}
	for i, t := range outVals {
		if t == nil {
			return nil, fmt.Errorf("tf: fetch %s: no tensor", fetches[i].name)
		}
		if C.TF_TensorType(t) != C.TF_FLOAT {
			return nil, fmt.Errorf("tf: fetch %s is of type %d, not float32", fetches[i].name, int(C.TF_TensorType(t)))
		}
		n := 1
		for d := 0; d < int(C.TF_NumDims(t)); d++ {
			n *= int(C.TF_Dim(t, C.int(d)))
		}
		if int(C.TF_TensorByteSize(t)) != 4*n {
			return nil, fmt.Errorf("tf: fetch %s: %d bytes for %d values", fetches[i].name, int(C.TF_TensorByteSize(t)), n)
		}
		if cap(dst[i]) < n {
			dst[i] = make([]float32, n)
		}
		dst[i] = dst[i][:n]
		if n > 0 {
			copy(dst[i], unsafe.Slice((*float32)(C.TF_TensorData(t)), n))
		}
	}
	return dst[:len(fetches)], nil
}

// missingGradients reports, for each x, whether TensorFlow builds no
// gradient of y with respect to it (TF_AddGradients then returns a NULL
// operation, which the bindings wrap in an Operation that crashes the C
// library when used). It asks on a copy of the graph imported from
// graphDef, owned here, so that the check reads no private field of the
// bindings; dx is the seed gradient.
func missingGradients(graphDef []byte, y cOut, xs []cOut, dx cOut) ([]bool, error) {
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	g := C.TF_NewGraph()
	defer C.TF_DeleteGraph(g)
	def := C.TF_NewBufferFromString(unsafe.Pointer(&graphDef[0]), C.size_t(len(graphDef)))
	opts := C.TF_NewImportGraphDefOptions()
	C.TF_GraphImportGraphDef(g, def, opts, st)
	C.TF_DeleteImportGraphDefOptions(opts)
	C.TF_DeleteBuffer(def)
	if err := statusErr(st, "gradients: import graph"); err != nil {
		return nil, err
	}
	lookup := func(o cOut) (C.TF_Output, error) {
		cn := C.CString(o.name)
		defer C.free(unsafe.Pointer(cn))
		op := C.TF_GraphOperationByName(g, cn)
		if op == nil {
			return C.TF_Output{}, fmt.Errorf("tf: gradients: operation %q not found", o.name)
		}
		return C.TF_Output{oper: op, index: C.int(o.index)}, nil
	}
	cy, err := lookup(y)
	if err != nil {
		return nil, err
	}
	cdx, err := lookup(dx)
	if err != nil {
		return nil, err
	}
	cx := make([]C.TF_Output, len(xs))
	for i, x := range xs {
		if cx[i], err = lookup(x); err != nil {
			return nil, err
		}
	}
	cdy := make([]C.TF_Output, len(xs))
	prefix := C.CString("spatgan_gradient_probe")
	defer C.free(unsafe.Pointer(prefix))
	C.TF_AddGradientsWithPrefix(g, prefix, &cy, 1, &cx[0], C.int(len(cx)), &cdx, st, &cdy[0])
	if err := statusErr(st, "gradients"); err != nil {
		return nil, err
	}
	missing := make([]bool, len(xs))
	for i := range cdy {
		missing[i] = cdy[i].oper == nil
	}
	return missing, nil
}
