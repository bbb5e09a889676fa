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
