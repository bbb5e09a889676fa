package metrics

import (
	"math"

	"github.com/spatgan/spatgan/trace"
)

// Span returns the time from the earliest to the latest packet of pkts in
// nanoseconds (0 for fewer than two packets); clock steps do not make it
// negative.
func Span(pkts []trace.Packet) int64 {
	if len(pkts) == 0 {
		return 0
	}
	lo, hi := pkts[0].TS, pkts[0].TS
	for _, p := range pkts {
		lo, hi = min(lo, p.TS), max(hi, p.TS)
	}
	return hi - lo
}

// TimelineRatio compares the pace of two packet sequences: the span of the
// first n packets of syn over the span of the first n packets of ref, where
// n is the smaller length. It returns NaN when n < 2 or ref's span is 0.
// For a generator that produced as many packets as the held-out part it is
// the synthetic span over the held-out span.
func TimelineRatio(syn, ref []trace.Packet) (ratio float64, n int) {
	n = min(len(syn), len(ref))
	d := Span(ref[:n])
	if n < 2 || d <= 0 {
		return math.NaN(), n
	}
	return float64(Span(syn[:n])) / float64(d), n
}

// TimeBudget says where one side's share of a packet sequence's timeline
// goes: the pauses before its bursts (its reply gaps) and the time inside
// its bursts. Over both sides of a sequence whose timestamps never step
// back, ReplyS + InBurstS sums to the span (Span) in seconds, so comparing
// a generator's budget with the held-out part's says whether a wrong pace
// comes from the pauses, from the bursts' own length, or from how many
// bursts the packets are split into.
type TimeBudget struct {
	Packets  int     `json:"packets"`    // packets this side sent
	Bursts   int     `json:"bursts"`     // its bursts
	ReplyS   float64 `json:"reply_s"`    // sum of its reply gaps (from the other side's last packet to its first), s
	InBurstS float64 `json:"in_burst_s"` // sum of its bursts' durations (first to last packet), s
}

// Budget returns the TimeBudget of each side of pkts, indexed by
// trace.Side. It returns an error naming the packet index if a packet's
// side is neither Server nor Client.
func Budget(pkts []trace.Packet) ([2]TimeBudget, error) {
	var out [2]TimeBudget
	bursts, err := Bursts(pkts)
	if err != nil {
		return out, err
	}
	for i, b := range bursts {
		t := &out[b.From]
		t.Packets += b.Count
		t.Bursts++
		t.InBurstS += float64(b.DurNS()) / 1e9
		if i > 0 {
			t.ReplyS += float64(b.FirstTS-bursts[i-1].LastTS) / 1e9
		}
	}
	return out, nil
}
