package features

import (
	"fmt"

	"github.com/spatgan/spatgan/trace"
)

// Counts are the sizes of one side's two training tables (Rows with
// TurnDecision and PacketDecision) and how many rows the clock-step rule of
// Replay left out. The opening burst, which answers nothing, is neither a
// row nor counted as left out.
type Counts struct {
	Turns, Packets               int // rows
	TurnsLeftOut, PacketsLeftOut int // decisions touched by a clock step
}

// Count replays conv and returns side's table sizes.
func Count(conv *trace.Conversation, side trace.Side) Counts {
	var c Counts
	Replay(conv, func(e *Event) {
		if e.Side != side || e.Opening {
			return
		}
		switch {
		case e.Pos < 0 && e.Skip:
			c.TurnsLeftOut++
		case e.Pos < 0:
			c.Turns++
		case e.Skip:
			c.PacketsLeftOut++
		default:
			c.Packets++
		}
	})
	return c
}

// RequireRows checks that both sides' turn and packet tables have at least
// min rows, the least a model can be trained on, and says which is short.
func RequireRows(conv *trace.Conversation, min int) error {
	for _, side := range []trace.Side{trace.Server, trace.Client} {
		n := Count(conv, side)
		if n.Turns < min {
			return fmt.Errorf("features: %s: too few packets for a model: %d %s bursts answer a %s burst (%d packets in all), need at least %d",
				conv.Source, n.Turns, side, side.Other(), len(conv.Packets), min)
		}
		if n.Packets < min {
			return fmt.Errorf("features: %s: too few packets for a model: %d %s packet rows (%d packets in all), need at least %d",
				conv.Source, n.Packets, side, len(conv.Packets), min)
		}
	}
	return nil
}
