package simulate

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/spatgan/spatgan/trace"
)

type nopLink struct{}

func (nopLink) send([]byte) error      { return nil }
func (nopLink) local() netip.AddrPort  { return netip.AddrPort{} }
func (nopLink) remote() netip.AddrPort { return netip.AddrPort{} }

// TestSendBurstAllocs: drawing and sending a burst allocates nothing once
// the buffers have grown (a recorder aside), so the packet path puts no
// pressure on the garbage collector.
func TestSendBurstAllocs(t *testing.T) {
	cfg := Config{FineSleep: -1, LateAfter: time.Millisecond}
	fr := NewFraming(UDP, false)
	for _, shared := range []bool{false, true} {
		pl := newPlanner(newToy(1, 1, 1), trace.Client, fr, 1, 0, 0)
		if shared {
			d := NewDispatcher(newToy(1, 1, 1), DispatchOptions{})
			defer d.Close()
			pl = newPlanner(nil, trace.Client, fr, 1, 0, 0)
			pl.d = d
		}
		c := newConv(1, trace.Client, &cfg, newClock(), nopLink{}, make(chan inbound, 1), pl, fr, nil)
		ctx := context.Background()
		burst := func() {
			c.ref = 0 // every deadline has passed: no waiting
			if _, err := c.sendBurst(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 50; i++ {
			burst() // grow the buffers and the histograms
		}
		if n := testing.AllocsPerRun(200, burst); n > 0 {
			t.Errorf("shared=%v: %.1f allocations per burst", shared, n)
		}
	}
}
