package metrics

import (
	"math"
	"testing"

	"github.com/spatgan/spatgan/trace"
)

// pktsAt returns packets at the given times in seconds, sides alternating.
func pktsAt(secs ...float64) []trace.Packet {
	out := make([]trace.Packet, len(secs))
	for i, s := range secs {
		out[i] = trace.Packet{TS: int64(s * 1e9), Size: 100, From: trace.Side(i % 2)}
	}
	return out
}

func TestTimelineRatio(t *testing.T) {
	// Expected values derived by hand: span of the first n packets of each,
	// n the shorter length.
	for _, tc := range []struct {
		name     string
		syn, ref []trace.Packet
		want     float64
		n        int
	}{
		{"same pace", pktsAt(5, 6, 7), pktsAt(0, 1, 2), 1, 3},
		{"no pauses", pktsAt(0, 0.001, 0.002, 0.003), pktsAt(0, 1, 2, 3), 0.001, 4},
		{"longer synthetic", pktsAt(0, 1, 2, 30), pktsAt(10, 12, 14), 2.0 / 4, 3},
		{"longer real", pktsAt(0, 4), pktsAt(0, 1, 100), 4, 2},
		{"clock step", pktsAt(0, 3, 1), pktsAt(0, 1, 2), 1.5, 3},
		{"one packet", pktsAt(0), pktsAt(0, 1), math.NaN(), 1},
		{"real span 0", pktsAt(0, 1), pktsAt(2, 2), math.NaN(), 2},
	} {
		got, n := TimelineRatio(tc.syn, tc.ref)
		if n != tc.n || !(math.Abs(got-tc.want) < 1e-12 || math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("%s: ratio %v over %d packets, want %v over %d", tc.name, got, n, tc.want, tc.n)
		}
	}
}

func TestBudgetByHand(t *testing.T) {
	// Server at 0, 1; client at 3, 3.5, 4; server at 10; client at 10.25.
	// Bursts: S[0,1] C[3,4] S[10] C[10.25]. By hand: server in-burst 1 s,
	// reply 6 s (4 -> 10); client in-burst 1 s, reply 2 s (1 -> 3) + 0.25 s.
	mk := func(s float64, side trace.Side) trace.Packet {
		return trace.Packet{TS: int64(s * 1e9), Size: 100, From: side}
	}
	pkts := []trace.Packet{mk(0, trace.Server), mk(1, trace.Server), mk(3, trace.Client), mk(3.5, trace.Client),
		mk(4, trace.Client), mk(10, trace.Server), mk(10.25, trace.Client)}
	got, err := Budget(pkts)
	if err != nil {
		t.Fatal(err)
	}
	want := [2]TimeBudget{
		trace.Server: {Packets: 3, Bursts: 2, ReplyS: 6, InBurstS: 1},
		trace.Client: {Packets: 4, Bursts: 2, ReplyS: 2.25, InBurstS: 1},
	}
	if got != want {
		t.Errorf("Budget = %+v, want %+v", got, want)
	}
	// The two sides' budgets add up to the span.
	sum := got[0].ReplyS + got[0].InBurstS + got[1].ReplyS + got[1].InBurstS
	if math.Abs(sum-float64(Span(pkts))/1e9) > 1e-12 {
		t.Errorf("budget sums to %v s, span %v s", sum, float64(Span(pkts))/1e9)
	}
	if _, err := Budget([]trace.Packet{{From: 7}}); err == nil {
		t.Error("Budget accepted a packet of side 7")
	}
}
