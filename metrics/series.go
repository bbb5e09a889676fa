package metrics

import (
	"fmt"
	"math"
	"math/bits"
	"strings"

	"github.com/spatgan/spatgan/internal/stat"
	"github.com/spatgan/spatgan/trace"
)

// Series holds the per-direction samples that fidelity.md compares, for the
// packets sent by one side. Times are microseconds.
type Series struct {
	// Size is the frame length of each packet in bytes.
	Size []float64
	// IAT is the time since the previous packet of the same side.
	IAT []float64
	// Delta is the merged delta: the time since the previous packet of the
	// two-way stream, for each packet of this side but the stream's first.
	Delta []float64
	// Burst is the length in packets of each burst of this side (a maximal
	// run of its packets in the merged stream).
	Burst []float64
	// ReplyGap is, for each burst of this side that follows a burst of the
	// other side, the time from the other side's last packet to this side's
	// first: how long this side took to answer. fidelity.md's "gap after A
	// burst" is ReplyGap of B.
	ReplyGap []float64
}

// Extract splits a two-party packet sequence, in capture order, into the
// series of each side, indexed by trace.Side. The series are the trace
// package's (Sizes, IATs, SideDeltas, BurstLengths, ReplyGaps), in
// microseconds: times that come out negative (a clock step in the capture)
// are dropped from IAT, Delta and ReplyGap, as fidelity.md's reference
// numbers do; bursts follow the capture order regardless of time. It
// returns an error naming the packet index if a packet's side is neither
// Server nor Client.
func Extract(pkts []trace.Packet) ([2]Series, error) {
	var out [2]Series
	if err := checkSides(pkts); err != nil {
		return out, err
	}
	c := &trace.Conversation{Packets: pkts}
	for _, side := range []trace.Side{trace.Server, trace.Client} {
		iat, _ := c.IATs(side)
		delta, _ := c.SideDeltas(side)
		gap, _ := c.ReplyGaps(side.Other())
		out[side] = Series{
			Size:     stat.Floats(c.Sizes(side), 1),
			IAT:      stat.Floats(iat, 1e3),
			Delta:    stat.Floats(delta, 1e3),
			Burst:    stat.Floats(c.BurstLengths(side), 1),
			ReplyGap: stat.Floats(gap, 1e3),
		}
	}
	return out, nil
}

func nsToUS(ns int64) float64 { return float64(ns) / 1e3 }

func checkSides(pkts []trace.Packet) error {
	for i, p := range pkts {
		if p.From != trace.Server && p.From != trace.Client {
			return fmt.Errorf("metrics: packet %d: side %d is neither server nor client", i, p.From)
		}
	}
	return nil
}

// Burst is a maximal run of consecutive packets from one side in the merged
// stream; it is trace.Burst, whose Start/End index the packet slice.
type Burst = trace.Burst

// Bursts splits a packet sequence, in capture order, into bursts (as
// trace.Conversation.Bursts does). It returns an error naming the packet
// index if a packet's side is neither Server nor Client.
func Bursts(pkts []trace.Packet) ([]Burst, error) {
	if err := checkSides(pkts); err != nil {
		return nil, err
	}
	return (&trace.Conversation{Packets: pkts}).Bursts(), nil
}

// Dependence holds Spearman rank correlations between a burst of one side
// and the other side's reply to it (its next burst). Compare the values of a
// real and a synthetic trace: a generator that ignores the opponent scores
// near 0 where the real trace does not. Undefined correlations (fewer than 2
// pairs, a constant column) are NaN and marshal to JSON null.
type Dependence struct {
	Replier    trace.Side `json:"replier"`
	N          int        `json:"n"`           // (burst, reply) pairs
	CountGap   float64    `json:"count_gap"`   // burst packets vs reply gap
	BytesGap   float64    `json:"bytes_gap"`   // burst bytes vs reply gap
	CountCount float64    `json:"count_count"` // burst packets vs reply packets
	BytesBytes float64    `json:"bytes_bytes"` // burst bytes vs reply bytes
}

// CrossDependence returns the Dependence of replier's bursts on the
// opponent bursts that precede them. Gaps are used as they are (a negative
// gap from a clock step simply ranks lowest).
func CrossDependence(bursts []Burst, replier trace.Side) Dependence {
	var cnt, byt, gap, rcnt, rbyt []float64
	for i := 1; i < len(bursts); i++ {
		prev, b := bursts[i-1], bursts[i]
		if b.From != replier || prev.From == replier {
			continue
		}
		cnt = append(cnt, float64(prev.Count))
		byt = append(byt, float64(prev.Bytes))
		gap = append(gap, float64(b.FirstTS-prev.LastTS))
		rcnt = append(rcnt, float64(b.Count))
		rbyt = append(rbyt, float64(b.Bytes))
	}
	return Dependence{
		Replier:    replier,
		N:          len(cnt),
		CountGap:   spearmanOrNaN(cnt, gap),
		BytesGap:   spearmanOrNaN(byt, gap),
		CountCount: spearmanOrNaN(cnt, rcnt),
		BytesBytes: spearmanOrNaN(byt, rbyt),
	}
}

func spearmanOrNaN(x, y []float64) float64 {
	r, err := Spearman(x, y)
	if err != nil {
		return math.NaN()
	}
	return r
}

// PacketRows returns one C2ST feature row per packet but the first:
// (direction, size in bytes, LogTime of the merged delta in microseconds),
// direction being the trace.Side value. It is WindowRows(pkts, 1, 1).
func PacketRows(pkts []trace.Packet) ([][]float64, error) {
	return WindowRows(pkts, 1, 1)
}

// WindowRows returns C2ST feature rows made of k consecutive packets of the
// merged stream, one window every stride packets: for each packet of the
// window, in order, its direction (trace.Side value), its size in bytes and
// the LogTime of its merged delta (the time since the previous packet of the
// two-way stream, the original's "times"; negative deltas count as 0).
// Windows start at the second packet so that every packet has a delta; a row
// has 3k columns. stride = k gives non-overlapping windows. It returns an
// error for k < 1, stride < 1 or an invalid side.
func WindowRows(pkts []trace.Packet, k, stride int) ([][]float64, error) {
	return WindowRowsOf(pkts, k, stride, AllColumns)
}

// Columns selects which of a packet's three C2ST columns a row holds.
type Columns uint8

// The columns of a packet in a C2ST row, in this order.
const (
	ColDirection Columns = 1 << iota // the sending side (trace.Side value)
	ColSize                          // the size in bytes
	ColTime                          // LogTime of the merged delta in µs
	AllColumns   = ColDirection | ColSize | ColTime
)

// String names the columns, e.g. "direction+time".
func (c Columns) String() string {
	var names []string
	for _, n := range []struct {
		c    Columns
		name string
	}{{ColDirection, "direction"}, {ColSize, "size"}, {ColTime, "time"}} {
		if c&n.c != 0 {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "+")
}

// WindowRowsOf is WindowRows with only the columns cols of each packet (a
// row has k times as many columns as cols selects): leaving a column out
// of a C2ST shows how much of the classifier's accuracy it carried. It
// returns an error for an empty or unknown column set.
func WindowRowsOf(pkts []trace.Packet, k, stride int, cols Columns) ([][]float64, error) {
	if k < 1 || stride < 1 {
		return nil, fmt.Errorf("metrics: window rows: window %d and stride %d must be at least 1", k, stride)
	}
	if cols == 0 || cols&^AllColumns != 0 {
		return nil, fmt.Errorf("metrics: window rows: column set %#x: want a non-empty set of direction, size and time", uint8(cols))
	}
	if err := checkSides(pkts); err != nil {
		return nil, err
	}
	width := bits.OnesCount8(uint8(cols))
	var rows [][]float64
	for start := 1; start+k <= len(pkts); start += stride {
		row := make([]float64, 0, width*k)
		for j := start; j < start+k; j++ {
			p := pkts[j]
			if cols&ColDirection != 0 {
				row = append(row, float64(p.From))
			}
			if cols&ColSize != 0 {
				row = append(row, float64(p.Size))
			}
			if cols&ColTime != 0 {
				row = append(row, LogTime(nsToUS(p.TS-pkts[j-1].TS)))
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// PacketRowsOf returns one row (size, log merged delta) per packet that
// side sent, from the second packet of pkts on, keeping only the packets
// that open a burst (the previous packet came from the other side) when
// opening is true, or only those that follow one of their own burst when
// it is false: the single-packet rows of WindowRows less the direction,
// in the two groups a burst-structured generator draws differently.
func PacketRowsOf(pkts []trace.Packet, side trace.Side, opening bool) ([][]float64, error) {
	if err := checkSides(pkts); err != nil {
		return nil, err
	}
	var rows [][]float64
	for j := 1; j < len(pkts); j++ {
		p := pkts[j]
		if p.From != side || (pkts[j-1].From != side) != opening {
			continue
		}
		rows = append(rows, []float64{float64(p.Size), LogTime(nsToUS(p.TS - pkts[j-1].TS))})
	}
	return rows, nil
}

// ACFLags is the number of lags (1..ACFLags) at which fidelity.md compares
// autocorrelations.
const ACFLags = 10

// SeriesDistances compares the series of one side, real against
// synthetic: the marginals (Compare) and the sequence structure (ACF error
// of size and of log-IAT at lags 1..ACFLags). An ACF error that cannot be
// computed (a series of ACFLags values or fewer, a real series without
// autocorrelation) is NaN and marshals to JSON null.
//
// Its fields are the JSON form of a fidelity report; Marginals and
// Sequences say which field holds what, and everything that shows or
// compares them (CompareSeries, the fidelity report's tables, its headline
// numbers and summary) iterates those registries.
type SeriesDistances struct {
	Size      Distances `json:"size"`
	IAT       Distances `json:"iat"`
	Delta     Distances `json:"delta"`
	Burst     Distances `json:"burst"`
	ReplyGap  Distances `json:"reply_gap"`
	ACFSize   float64   `json:"acf_size"`    // ACFError of Size
	ACFLogIAT float64   `json:"acf_log_iat"` // ACFError of LogTimes(IAT)
}

// Marginal is one per-direction series whose distribution is compared
// (Compare: KS, W1, JSD and for times W1 on log-times).
type Marginal struct {
	Name string // in report tables: "size", "IAT", ...
	Tag  string // in benchmark units ("ks-TAG-s2c"): "size", "iat", ...
	Unit string // unit of the report's W1 column: "B", "dec" (decades: W1 of log-times), "pkts"
	Kind Kind   // fixes the JSD bins
	// Of returns the series' values; In its distances.
	Of func(*Series) []float64
	In func(*SeriesDistances) *Distances
}

// Sequence is one per-direction sequence-structure error: ACFError of a
// series at lags 1..ACFLags.
type Sequence struct {
	Name string // in report tables: "size", "log-IAT"
	Tag  string // in benchmark units ("acf-TAG-s2c"): "size", "logiat"
	Of   func(*Series) []float64
	In   func(*SeriesDistances) *float64
}

// Marginals and Sequences are the registry of per-series metrics, in
// report order.
//
// Adding a metric: a comparison of a series already in Series is an entry
// here plus the field of SeriesDistances that holds it (its JSON name); a
// new series is also a field of Series, filled by Extract. The fidelity
// report's tables, its headline numbers (bench's Result.Metrics) and the
// summary follow from these lists.
var (
	Marginals = []Marginal{
		{"size", "size", "B", SizeKind, func(s *Series) []float64 { return s.Size }, func(d *SeriesDistances) *Distances { return &d.Size }},
		{"IAT", "iat", "dec", TimeKind, func(s *Series) []float64 { return s.IAT }, func(d *SeriesDistances) *Distances { return &d.IAT }},
		{"merged delta", "delta", "dec", TimeKind, func(s *Series) []float64 { return s.Delta }, func(d *SeriesDistances) *Distances { return &d.Delta }},
		{"burst length", "burst", "pkts", BurstKind, func(s *Series) []float64 { return s.Burst }, func(d *SeriesDistances) *Distances { return &d.Burst }},
		{"reply gap", "gap", "dec", TimeKind, func(s *Series) []float64 { return s.ReplyGap }, func(d *SeriesDistances) *Distances { return &d.ReplyGap }},
	}
	Sequences = []Sequence{
		{"size", "size", func(s *Series) []float64 { return s.Size }, func(d *SeriesDistances) *float64 { return &d.ACFSize }},
		{"log-IAT", "logiat", func(s *Series) []float64 { return LogTimes(s.IAT) }, func(d *SeriesDistances) *float64 { return &d.ACFLogIAT }},
	}
)

// CompareSeries compares a real and a synthetic Series of the same side on
// every registered metric (Marginals, Sequences).
func CompareSeries(real, syn Series) SeriesDistances {
	var d SeriesDistances
	for _, m := range Marginals {
		*m.In(&d) = Compare(m.Of(&real), m.Of(&syn), m.Kind)
	}
	for _, q := range Sequences {
		e, err := ACFError(q.Of(&real), q.Of(&syn), ACFLags)
		if err != nil {
			e = math.NaN()
		}
		*q.In(&d) = e
	}
	return d
}
