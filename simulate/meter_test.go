package simulate

import (
	"testing"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/trace"
)

// TestMeterMeasuresAsSent: a burst measured on receipt is the Burst the
// sender's history holds for the same packets (features.SentBurst), the
// sizes of its last two packets included, for one packet and for three.
func TestMeterMeasuresAsSent(t *testing.T) {
	p := newPlanner(nil, trace.Server, Framing{}, 1, 0, 0)
	for _, pkts := range [][]features.Pkt{
		{{Size: 300, DtNS: 5000}},
		{{Size: 300, DtNS: 5000}, {Size: 120, DtNS: 700}, {Size: 80, DtNS: 900}},
	} {
		var m meter
		ts := int64(1_000_000)
		for _, q := range pkts {
			ts += q.DtNS
			m.add(ts, q.Size)
		}
		got := m.burst(p, 1_000_000)
		want := features.SentBurst(5000, pkts)
		if got != want {
			t.Errorf("%d packets: measured %+v, sent %+v", len(pkts), got, want)
		}
	}
}
