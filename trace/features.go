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

// cond returns the condition that b, as the opponent's preceding burst,
// gives to the rows that follow it.
func (b *Burst) cond() Cond {
	c := Cond{OppCount: float64(b.Count), OppBytes: float64(b.Bytes), OppDurUS: float64(b.DurNS()) / 1e3}
	if b.Count > 1 {
		c.OppMeanDtUS = c.OppDurUS / float64(b.Count-1)
	}
	return c
}

// BurstRow is one burst of a side that follows a burst of the opponent
// (aligned conditioning: Cond describes the opponent burst immediately
// preceding it in time).
type BurstRow struct {
	Count int
	GapUS float64 // last packet of the opponent burst -> first packet of this burst
	Bytes int64
	Cond  Cond
}

// PacketRow is one packet of a side that comes after at least one opponent
// burst. DtUS is the merged delta (time since the previous packet of the
// two-way stream, the original's `times`); for the first packet of a burst
// it equals the reply gap. Cond: opponent's preceding burst, First (1 for the
// first packet of its burst), PrevSize (previous packet of this burst, 0 for
// the first).
type PacketRow struct {
	Size int32
	DtUS float64
	Cond Cond
}

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

// BurstRows returns the burst table of side: one row per burst of side that
// follows an opponent burst, in time order. Rows whose reply gap is negative
// or whose opponent burst contains a clock step are left out (see
// Excluded).
func (c *Conversation) BurstRows(side Side) []BurstRow {
	return c.burstRowsFrom(c.Bursts(), side, nil)
}

// BurstRowsTo is BurstRows appending to dst[:0], given the conversation's
// bursts (from BurstsTo), so a caller can reuse both buffers.
func (c *Conversation) BurstRowsTo(dst []BurstRow, bursts []Burst, side Side) []BurstRow {
	return c.burstRowsFrom(bursts, side, dst[:0])
}

func (c *Conversation) burstRowsFrom(bursts []Burst, side Side, dst []BurstRow) []BurstRow {
	for k := 1; k < len(bursts); k++ {
		b, opp := &bursts[k], &bursts[k-1]
		if b.From != side {
			continue
		}
		gap := b.FirstTS - opp.LastTS
		if gap < 0 || opp.ClockSteps > 0 {
			continue
		}
		dst = append(dst, BurstRow{Count: b.Count, GapUS: float64(gap) / 1e3, Bytes: b.Bytes, Cond: opp.cond()})
	}
	return dst
}

// PacketRows returns the packet table of side: one row per packet of side
// that comes after at least one opponent burst, in time order. Rows whose
// merged delta is negative, and all rows whose opponent burst contains a
// clock step, are left out (see Excluded).
func (c *Conversation) PacketRows(side Side) []PacketRow {
	return c.packetRowsFrom(c.Bursts(), side, nil)
}

// PacketRowsTo is PacketRows appending to dst[:0], given the conversation's
// bursts (from BurstsTo).
func (c *Conversation) PacketRowsTo(dst []PacketRow, bursts []Burst, side Side) []PacketRow {
	return c.packetRowsFrom(bursts, side, dst[:0])
}

func (c *Conversation) packetRowsFrom(bursts []Burst, side Side, dst []PacketRow) []PacketRow {
	p := c.Packets
	for k := 1; k < len(bursts); k++ {
		b, opp := &bursts[k], &bursts[k-1]
		if b.From != side || opp.ClockSteps > 0 {
			continue
		}
		cond := opp.cond()
		for i := b.Start; i < b.End; i++ {
			dt := p[i].TS - p[i-1].TS
			if dt < 0 {
				continue
			}
			cond.First, cond.PrevSize = 0, float64(p[i-1].Size)
			if i == b.Start {
				cond.First, cond.PrevSize = 1, 0
			}
			dst = append(dst, PacketRow{Size: p[i].Size, DtUS: float64(dt) / 1e3, Cond: cond})
		}
	}
	return dst
}

// Excluded returns how many rows of side's burst and packet tables were
// left out because of clock steps: a negative reply gap or merged delta, or
// an opponent burst containing a clock step (its duration and mean gap would
// be meaningless).
func (c *Conversation) Excluded(side Side) (burstRows, packetRows int) {
	bursts := c.Bursts()
	p := c.Packets
	for k := 1; k < len(bursts); k++ {
		b, opp := &bursts[k], &bursts[k-1]
		if b.From != side {
			continue
		}
		if b.FirstTS < opp.LastTS || opp.ClockSteps > 0 {
			burstRows++
		}
		if opp.ClockSteps > 0 {
			packetRows += b.Count
			continue
		}
		for i := b.Start; i < b.End; i++ {
			if p[i].TS < p[i-1].TS {
				packetRows++
			}
		}
	}
	return burstRows, packetRows
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

// RequireRows checks that both sides' burst and packet tables have at least
// min rows, the least a model can be trained on, and says which is short.
func (c *Conversation) RequireRows(min int) error {
	for _, side := range []Side{Server, Client} {
		if n := len(c.BurstRows(side)); n < min {
			return fmt.Errorf("trace: %s: too few packets for a model: %d %s bursts answer a %s burst (%d packets in all), need at least %d",
				c.Source, n, side, side.Other(), len(c.Packets), min)
		}
		if n := len(c.PacketRows(side)); n < min {
			return fmt.Errorf("trace: %s: too few packets for a model: %d %s packet rows (%d packets in all), need at least %d",
				c.Source, n, side, len(c.Packets), min)
		}
	}
	return nil
}
