package tf

// int spatgan_tf_log_enabled(void);
// int spatgan_stderr_to(int fd);
// void spatgan_stderr_restore(int saved);
import "C"

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"regexp"
	"sync"

	tfgo "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
)

// TensorFlow's logging is silenced in two steps, so that a normal run prints
// nothing of it whatever the environment:
//
//   - quiet.c sets TF_CPP_MIN_LOG_LEVEL=3 (fatal messages only) before the
//     TensorFlow libraries initialise (the oneDNN line is printed then) and
//     for the rest of the process.
//   - The MLIR line of the first graph optimisation, and Abseil's warning
//     that comes with it, go through a private copy of Abseil's logging in
//     libtensorflow_cc that no variable or exported function controls. The
//     first NewSession therefore first runs a one-constant graph with
//     standard error captured, which uses up those once-per-process lines;
//     whatever else was written to standard error meanwhile is passed on.
//
// --verbose on the command line or SPATGAN_TF_LOG=1 turns both off.

// LogEnabled reports whether TensorFlow's own logging was left on for this
// process: the command line held --verbose or SPATGAN_TF_LOG was set
// (anything but "" or "0").
func LogEnabled() bool { return C.spatgan_tf_log_enabled() != 0 }

var warmUpOnce sync.Once

// tfLogLine matches the lines of TensorFlow's and Abseil's logging.
var tfLogLine = regexp.MustCompile(`^(WARNING: All log messages before absl::InitializeLog\(\)|[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+:\d+\] |To enable the following instructions: )`)

// warmUp runs a trivial graph once per process with standard error
// captured, unless TensorFlow's logging is on.
func warmUp() {
	warmUpOnce.Do(func() {
		if LogEnabled() {
			return
		}
		r, w, err := os.Pipe()
		if err != nil {
			return
		}
		saved := C.spatgan_stderr_to(C.int(w.Fd()))
		w.Close()
		if saved < 0 {
			r.Close()
			return
		}
		var captured bytes.Buffer
		done := make(chan struct{})
		go func() {
			io.Copy(&captured, r)
			close(done)
		}()
		runTrivialGraph()
		C.spatgan_stderr_restore(saved)
		<-done
		r.Close()
		passOn(os.Stderr, &captured)
	})
}

// passOn writes the lines of b that are not TensorFlow's to w.
func passOn(w io.Writer, b *bytes.Buffer) {
	sc := bufio.NewScanner(b)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := sc.Bytes(); !tfLogLine.Match(l) {
			w.Write(append(l, '\n'))
		}
	}
}

func runTrivialGraph() {
	s := op.NewScope()
	x := op.Placeholder(s, tfgo.Float)
	c := op.Add(s, x, op.Const(s, float32(1)))
	g, err := s.Finalize()
	if err != nil {
		return
	}
	sess, err := tfgo.NewSession(g, nil)
	if err != nil {
		return
	}
	defer sess.Close()
	t, err := tfgo.NewTensor(float32(1))
	if err != nil {
		return
	}
	sess.Run(map[tfgo.Output]*tfgo.Tensor{x: t}, []tfgo.Output{c}, nil)
}
