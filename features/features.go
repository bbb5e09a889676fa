package features

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/spatgan/spatgan/trace"
)

// Kind says which decision a feature can condition: a turn (before the
// burst is drawn) or a packet (inside a burst).
type Kind uint8

// Decision kinds.
const (
	TurnDecision   Kind = 1 << iota // known before the turn is drawn
	PacketDecision                  // known before a packet of the open burst is drawn
	Both           = TurnDecision | PacketDecision
)

// Ctx is what a feature is computed from: the conversation's history, the
// side about to draw, and for a packet decision the open burst (its turn
// and the packets drawn before this one).
type Ctx struct {
	H    *History
	Side trace.Side
	// Packet decisions only:
	Turn  Turn
	Drawn []Pkt
}

// Feature is one named condition feature.
type Feature struct {
	Name string
	For  Kind
	Doc  string
	Fn   func(*Ctx) float64
}

var registry = map[string]*Feature{}

// Register adds a feature. It panics on a duplicate name (a programming
// error at init time).
func Register(f Feature) {
	if _, dup := registry[f.Name]; dup {
		panic("features: duplicate feature " + f.Name)
	}
	registry[f.Name] = &f
}

// Lookup returns the named feature.
func Lookup(name string) (*Feature, bool) {
	f, ok := registry[name]
	return f, ok
}

// Names returns every registered feature name, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Known returns the registered feature names for a message, sorted, with
// each per-lag family written once: own_bytes_2 ... own_bytes_8 as
// "own_bytes_2..8", own_gap_2_us ... own_gap_8_us as "own_gap_2..8_us".
func Known() string {
	names := Names()
	out := make([]string, 0, len(names))
next:
	for i := 0; i < len(names); i++ {
		n := names[i]
		for _, unit := range []string{"", "_us"} {
			if base, ok := strings.CutSuffix(n, "_2"+unit); ok {
				last := fmt.Sprintf("%s_%d%s", base, Depth, unit)
				if j := i + Depth - 2; j < len(names) && names[j] == last {
					out = append(out, fmt.Sprintf("%s_2..%d%s", base, Depth, unit))
					i = j
					continue next
				}
			}
		}
		out = append(out, n)
	}
	return strings.Join(out, ", ")
}

// Set is a resolved, ordered list of features, ready to fill vectors.
type Set struct {
	Names []string
	fs    []*Feature
}

// Resolve checks names for a decision kind and returns the set.
func Resolve(names []string, kind Kind) (*Set, error) {
	s := &Set{Names: slices.Clone(names)}
	for _, n := range names {
		f, ok := registry[n]
		if !ok {
			return nil, fmt.Errorf("features: unknown feature %q (known: %s)", n, Known())
		}
		if f.For&kind == 0 {
			return nil, fmt.Errorf("features: feature %q is only known inside a burst; a turn model cannot use it", n)
		}
		s.fs = append(s.fs, f)
	}
	return s, nil
}

// Len returns the number of features.
func (s *Set) Len() int { return len(s.fs) }

// To writes the features of ctx into dst (len Len()).
func (s *Set) To(dst []float64, ctx *Ctx) {
	for j, f := range s.fs {
		dst[j] = f.Fn(ctx)
	}
}

// Sequential reports whether any feature of the set reads the packets drawn
// before in the same burst (an autoregressive packet model), in which case a
// burst's packets must be drawn one position at a time. Features that read
// only how many were drawn (first, pos, left) are not sequential.
func (s *Set) Sequential() bool {
	for _, n := range s.Names {
		if sequential[n] {
			return true
		}
	}
	return false
}

var sequential = map[string]bool{"prev_size": true, "last_size": true, "last_dt_us": true, "last_size_pair": true, "last_size_triple": true, "last_size_2": true}

func us(ns int64) float64 { return float64(ns) / 1e3 }

func opp(c *Ctx) (Burst, bool) { return c.H.Last(c.Side.Other(), 0) }
func own(c *Ctx) (Burst, bool) { return c.H.Last(c.Side, 0) }

// recent calls f with each of side's remembered bursts, latest first.
func recent(h *History, side trace.Side, f func(Burst)) {
	for k := 0; k < Depth; k++ {
		b, ok := h.Last(side, k)
		if !ok {
			return
		}
		f(b)
	}
}

// avgCount is the mean burst length of side's remembered bursts (0 if none).
func avgCount(h *History, side trace.Side) float64 {
	var s, n float64
	recent(h, side, func(b Burst) { s, n = s+float64(b.Count), n+1 })
	if n == 0 {
		return 0
	}
	return s / n
}

// avgSize is the mean packet size over side's remembered bursts (0 if
// none): a longer memory of the side's size regime than its last packet.
func avgSize(h *History, side trace.Side) float64 {
	var b, n float64
	recent(h, side, func(x Burst) { b, n = b+float64(x.Bytes), n+float64(x.Count) })
	if n == 0 {
		return 0
	}
	return b / n
}

// avgLogGap is the mean log1p of side's remembered reply gaps in µs, back
// in µs (a geometric-style mean, robust to one long pause).
func avgLogGap(h *History, side trace.Side) float64 {
	var s, n float64
	recent(h, side, func(b Burst) {
		if b.GapNS >= 0 {
			s, n = s+math.Log1p(us(b.GapNS)), n+1
		}
	})
	if n == 0 {
		return 0
	}
	return math.Expm1(s / n)
}

func init() {
	// A side's latest completed burst: the opponent's preceding burst (the
	// original's condition family) and this side's own previous burst and
	// recent rhythm (autoregressive context across turns). Sides are
	// relative to the side drawing.
	for _, w := range []struct {
		prefix, what string
		side         func(*Ctx) trace.Side
	}{
		{"opp", "the opponent's preceding burst", func(c *Ctx) trace.Side { return c.Side.Other() }},
		{"own", "this side's previous burst", func(c *Ctx) trace.Side { return c.Side }},
	} {
		last := func(c *Ctx) Burst {
			b, _ := c.H.Last(w.side(c), 0)
			return b
		}
		Register(Feature{w.prefix + "_count", Both, "packets in " + w.what, func(c *Ctx) float64 {
			return float64(last(c).Count)
		}})
		Register(Feature{w.prefix + "_bytes", Both, "frame bytes in " + w.what, func(c *Ctx) float64 {
			return float64(last(c).Bytes)
		}})
		Register(Feature{w.prefix + "_gap_us", Both, "the reply gap before " + w.what + ", µs (0 if none)", func(c *Ctx) float64 {
			return us(max(last(c).GapNS, 0))
		}})
		Register(Feature{w.prefix + "_mean_dt_us", Both, "mean packet spacing of " + w.what + ", µs (0 for one packet or none)", func(c *Ctx) float64 {
			b := last(c)
			if b.Count < 2 {
				return 0
			}
			return us(b.DurNS) / float64(b.Count-1)
		}})
		Register(Feature{w.prefix + "_last_size", Both, "size of the last packet of " + w.what + " (0 if none or not measured)", func(c *Ctx) float64 {
			return float64(last(c).LastSize)
		}})
		Register(Feature{w.prefix + "_count_avg", Both, "mean length of the same side's last bursts (up to 8), counting " + w.what, func(c *Ctx) float64 {
			return avgCount(c.H, w.side(c))
		}})
		Register(Feature{w.prefix + "_size_avg", Both, "mean packet size over the same side's last bursts (up to 8), counting " + w.what, func(c *Ctx) float64 {
			return avgSize(c.H, w.side(c))
		}})
		Register(Feature{w.prefix + "_gap_avg_us", Both, "log-mean of the same side's last reply gaps (up to 8), µs, counting " + w.what, func(c *Ctx) float64 {
			return avgLogGap(c.H, w.side(c))
		}})
	}
	// Earlier bursts, one feature per lag: the k-th most recent burst of a
	// side (k = 2..Depth; k = 1 is own_count / own_bytes above), 0 when
	// there is none. A memory of the conversation's cycle (a transaction's
	// statements, a codec's frame pattern) that one burst cannot give.
	for k := 2; k <= Depth; k++ {
		for _, w := range []struct {
			prefix string
			side   func(*Ctx) trace.Side
		}{{"own", func(c *Ctx) trace.Side { return c.Side }}, {"opp", func(c *Ctx) trace.Side { return c.Side.Other() }}} {
			nth := func(c *Ctx) Burst {
				b, _ := c.H.Last(w.side(c), k-1)
				return b
			}
			Register(Feature{fmt.Sprintf("%s_count_%d", w.prefix, k), Both, fmt.Sprintf("packets in the %s side's burst %d back (0 if none)", w.prefix, k), func(c *Ctx) float64 {
				return float64(nth(c).Count)
			}})
			Register(Feature{fmt.Sprintf("%s_bytes_%d", w.prefix, k), Both, fmt.Sprintf("frame bytes in the %s side's burst %d back (0 if none)", w.prefix, k), func(c *Ctx) float64 {
				return float64(nth(c).Bytes)
			}})
			Register(Feature{fmt.Sprintf("%s_gap_%d_us", w.prefix, k), Both, fmt.Sprintf("reply gap before the %s side's burst %d back, µs (0 if none): where a session is in its phase (how many quick exchanges since the last pause)", w.prefix, k), func(c *Ctx) float64 {
				return us(max(nth(c).GapNS, 0))
			}})
		}
	}
	Register(Feature{"opp_dur_us", Both, "first to last packet of the opponent's preceding burst, µs", func(c *Ctx) float64 {
		b, _ := opp(c)
		return us(b.DurNS)
	}})
	Register(Feature{"own_since_us", Both, "time from this side's last packet to the opponent's last (the opponent's reply gap plus its burst), µs: where a periodic sender is in its period (0 if either side has no burst)", func(c *Ctx) float64 {
		o, ok := opp(c)
		if _, mine := own(c); !ok || !mine {
			return 0
		}
		return us(max(o.GapNS, 0) + o.DurNS)
	}})
	Register(Feature{"own_mean_size", Both, "mean packet size of this side's previous burst (0 if none)", func(c *Ctx) float64 {
		b, _ := own(c)
		if b.Count == 0 {
			return 0
		}
		return float64(b.Bytes) / float64(b.Count)
	}})
	// Inside the burst being drawn.
	Register(Feature{"first", PacketDecision, "1 for the first packet of a burst, else 0", func(c *Ctx) float64 {
		if len(c.Drawn) == 0 {
			return 1
		}
		return 0
	}})
	Register(Feature{"prev_size", PacketDecision, "size of the previous packet of this burst (0 for the first)", func(c *Ctx) float64 {
		if n := len(c.Drawn); n > 0 {
			return float64(c.Drawn[n-1].Size)
		}
		return 0
	}})
	Register(Feature{"pos", PacketDecision, "packets of this burst drawn before this one", func(c *Ctx) float64 {
		return float64(len(c.Drawn))
	}})
	Register(Feature{"count", PacketDecision, "packets in this burst (the turn's count)", func(c *Ctx) float64 {
		return float64(c.Turn.Count)
	}})
	Register(Feature{"left", PacketDecision, "packets of this burst after this one", func(c *Ctx) float64 {
		return float64(max(c.Turn.Count-len(c.Drawn)-1, 0))
	}})
	Register(Feature{"gap_us", PacketDecision, "this burst's reply gap, µs", func(c *Ctx) float64 {
		return us(max(c.Turn.GapNS, 0))
	}})
	Register(Feature{"last_size", PacketDecision, "size of this side's previous packet, across bursts (0 if none)", func(c *Ctx) float64 {
		if n := len(c.Drawn); n > 0 {
			return float64(c.Drawn[n-1].Size)
		}
		b, _ := own(c)
		return float64(b.LastSize)
	}})
	Register(Feature{"last_size_pair", PacketDecision, "this side's previous packet's size (last_size) x 65536 + the opponent's last packet's size: a key for first_given, the two sides' last sizes together (0 if neither)", func(c *Ctx) float64 {
		mine := 0.0
		if n := len(c.Drawn); n > 0 {
			mine = float64(c.Drawn[n-1].Size)
		} else if b, ok := own(c); ok {
			mine = float64(b.LastSize)
		}
		o, _ := opp(c)
		return mine*65536 + float64(o.LastSize)
	}})
	Register(Feature{"last_size_2", PacketDecision, "size of this side's packet before its previous one, across bursts (0 if none): with last_size, a second-order memory of the sizes", func(c *Ctx) float64 {
		switch n := len(c.Drawn); {
		case n >= 2:
			return float64(c.Drawn[n-2].Size)
		case n == 1:
			b, _ := own(c)
			return float64(b.LastSize)
		}
		b, ok := own(c)
		if !ok {
			return 0
		}
		if b.Count >= 2 {
			return float64(b.PrevSize)
		}
		b2, _ := c.H.Last(c.Side, 1)
		return float64(b2.LastSize)
	}})
	Register(Feature{"last_size_triple", PacketDecision, "this side's previous packet's size x 2^34 + the size of its packet before that x 2^17 + the opponent's last packet's size: a key for first_given, a second-order size context (the packet before the previous is 0 when it was not the last of a one-packet burst or of this burst)", func(c *Ctx) float64 {
		var mine, before float64
		switch n := len(c.Drawn); {
		case n >= 2:
			mine, before = float64(c.Drawn[n-1].Size), float64(c.Drawn[n-2].Size)
		case n == 1:
			mine = float64(c.Drawn[0].Size)
			if b, ok := own(c); ok {
				before = float64(b.LastSize)
			}
		default:
			if b, ok := own(c); ok {
				mine = float64(b.LastSize)
				if b2, ok := c.H.Last(c.Side, 1); ok && b.Count == 1 {
					before = float64(b2.LastSize)
				}
			}
		}
		o, _ := opp(c)
		return mine*(1<<34) + before*(1<<17) + float64(o.LastSize)
	}})
	Register(Feature{"last_dt_us", PacketDecision, "time before this side's previous packet, across bursts, µs (0 if none)", func(c *Ctx) float64 {
		if n := len(c.Drawn); n > 0 {
			return us(max(c.Drawn[n-1].DtNS, 0))
		}
		b, _ := own(c)
		return us(max(b.LastDtNS, 0))
	}})
}
