package simulate

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkPacing isolates the pacing loop (conv.waitUntil) from the
// network and the model: one iteration waits for 200 deadlines drawn
// uniformly 50 µs to 3 ms ahead, as a conversation does between packets,
// and records how late each wait returned. The variants separate the
// error sources: a Go timer alone (timer resolution and scheduling),
// with the last 2 ms slept by nanosleep at the default timer slack, with
// the slack set to 1 ns (the default), and with a 20 µs or a 300 µs
// busy-wait at the end; gc adds a goroutine allocating 64 MB/s in the
// background.
func BenchmarkPacing(b *testing.B) {
	type variant struct {
		name  string
		fine  time.Duration
		spin  time.Duration
		slack bool
		gc    bool
	}
	for _, v := range []variant{
		{name: "timer-only", fine: -1},
		{name: "nanosleep-slack50us", fine: DefaultFineSleep},
		{name: "nanosleep", fine: DefaultFineSleep, slack: true},
		{name: "nanosleep+spin20us", fine: DefaultFineSleep, spin: 20 * time.Microsecond, slack: true},
		{name: "nanosleep+spin300us", fine: DefaultFineSleep, spin: 300 * time.Microsecond, slack: true},
		{name: "nanosleep+gc", fine: DefaultFineSleep, slack: true, gc: true},
	} {
		b.Run(v.name, func(b *testing.B) {
			defer func(old bool) { tightSlack = old }(tightSlack)
			tightSlack = v.slack
			cfg := Config{FineSleep: v.fine, Spin: v.spin}
			c := &conv{cfg: &cfg, clk: newClock(), in: make(chan inbound), timer: time.NewTimer(time.Hour)}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if v.gc {
				go func() {
					var keep [][]byte
					t := time.NewTicker(time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-ctx.Done():
							return
						case <-t.C:
							keep = append(keep, make([]byte, 64<<10))
							if len(keep) > 256 {
								keep = keep[:0]
							}
						}
					}
				}()
			}
			rng := rand.New(rand.NewPCG(1, 2))
			var h Histogram
			for b.Loop() {
				for i := 0; i < 200; i++ {
					deadline := c.clk.now() + 50e3 + rng.Int64N(2950e3)
					if err := c.waitUntil(ctx, deadline); err != nil {
						b.Fatal(err)
					}
					h.Add(c.clk.now() - deadline)
				}
			}
			us := func(v int64) float64 { return float64(v) / 1e3 }
			b.ReportMetric(us(h.Quantile(0.5)), "p50-us")
			b.ReportMetric(us(h.Quantile(0.99)), "p99-us")
			b.ReportMetric(us(h.Quantile(0.999)), "p99.9-us")
			b.ReportMetric(us(h.Max()), "max-us")
		})
	}
}
