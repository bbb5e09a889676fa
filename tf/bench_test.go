package tf

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// Benchmarks of the graph layer on this machine's TensorFlow runtime, all
// through one helper (benchNet) so that every size on the ladder is measured
// the same way: one warm-up run (graph optimisation), then b.N runs of
// Session.Run with the input fed from Go and the results fetched into
// reused buffers. Sessions use TensorFlow's default thread pools.
//
// FLOP count (documented, not measured): a dense layer in -> out costs
// in*out multiply-adds per sample, counted as 2*in*out FLOPs. A forward pass
// is the sum over layers. The backward pass computes, per layer, dX = dY·W^T
// and dW = X^T·dY, each with the same multiply-adds as the forward MatMul,
// so it is counted as 2x the forward FLOPs (a slight over-count: the first
// layer's dX is not needed; 0.9% for the critic below). Bias adds,
// activations and the loss are not counted. GFLOP/s = counted FLOPs / wall
// time, including feeding and fetching.

// benchMode selects what one benchmarked run computes.
type benchMode int

const (
	forward  benchMode = iota // fetch y
	backward                  // gradients of mean(y) w.r.t. every weight (run, not fetched)
	gpStep                    // WGAN-GP critic gradients: mean(y) + 10*penalty w.r.t. every weight
	matmul                    // plain x·W, no bias or activation; widths must have one entry
)

func (m benchMode) String() string {
	return [...]string{"forward", "forward+backward", "wgan-gp", "matmul"}[m]
}

// netBench is one rung of the ladder: a batch through in -> widths...
type netBench struct {
	in     int
	widths []int
	act    Activation // hidden layers; the last is linear
	batch  int
	mode   benchMode
	caller bool // SessionOptions.CallerThread
	fused  bool // forward through InferMLP (BiasAdd, fusable) instead of ApplyMLP
}

// flops returns the counted FLOPs of one run (see the comment above); 0
// when there is no meaningful count (gpStep).
func (nb netBench) flops() float64 {
	var f float64
	prev := nb.in
	for _, w := range nb.widths {
		f += 2 * float64(prev) * float64(w)
		prev = w
	}
	f *= float64(nb.batch)
	switch nb.mode {
	case backward:
		return 3 * f
	case gpStep:
		return 0
	}
	return f
}

func (nb netBench) name() string {
	w := make([]string, len(nb.widths))
	for i, v := range nb.widths {
		w[i] = fmt.Sprint(v)
	}
	name := fmt.Sprintf("%dx%d-%s/%s", nb.batch, nb.in, strings.Join(w, "-"), nb.mode)
	if nb.caller {
		name += "/caller-thread"
	}
	if nb.fused {
		name += "/fused"
	}
	return name
}

func benchNet(b *testing.B, nb netBench) {
	rng := rand.New(rand.NewPCG(42, 42))
	g := NewGraph()
	x := g.Placeholder("x", nb.in)
	var (
		fetches []Node
		targets []Target
	)
	switch nb.mode {
	case matmul:
		w := g.Variable("w", []int64{int64(nb.in), int64(nb.widths[0])}, GlorotUniform(rng, nb.in, nb.widths[0]))
		fetches = []Node{g.MatMul(x, w.Read())}
	case forward:
		m := g.MLP("net", nb.in, nb.widths, nb.act, rng)
		if nb.fused {
			fetches = []Node{g.InferMLP(m, x)}
		} else {
			fetches = []Node{g.ApplyMLP(m, x)}
		}
	case backward, gpStep:
		m := g.MLP("net", nb.in, nb.widths, nb.act, rng)
		var loss Node
		if nb.mode == backward {
			loss = g.Mean(g.ApplyMLP(m, x))
		} else {
			y, gp := buildPenalty(g, m, x)
			loss = g.Add(g.Mean(y), g.Mul(g.Scalar(10), gp))
		}
		// The gradients are run as targets, as an optimiser consumes them,
		// not copied out to Go.
		for _, d := range g.Gradients(loss, reads(m.Variables())...) {
			targets = append(targets, Target{d.out.Op})
		}
		fetches = []Node{loss}
	}
	s, err := NewSession(g, SessionOptions{CallerThread: nb.caller})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Init(); err != nil {
		b.Fatal(err)
	}
	feeds := []Feed{{Node: x, Data: uniform(rng, nb.batch*nb.in, -1, 1), Rows: nb.batch}}
	dst, err := s.Run(feeds, fetches, nil, targets...) // warm-up
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if dst, err = s.Run(feeds, fetches, dst, targets...); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds()
	if nb.mode != matmul {
		b.ReportMetric(float64(nb.batch)*float64(b.N)/sec, "samples/s")
	}
	if f := nb.flops(); f > 0 {
		b.ReportMetric(f*float64(b.N)/sec/1e9, "GFLOP/s")
	}
}

func TestBenchFLOPCount(t *testing.T) {
	// By hand: the critic's forward multiply-adds per sample are
	// 3*512 + 512*256 + 256*128 + 128*1 = 1536 + 131072 + 32768 + 128 = 165504.
	c := netBench{in: 3, widths: []int{512, 256, 128, 1}, batch: 64, mode: backward}
	if got, want := c.flops(), 3*2*165504.0*64; got != want {
		t.Errorf("critic forward+backward FLOPs %g, want %g", got, want)
	}
	// 33*128 + 128*256 + 256*512 + 512*2 = 4224 + 32768 + 131072 + 1024 = 169088.
	gen := netBench{in: 33, widths: []int{128, 256, 512, 2}, batch: 4096, mode: forward}
	if got, want := gen.flops(), 2*169088.0*4096; got != want {
		t.Errorf("generator forward FLOPs %g, want %g", got, want)
	}
	if got, want := (netBench{in: 1024, widths: []int{1024}, batch: 1024, mode: matmul}).flops(), 2*1024.0*1024*1024; got != want {
		t.Errorf("matmul FLOPs %g, want %g", got, want)
	}
}

// BenchmarkCritic: the WGAN-GP critic 3 -> 512 -> 256 -> 128 -> 1 (ReLU) on a
// batch of 64, forward and backward (gradients w.r.t. all weights), and the
// full critic gradient with the gradient penalty (second order; samples/s
// only, no FLOP count).
func BenchmarkCritic(b *testing.B) {
	for _, mode := range []benchMode{backward, gpStep} {
		nb := netBench{in: 3, widths: []int{512, 256, 128, 1}, act: ReLU, batch: 64, mode: mode}
		b.Run(nb.name(), func(b *testing.B) { benchNet(b, nb) })
	}
}

// BenchmarkGenerator: a generator 33 -> 128 -> 256 -> 512 -> 2 (ReLU)
// forward at batch 1 (per-packet generation), 64 (training) and 4096
// (offline generation), with TensorFlow's default thread pools and with
// every op run in the calling thread (SessionOptions.CallerThread), as the
// scale issue's reference (ApplyMLP: MatMul, AddV2, activation); then, with
// the suffix /fused, as a bundle's generators build it since 2026-12-01
// (InferMLP, caller thread: one fused kernel per layer).
func BenchmarkGenerator(b *testing.B) {
	for _, caller := range []bool{false, true} {
		for _, batch := range []int{1, 64, 4096} {
			nb := netBench{in: 33, widths: []int{128, 256, 512, 2}, act: ReLU, batch: batch, mode: forward, caller: caller}
			b.Run(nb.name(), func(b *testing.B) { benchNet(b, nb) })
		}
	}
	// The same network as a bundle's generators build it (InferMLP).
	for _, batch := range []int{1, 64, 4096} {
		nb := netBench{in: 33, widths: []int{128, 256, 512, 2}, act: ReLU, batch: batch, mode: forward, caller: true, fused: true}
		b.Run(nb.name(), func(b *testing.B) { benchNet(b, nb) })
	}
}

// BenchmarkMatMul: a plain 1024x1024 by 1024x1024 float32 MatMul through the
// same runtime, the machine's reference GFLOP/s (its 4 MiB input is fed and
// its 4 MiB output fetched each run, as for the networks).
func BenchmarkMatMul(b *testing.B) {
	nb := netBench{in: 1024, widths: []int{1024}, batch: 1024, mode: matmul}
	b.Run(nb.name(), func(b *testing.B) { benchNet(b, nb) })
}
