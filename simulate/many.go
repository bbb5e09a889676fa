package simulate

import (
	"context"
	"fmt"
	"time"

	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// GenerateMany generates k independent conversations offline in lockstep,
// so that a sampler whose draws depend on their conditions (the GAN) still
// gets large batches: at each step every conversation still running needs
// the same side's next burst, and all of them are drawn with one TurnsTo
// call of up to k conditions and one PacketsTo call for all their packets
// (or, when the sampler reads PrevSize, one call per packet position).
// Each conversation follows exactly the rules of Generate, with its own
// limits (opt.Packets, opt.Duration apply to each) and virtual clock
// starting at opt.StartNS; opt.Batch is ignored (no drawing ahead).
//
// emit receives conversation c's packets (c in 0..k-1) in time order per
// conversation; the conversations are interleaved step by step. The output
// is deterministic for a given sampler, seed, k and options, and with k = 1
// equals Generate's with Batch = 1. The returned statistics sum all
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
	wall := time.Now()
	// The planners hold the clamping rules and counters; the sampler is
	// called here, across conversations.
	pl := [2]*planner{
		newPlanner(s, trace.Server, opt.Framing, 1, opt.MaxCount, opt.MaxGap, 1),
		newPlanner(s, trace.Client, opt.Framing, 1, opt.MaxCount, opt.MaxGap, 1),
	}
	_, pktUse := sampler.Uses(s)

	type convState struct {
		cond    trace.Cond
		ref     int64
		carried int64
		seq     [2]uint32
		plan    burstPlan
	}
	cs := make([]convState, k)
	active := make([]int, k) // indices of running conversations
	for i := range cs {
		cs[i].ref = start
		active[i] = i
	}
	var (
		turns  []sampler.Turn
		tconds []trace.Cond
		pkts   []sampler.Pkt
		pconds []trace.Cond
		owner  []int // for per-position calls: the active slot of each condition
		times  []int64
		m      meter
		calls  int64
	)
	side := trace.Client
	for burst := uint32(0); len(active) > 0; burst++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		p := pl[side]
		n := len(active)
		turns = grow(turns, n)
		tconds = grow(tconds, n)
		for a, c := range active {
			tconds[a] = cs[c].cond
		}
		if err := s.TurnsTo(turns, side, tconds); err != nil {
			return st, fmt.Errorf("simulate: %s sampler, %s turns: %w", s.Name(), side, err)
		}
		calls++
		total := 0
		maxCount := 0
		for a, c := range active {
			cnt := turns[a].Count
			if cnt < 1 {
				cnt = 1
				p.clamps.Count++
			} else if cnt > p.maxCount {
				cnt = p.maxCount
				p.clamps.Count++
			}
			turns[a].Count = cnt
			pc := &cs[c].plan
			pc.gap = p.scale(turns[a].GapNS)
			pc.sizes, pc.dts = pc.sizes[:0], pc.dts[:0]
			total += cnt
			maxCount = max(maxCount, cnt)
		}
		if pktUse&sampler.UsePrevSize == 0 {
			// One call for every packet of every conversation's burst.
			pkts = grow(pkts, total)
			pconds = grow(pconds, total)
			j := 0
			for a, c := range active {
				for i := 0; i < turns[a].Count; i++ {
					pconds[j] = cs[c].cond
					pconds[j].First, pconds[j].PrevSize = 0, 0
					if i == 0 {
						pconds[j].First = 1
					}
					j++
				}
			}
			if err := s.PacketsTo(pkts, side, pconds); err != nil {
				return st, fmt.Errorf("simulate: %s sampler, %s packets: %w", s.Name(), side, err)
			}
			calls++
			j = 0
			for a, c := range active {
				for i := 0; i < turns[a].Count; i++ {
					p.add(&cs[c].plan, pkts[j])
					j++
				}
			}
		} else {
			// Packet position by position: each drawn size is the next
			// condition's PrevSize.
			for pos := 0; pos < maxCount; pos++ {
				pconds, owner = pconds[:0], owner[:0]
				for a, c := range active {
					if turns[a].Count <= pos {
						continue
					}
					cd := cs[c].cond
					if pos == 0 {
						cd.First, cd.PrevSize = 1, 0
					} else {
						cd.First, cd.PrevSize = 0, float64(cs[c].plan.sizes[pos-1])
					}
					pconds = append(pconds, cd)
					owner = append(owner, c)
				}
				pkts = grow(pkts, len(pconds))
				if err := s.PacketsTo(pkts, side, pconds); err != nil {
					return st, fmt.Errorf("simulate: %s sampler, %s packets: %w", s.Name(), side, err)
				}
				calls++
				for j, c := range owner {
					p.add(&cs[c].plan, pkts[j])
				}
			}
		}
		// Send each conversation's burst and measure it for the answer.
		next := active[:0]
		for _, c := range active {
			st1 := &cs[c]
			times = schedule(times[:0], st1.ref, &st1.plan)
			n, why := truncate(times, st1.carried, opt.Packets, end)
			m.reset()
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
				m.add(times[i], size)
			}
			st1.carried += int64(n)
			if n > 0 {
				st.Bursts++
			}
			if n == 0 || why != goOn {
				continue // this conversation is over
			}
			st1.cond = m.cond()
			st1.ref = times[n-1]
			next = append(next, c)
		}
		active = next
		side = side.Other()
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
