package simulate

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// TestStepwisePlanner draws the same bursts from two samplers of one seed,
// whole (plan) and packet by packet (planFirst, then more), directly and
// through a Dispatcher: sizes, times and the histories must agree.
func TestStepwisePlanner(t *testing.T) {
	const bursts = 60
	fr := Framing{Transport: UDP}
	whole := func() []burstPlan {
		s := newAR(7, 3e6, 2e5)
		c := sampler.NewConv(1)
		var out []burstPlan
		for i := 0; i < bursts; i++ {
			p := newPlanner(s, trace.Side(i%2), fr, 1, 0, 0)
			var b burstPlan
			if err := p.plan(c, &b); err != nil {
				t.Fatal(err)
			}
			sent(c, &b, b.count())
			out = append(out, b)
		}
		return out
	}()
	for _, via := range []string{"direct", "dispatcher"} {
		t.Run(via, func(t *testing.T) {
			s := newAR(7, 3e6, 2e5)
			var d *Dispatcher
			if via == "dispatcher" {
				d = NewDispatcher(s, DispatchOptions{})
				defer d.Close()
			}
			c := sampler.NewConv(1)
			for i := 0; i < bursts; i++ {
				side := trace.Side(i % 2)
				p := newPlanner(s, side, fr, 1, 0, 0)
				if d != nil {
					p = newPlanner(nil, side, fr, 1, 0, 0)
					p.d, p.stepwise = d, d.stepwise[side]
				}
				if !p.stepwise {
					t.Fatal("planner of a Stepper is not stepwise")
				}
				var b burstPlan
				if err := p.planFirst(c, &b); err != nil {
					t.Fatal(err)
				}
				if b.drawn() != 1 {
					t.Fatalf("burst %d: planFirst drew %d packets, want 1", i, b.drawn())
				}
				for b.drawn() < b.count() {
					if err := p.more(c, &b, 1+i%3); err != nil {
						t.Fatal(err)
					}
				}
				if err := p.more(c, &b, 1); err != nil || b.drawn() != b.count() {
					t.Fatalf("more past the end: %v, %d of %d drawn", err, b.drawn(), b.count())
				}
				sent(c, &b, b.count())
				w := whole[i]
				if b.gap != w.gap || !slices.Equal(b.sizes, w.sizes) || !slices.Equal(b.dts, w.dts) || !slices.Equal(b.hist, w.hist) {
					t.Fatalf("burst %d drawn in pieces: gap %d sizes %v dts %v; whole: gap %d sizes %v dts %v",
						i, b.gap, b.sizes, b.dts, w.gap, w.sizes, w.dts)
				}
			}
			if d != nil {
				if st := d.Stats(); st.Decisions != bursts || st.Draws == 0 {
					t.Fatalf("dispatcher stats %+v, want %d decisions and some draws", st, bursts)
				}
			}
		})
	}
}

// slowAR is an arSampler whose packet draws take a while, so that a live
// agent cannot draw ahead between closely spaced packets.
type slowAR struct {
	*arSampler
	pause time.Duration
}

func (s slowAR) BurstsFrom(out [][]sampler.Pkt, from []int, side trace.Side, convs []*sampler.Conv) error {
	time.Sleep(s.pause)
	return s.arSampler.BurstsFrom(out, from, side, convs)
}

func (s slowAR) BurstsTo(out [][]sampler.Pkt, side trace.Side, convs []*sampler.Conv) error {
	return s.BurstsFrom(out, nil, side, convs)
}

// TestStepwiseLive runs pairs whose samplers draw packets stepwise, with
// inter-packet times long enough to draw ahead (fast) and too short for
// it (slow draws), through each agent's own sampler and through shared
// dispatchers, under a duration limit: every burst must arrive whole and
// in drawing order (sizes increase within a burst), and a burst cut by
// the end after a packet that went out before the next was drawn must
// still end the peer's turn at once (a Sync), not after the turn timeout.
func TestStepwiseLive(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pause  time.Duration
		shared bool
	}{
		{"fast", 0, false},
		{"fast/dispatcher", 0, true},
		{"slow", 2 * time.Millisecond, false},
		{"slow/dispatcher", 2 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mk := func(seed uint64) sampler.Sampler {
				a := newAR(seed, 1e6, 3e6)
				if tc.pause > 0 {
					return slowAR{a, tc.pause}
				}
				return a
			}
			cfg := func(seed uint64) Config {
				return Config{
					NewSampler:  func(int) (sampler.Sampler, error) { return mk(seed), nil },
					Fingerprint: "ar-v1",
					// A turn timeout far beyond the run: only the Sync
					// can end a cut burst in time.
					TurnTimeout: 10 * time.Second,
					PeerTimeout: 20 * time.Second,
				}
			}
			o := pairOpts{srv: cfg(1), cli: cfg(2), record: true}
			if tc.shared {
				// Several pairs, so that a dispatcher is sometimes busy
				// (whole bursts) and batches mix turns, first packets and
				// later ones.
				o.srv.Pairs, o.cli.Pairs = 4, 4
				sd, cd := NewDispatcher(mk(1), DispatchOptions{}), NewDispatcher(mk(2), DispatchOptions{})
				defer sd.Close()
				defer cd.Close()
				o.srv.NewSampler, o.srv.Dispatcher = nil, sd
				o.cli.NewSampler, o.cli.Dispatcher = nil, cd
			}
			o.srv.Duration = 700 * time.Millisecond
			t0 := time.Now()
			res := runPair(t, o)
			el := time.Since(t0)
			if res.srvErr != nil || res.cliErr != nil {
				t.Fatalf("server: %v; client: %v", res.srvErr, res.cliErr)
			}
			if el > 5*time.Second {
				t.Fatalf("a 700 ms conversation took %v", el)
			}
			st, ct := res.srv.Totals(), res.cli.Totals()
			if st.Sent == 0 || ct.Sent == 0 || st.Received != ct.Sent || ct.Received != st.Sent {
				t.Fatalf("server sent %d received %d; client sent %d received %d", st.Sent, st.Received, ct.Sent, ct.Received)
			}
			if st.Draw.Count()+ct.Draw.Count() == 0 {
				t.Fatal("no later draws: the bursts were not drawn stepwise")
			}
			for _, who := range []string{"server", "client"} {
				rows := readFlow(t, filepath.Join(res.dir, who+".csv"))
				prev := map[uint32]flowRow{} // per conversation, the last packet sent
				for _, r := range rows {
					if !r.sent {
						continue
					}
					if p, ok := prev[r.conv]; ok && p.burst == r.burst && r.size <= p.size {
						t.Fatalf("%s conversation %d burst %d: size %d after %d, out of drawing order", who, r.conv, r.burst, r.size, p.size)
					}
					prev[r.conv] = r
				}
				if len(prev) != max(o.srv.Pairs, 1) {
					t.Fatalf("%s: packets of %d conversations, want %d", who, len(prev), max(o.srv.Pairs, 1))
				}
			}
		})
	}
}
