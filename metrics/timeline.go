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
