package trace

import (
	"bytes"
	"fmt"
	"testing"
)

// benchCapture returns an in-memory pcap of n packets: the embedded Skype
// conversation repeated (timestamps shifted so time keeps increasing).
func benchCapture(b *testing.B, n int) []byte {
	b.Helper()
	d, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	c := &Conversation{Server: d.Server, Client: d.Client, Source: "bench"}
	shift := d.Duration() + 1e9
	for rep := int64(0); len(c.Packets) < n; rep++ {
		for _, p := range d.Packets {
			if len(c.Packets) == n {
				break
			}
			p.TS += rep * shift
			c.Packets = append(c.Packets, p)
		}
	}
	var buf bytes.Buffer
	w, err := NewPcapWriter(&buf, WriterOptions{Server: d.Server, Client: d.Client})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.WriteConversation(c); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkLoad measures pcap bytes (in memory) -> selected conversation ->
// bursts, in packets of the capture per second. "given" names both
// endpoints (one pass); "auto" lists the conversations first (two passes).
// (The model tables are the features package's: BenchmarkRows there.)
//
// Measured 2026-11-27, when the benchmark also built the model tables
// (so today's numbers are at least these) on the shared 2-core AMD EPYC (other jobs running),
// `go test -run '^$' -bench 'Load/.*/packets=100000' -benchtime 20x
// -count 3 -cpu 1 ./trace`: given 2.8-7.1 M packets/s, auto 2.3-3.3 M
// packets/s, a constant ~40-60 allocations per run (none per packet). On
// the same 100,000 packets written to a file (23 MB),
// `tshark -r FILE -q -z conv,ip` took 2.3-2.6 s wall, 1.2-1.4 s user
// (0.4 s and 0.17 s of it startup): about 40,000 packets/s.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		data := benchCapture(b, n)
		for _, mode := range []string{"given", "auto"} {
			b.Run(fmt.Sprintf("%s/packets=%d", mode, n), func(b *testing.B) {
				sel := Select{Server: "124.123.243.15", Client: "192.168.1.133"}
				if mode == "auto" {
					sel = Select{}
				}
				var bursts []Burst
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					c, err := LoadReader(bytes.NewReader(data), "bench.pcap", sel)
					if err != nil {
						b.Fatal(err)
					}
					if len(c.Packets) != n {
						b.Fatalf("%d packets", len(c.Packets))
					}
					bursts = c.BurstsTo(bursts)
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
			})
		}
	}
}

// BenchmarkWriter measures the pcap writer in packets per second.
func BenchmarkWriter(b *testing.B) {
	d, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf.Reset()
		w, err := NewPcapWriter(&buf, WriterOptions{Server: d.Server, Client: d.Client})
		if err != nil {
			b.Fatal(err)
		}
		if err := w.WriteConversation(d); err != nil {
			b.Fatal(err)
		}
		w.Flush()
	}
	b.ReportMetric(float64(len(d.Packets))*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
