package simulate

import (
	"fmt"
	"math"
	"time"

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
	// DefaultBatch is how many decisions are drawn ahead when the sampler's
	// conditions allow it.
	DefaultBatch = 256
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
// frame size and the time since the previous packet (dts[0] is 0).
type burstPlan struct {
	gap   int64
	sizes []int32
	dts   []int64
}

// planner turns a measured condition into a burst, the decision logic shared
// by the live agents and offline generation.
//
// Batching: when the sampler's PacketsTo does not read PrevSize, the whole
// burst is drawn with one PacketsTo call (conditions First=1 for the first
// packet, PrevSize=0); otherwise packet by packet, each drawn (clamped) size
// becoming the next condition's PrevSize. When TurnsTo or PacketsTo reads no
// condition at all and batch > 1, decisions are drawn batch at a time ahead
// with zero conditions.
type planner struct {
	s         sampler.Sampler
	side      trace.Side
	fr        Framing
	timeScale float64
	maxCount  int
	maxGap    int64
	batch     int

	turnUse, pktUse sampler.CondUse

	turnAhead []sampler.Turn
	turnPos   int
	pktAhead  []sampler.Pkt
	pktPos    int

	turn1 [1]sampler.Turn
	cond1 [1]trace.Cond
	conds []trace.Cond
	pkts  []sampler.Pkt

	calls  int64
	clamps Clamps
}

func newPlanner(s sampler.Sampler, side trace.Side, fr Framing, timeScale float64, maxCount int, maxGap time.Duration, batch int) *planner {
	if maxCount <= 0 {
		maxCount = DefaultMaxCount
	}
	if maxGap <= 0 {
		maxGap = DefaultMaxGap
	}
	if batch <= 0 {
		batch = 1
	}
	p := &planner{s: s, side: side, fr: fr, timeScale: timeScale, maxCount: maxCount, maxGap: int64(maxGap), batch: batch}
	p.turnUse, p.pktUse = sampler.Uses(s)
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

func (p *planner) nextTurn(c trace.Cond) (sampler.Turn, error) {
	if p.turnUse == 0 && p.batch > 1 {
		if p.turnPos == len(p.turnAhead) {
			if cap(p.turnAhead) < p.batch {
				p.turnAhead = make([]sampler.Turn, p.batch)
			}
			p.turnAhead = p.turnAhead[:p.batch]
			if err := p.s.TurnsTo(p.turnAhead, p.side, p.zeroConds(p.batch)); err != nil {
				return sampler.Turn{}, fmt.Errorf("simulate: %s sampler, %s turns: %w", p.s.Name(), p.side, err)
			}
			p.calls++
			p.turnPos = 0
		}
		t := p.turnAhead[p.turnPos]
		p.turnPos++
		return t, nil
	}
	p.cond1[0] = c
	if err := p.s.TurnsTo(p.turn1[:], p.side, p.cond1[:]); err != nil {
		return sampler.Turn{}, fmt.Errorf("simulate: %s sampler, %s turn: %w", p.s.Name(), p.side, err)
	}
	p.calls++
	return p.turn1[0], nil
}

func (p *planner) zeroConds(n int) []trace.Cond {
	if cap(p.conds) < n {
		p.conds = make([]trace.Cond, n)
	}
	p.conds = p.conds[:n]
	clear(p.conds)
	return p.conds
}

func (p *planner) grow(n int) {
	if cap(p.pkts) < n {
		p.pkts = make([]sampler.Pkt, n)
	}
	p.pkts = p.pkts[:n]
	if cap(p.conds) < n {
		p.conds = make([]trace.Cond, n)
	}
	p.conds = p.conds[:n]
}

// plan draws the burst that answers an opponent burst measured as c.
func (p *planner) plan(c trace.Cond, b *burstPlan) error {
	t, err := p.nextTurn(c)
	if err != nil {
		return err
	}
	n := t.Count
	if n < 1 {
		n = 1
		p.clamps.Count++
	} else if n > p.maxCount {
		n = p.maxCount
		p.clamps.Count++
	}
	b.gap = p.scale(t.GapNS)
	b.sizes = b.sizes[:0]
	b.dts = b.dts[:0]
	switch {
	case p.pktUse == 0 && p.batch > 1:
		for len(b.sizes) < n {
			if p.pktPos == len(p.pktAhead) {
				if cap(p.pktAhead) < p.batch {
					p.pktAhead = make([]sampler.Pkt, p.batch)
				}
				p.pktAhead = p.pktAhead[:p.batch]
				if err := p.s.PacketsTo(p.pktAhead, p.side, p.zeroConds(p.batch)); err != nil {
					return fmt.Errorf("simulate: %s sampler, %s packets: %w", p.s.Name(), p.side, err)
				}
				p.calls++
				p.pktPos = 0
			}
			p.add(b, p.pktAhead[p.pktPos])
			p.pktPos++
		}
	case p.pktUse&sampler.UsePrevSize == 0:
		p.grow(n)
		for i := range p.conds {
			p.conds[i] = c
			p.conds[i].First = 0
			p.conds[i].PrevSize = 0
		}
		p.conds[0].First = 1
		if err := p.s.PacketsTo(p.pkts, p.side, p.conds); err != nil {
			return fmt.Errorf("simulate: %s sampler, %s packets: %w", p.s.Name(), p.side, err)
		}
		p.calls++
		for _, k := range p.pkts {
			p.add(b, k)
		}
	default:
		p.grow(1)
		for i := 0; i < n; i++ {
			p.conds[0] = c
			if i == 0 {
				p.conds[0].First, p.conds[0].PrevSize = 1, 0
			} else {
				p.conds[0].First, p.conds[0].PrevSize = 0, float64(b.sizes[i-1])
			}
			if err := p.s.PacketsTo(p.pkts[:1], p.side, p.conds[:1]); err != nil {
				return fmt.Errorf("simulate: %s sampler, %s packet: %w", p.s.Name(), p.side, err)
			}
			p.calls++
			p.add(b, p.pkts[0])
		}
	}
	return nil
}

func (p *planner) add(b *burstPlan, k sampler.Pkt) {
	size, clamped := p.fr.Clamp(k.Size)
	if clamped {
		p.clamps.Size++
	}
	var dt int64
	if len(b.sizes) > 0 {
		dt = p.scale(k.DtNS)
	}
	b.sizes = append(b.sizes, size)
	b.dts = append(b.dts, dt)
}

// meter measures a burst as received: count, bytes, first and last arrival.
type meter struct {
	n           int
	bytes       int64
	first, last int64
}

func (m *meter) reset() { *m = meter{} }

func (m *meter) add(ts int64, size int32) {
	if m.n == 0 {
		m.first = ts
	}
	m.last = ts
	m.n++
	m.bytes += int64(size)
}

// cond returns the condition the next decision sees. An empty burst (the
// conversation's start, or a burst lost entirely) gives the zero Cond.
func (m *meter) cond() trace.Cond {
	if m.n == 0 {
		return trace.Cond{}
	}
	dur := float64(m.last-m.first) / 1e3
	c := trace.Cond{OppCount: float64(m.n), OppBytes: float64(m.bytes), OppDurUS: dur}
	if m.n > 1 {
		c.OppMeanDtUS = dur / float64(m.n-1)
	}
	return c
}
