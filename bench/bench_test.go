package bench

// Speed benchmarks. Each iteration of a benchmark does a fixed unit of work
// (stated in its comment), so `go test -bench . -benchtime 1x` (make bench)
// gives meaningful rates; the rates are reported with b.ReportMetric in
// domain units for benchstat. Generation and training also report the
// achieved GFLOP/s (forward FLOPs of graphs.WGAN.FLOPs and
// bundle.Bundle.FLOPs) to set against BenchmarkMatMul1024, the float32
// matrix-multiply rate of the same TensorFlow runtime on this machine.
//
// Generation benchmarks use the bundle at $SPATGAN_BUNDLE if set (it must
// hold the four models; any training data), else a bundle of the default
// configuration (full widths) trained in setup on the embedded trace for a
// few steps: its speed per row is that of a real bundle, but its burst
// lengths, and hence packets per decision, are those of an untrained model
// (reported as packets/burst).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spatgan/spatgan/bundle"
	feat "github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/train"
)

var benchFixture struct {
	once sync.Once
	dir  string // temporary directory to remove, if any
	path string // bundle directory
	conv *trace.Conversation
	err  error
}

// benchBundle returns the benchmark bundle's directory and the embedded
// conversation's training part (for the baselines).
func benchBundle(b *testing.B) (string, *trace.Conversation) {
	b.Helper()
	f := &benchFixture
	f.once.Do(func() {
		conv, err := trace.Default()
		if err != nil {
			f.err = err
			return
		}
		tr, _, err := conv.SplitAt(trace.DefaultTrainFrac)
		if err != nil {
			f.err = err
			return
		}
		f.conv = tr
		if p := os.Getenv("SPATGAN_BUNDLE"); p != "" {
			f.path = p
			return
		}
		if f.dir, f.err = os.MkdirTemp("", "spatgan-bench-bundle-*"); f.err != nil {
			return
		}
		cfgs := map[string]graphs.Config{}
		for _, id := range bundle.ModelIDs {
			_, kind, _ := bundle.ModelKind(id)
			c := graphs.Default(kind)
			c.Steps, c.Pretrain = 20, 5
			cfgs[id] = c
		}
		out := filepath.Join(f.dir, "bundle")
		_, f.err = train.Run(context.Background(), train.Options{Conv: conv, Configs: cfgs, Seed: 1, Out: out,
			EvalEvery: 20, CheckpointEvery: 20, EvalRows: 500})
		f.path = out
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f.path, f.conv
}

func openBench(b *testing.B) *bundle.Bundle {
	dir, _ := benchBundle(b)
	bu, err := bundle.Open(dir, 1, tf.SessionOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bu.Close() })
	return bu
}

// benchConvs returns n conversations in which the client just sent a
// typical burst and side has opened a burst of count packets.
func benchConvs(n int, side trace.Side, count int) []*sampler.Conv {
	c := make([]*sampler.Conv, n)
	for i := range c {
		c[i] = sampler.NewConv(uint64(i + 1))
		c[i].H.Observe(side.Other(), feat.Burst{Count: 3, Bytes: 750, DurNS: 400e3, GapNS: 9e6, LastSize: 250, LastDtNS: 200e3})
		c[i].H.Begin(side, sampler.Turn{Count: count, GapNS: 5e6})
	}
	return c
}

// oneEach returns n one-packet output slices.
func oneEach(n int) [][]sampler.Pkt {
	out := make([][]sampler.Pkt, n)
	flat := make([]sampler.Pkt, n)
	for i := range out {
		out[i] = flat[i : i+1]
	}
	return out
}

// BenchmarkBundlePackets: raw BurstsTo throughput of the bundle's client
// packet generator at a ladder of rows per call (that many conversations,
// one packet each); one iteration draws 65,536 packets.
func BenchmarkBundlePackets(b *testing.B) {
	const work = 1 << 16
	for _, batch := range []int{1, 8, 64, 512, 4096} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			bu := openBench(b)
			convs := benchConvs(batch, trace.Client, 1)
			out := oneEach(batch)
			calls := work / batch
			if batch == 1 {
				calls = work / 16 // one row per call is slow: 4,096 calls
			}
			if err := bu.BurstsTo(out, trace.Client, convs); err != nil { // warm-up
				b.Fatal(err)
			}
			for b.Loop() {
				for i := 0; i < calls; i++ {
					if err := bu.BurstsTo(out, trace.Client, convs); err != nil {
						b.Fatal(err)
					}
				}
			}
			rows := float64(calls*batch) * float64(b.N)
			rate := rows / b.Elapsed().Seconds()
			b.ReportMetric(rate, "packets/s")
			b.ReportMetric(rate*bu.FLOPs(bundle.ModelID(trace.Client, graphs.Packet))/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkGenerate: offline closed-loop generation (simulate.Generate over
// a virtual clock) through the bundle and through the bootstrap baseline;
// one iteration generates 20,000 packets.
func BenchmarkGenerate(b *testing.B) {
	const work = 20000
	run := func(b *testing.B, s sampler.Sampler, flops func(simulate.GenStats) float64) {
		opt := simulate.GenOptions{Packets: work}
		if _, err := simulate.Generate(context.Background(), s, simulate.GenOptions{Packets: 100}, func(simulate.Event) error { return nil }); err != nil {
			b.Fatal(err) // warm-up
		}
		var st simulate.GenStats
		for b.Loop() {
			var err error
			if st, err = simulate.Generate(context.Background(), s, opt, func(simulate.Event) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(work)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		b.ReportMetric(float64(st.Packets)/float64(st.Bursts), "packets/burst")
		if flops != nil {
			b.ReportMetric(flops(st)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
	}
	b.Run("sampler=gan", func(b *testing.B) {
		bu := openBench(b)
		run(b, bu, func(st simulate.GenStats) float64 {
			// One burst-model row per burst, one packet-model row per packet
			// (bursts alternate, so each side has half of them).
			var f float64
			for _, side := range []trace.Side{trace.Server, trace.Client} {
				f += float64(st.PerSide[side])*bu.FLOPs(bundle.ModelID(side, graphs.Packet)) +
					float64(st.Bursts)/2*bu.FLOPs(bundle.ModelID(side, graphs.Burst))
			}
			return f
		})
	})
	b.Run("sampler=bootstrap", func(b *testing.B) {
		_, tr := benchBundle(b)
		s, err := sampler.New("bootstrap", tr, 1)
		if err != nil {
			b.Fatal(err)
		}
		run(b, s, nil)
	})
}

// BenchmarkDecision: closed-loop latency of one decision as a live agent
// makes it when the opponent's burst has arrived: one TurnsTo (1 row) and
// one BurstsTo for the drawn burst. Reports
// the time per decision and per packet decided. One iteration makes 500
// decisions.
func BenchmarkDecision(b *testing.B) {
	const work = 500
	run := func(b *testing.B, s sampler.Sampler) {
		decide := decider(b, s)
		decide() // warm-up
		packets := 0
		for b.Loop() {
			for i := 0; i < work; i++ {
				packets += decide()
			}
		}
		d := float64(work) * float64(b.N)
		b.ReportMetric(b.Elapsed().Seconds()/d*1e6, "us/decision")
		b.ReportMetric(float64(packets)/d, "packets/decision")
		b.ReportMetric(b.Elapsed().Seconds()/float64(packets)*1e6, "us/packet")
	}
	b.Run("sampler=gan", func(b *testing.B) { run(b, openBench(b)) })
	// A live decision follows a wait for the opponent's burst: the same
	// decision after 10 ms of sleep, timing the decision only.
	b.Run("sampler=gan/idle=10ms", func(b *testing.B) {
		decide := decider(b, openBench(b))
		const work = 50
		var busy time.Duration
		var lat []float64
		for b.Loop() {
			for i := 0; i < work; i++ {
				time.Sleep(10 * time.Millisecond)
				t0 := time.Now()
				decide()
				d := time.Since(t0)
				busy += d
				lat = append(lat, float64(d.Microseconds()))
			}
		}
		slices.Sort(lat)
		b.ReportMetric(busy.Seconds()/float64(len(lat))*1e6, "us/decision")
		b.ReportMetric(lat[len(lat)/2], "p50-us")
	})
	b.Run("sampler=bootstrap", func(b *testing.B) {
		_, tr := benchBundle(b)
		s, err := sampler.New("bootstrap", tr, 1)
		if err != nil {
			b.Fatal(err)
		}
		run(b, s)
	})
}

// decider returns one server decision of s, made again and again from the
// same history: one TurnsTo (1 row), then one BurstsTo for the drawn burst;
// it returns the packets decided.
func decider(b *testing.B, s sampler.Sampler) func() int {
	turn := make([]sampler.Turn, 1)
	convs := benchConvs(1, trace.Server, 1)
	c := convs[0]
	start := c.H
	out := make([][]sampler.Pkt, 1)
	pkts := make([]sampler.Pkt, simulate.DefaultMaxCount)
	return func() int {
		c.H = start
		if err := s.TurnsTo(turn, trace.Server, convs); err != nil {
			b.Fatal(err)
		}
		n := min(max(turn[0].Count, 1), simulate.DefaultMaxCount)
		c.H.Begin(trace.Server, sampler.Turn{Count: n, GapNS: turn[0].GapNS})
		out[0] = pkts[:n]
		if err := s.BurstsTo(out, trace.Server, convs); err != nil {
			b.Fatal(err)
		}
		return n
	}
}

// paperWGAN builds the paper configuration's packet model (condition width
// 1) with random batches of the given size.
func paperWGAN(b *testing.B, batch int) (*graphs.WGAN, func(), []float32, []float32, []float32, []float32) {
	cfg := graphs.Paper(graphs.Packet)
	cfg.Batch = batch
	w, err := graphs.NewWGAN(cfg, 1, 1, tf.SessionOptions{})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x, c := make([]float32, 2*batch), make([]float32, batch)
	z, eps := make([]float32, cfg.ZDim*batch), make([]float32, batch)
	for _, s := range [][]float32{x, c, z, eps} {
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
	}
	return w, func() { w.Close() }, x, c, z, eps
}

// BenchmarkTrainPaper: WGAN-GP training of the paper configuration
// (graphs.Paper: generator 128-256-512, critic 512-256-128, batch 64); one
// op is 5 critic steps and 1 generator step, as in training; one iteration
// runs 20 ops.
func BenchmarkTrainPaper(b *testing.B) {
	const work = 20
	w, done, x, c, z, eps := paperWGAN(b, graphs.Paper(graphs.Packet).Batch)
	defer done()
	op := func() {
		for i := 0; i < w.Cfg.CriticIters; i++ {
			if _, err := w.CriticStep(x, c, z, eps); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.GenStep(c, z); err != nil {
			b.Fatal(err)
		}
	}
	op() // warm-up
	for b.Loop() {
		for i := 0; i < work; i++ {
			op()
		}
	}
	ops := float64(work) * float64(b.N) / b.Elapsed().Seconds()
	gf, cf := w.FLOPs()
	b.ReportMetric(ops, "gen-steps/s")
	b.ReportMetric(ops*float64(w.Cfg.Batch)*(gf+float64(w.Cfg.CriticIters)*cf)/1e9, "GFLOP/s")
}

// BenchmarkCriticStep: critic updates of the paper configuration at a
// ladder of batch sizes (64 is the paper's); one iteration runs 16,384
// samples through the critic step (at least 10 steps).
func BenchmarkCriticStep(b *testing.B) {
	for _, batch := range []int{64, 256, 1024} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			w, done, x, c, z, eps := paperWGAN(b, batch)
			defer done()
			steps := max(10, 16384/batch)
			if _, err := w.CriticStep(x, c, z, eps); err != nil { // warm-up
				b.Fatal(err)
			}
			for b.Loop() {
				for i := 0; i < steps; i++ {
					if _, err := w.CriticStep(x, c, z, eps); err != nil {
						b.Fatal(err)
					}
				}
			}
			rate := float64(steps*batch) * float64(b.N) / b.Elapsed().Seconds()
			_, cf := w.FLOPs()
			b.ReportMetric(rate, "samples/s")
			b.ReportMetric(rate*cf/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMatMul1024: float32 1024x1024 by 1024x1024 matrix product (2^31
// FLOPs) through the same TensorFlow runtime and session defaults as the
// models, the machine's practical peak for dense layers; one iteration
// runs 10 products.
func BenchmarkMatMul1024(b *testing.B) {
	const n, work = 1024, 10
	g := tf.NewGraph()
	rng := rand.New(rand.NewPCG(3, 4))
	vals := func() []float32 {
		v := make([]float32, n*n)
		for i := range v {
			v[i] = float32(rng.Float64() - 0.5)
		}
		return v
	}
	a := g.Variable("a", []int64{n, n}, vals())
	m := g.Variable("m", []int64{n, n}, vals())
	// Fetch the mean of the product (a 2^20-element reduction, 0.05% of
	// the work) instead of copying 4 MiB out per run.
	out := g.MeanAll(g.MatMul(a.Read(), m.Read()))
	s, err := tf.NewSession(g, tf.SessionOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Init(); err != nil {
		b.Fatal(err)
	}
	dst := [][]float32{make([]float32, 1)}
	if _, err := s.Run(nil, []tf.Node{out}, dst); err != nil { // warm-up
		b.Fatal(err)
	}
	for b.Loop() {
		for i := 0; i < work; i++ {
			if _, err := s.Run(nil, []tf.Node{out}, dst); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(2*float64(n*n*n)*work*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
