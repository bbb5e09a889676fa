package simulate

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// MinGroup is the fewest conversations per group when GenerateMany draws
// groups of conversations in parallel (GenOptions.Workers).
const MinGroup = 32

// GenerateMany generates k independent conversations offline in lockstep,
// so that a sampler whose draws depend on their history (the GAN) still
// gets large batches: at each step every conversation still running needs
// the same side's next burst, and all of them are drawn with one TurnsTo
// and one BurstsTo call across the conversations (the sampler batches the
// packet positions inside). Each conversation is a sampler.Conv with ID
// c+1 and follows exactly the rules of Generate, with its own limits
// (opt.Packets, opt.Duration apply to each) and virtual clock starting at
// opt.StartNS.
//
// With opt.Workers groups (conversation c in group c mod Workers), each
// group is drawn by its own sampler, s for group 0 and s's forks
// (sampler.Forker) for the others, in parallel goroutines: one group's
// feature and scaling work overlaps another's model call. Each step then
// waits for every group before it emits.
//
// emit receives conversation c's packets (c in 0..k-1) in time order per
// conversation; the conversations are interleaved step by step. The output
// is deterministic for a given sampler, seed, k and options (the number of
// groups included: see GenOptions.Workers). The returned statistics sum all
// conversations (FirstNS and LastNS span them).
func GenerateMany(ctx context.Context, s sampler.Sampler, k int, opt GenOptions, emit func(conv int, e Event) error) (GenStats, error) {
	var st GenStats
	if k < 1 {
		return st, fmt.Errorf("simulate: generate: %d conversations, want at least 1", k)
	}
	start, end, proto, err := opt.check(s)
	if err != nil {
		return st, err
	}
	if opt.Stagger < 0 {
		return st, fmt.Errorf("simulate: generate: negative stagger %v", opt.Stagger)
	}
	wall := time.Now()
	groups, err := manyGroups(s, k, opt)
	if err != nil {
		return st, err
	}
	defer func() {
		for _, g := range groups[1:] {
			if c, ok := g.s.(interface{ Close() error }); ok {
				c.Close()
			}
		}
	}()
	cs := make([]manyConv, k)
	active := make([]int, k) // indices of running conversations
	for i := range cs {
		cs[i].sc = sampler.NewConv(uint64(i + 1))
		if opt.Prime != nil {
			cs[i].sc.H = *opt.Prime
		}
		cs[i].ref = start + int64(i)*int64(opt.Stagger)
		if end > 0 {
			cs[i].end = end + int64(i)*int64(opt.Stagger)
		}
		active[i] = i
	}
	var ord *timeOrder
	if opt.Ordered {
		ord = newTimeOrder(k, emit)
		emit = ord.push
	}
	side := trace.Client
	if opt.Prime != nil {
		if next, ok := opt.Prime.Next(); ok {
			side = next
		}
	}
	var wg sync.WaitGroup
	for burst := uint32(0); len(active) > 0; burst++ {
		if burst%64 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		for _, g := range groups {
			g.active = g.active[:0]
		}
		for _, c := range active {
			g := groups[c%len(groups)]
			g.active = append(g.active, c)
		}
		for _, g := range groups[1:] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g.err = g.step(cs, side, burst, proto, opt)
			}()
		}
		groups[0].err = groups[0].step(cs, side, burst, proto, opt)
		wg.Wait()
		for _, g := range groups {
			if g.err != nil {
				return st, g.err
			}
		}
		// Emit each conversation's burst in conversation order; the
		// opponent answers it next.
		next := active[:0]
		for _, c := range active {
			st1 := &cs[c]
			for i := range st1.evs {
				e := &st1.evs[i]
				if err := emit(c, *e); err != nil {
					return st, err
				}
				ts := e.Packet.TS
				if st.Packets == 0 || ts < st.FirstNS {
					st.FirstNS = ts
				}
				st.LastNS = max(st.LastNS, ts)
				st.Packets++
				st.Bytes += int64(e.Packet.Size)
				st.PerSide[side]++
			}
			if len(st1.evs) > 0 {
				st.Bursts++
			}
			if !st1.done {
				next = append(next, c)
			}
		}
		active = next
		side = side.Other()
		if ord != nil {
			// A running conversation's later packets come after its
			// reference time: everything up to the smallest is final.
			wm := int64(math.MaxInt64)
			for _, c := range active {
				wm = min(wm, cs[c].ref)
			}
			if err := ord.flush(wm); err != nil {
				return st, err
			}
		}
	}
	for _, g := range groups {
		st.SamplerCalls += g.calls
		for _, p := range g.pl {
			st.Clamps.add(p.clamps)
		}
	}
	st.Elapsed = time.Since(wall)
	return st, nil
}

// manyConv is one conversation of GenerateMany.
type manyConv struct {
	sc      *sampler.Conv
	ref     int64
	end     int64
	carried int64
	seq     [2]uint32
	plan    burstPlan
	times   []int64
	evs     []Event // this step's packets
	done    bool
}

// manyGroup draws the bursts of a group of GenerateMany's conversations
// with its own sampler and planners.
type manyGroup struct {
	s      sampler.Sampler
	pl     [2]*planner
	active []int
	turns  []sampler.Turn
	convs  []*sampler.Conv
	outs   [][]sampler.Pkt
	calls  int64
	err    error
}

// manyGroups returns the groups for k conversations: opt.Workers of them
// (0: two), at most one per MinGroup conversations, and only one when s
// cannot fork.
func manyGroups(s sampler.Sampler, k int, opt GenOptions) ([]*manyGroup, error) {
	f, forks := s.(sampler.Forker)
	workers := opt.Workers
	switch {
	case workers < 0:
		return nil, fmt.Errorf("simulate: generate: %d workers, want at least 0", workers)
	case !forks:
		workers = 1
	case workers == 0:
		workers = 2
	}
	workers = max(1, min(workers, k/MinGroup))
	gs := make([]*manyGroup, workers)
	for g := range gs {
		gs[g] = &manyGroup{s: s}
		if g > 0 {
			fs, err := f.Fork(uint64(g))
			if err != nil {
				for _, o := range gs[1:g] {
					if c, ok := o.s.(interface{ Close() error }); ok {
						c.Close()
					}
				}
				return nil, fmt.Errorf("simulate: generate: fork %d of the %s sampler: %w", g, s.Name(), err)
			}
			gs[g].s = fs
		}
		gs[g].pl = [2]*planner{
			newPlanner(gs[g].s, trace.Server, opt.Framing, 1, opt.MaxCount, opt.MaxGap),
			newPlanner(gs[g].s, trace.Client, opt.Framing, 1, opt.MaxCount, opt.MaxGap),
		}
	}
	return gs, nil
}

// step draws side's next burst in each of the group's active
// conversations and plans its packets into each conversation's evs, with
// the rules of Generate.
func (g *manyGroup) step(cs []manyConv, side trace.Side, burst uint32, proto uint8, opt GenOptions) error {
	n := len(g.active)
	if n == 0 {
		return nil
	}
	p := g.pl[side]
	g.turns = grow(g.turns, n)
	g.convs = grow(g.convs, n)
	g.outs = grow(g.outs, n)
	for a, c := range g.active {
		g.convs[a] = cs[c].sc
	}
	if err := g.s.TurnsTo(g.turns, side, g.convs); err != nil {
		return fmt.Errorf("simulate: %s sampler, %s turns: %w", g.s.Name(), side, err)
	}
	for a, c := range g.active {
		g.outs[a] = p.open(cs[c].sc, g.turns[a], &cs[c].plan)
	}
	if err := g.s.BurstsTo(g.outs, side, g.convs); err != nil {
		return fmt.Errorf("simulate: %s sampler, %s bursts: %w", g.s.Name(), side, err)
	}
	g.calls += 2
	for _, c := range g.active {
		st1 := &cs[c]
		p.fill(&st1.plan)
		st1.times = schedule(st1.times[:0], st1.ref, &st1.plan)
		n, why := truncate(st1.times, st1.carried, opt.Packets, st1.end)
		st1.evs = st1.evs[:0]
		for i := 0; i < n; i++ {
			size := st1.plan.sizes[i]
			h := Header{Side: uint8(side), Conv: uint32(c + 1), Seq: st1.seq[side], Burst: burst, SendNS: st1.times[i],
				Length: uint16(opt.Framing.MessageLen(size))}
			if i == n-1 {
				h.Flags = FlagLast
			}
			st1.seq[side]++
			st1.evs = append(st1.evs, Event{Packet: trace.Packet{TS: st1.times[i], Size: size, From: side, Proto: proto}, Header: h})
		}
		sent(st1.sc, &st1.plan, n)
		st1.carried += int64(n)
		st1.done = n == 0 || why != goOn
		if !st1.done {
			st1.ref = st1.times[n-1]
		}
	}
	return nil
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
