package trace

import (
	"fmt"
)

// Burst is a maximal run of consecutive same-side packets in the merged
// stream.
type Burst struct {
	From       Side
	Start, End int   // index range in Packets: Packets[Start:End]
	Count      int   // End - Start
	Bytes      int64 // sum of frame sizes
	FirstTS    int64 // timestamp of Packets[Start], ns
	LastTS     int64 // timestamp of Packets[End-1], ns
	ClockSteps int   // packets after the first whose timestamp is earlier than their predecessor's
}

// DurNS returns LastTS - FirstTS, the burst's duration in nanoseconds
// (negative only if the burst contains a clock step).
func (b *Burst) DurNS() int64 { return b.LastTS - b.FirstTS }

// Bursts returns the bursts of the merged stream in file order.
func (c *Conversation) Bursts() []Burst {
	return c.BurstsTo(nil)
}

// BurstsTo appends the bursts to dst[:0] and returns it, reusing its memory.
func (c *Conversation) BurstsTo(dst []Burst) []Burst {
	dst = dst[:0]
	p := c.Packets
	for i := 0; i < len(p); {
		b := Burst{From: p[i].From, Start: i, FirstTS: p[i].TS}
		j := i
		for ; j < len(p) && p[j].From == b.From; j++ {
			b.Bytes += int64(p[j].Size)
			if j > i && p[j].TS < p[j-1].TS {
				b.ClockSteps++
			}
		}
		b.End, b.Count, b.LastTS = j, j-i, p[j-1].TS
		dst = append(dst, b)
		i = j
	}
	return dst
}

// Sizes returns the frame sizes of side's packets in file order.
func (c *Conversation) Sizes(side Side) []int32 {
	var out []int32
	for _, p := range c.Packets {
		if p.From == side {
			out = append(out, p.Size)
		}
	}
	return out
}

// IATs returns side's inter-arrival times in nanoseconds: for each packet of
// side after its first, the time since side's previous packet. Negative
// values (clock steps) are left out and counted in negative.
func (c *Conversation) IATs(side Side) (iat []int64, negative int) {
	prev, seen := int64(0), false
	for _, p := range c.Packets {
		if p.From != side {
			continue
		}
		if seen {
			if d := p.TS - prev; d >= 0 {
				iat = append(iat, d)
			} else {
				negative++
			}
		}
		prev, seen = p.TS, true
	}
	return iat, negative
}

// Deltas returns the merged deltas in nanoseconds (the original's `times`):
// for each packet after the first, the time since the previous packet of
// the two-way stream. Negative values are left out and counted in negative.
func (c *Conversation) Deltas() (d []int64, negative int) {
	for i := 1; i < len(c.Packets); i++ {
		if v := c.Packets[i].TS - c.Packets[i-1].TS; v >= 0 {
			d = append(d, v)
		} else {
			negative++
		}
	}
	return d, negative
}

// SideDeltas returns the merged deltas of side's packets in nanoseconds:
// for each packet of side but the stream's first, the time since the
// previous packet of the two-way stream. Negative values are left out and
// counted in negative.
func (c *Conversation) SideDeltas(side Side) (d []int64, negative int) {
	for i := 1; i < len(c.Packets); i++ {
		if c.Packets[i].From != side {
			continue
		}
		if v := c.Packets[i].TS - c.Packets[i-1].TS; v >= 0 {
			d = append(d, v)
		} else {
			negative++
		}
	}
	return d, negative
}

// BurstLengths returns the packet counts of side's bursts in file order.
func (c *Conversation) BurstLengths(side Side) []int {
	var out []int
	for _, b := range c.Bursts() {
		if b.From == side {
			out = append(out, b.Count)
		}
	}
	return out
}

// ReplyGaps returns, in nanoseconds, the gaps from the last packet of each
// burst of side after to the first packet of the opponent burst that
// follows it. Negative values are left out and counted in negative.
func (c *Conversation) ReplyGaps(after Side) (gaps []int64, negative int) {
	bursts := c.Bursts()
	for k := 0; k+1 < len(bursts); k++ {
		if bursts[k].From != after {
			continue
		}
		if g := bursts[k+1].FirstTS - bursts[k].LastTS; g >= 0 {
			gaps = append(gaps, g)
		} else {
			negative++
		}
	}
	return gaps, negative
}

// Count returns the number of packets sent by side.
func (c *Conversation) Count(side Side) int {
	n := 0
	for _, p := range c.Packets {
		if p.From == side {
			n++
		}
	}
	return n
}

// Start returns the smallest timestamp (ns), 0 for an empty conversation.
func (c *Conversation) Start() int64 {
	if len(c.Packets) == 0 {
		return 0
	}
	m := c.Packets[0].TS
	for _, p := range c.Packets[1:] {
		m = min(m, p.TS)
	}
	return m
}

// Duration returns the largest minus the smallest timestamp (ns).
func (c *Conversation) Duration() int64 {
	if len(c.Packets) == 0 {
		return 0
	}
	lo, hi := c.Packets[0].TS, c.Packets[0].TS
	for _, p := range c.Packets[1:] {
		lo, hi = min(lo, p.TS), max(hi, p.TS)
	}
	return hi - lo
}

// DefaultTrainFrac is the time fraction of a conversation that training
// reads by default (SplitAt): the first 80% of its duration; the rest is
// the held-out test part the fidelity bench compares against. Training
// (train.Options), the bench and the command line all default to it.
const DefaultTrainFrac = 0.8

// SplitAt splits in time: packets before Start+frac*Duration form train,
// the rest test. The split keeps file order: train is the longest prefix of
// Packets whose timestamps are all before the cut, test the remaining
// suffix. Errors if frac is not in (0, 1) or either part lacks a two-way
// exchange (a packet from each side).
func (c *Conversation) SplitAt(frac float64) (train, test *Conversation, err error) {
	if !(frac > 0 && frac < 1) {
		return nil, nil, fmt.Errorf("trace: split fraction %v: want 0 < frac < 1", frac)
	}
	cut := c.Start() + int64(frac*float64(c.Duration()))
	k := 0
	for k < len(c.Packets) && c.Packets[k].TS < cut {
		k++
	}
	train, test = c.sub(0, k), c.sub(k, len(c.Packets))
	for _, part := range []struct {
		name string
		c    *Conversation
	}{{"train", train}, {"test", test}} {
		if part.c.Count(Server) == 0 || part.c.Count(Client) == 0 {
			return nil, nil, fmt.Errorf("trace: %s: splitting at %.3g of %.6f s leaves the %s part (%d packets) without a two-way exchange",
				c.Source, frac, float64(c.Duration())/1e9, part.name, len(part.c.Packets))
		}
	}
	return train, test, nil
}

// sub returns a copy of the conversation restricted to Packets[i:j].
func (c *Conversation) sub(i, j int) *Conversation {
	out := &Conversation{Server: c.Server, Client: c.Client, Proto: c.Proto, Source: c.Source,
		Packets: append([]Packet(nil), c.Packets[i:j]...)}
	for k := 1; k < len(out.Packets); k++ {
		if out.Packets[k].TS < out.Packets[k-1].TS {
			out.ClockSteps++
		}
	}
	return out
}

// Clone returns a deep copy.
func (c *Conversation) Clone() *Conversation { return c.sub(0, len(c.Packets)) }
