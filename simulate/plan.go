package simulate

import (
	"fmt"
	"math"
	"time"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// Defaults for the bounds put on sampler output.
const (
	// DefaultMaxCount caps the packets of one burst.
	DefaultMaxCount = 1000
	// DefaultMaxGap caps a reply gap or an inter-packet time (after time
	// scaling).
	DefaultMaxGap = 30 * time.Second
)

// Clamps counts sampler outputs that were moved into the valid range.
type Clamps struct {
	Size  int64 // frame sizes moved into [MinFrame, MaxFrame]
	Count int64 // burst counts moved into [1, MaxCount]
	Time  int64 // negative gaps or inter-packet times set to 0, or times capped at MaxGap
}

func (c *Clamps) add(o Clamps) {
	c.Size += o.Size
	c.Count += o.Count
	c.Time += o.Time
}

// burstPlan is one side's drawn burst: the reply gap and, per packet, the
// frame size and the time since the previous packet (dts[0] is 0), scaled
// and clamped for sending. raw receives the sampler's draws (as drawn: a
// Stepper reads the burst's earlier packets from it) and hist the same in
// the model's units as they go into the history (sizes clamped, the first
// packet's time the reply gap). A burst may be drawn in pieces (a live
// agent with a sampler.Stepper): the first drawn packets of raw are
// filled, len(sizes) of them.
type burstPlan struct {
	gap    int64
	sizes  []int32
	dts    []int64
	raw    []sampler.Pkt
	hist   []sampler.Pkt
	rawGap int64
}

// drawn returns how many of the burst's packets are drawn.
func (b *burstPlan) drawn() int { return len(b.sizes) }

// count returns the burst's packets, drawn or not.
func (b *burstPlan) count() int { return len(b.raw) }

// planner turns a conversation's history into this side's next burst, the
// decision logic shared by the live agents and offline generation: a
// TurnsTo call, the turn opened in the history, a BurstsTo call for its
// packets (or, stepwise, BurstsFrom calls for a few at a time), then sizes
// clamped to the framing and times scaled and capped. After sending, the
// caller closes the burst with sent.
type planner struct {
	s         sampler.Sampler
	d         *Dispatcher // if set, plan draws through it (s is then nil)
	req       decision    // this planner's request to d
	side      trace.Side
	fr        Framing
	timeScale float64
	maxCount  int
	maxGap    int64
	// stepwise: the sampler is a sampler.Stepper drawing this side's
	// packets position by position, so a live agent draws a burst's
	// packets as they come due (planFirst, more).
	stepwise bool

	turn1 [1]sampler.Turn
	conv1 [1]*sampler.Conv
	out1  [1][]sampler.Pkt
	from1 [1]int

	calls  int64
	clamps Clamps
}

func newPlanner(s sampler.Sampler, side trace.Side, fr Framing, timeScale float64, maxCount int, maxGap time.Duration) *planner {
	if maxCount <= 0 {
		maxCount = DefaultMaxCount
	}
	if maxGap <= 0 {
		maxGap = DefaultMaxGap
	}
	p := &planner{s: s, side: side, fr: fr, timeScale: timeScale, maxCount: maxCount, maxGap: int64(maxGap)}
	if st, ok := s.(sampler.Stepper); ok {
		p.stepwise = st.Stepwise(side)
	}
	return p
}

// scale applies the time scale and the clamps to a sampled time.
func (p *planner) scale(ns int64) int64 {
	if ns < 0 {
		p.clamps.Time++
		return 0
	}
	v := float64(ns)
	if p.timeScale != 1 {
		v *= p.timeScale
	}
	if v > float64(p.maxGap) {
		p.clamps.Time++
		return p.maxGap
	}
	return int64(math.Round(v))
}

// unscale maps a measured wall-clock duration back to the model's units.
func (p *planner) unscale(ns int64) int64 {
	if p.timeScale == 1 || p.timeScale <= 0 {
		return ns
	}
	return int64(math.Round(float64(ns) / p.timeScale))
}

// count clamps a drawn burst length into [1, maxCount].
func (p *planner) count(n int) int {
	switch {
	case n < 1:
		p.clamps.Count++
		return 1
	case n > p.maxCount:
		p.clamps.Count++
		return p.maxCount
	}
	return n
}

// open records a drawn turn: the count clamped, the burst opened in c's
// history, b reset and its packet slice sized for BurstsTo.
func (p *planner) open(c *sampler.Conv, t sampler.Turn, b *burstPlan) []sampler.Pkt {
	t.Count = p.count(t.Count)
	c.H.Begin(p.side, t)
	b.rawGap = t.GapNS
	if c.H.Empty() {
		b.rawGap = -1 // the opening burst answers nothing: no reply gap, as in training
	}
	b.gap = p.scale(t.GapNS)
	b.raw = grow(b.raw, t.Count)
	b.sizes, b.dts, b.hist = b.sizes[:0], b.dts[:0], b.hist[:0]
	return b.raw
}

// fill turns the packets drawn into b.raw up to upto into sizes and send
// times.
func (p *planner) fill(b *burstPlan, upto int) {
	for i := len(b.sizes); i < upto; i++ {
		k := b.raw[i]
		size, clamped := p.fr.Clamp(k.Size)
		if clamped {
			p.clamps.Size++
		}
		k.Size = size
		var dt int64
		if i > 0 {
			dt = p.scale(k.DtNS)
		} else {
			k.DtNS = max(b.rawGap, 0)
		}
		b.sizes = append(b.sizes, size)
		b.dts = append(b.dts, dt)
		b.hist = append(b.hist, k)
	}
}

// plan draws side's next burst in conversation c.
func (p *planner) plan(c *sampler.Conv, b *burstPlan) error {
	return p.planUpTo(c, b, false)
}

// planFirst draws side's next turn in conversation c and, for a stepwise
// sampler, only the burst's first packet (the rest with more); else the
// whole burst, as plan.
func (p *planner) planFirst(c *sampler.Conv, b *burstPlan) error {
	return p.planUpTo(c, b, p.stepwise)
}

func (p *planner) planUpTo(c *sampler.Conv, b *burstPlan, first bool) error {
	if p.d != nil {
		return p.d.plan(p, c, b, first)
	}
	p.conv1[0] = c
	if err := p.s.TurnsTo(p.turn1[:], p.side, p.conv1[:]); err != nil {
		return fmt.Errorf("simulate: %s sampler, %s turn: %w", p.s.Name(), p.side, err)
	}
	all := p.open(c, p.turn1[0], b)
	p.calls++
	upto := len(all)
	if first {
		upto = 1
	}
	return p.draw(c, b, upto)
}

// more draws up to k further packets of the open burst b in c (stepwise
// samplers only).
func (p *planner) more(c *sampler.Conv, b *burstPlan, k int) error {
	upto := min(b.drawn()+k, b.count())
	if upto <= b.drawn() {
		return nil
	}
	if p.d != nil {
		return p.d.more(p, c, b, upto)
	}
	return p.draw(c, b, upto)
}

// draw draws b's packets from b.drawn() to upto with the planner's own
// sampler.
func (p *planner) draw(c *sampler.Conv, b *burstPlan, upto int) error {
	p.conv1[0], p.out1[0], p.from1[0] = c, b.raw[:upto], b.drawn()
	if err := drawBursts(p.s, p.stepwise, p.out1[:], p.from1[:], p.side, p.conv1[:]); err != nil {
		return fmt.Errorf("simulate: %s sampler, %s burst: %w", p.s.Name(), p.side, err)
	}
	p.calls++
	p.fill(b, upto)
	return nil
}

// drawBursts draws outs[i][from[i]:] of side's open bursts: with
// BurstsFrom for a stepwise sampler (a sampler.Stepper), else whole bursts
// with BurstsTo (from[i] is then 0).
func drawBursts(s sampler.Sampler, stepwise bool, outs [][]sampler.Pkt, from []int, side trace.Side, convs []*sampler.Conv) error {
	if stepwise {
		return s.(sampler.Stepper).BurstsFrom(outs, from, side, convs)
	}
	return s.BurstsTo(outs, side, convs)
}

// sent closes the burst in c's history with the first n packets of b, the
// ones that went out.
func sent(c *sampler.Conv, b *burstPlan, n int) {
	c.H.End(features.SentBurst(b.rawGap, b.hist[:n]))
}

// meter measures a burst as received: count, bytes, first and last arrival.
type meter struct {
	n                  int
	bytes              int64
	first, prev, last  int64
	prevSize, lastSize int32
}

func (m *meter) reset() { *m = meter{} }

func (m *meter) add(ts int64, size int32) {
	if m.n == 0 {
		m.first = ts
	}
	m.prev, m.last = m.last, ts
	m.prevSize, m.lastSize = m.lastSize, size
	m.n++
	m.bytes += int64(size)
}

// burst returns the measured burst for the history, in the model's units
// (p unscales wall-clock times); gapFrom is when this side's own last
// packet went out (the reply gap is measured from it; -1 if none).
func (m *meter) burst(p *planner, gapFrom int64) features.Burst {
	if m.n == 0 {
		return features.Burst{GapNS: -1}
	}
	b := features.Burst{Count: m.n, Bytes: m.bytes, DurNS: p.unscale(m.last - m.first), GapNS: -1, LastSize: m.lastSize}
	if m.n > 1 {
		b.PrevSize = m.prevSize
	}
	if gapFrom >= 0 {
		b.GapNS = p.unscale(max(m.first-gapFrom, 0))
	}
	if m.n > 1 {
		b.LastDtNS = p.unscale(m.last - m.prev)
	} else {
		b.LastDtNS = b.GapNS
	}
	return b
}
