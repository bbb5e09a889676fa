package features

import (
	"fmt"

	"github.com/spatgan/spatgan/trace"
)

// Table is a model's training table in raw units: two targets per row and
// one column per condition feature.
type Table struct {
	X    [2][]float64 // targets: (count, gap µs) for turns, (size, dt µs) for packets
	Cond [][]float64  // one column per feature of the Set, in order
	// Pos is each packet row's position in its burst (0: the first, whose
	// dt is the reply gap); nil for turn rows.
	Pos []int
}

// Len returns the number of rows.
func (t *Table) Len() int { return len(t.X[0]) }

// Rows replays conv through a History, exactly as a generator would see it,
// and returns side's table for a decision kind (TurnDecision or
// PacketDecision) with the features of set.
//
// Rows are the decisions the generators make: a turn row for each burst of
// side that answers an opponent burst (targets: its packet count and reply
// gap in µs), a packet row for each of its packets (targets: frame size and
// the merged delta in µs, which for a burst's first packet is the reply
// gap). The conversation's opening burst, which answers nothing, gives no
// rows. Rows touched by a clock step (a timestamp earlier than its
// predecessor) are left out: a burst row whose reply gap is negative or
// whose opponent burst contains a clock step, a packet row whose delta is
// negative, and every row of a burst answering an opponent burst with a
// clock step. Replay holds this rule (Event.Skip), and it is the only place
// that does: Count, the exported tables (PacketTable, BurstTable) and every
// model's training table read it from there. The tests cross-check it
// against an independent implementation.
func Rows(conv *trace.Conversation, side trace.Side, kind Kind, set *Set) (*Table, error) {
	if kind != TurnDecision && kind != PacketDecision {
		return nil, fmt.Errorf("features: decision kind %d is neither turn nor packet", kind)
	}
	t := &Table{Cond: make([][]float64, set.Len())}
	vec := make([]float64, set.Len())
	add := func(x0, x1 float64, ctx *Ctx) {
		set.To(vec, ctx)
		t.X[0] = append(t.X[0], x0)
		t.X[1] = append(t.X[1], x1)
		for j, v := range vec {
			t.Cond[j] = append(t.Cond[j], v)
		}
	}
	Replay(conv, func(e *Event) {
		if e.Side != side || e.Skip {
			return
		}
		switch {
		case kind == TurnDecision && e.Pos < 0:
			add(float64(e.Turn.Count), us(e.Turn.GapNS), &e.Ctx)
		case kind == PacketDecision && e.Pos >= 0:
			add(float64(e.Pkt.Size), us(e.Pkt.DtNS), &e.Ctx)
			t.Pos = append(t.Pos, e.Pos)
		}
	})
	return t, nil
}

// Event is one decision of a replayed conversation.
type Event struct {
	Side trace.Side
	// Pos is -1 for a turn decision, else the packet's position in its
	// burst.
	Pos  int
	Turn Turn // the burst's turn (both kinds)
	Pkt  Pkt  // the packet (packet decisions)
	// Skip is true for decisions left out of training tables: those of
	// the opening burst (Opening), and those touched by a clock step.
	Skip bool
	// Opening is true for the decisions of the conversation's first burst,
	// which answers nothing.
	Opening bool
	// Ctx is the decision's context; valid only during the callback.
	Ctx Ctx
}

// Replay walks conv burst by burst through one History and calls visit for
// every decision: the turn of each burst, then each of its packets, in file
// order (the n-th packet decision is conv.Packets[n]).
//
// The clock-step rule lives here: a decision is skipped when it belongs to
// the opening burst, when its own time (a turn's reply gap, a packet's
// merged delta) is negative, or when the opponent burst it answers contains
// a clock step (that burst's duration and spacing would be wrong).
func Replay(conv *trace.Conversation, visit func(*Event)) {
	replay(conv, visit)
}

// replay is Replay, returning the History after the last burst.
func replay(conv *trace.Conversation, visit func(*Event)) History {
	var h History
	p := conv.Packets
	bursts := conv.Bursts()
	var drawn []Pkt
	for k := range bursts {
		b := &bursts[k]
		gap := int64(-1)
		skipAll := k == 0
		if k > 0 {
			opp := &bursts[k-1]
			gap = b.FirstTS - opp.LastTS
			skipAll = opp.ClockSteps > 0
		}
		turn := Turn{Count: b.Count, GapNS: gap}
		ev := Event{Side: b.From, Pos: -1, Turn: turn, Skip: skipAll || gap < 0, Opening: k == 0}
		ev.Ctx = Ctx{H: &h, Side: b.From}
		visit(&ev)
		drawn = drawn[:0]
		for i := b.Start; i < b.End; i++ {
			dt := gap
			if i > b.Start {
				dt = p[i].TS - p[i-1].TS
			} else if k > 0 {
				dt = p[i].TS - p[i-1].TS // equals gap
			}
			pk := Pkt{Size: p[i].Size, DtNS: dt}
			ev := Event{Side: b.From, Pos: i - b.Start, Turn: turn, Pkt: pk, Skip: skipAll || dt < 0, Opening: k == 0}
			ev.Ctx = Ctx{H: &h, Side: b.From, Turn: turn, Drawn: drawn}
			visit(&ev)
			drawn = append(drawn, pk)
		}
		h.push(b.From, SentBurst(gap, drawn))
	}
	return h
}
