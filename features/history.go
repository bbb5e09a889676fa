package features

import (
	"github.com/spatgan/spatgan/trace"
)

// Depth is how many completed bursts per side a History remembers.
const Depth = 8

// Burst is one completed burst as the party keeping the history knows it:
// its own bursts as sent, the opponent's as received and measured.
type Burst struct {
	Count int   // packets
	Bytes int64 // frame bytes
	DurNS int64 // first to last packet
	// GapNS is the reply gap: from the last packet of the other side's
	// preceding burst to this burst's first packet; -1 when there was no
	// preceding burst.
	GapNS int64
	// LastSize and LastDtNS are the burst's last packet: its size and its
	// time since the packet before it (the gap for a one-packet burst).
	// Zero when unknown (an opponent burst measured by a receiver that does
	// not record sizes).
	LastSize int32
	LastDtNS int64
	// PrevSize is the size of the burst's packet before its last; 0 for
	// a one-packet burst or when unknown.
	PrevSize int32
}

// Turn is the decision that opens a burst: how many packets, and the reply
// gap before the first.
type Turn struct {
	Count int
	GapNS int64
}

// Pkt is one packet of the burst being drawn: its frame size and its time
// since the previous packet of the conversation (for the first packet of a
// burst, the reply gap).
type Pkt struct {
	Size int32
	DtNS int64
}

// History is one conversation's memory, from one party's point of view (in
// offline generation and in training the two coincide): the last Depth
// completed bursts of each side, and the burst now being drawn. Every
// condition feature is a function of a History (see Names), which is what
// makes training and generation see the same features: training replays
// the real conversation through the same three calls (Begin, End,
// Observe) that the generators make.
//
// The zero value is an empty conversation. A History is a value: copy it
// to fork a conversation.
type History struct {
	ring [2][Depth]Burst
	n    [2]int // bursts completed per side
	// last is the side of the most recently completed burst (valid when
	// any side completed one).
	last trace.Side

	// The burst being drawn (after Begin, until End). Its packets live in
	// the sampler's output while it draws them (Ctx.Drawn), not here.
	open bool
	side trace.Side
	turn Turn
}

// Bursts returns how many bursts side completed.
func (h *History) Bursts(side trace.Side) int { return h.n[side] }

// Empty reports that neither side completed a burst: the burst being drawn
// opens the conversation and answers nothing (it has no reply gap).
func (h *History) Empty() bool { return h.n[trace.Server]+h.n[trace.Client] == 0 }

// Last returns side's k-th most recent completed burst (k = 0 the latest)
// and whether there is one.
func (h *History) Last(side trace.Side, k int) (Burst, bool) {
	if k < 0 || k >= Depth || k >= h.n[side] {
		return Burst{}, false
	}
	return h.ring[side][(h.n[side]-1-k)%Depth], true
}

// Begin opens side's next burst with the drawn turn (its count already
// clamped by the caller).
func (h *History) Begin(side trace.Side, t Turn) {
	h.open, h.side, h.turn = true, side, t
}

// Open returns the open burst's side and turn, and whether
// a burst is open.
func (h *History) Open() (trace.Side, Turn, bool) {
	return h.side, h.turn, h.open
}

// End closes the open burst as it was sent (count and sizes as actually
// sent, which may differ from the turn when a limit cut it) and records it.
func (h *History) End(sent Burst) {
	h.open = false
	h.push(h.side, sent)
}

// Observe records a completed burst of side that this party did not draw:
// the opponent's, as received and measured.
func (h *History) Observe(side trace.Side, b Burst) {
	if h.open && h.side == side {
		h.open = false
	}
	h.push(side, b)
}

func (h *History) push(side trace.Side, b Burst) {
	h.ring[side][h.n[side]%Depth] = b
	h.n[side]++
	h.last = side
}

// Next returns the side whose burst comes next (the other side of the
// most recently completed burst), and false for an empty conversation.
func (h *History) Next() (trace.Side, bool) {
	if h.n[0]+h.n[1] == 0 {
		return 0, false
	}
	return h.last.Other(), true
}

// Prime returns the History of a party that has seen all of conv: the
// state from which a generator continues that conversation (its last
// Depth bursts per side), built by the same replay as the training tables.
func Prime(conv *trace.Conversation) History {
	return replay(conv, func(*Event) {})
}

// SentBurst summarises packets as a Burst for End: sizes and the times
// between them (dts[0], the reply gap, is not part of the duration).
func SentBurst(gapNS int64, pkts []Pkt) Burst {
	b := Burst{Count: len(pkts), GapNS: gapNS}
	for i, p := range pkts {
		b.Bytes += int64(p.Size)
		if i > 0 {
			b.DurNS += p.DtNS
		}
	}
	if n := len(pkts); n > 0 {
		b.LastSize = pkts[n-1].Size
		b.LastDtNS = pkts[n-1].DtNS
		if n == 1 {
			b.LastDtNS = gapNS
		} else {
			b.PrevSize = pkts[n-2].Size
		}
	}
	return b
}
