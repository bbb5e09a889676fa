package bench

// Scale benchmarks (issue 11): offline generation against the generator
// network's own rate measured in the same benchmark, and live pairs with
// one shared model per process. Run them alone, on a quiet machine:
//
//	go test -run '^$' -bench 'Offline|Live' -benchtime 1x ./bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/tf"
)

// genRate measures the rows per second of the reference generator network
// of tf's BenchmarkGenerator (33 -> 128 -> 256 -> 512 -> 2, ReLU), forward
// at the given batch, fed from Go and fetched into a reused buffer, for
// about d after one warm-up run, with TensorFlow's default thread pools and
// with every op in the calling thread (what a bundle uses): the better of
// the two, so a ratio against it is against the generator at its best.
//
// This is the scale issue's reference, built as when the issue was filed
// (ApplyMLP). genRateFused measures the same network as a bundle's
// generators now build it (InferMLP: one fused kernel per layer), the
// stricter reference.
func genRate(b *testing.B, batch int, d time.Duration) float64 {
	b.Helper()
	return max(genRateWith(b, batch, d/2, tf.SessionOptions{}, false), genRateWith(b, batch, d/2, tf.SessionOptions{CallerThread: true}, false))
}

func genRateFused(b *testing.B, batch int, d time.Duration) float64 {
	b.Helper()
	return genRateWith(b, batch, d, tf.SessionOptions{CallerThread: true}, true)
}

func genRateWith(b *testing.B, batch int, d time.Duration, opt tf.SessionOptions, fused bool) float64 {
	b.Helper()
	rng := rand.New(rand.NewPCG(42, 42))
	g := tf.NewGraph()
	x := g.Placeholder("x", 33)
	m := g.MLP("net", 33, []int{128, 256, 512, 2}, tf.ReLU, rng)
	apply := g.ApplyMLP
	if fused {
		apply = g.InferMLP
	}
	y := apply(m, x)
	s, err := tf.NewSession(g, opt)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Init(); err != nil {
		b.Fatal(err)
	}
	in := make([]float32, batch*33)
	for i := range in {
		in[i] = float32(rng.Float64()*2 - 1)
	}
	feeds := []tf.Feed{{Node: x, Data: in, Rows: batch}}
	dst, err := s.Run(feeds, []tf.Node{y}, nil)
	if err != nil {
		b.Fatal(err)
	}
	runs := 0
	t0 := time.Now()
	for time.Since(t0) < d {
		if dst, err = s.Run(feeds, []tf.Node{y}, dst); err != nil {
			b.Fatal(err)
		}
		runs++
	}
	return float64(runs*batch) / time.Since(t0).Seconds()
}

// BenchmarkOffline: closed-loop offline generation through the bundle,
// one conversation (simulate.Generate, 5,000 packets per iteration) and
// 1,000 conversations in lockstep written as one time-ordered pcap
// (simulate.GenerateMany, 50 packets each per iteration), each set
// against the reference generator's rate at batch 1 and 4,096 measured in
// the same benchmark (half a second each, before the generation):
// x-gen-b1 is packets/s over the batch-1 rate, pct-gen-b4096 the
// percentage of the batch-4,096 rate; x-fused-b1 and pct-fused-b4096 the
// same against the fused reference (genRateFused).
func BenchmarkOffline(b *testing.B) {
	for _, k := range []int{1, 1000} {
		b.Run(fmt.Sprintf("conversations=%d", k), func(b *testing.B) {
			bu := openBench(b)
			r1, r4096 := genRate(b, 1, 500*time.Millisecond), genRate(b, 4096, 500*time.Millisecond)
			f1, f4096 := genRateFused(b, 1, 250*time.Millisecond), genRateFused(b, 4096, 250*time.Millisecond)
			per := int64(5000)
			if k > 1 {
				per = 50
			}
			dir := b.TempDir()
			opt := simulate.GenOptions{Packets: per, Ordered: k > 1, Stagger: time.Millisecond}
			var packets int64
			var st simulate.GenStats
			for b.Loop() {
				rec, err := simulate.NewFileRecorder(filepath.Join(dir, "out.pcap"), "", time.Second)
				if err != nil {
					b.Fatal(err)
				}
				st, err = simulate.GenerateMany(context.Background(), bu, k, opt, func(c int, e simulate.Event) error {
					return rec.Record(simulate.Rec{Sent: true, Conv: uint32(c + 1), TS: e.Packet.TS, Size: e.Packet.Size,
						Header: e.Header, From: e.Packet.From})
				})
				if err != nil {
					b.Fatal(err)
				}
				if err := rec.Close(); err != nil {
					b.Fatal(err)
				}
				packets += st.Packets
			}
			rate := float64(packets) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "packets/s")
			b.ReportMetric(r1, "gen-b1-rows/s")
			b.ReportMetric(r4096, "gen-b4096-rows/s")
			b.ReportMetric(rate/r1, "x-gen-b1")
			b.ReportMetric(100*rate/r4096, "pct-gen-b4096")
			b.ReportMetric(rate/f1, "x-fused-b1")
			b.ReportMetric(100*rate/f4096, "pct-fused-b4096")
			b.ReportMetric(float64(st.SamplerCalls)/float64(st.Packets), "calls/packet")
		})
	}
}

// BenchmarkLive: live pairs on loopback UDP as spatgan simulate local runs
// them: the bundle loaded once per agent and shared by every conversation
// of that agent through its simulate.Dispatcher, with keep-warm
// (simulate.DefaultKeepWarm), for 3 s per iteration at the model's own timing
// with gaps capped at 20 ms (so that an untrained benchmark bundle keeps
// talking). Reports decision latency (queueing in the dispatcher
// included) and pacing error quantiles in microseconds (rest: the packets
// after the first of their burst, which do not wait for a decision), the packets per
// second of both agents together and the mean requests per model batch.
// draw=stepwise: the default, each burst's first packet drawn with its turn
// and the others as they come due; draw=whole: every burst drawn whole
// first (simulate.Config.WholeBursts), as before.
func BenchmarkLive(b *testing.B) {
	for _, v := range []struct {
		pairs int
		whole bool
	}{{1, false}, {1, true}, {100, false}, {100, true}} {
		pairs := v.pairs
		name := fmt.Sprintf("pairs=%d/draw=stepwise", pairs)
		if v.whole {
			name = fmt.Sprintf("pairs=%d/draw=whole", pairs)
		}
		b.Run(name, func(b *testing.B) {
			// One model per agent with keep-warm, as spatgan simulate local.
			sbu, cbu := openBench(b), openBench(b)
			var dec, pace, rest simulate.Histogram
			var packets, late int64
			var mean float64
			opt := simulate.DispatchOptions{KeepWarm: simulate.DefaultKeepWarm}
			for b.Loop() {
				sd, cd := simulate.NewDispatcher(sbu, opt), simulate.NewDispatcher(cbu, opt)
				cfg := simulate.Config{Dispatcher: sd, Fingerprint: sbu.Fingerprint(), Pairs: pairs,
					Duration: 3 * time.Second, MaxGap: 20 * time.Millisecond, PeerTimeout: 10 * time.Second, WholeBursts: v.whole}
				ccfg := cfg
				ccfg.Dispatcher = cd
				s, err := simulate.Listen("127.0.0.1:0", cfg)
				if err != nil {
					b.Fatal(err)
				}
				var srep *simulate.Report
				var serr error
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					srep, serr = s.Serve(context.Background())
				}()
				crep, cerr := simulate.Dial(context.Background(), s.Addr().String(), ccfg)
				wg.Wait()
				sd.Close()
				cd.Close()
				if serr != nil || cerr != nil {
					b.Fatalf("server %v client %v", serr, cerr)
				}
				for _, r := range []*simulate.Report{srep, crep} {
					t := r.Totals()
					dec.Merge(&t.Decision)
					pace.Merge(&t.Pacing)
					rest.Merge(&t.PacingRest)
					packets += t.Sent
					late += t.Late
				}
				ss, cs := sd.Stats(), cd.Stats()
				mean = float64(ss.Decisions+ss.Draws+cs.Decisions+cs.Draws) / float64(max(ss.Batches+cs.Batches, 1))
			}
			us := func(v int64) float64 { return float64(v) / 1e3 }
			b.ReportMetric(us(dec.Quantile(0.5)), "decision-p50-us")
			b.ReportMetric(us(dec.Quantile(0.99)), "decision-p99-us")
			b.ReportMetric(us(pace.Quantile(0.5)), "pacing-p50-us")
			b.ReportMetric(us(pace.Quantile(0.99)), "pacing-p99-us")
			b.ReportMetric(us(pace.Quantile(0.999)), "pacing-p99.9-us")
			b.ReportMetric(us(pace.Max()), "pacing-max-us")
			b.ReportMetric(us(rest.Quantile(0.99)), "pacing-rest-p99-us")
			b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
			b.ReportMetric(float64(late)/float64(max(packets, 1)), "late-frac")
			b.ReportMetric(mean, "requests/batch")
		})
	}
}
