package simulate

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

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
// emit receives conversation c's packets (c in 0..k-1) in time order per
// conversation; the conversations are interleaved step by step. The output
// is deterministic for a given sampler, seed, k and options. The returned
// statistics sum all conversations (FirstNS and LastNS span them).
func GenerateMany(ctx context.Context, s sampler.Sampler, k int, opt GenOptions, emit func(conv int, e Event) error) (GenStats, error) {
	var st GenStats
	if k < 1 {
		return st, fmt.Errorf("simulate: generate: %d conversations, want at least 1", k)
	}
	start, end, proto, err := opt.check(s)
	if err != nil {
		return st, err
	}
	wall := time.Now()
	// The planners hold the clamping rules and counters; the sampler is
	// called here, across conversations.
	pl := [2]*planner{
		newPlanner(s, trace.Server, opt.Framing, 1, opt.MaxCount, opt.MaxGap),
		newPlanner(s, trace.Client, opt.Framing, 1, opt.MaxCount, opt.MaxGap),
	}
	type convState struct {
		sc      *sampler.Conv
		ref     int64
		end     int64
		carried int64
		seq     [2]uint32
		plan    burstPlan
	}
	if opt.Stagger < 0 {
		return st, fmt.Errorf("simulate: generate: negative stagger %v", opt.Stagger)
	}
	cs := make([]convState, k)
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
	var (
		turns []sampler.Turn
		convs []*sampler.Conv
		outs  [][]sampler.Pkt
		times []int64
		calls int64
	)
	side := trace.Client
	if opt.Prime != nil {
		if next, ok := opt.Prime.Next(); ok {
			side = next
		}
	}
	for burst := uint32(0); len(active) > 0; burst++ {
		if burst%64 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		p := pl[side]
		n := len(active)
		turns = grow(turns, n)
		convs = grow(convs, n)
		outs = grow(outs, n)
		for a, c := range active {
			convs[a] = cs[c].sc
		}
		if err := s.TurnsTo(turns, side, convs); err != nil {
			return st, fmt.Errorf("simulate: %s sampler, %s turns: %w", s.Name(), side, err)
		}
		for a, c := range active {
			outs[a] = p.open(cs[c].sc, turns[a], &cs[c].plan)
		}
		if err := s.BurstsTo(outs, side, convs); err != nil {
			return st, fmt.Errorf("simulate: %s sampler, %s bursts: %w", s.Name(), side, err)
		}
		calls += 2
		// Send each conversation's burst; the opponent answers it next.
		next := active[:0]
		for _, c := range active {
			st1 := &cs[c]
			p.fill(&st1.plan, st1.plan.count())
			times = schedule(times[:0], st1.ref, &st1.plan)
			n, why := truncate(times, st1.carried, opt.Packets, st1.end)
			for i := 0; i < n; i++ {
				size := st1.plan.sizes[i]
				h := Header{Side: uint8(side), Conv: uint32(c + 1), Seq: st1.seq[side], Burst: burst, SendNS: times[i],
					Length: uint16(opt.Framing.MessageLen(size))}
				if i == n-1 {
					h.Flags = FlagLast
				}
				st1.seq[side]++
				if err := emit(c, Event{Packet: trace.Packet{TS: times[i], Size: size, From: side, Proto: proto}, Header: h}); err != nil {
					return st, err
				}
				if st.Packets == 0 || times[i] < st.FirstNS {
					st.FirstNS = times[i]
				}
				st.LastNS = max(st.LastNS, times[i])
				st.Packets++
				st.Bytes += int64(size)
				st.PerSide[side]++
			}
			sent(st1.sc, &st1.plan, n)
			st1.carried += int64(n)
			if n > 0 {
				st.Bursts++
			}
			if n == 0 || why != goOn {
				continue // this conversation is over
			}
			st1.ref = times[n-1]
			next = append(next, c)
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
	st.SamplerCalls = calls
	for _, p := range pl {
		st.Clamps.add(p.clamps)
	}
	st.Elapsed = time.Since(wall)
	return st, nil
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
