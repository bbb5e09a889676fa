package simulate

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// GenerateMany generates k independent conversations offline, batching
// the sampler's draws across them so that a sampler whose draws depend on
// their history (the GAN) still gets large batches. Each conversation is a
// sampler.Conv with ID c+1 and follows exactly the rules of Generate, with
// its own limits (opt.Packets, opt.Duration apply to each) and virtual
// clock starting at opt.StartNS.
//
// A sampler that draws its packets position by position (a
// sampler.Stepper whose Stepwise is true) is driven by steps: at each step
// every conversation is at one decision (a side's turn, or the next packet
// of its open burst), and each of the four kinds of decision is one call
// across every conversation at it, so that a long burst in one
// conversation does not hold the others (the others draw their next turns
// and bursts meanwhile). Any other sampler is driven in lockstep: every
// running conversation draws the same side's burst, with one TurnsTo and
// one BurstsTo call across them. With one conversation both ways make the
// same calls in the same order, so Generate's output does not depend on
// the driver.
//
// emit receives conversation c's packets (c in 0..k-1) in time order per
// conversation; the conversations are interleaved step by step. The output
// is deterministic for a given sampler, seed, k and options. The returned
// statistics sum all conversations (FirstNS and LastNS span them).
func GenerateMany(ctx context.Context, s sampler.Sampler, k int, opt GenOptions, emit func(conv int, e Event) error) (GenStats, error) {
	if k < 1 {
		return GenStats{}, fmt.Errorf("simulate: generate: %d conversations, want at least 1", k)
	}
	start, end, proto, err := opt.check(s)
	if err != nil {
		return GenStats{}, err
	}
	if opt.Stagger < 0 {
		return GenStats{}, fmt.Errorf("simulate: generate: negative stagger %v", opt.Stagger)
	}
	g := &many{s: s, opt: opt, proto: proto, wall: time.Now(), emit: emit}
	// The planners hold the clamping rules and counters; the sampler is
	// called here, across conversations.
	g.pl = [2]*planner{
		newPlanner(s, trace.Server, opt.Framing, 1, opt.MaxCount, opt.MaxGap),
		newPlanner(s, trace.Client, opt.Framing, 1, opt.MaxCount, opt.MaxGap),
	}
	first := trace.Client
	if opt.Prime != nil {
		if next, ok := opt.Prime.Next(); ok {
			first = next
		}
	}
	g.cs = make([]manyConv, k)
	for i := range g.cs {
		c := &g.cs[i]
		c.sc = sampler.NewConv(uint64(i + 1))
		if opt.Prime != nil {
			c.sc.H = *opt.Prime
		}
		c.ref = start + int64(i)*int64(opt.Stagger)
		if end > 0 {
			c.end = end + int64(i)*int64(opt.Stagger)
		}
		c.side, c.pos = first, -1
	}
	if opt.Ordered {
		g.ord = newTimeOrder(k, emit)
		g.emit = g.ord.push
	}
	if st, ok := s.(sampler.Stepper); ok && (st.Stepwise(trace.Server) || st.Stepwise(trace.Client)) {
		err = g.stepped(ctx, st)
	} else {
		err = g.lockstep(ctx)
	}
	if err != nil {
		return g.st, err
	}
	for _, p := range g.pl {
		g.st.Clamps.add(p.clamps)
	}
	g.st.Elapsed = time.Since(g.wall)
	return g.st, nil
}

// many is one GenerateMany run.
type many struct {
	s     sampler.Sampler
	opt   GenOptions
	proto uint8
	wall  time.Time
	emit  func(conv int, e Event) error
	ord   *timeOrder
	pl    [2]*planner
	cs    []manyConv
	st    GenStats
	times []int64
}

// manyConv is one conversation of a GenerateMany run.
type manyConv struct {
	sc      *sampler.Conv
	ref     int64 // time of its last packet (its start before any)
	end     int64
	carried int64
	seq     [2]uint32
	burst   uint32     // bursts sent
	side    trace.Side // whose burst is next, or open
	pos     int        // stepped driver: -1 before the turn, else packets drawn
	done    bool       // stepped driver: the conversation is over
	plan    burstPlan
	out     []sampler.Pkt // the open burst's packets (plan.raw)
}

// lockstep drives every running conversation through the same side's
// burst at once: one TurnsTo and one BurstsTo call per burst.
func (g *many) lockstep(ctx context.Context) error {
	active := make([]int, len(g.cs))
	for i := range active {
		active[i] = i
	}
	var (
		turns []sampler.Turn
		convs []*sampler.Conv
		outs  [][]sampler.Pkt
	)
	for step := 0; len(active) > 0; step++ {
		if step%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		side := g.cs[active[0]].side // every running conversation is at the same side
		p := g.pl[side]
		n := len(active)
		turns, convs, outs = grow(turns, n), grow(convs, n), grow(outs, n)
		for a, c := range active {
			convs[a] = g.cs[c].sc
		}
		if err := g.s.TurnsTo(turns, side, convs); err != nil {
			return fmt.Errorf("simulate: %s sampler, %s turns: %w", g.s.Name(), side, err)
		}
		for a, c := range active {
			outs[a] = p.open(g.cs[c].sc, turns[a], &g.cs[c].plan)
		}
		if err := g.s.BurstsTo(outs, side, convs); err != nil {
			return fmt.Errorf("simulate: %s sampler, %s bursts: %w", g.s.Name(), side, err)
		}
		g.st.SamplerCalls += 2
		next := active[:0]
		for _, c := range active {
			on, err := g.send(c)
			if err != nil {
				return err
			}
			if on {
				next = append(next, c)
			}
		}
		active = next
		if err := g.flush(active); err != nil {
			return err
		}
	}
	return nil
}

// stepped drives each conversation through its own decisions: per step, a
// turn call and a packet call per side, each across every conversation at
// that decision.
func (g *many) stepped(ctx context.Context, st sampler.Stepper) error {
	active := make([]int, len(g.cs))
	for i := range active {
		active[i] = i
	}
	var (
		idx   []int
		turns []sampler.Turn
		convs []*sampler.Conv
		outs  [][]sampler.Pkt
		pos   []int
	)
	for step := 0; len(active) > 0; step++ {
		if step%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ended := false
		for _, side := range [2]trace.Side{trace.Client, trace.Server} {
			p := g.pl[side]
			// Turns: the conversations whose next burst is side's.
			idx = idx[:0]
			for _, c := range active {
				if cv := &g.cs[c]; cv.side == side && cv.pos < 0 && !cv.done {
					idx = append(idx, c)
				}
			}
			if len(idx) > 0 {
				turns, convs = grow(turns, len(idx)), grow(convs, len(idx))
				for a, c := range idx {
					convs[a] = g.cs[c].sc
				}
				if err := g.s.TurnsTo(turns, side, convs); err != nil {
					return fmt.Errorf("simulate: %s sampler, %s turns: %w", g.s.Name(), side, err)
				}
				g.st.SamplerCalls++
				for a, c := range idx {
					cv := &g.cs[c]
					cv.out = p.open(cv.sc, turns[a], &cv.plan)
					cv.pos = 0
				}
			}
			// Packets: every conversation with side's burst open, at its
			// own position (a whole burst at once if side's packets do
			// not depend on each other).
			idx = idx[:0]
			for _, c := range active {
				if cv := &g.cs[c]; cv.side == side && cv.pos >= 0 && !cv.done {
					idx = append(idx, c)
				}
			}
			if len(idx) == 0 {
				continue
			}
			convs, outs, pos = grow(convs, len(idx)), grow(outs, len(idx)), grow(pos, len(idx))
			for a, c := range idx {
				convs[a], outs[a], pos[a] = g.cs[c].sc, g.cs[c].out, g.cs[c].pos
			}
			whole := !st.Stepwise(side)
			var err error
			if whole {
				err = g.s.BurstsTo(outs, side, convs)
			} else {
				err = st.StepTo(outs, pos, side, convs)
			}
			if err != nil {
				return fmt.Errorf("simulate: %s sampler, %s bursts: %w", g.s.Name(), side, err)
			}
			g.st.SamplerCalls++
			for _, c := range idx {
				cv := &g.cs[c]
				if whole {
					cv.pos = len(cv.out)
				} else {
					cv.pos++
				}
				if cv.pos < len(cv.out) {
					continue
				}
				on, err := g.send(c)
				if err != nil {
					return err
				}
				cv.pos = -1
				if !on {
					cv.done, ended = true, true
				}
			}
		}
		if ended {
			next := active[:0]
			for _, c := range active {
				if !g.cs[c].done {
					next = append(next, c)
				}
			}
			active = next
		}
		if err := g.flush(active); err != nil {
			return err
		}
	}
	return nil
}

// send sends conversation c's drawn burst: sizes and times from the plan,
// cut by the limits, each packet emitted, the burst closed in the history.
// It reports whether the conversation goes on.
func (g *many) send(c int) (bool, error) {
	cv := &g.cs[c]
	side := cv.side
	g.pl[side].fill(&cv.plan)
	g.times = schedule(g.times[:0], cv.ref, &cv.plan)
	n, why := truncate(g.times, cv.carried, g.opt.Packets, cv.end)
	for i := 0; i < n; i++ {
		size := cv.plan.sizes[i]
		t := g.times[i]
		h := Header{Side: uint8(side), Conv: uint32(c + 1), Seq: cv.seq[side], Burst: cv.burst, SendNS: t,
			Length: uint16(g.opt.Framing.MessageLen(size))}
		if i == n-1 {
			h.Flags = FlagLast
		}
		cv.seq[side]++
		if err := g.emit(c, Event{Packet: trace.Packet{TS: t, Size: size, From: side, Proto: g.proto}, Header: h}); err != nil {
			return false, err
		}
		if g.st.Packets == 0 || t < g.st.FirstNS {
			g.st.FirstNS = t
		}
		g.st.LastNS = max(g.st.LastNS, t)
		g.st.Packets++
		g.st.Bytes += int64(size)
		g.st.PerSide[side]++
	}
	sent(cv.sc, &cv.plan, n)
	cv.carried += int64(n)
	cv.burst++
	cv.side = side.Other()
	if n > 0 {
		g.st.Bursts++
	}
	if n == 0 || why != goOn {
		return false, nil
	}
	cv.ref = g.times[n-1]
	return true, nil
}

// flush emits, in Ordered mode, every held packet no running conversation
// can still precede: a running conversation's later packets come after its
// reference time.
func (g *many) flush(active []int) error {
	if g.ord == nil {
		return nil
	}
	wm := int64(math.MaxInt64)
	for _, c := range active {
		wm = min(wm, g.cs[c].ref)
	}
	return g.ord.flush(wm)
}

// grow returns s resized to n, reallocating only when needed.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// timeOrder holds packets back and emits them in time order, ties by
// conversation, by merging the conversations' own time-ordered queues
// through a binary heap of conversation indices keyed by each queue's
// first packet.
type timeOrder struct {
	emit func(conv int, e Event) error
	q    [][]Event // per conversation: packets held, from head[c] on
	head []int
	h    []int // conversations with packets held
}

func newTimeOrder(k int, emit func(conv int, e Event) error) *timeOrder {
	return &timeOrder{emit: emit, q: make([][]Event, k), head: make([]int, k)}
}

func (o *timeOrder) less(a, b int) bool {
	ta, tb := o.q[a][o.head[a]].Packet.TS, o.q[b][o.head[b]].Packet.TS
	return ta < tb || (ta == tb && a < b)
}

func (o *timeOrder) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !o.less(o.h[i], o.h[p]) {
			return
		}
		o.h[i], o.h[p] = o.h[p], o.h[i]
		i = p
	}
}

func (o *timeOrder) down(i int) {
	n := len(o.h)
	for {
		l, m := 2*i+1, i
		if l < n && o.less(o.h[l], o.h[m]) {
			m = l
		}
		if r := l + 1; r < n && o.less(o.h[r], o.h[m]) {
			m = r
		}
		if m == i {
			return
		}
		o.h[i], o.h[m] = o.h[m], o.h[i]
		i = m
	}
}

// push holds conversation c's next packet (each conversation's packets
// come in time order).
func (o *timeOrder) push(c int, e Event) error {
	o.q[c] = append(o.q[c], e)
	if len(o.q[c])-o.head[c] == 1 {
		o.h = append(o.h, c)
		o.up(len(o.h) - 1)
	}
	return nil
}

// flush emits the packets at or before wm.
func (o *timeOrder) flush(wm int64) error {
	for len(o.h) > 0 {
		c := o.h[0]
		e := &o.q[c][o.head[c]]
		if e.Packet.TS > wm {
			return nil
		}
		if err := o.emit(c, *e); err != nil {
			return err
		}
		o.head[c]++
		if o.head[c] == len(o.q[c]) {
			o.q[c], o.head[c] = o.q[c][:0], 0
			n := len(o.h) - 1
			o.h[0] = o.h[n]
			o.h = o.h[:n]
		}
		if len(o.h) > 0 {
			o.down(0)
		}
	}
	return nil
}
