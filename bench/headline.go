package bench

import (
	"math"

	"github.com/spatgan/spatgan/metrics"
)

// Metric is one headline number of a Result, named by a benchmark unit.
type Metric struct {
	Unit  string // e.g. "ks-size-s2c", the unit BenchmarkFidelity reports it in
	Value float64
}

// sideTags name the directions of Sides in metric units.
var sideTags = [2]string{"s2c", "c2s"}

// Metrics returns the result's headline numbers in a fixed order: KS of
// every marginal per direction ("ks-TAG-s2c" and "-c2s" for the
// metrics.Marginals: size, iat, delta, burst and gap), the ACF errors of
// the metrics.Sequences ("acf-size-s2c", "acf-logiat-s2c", ...), the dependence error ("dep-err"), the classifier accuracies on
// packets and windows ("c2st-pkt", "c2st-win") and on the packets of
// each side that open a burst and of those later in one
// ("c2st-pkt-s2c-open", "c2st-pkt-s2c-later", ...), and the virtual timeline
// ratio ("timeline-ratio"). Values that are not defined (NaN, a classifier
// test that was not computed) are left out. Lower is better for all but
// the timeline ratio, whose target is 1, and the classifier accuracies,
// whose target is 0.5.
func (r *Result) Metrics() []Metric {
	var out []Metric
	add := func(unit string, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, Metric{unit, v})
		}
	}
	for _, f := range metrics.Marginals {
		for i, side := range Sides {
			d := r.Distances.Get(side)
			add("ks-"+f.Tag+"-"+sideTags[i], f.In(&d).KS)
		}
	}
	for _, q := range metrics.Sequences {
		for i, side := range Sides {
			d := r.Distances.Get(side)
			add("acf-"+q.Tag+"-"+sideTags[i], *q.In(&d))
		}
	}
	add("dep-err", float64(r.DependenceError))
	if r.C2STPacket != nil {
		add("c2st-pkt", r.C2STPacket.Accuracy)
	}
	if r.C2STWindow != nil {
		add("c2st-win", r.C2STWindow.Accuracy)
	}
	if r.PacketParts != nil {
		for _, part := range packetParts {
			if x := *part.Get(r.PacketParts); x != nil {
				add(part.Tag, x.Accuracy)
			}
		}
	}
	add("timeline-ratio", float64(r.TimelineRatio))
	return out
}
