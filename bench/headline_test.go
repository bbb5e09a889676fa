package bench

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/trace"
)

func TestEvaluateTimelineRatio(t *testing.T) {
	conv := synthConv(4, 400)
	s, err := NewSplit(conv, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	// The held-out part against itself played at half speed: its timeline
	// is twice as long.
	slow := append([]trace.Packet(nil), s.Test.Packets...)
	for i := range slow {
		slow[i].TS = 2 * (slow[i].TS - s.Test.Packets[0].TS)
	}
	rep, err := Evaluate(context.Background(), s, []Comparator{NoiseFloor(s), {Name: "slow", Kind: KindBaseline, Packets: slow}}, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Result("slow"); math.Abs(float64(r.TimelineRatio)-2) > 1e-9 || r.TimelinePackets != len(s.Test.Packets) {
		t.Errorf("slow: timeline ratio %v over %d packets, want 2 over %d", r.TimelineRatio, r.TimelinePackets, len(s.Test.Packets))
	}
	// Played at half speed, every second of the held-out budget is two,
	// and the bursts are the same.
	if r := rep.Result("slow"); r.TimeBudget.ServerToClient.Bursts == 0 {
		t.Error("slow: empty time budget")
	} else {
		for _, side := range Sides {
			g, h := r.TimeBudget.Get(side), r.RealTimeBudget.Get(side)
			if g.Bursts != h.Bursts || g.Packets != h.Packets || math.Abs(g.ReplyS-2*h.ReplyS) > 1e-6 || math.Abs(g.InBurstS-2*h.InBurstS) > 1e-6 {
				t.Errorf("slow, %s: budget %+v, want twice the held-out %+v", Direction(side), g, h)
			}
		}
	}
	if r := rep.Result(NameReal); r.TimelinePackets != len(s.Test.Packets) {
		t.Errorf("noise floor: timeline over %d packets, want the held-out count %d", r.TimelinePackets, len(s.Test.Packets))
	}
	var md strings.Builder
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| timeline ratio |") || !strings.Contains(md.String(), "| 2.00 |") || !strings.Contains(md.String(), "| reply gaps [s] |") {
		t.Errorf("Markdown lacks the timeline ratio column or the value 2.00:\n%s", md.String())
	}

	m := rep.Result("slow").Metrics()
	seen := map[string]bool{}
	var units []string
	for _, x := range m {
		if seen[x.Unit] {
			t.Errorf("unit %s twice", x.Unit)
		}
		if strings.ContainsAny(x.Unit, " \t") {
			t.Errorf("unit %q has a space (benchmark units cannot)", x.Unit)
		}
		seen[x.Unit] = true
		units = append(units, x.Unit)
	}
	want := "ks-size-s2c ks-size-c2s ks-iat-s2c ks-iat-c2s ks-delta-s2c ks-delta-c2s ks-burst-s2c ks-burst-c2s ks-gap-s2c ks-gap-c2s " +
		"acf-size-s2c acf-size-c2s acf-logiat-s2c acf-logiat-c2s dep-err c2st-pkt c2st-win " +
		"c2st-pkt-s2c-open c2st-pkt-s2c-later c2st-pkt-c2s-open c2st-pkt-c2s-later timeline-ratio"
	if got := strings.Join(units, " "); got != want {
		t.Errorf("units\n%s\nwant\n%s", got, want)
	}
	// Time-scaled copy: sizes and burst lengths are the held-out ones.
	for _, x := range m {
		if (x.Unit == "ks-size-s2c" || x.Unit == "ks-burst-c2s") && x.Value != 0 {
			t.Errorf("%s = %v, want 0 for a time-scaled copy", x.Unit, x.Value)
		}
	}
	// Undefined values are left out.
	var r Result
	r.DependenceError, r.TimelineRatio = Float(math.NaN()), Float(math.NaN())
	for _, x := range r.Metrics() {
		if x.Unit == "dep-err" || x.Unit == "timeline-ratio" || strings.HasPrefix(x.Unit, "c2st") {
			t.Errorf("undefined %s reported as %v", x.Unit, x.Value)
		}
	}
}
