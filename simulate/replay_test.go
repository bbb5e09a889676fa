package simulate

import (
	"context"
	"testing"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// playback is a sampler that replays a real conversation's bursts in
// order and records, at every decision, the features a model would see.
type playback struct {
	bursts []trace.Burst
	pkts   []trace.Packet
	k      int // next burst
	tset   *features.Set
	pset   *features.Set
	tseen  [2][][]float64
	pseen  [2][][]float64
}

func (p *playback) Name() string { return "playback" }
func (p *playback) TurnsTo(out []sampler.Turn, side trace.Side, convs []*sampler.Conv) error {
	b := p.bursts[p.k]
	v := make([]float64, p.tset.Len())
	p.tset.To(v, &features.Ctx{H: &convs[0].H, Side: side})
	p.tseen[side] = append(p.tseen[side], v)
	gap := b.FirstTS - p.bursts[p.k-1].LastTS
	out[0] = sampler.Turn{Count: b.Count, GapNS: gap}
	return nil
}
func (p *playback) BurstsTo(out [][]sampler.Pkt, side trace.Side, convs []*sampler.Conv) error {
	b := p.bursts[p.k]
	_, turn, _ := convs[0].H.Open()
	for i := range out[0] {
		v := make([]float64, p.pset.Len())
		p.pset.To(v, &features.Ctx{H: &convs[0].H, Side: side, Turn: turn, Drawn: out[0][:i]})
		p.pseen[side] = append(p.pseen[side], v)
		j := b.Start + i
		out[0][i] = sampler.Pkt{Size: p.pkts[j].Size, DtNS: p.pkts[j].TS - p.pkts[j-1].TS}
	}
	p.k++
	return nil
}

// TestGenerationSeesTrainingFeatures drives offline generation with a
// sampler that replays a real conversation and checks that every feature
// of every decision equals the training table's (features.Rows): what a
// model conditions on in generation is what it was trained on.
func TestGenerationSeesTrainingFeatures(t *testing.T) {
	conv, err := trace.Default()
	if err != nil {
		t.Fatal(err)
	}
	// Generation opens with a client burst answering nothing: drop the
	// packets before the client's first, and keep 3,000 packets.
	first := 0
	for conv.Packets[first].From != trace.Client {
		first++
	}
	c := &trace.Conversation{Source: "replay", Packets: conv.Packets[first : first+3000]}
	// A clock-step-free stretch, so that no training row is left out.
	for i := 1; i < len(c.Packets); i++ {
		if c.Packets[i].TS < c.Packets[i-1].TS {
			t.Fatalf("clock step at %d", i)
		}
	}
	bursts := c.Bursts()
	// Every feature, on both kinds of decision.
	var tnames, pnames []string
	for _, n := range features.Names() {
		f, _ := features.Lookup(n)
		if f.For&features.TurnDecision != 0 {
			tnames = append(tnames, n)
		}
		pnames = append(pnames, n)
	}
	tset, err := features.Resolve(tnames, features.TurnDecision)
	if err != nil {
		t.Fatal(err)
	}
	pset, err := features.Resolve(pnames, features.PacketDecision)
	if err != nil {
		t.Fatal(err)
	}
	// The first burst is drawn too (with an empty history); the playback
	// then starts its bookkeeping at the second.
	p := &playback{bursts: bursts, pkts: c.Packets, k: 1, tset: tset, pset: pset}
	opening := &openingSampler{b: bursts[0], pkts: c.Packets, next: p}
	want := int64(len(c.Packets))
	fr := Framing{Offline: true, Max: LargestFrame}
	if _, err := Generate(context.Background(), opening, GenOptions{Packets: want, Framing: fr, MaxGap: 1 << 62}, func(Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for _, side := range []trace.Side{trace.Server, trace.Client} {
		tt, err := features.Rows(c, side, features.TurnDecision, tset)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := features.Rows(c, side, features.PacketDecision, pset)
		if err != nil {
			t.Fatal(err)
		}
		check := func(kind string, tab *features.Table, seen [][]float64, names []string) {
			if tab.Len() != len(seen) {
				t.Fatalf("%s %s: %d decisions in generation, %d training rows", side, kind, len(seen), tab.Len())
			}
			for i := range seen {
				for j, n := range names {
					if seen[i][j] != tab.Cond[j][i] {
						t.Fatalf("%s %s row %d: %s = %v in generation, %v in training", side, kind, i, n, seen[i][j], tab.Cond[j][i])
					}
				}
			}
		}
		check("turn", tt, p.tseen[side], tnames)
		check("packet", pt, p.pseen[side], pnames)
	}
}

// openingSampler plays the conversation's first burst, then hands over.
type openingSampler struct {
	b    trace.Burst
	pkts []trace.Packet
	done bool
	next *playback
}

func (o *openingSampler) Name() string { return "playback" }
func (o *openingSampler) TurnsTo(out []sampler.Turn, side trace.Side, convs []*sampler.Conv) error {
	if o.done {
		return o.next.TurnsTo(out, side, convs)
	}
	out[0] = sampler.Turn{Count: o.b.Count, GapNS: 0}
	return nil
}
func (o *openingSampler) BurstsTo(out [][]sampler.Pkt, side trace.Side, convs []*sampler.Conv) error {
	if o.done {
		return o.next.BurstsTo(out, side, convs)
	}
	for i := range out[0] {
		j := o.b.Start + i
		dt := int64(0)
		if i > 0 {
			dt = o.pkts[j].TS - o.pkts[j-1].TS
		}
		out[0][i] = sampler.Pkt{Size: o.pkts[j].Size, DtNS: dt}
	}
	o.done = true
	return nil
}
