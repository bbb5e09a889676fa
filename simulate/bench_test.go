package simulate

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

var (
	benchModels   = map[string]sampler.Model{}
	benchModelsMu sync.Mutex
)

// benchModel fits a baseline on the embedded Skype conversation once.
func benchModel(b *testing.B, name string) sampler.Model {
	b.Helper()
	benchModelsMu.Lock()
	defer benchModelsMu.Unlock()
	if m := benchModels[name]; m != nil {
		return m
	}
	conv, err := trace.Default()
	if err != nil {
		b.Fatal(err)
	}
	m, err := sampler.Fit(name, conv)
	if err != nil {
		b.Fatal(err)
	}
	benchModels[name] = m
	return m
}

// BenchmarkGenerate measures offline generation speed (packets/s) of one
// conversation for each baseline.
func BenchmarkGenerate(b *testing.B) {
	const perOp = 20000
	for _, name := range []string{"bootstrap", "normal", "markov"} {
		b.Run(name, func(b *testing.B) {
			m := benchModel(b, name)
			var n int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st, err := Generate(context.Background(), m.New(int64(i)), GenOptions{Packets: perOp},
					func(Event) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				n += st.Packets
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// BenchmarkGenerateMany measures lockstep generation of k conversations
// with the markov baseline, which reads its conditions (like the GAN): the
// batch size of each sampler call grows with k, the number of calls per
// packet falls.
func BenchmarkGenerateMany(b *testing.B) {
	const perConv = 2000
	for _, k := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("markov/k=%d", k), func(b *testing.B) {
			m := benchModel(b, "markov")
			var n, calls int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st, err := GenerateMany(context.Background(), m.New(int64(i)), k, GenOptions{Packets: perConv},
					func(int, Event) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				n += st.Packets
				calls += st.SamplerCalls
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "packets/s")
			b.ReportMetric(float64(calls)/float64(n), "calls/packet")
		})
	}
}

// BenchmarkDecision measures the closed loop's per-decision cost: drawing
// one burst (TurnsTo plus BurstsTo) for a measured opponent burst, as a
// live agent does after each opponent burst.
func BenchmarkDecision(b *testing.B) {
	for _, name := range []string{"bootstrap", "markov"} {
		b.Run(name, func(b *testing.B) {
			m := benchModel(b, name)
			p := newPlanner(m.New(1), trace.Server, Framing{}, 1, 0, 0)
			var bp burstPlan
			opps := []features.Burst{{Count: 1, Bytes: 120, GapNS: 5e6}, {Count: 3, Bytes: 400, DurNS: 900e3, GapNS: 12e6},
				{Count: 12, Bytes: 3000, DurNS: 40e6, GapNS: 1e6}}
			c := sampler.NewConv(1)
			pkts := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.H.Observe(trace.Client, opps[i%len(opps)])
				if err := p.plan(c, &bp); err != nil {
					b.Fatal(err)
				}
				sent(c, &bp, len(bp.sizes))
				pkts += len(bp.sizes)
			}
			el := b.Elapsed().Seconds()
			b.ReportMetric(el*1e9/float64(b.N), "ns/decision")
			b.ReportMetric(el*1e9/float64(pkts), "ns/packet")
		})
	}
}

// BenchmarkLoopback measures live conversations on loopback UDP with 1 and
// 10 pairs: aggregate packets/s as fast as possible (speedup +Inf, each
// side answering as soon as the other's burst is in), and, at the model's
// own timing sped up 20 times, the pacing error, also with 100 pairs.
// Each operation is one run of all pairs.
func BenchmarkLoopback(b *testing.B) {
	for _, pairs := range []int{1, 10, 100} {
		for _, speed := range []float64{math.Inf(1), 20} {
			if pairs > 10 && math.IsInf(speed, 1) {
				continue
			}
			name := fmt.Sprintf("pairs=%d/speedup=%v", pairs, speed)
			b.Run(name, func(b *testing.B) {
				m := benchModel(b, "bootstrap")
				limit := int64(4000)
				if !math.IsInf(speed, 1) {
					limit = 400
				}
				cfg := Config{NewSampler: func(i int) (sampler.Sampler, error) { return m.New(int64(i)), nil },
					Fingerprint: m.Fingerprint(), Pairs: pairs, MaxPackets: limit, Speedup: speed, PeerTimeout: 10 * time.Second}
				var total int64
				var pacing Histogram
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					s, err := Listen("127.0.0.1:0", cfg)
					if err != nil {
						b.Fatal(err)
					}
					var srep *Report
					var serr error
					var wg sync.WaitGroup
					wg.Add(1)
					go func() {
						defer wg.Done()
						srep, serr = s.Serve(context.Background())
					}()
					crep, cerr := Dial(context.Background(), s.Addr().String(), cfg)
					wg.Wait()
					if serr != nil || cerr != nil {
						b.Fatalf("server %v client %v", serr, cerr)
					}
					st, ct := srep.Totals(), crep.Totals()
					total += st.Sent + ct.Sent
					pacing.Merge(&st.Pacing)
					pacing.Merge(&ct.Pacing)
				}
				b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "packets/s")
				b.ReportMetric(float64(pacing.Quantile(0.5))/1e3, "pacing-p50-us")
				b.ReportMetric(float64(pacing.Quantile(0.99))/1e3, "pacing-p99-us")
			})
		}
	}
}

// BenchmarkGenerateCapture measures the capture path of "spatgan generate
// --conversations": 1,000 conversations of the markov baseline (200
// packets each) in time order (Ordered) through a FileRecorder writing a
// pcap, against the same without the pcap and without ordering, to show
// what recording costs per packet.
func BenchmarkGenerateCapture(b *testing.B) {
	const k, per = 1000, 200
	for _, v := range []struct {
		name           string
		ordered, write bool
	}{{"plain", false, false}, {"ordered", true, false}, {"ordered+pcap", true, true}} {
		b.Run(v.name, func(b *testing.B) {
			m := benchModel(b, "markov")
			dir := b.TempDir()
			var n int64
			for b.Loop() {
				emit := func(int, Event) error { return nil }
				var rec *FileRecorder
				if v.write {
					var err error
					if rec, err = NewFileRecorder(filepath.Join(dir, "c.pcap"), "", time.Second); err != nil {
						b.Fatal(err)
					}
					emit = func(c int, e Event) error {
						return rec.Record(Rec{Sent: true, Conv: uint32(c + 1), TS: e.Packet.TS, Size: e.Packet.Size, Header: e.Header, From: e.Packet.From})
					}
				}
				st, err := GenerateMany(context.Background(), m.New(1), k, GenOptions{Packets: per, Ordered: v.ordered, Stagger: time.Millisecond}, emit)
				if err != nil {
					b.Fatal(err)
				}
				if rec != nil {
					if err := rec.Close(); err != nil {
						b.Fatal(err)
					}
				}
				n += st.Packets
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
