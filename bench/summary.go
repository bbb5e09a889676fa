package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spatgan/spatgan/metrics"
)

// NamedReport is a report under a short capture name ("skype5", "redis").
type NamedReport struct {
	Name   string
	Report *Report
}

// SummaryComparators are the columns WriteSummary shows by default: the
// noise floor, the GAN and the two baselines that keep most structure.
var SummaryComparators = []string{NameReal, NameGAN, "markov", "bootstrap"}

// maxKS returns the largest KS over every feature and direction of r, and
// the largest ratio of r's KS to floor's on the same feature and direction
// (terms whose floor KS is 0 or undefined are left out), each with where it
// is reached ("IAT c->s").
func maxKS(r, floor *Result) (ks float64, ksAt string, ratio float64, ratioAt string) {
	ks, ratio = math.NaN(), math.NaN()
	for _, f := range metrics.Marginals {
		for i, side := range Sides {
			d, fd := r.Distances.Get(side), floor.Distances.Get(side)
			v, fv := f.In(&d).KS, f.In(&fd).KS
			at := f.Name + " " + sideTags[i]
			if !math.IsNaN(v) && (math.IsNaN(ks) || v > ks) {
				ks, ksAt = v, at
			}
			if q := v / fv; fv > 0 && !math.IsNaN(q) && (math.IsNaN(ratio) || q > ratio) {
				ratio, ratioAt = q, at
			}
		}
	}
	return ks, ksAt, ratio, ratioAt
}

// WriteSummary writes one Markdown table over several fidelity reports: a
// row per capture and comparator (names; nil: SummaryComparators; a
// comparator a report lacks is left out) with both classifier accuracies,
// the largest KS and the largest KS ratio to the noise floor, the ACF
// errors, the dependence error and the timeline ratio.
func WriteSummary(w io.Writer, reps []NamedReport, names []string) error {
	if names == nil {
		names = SummaryComparators
	}
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p("# Fidelity summary\n\n")
	p("Each capture's busiest conversation is split in time; everything is fitted on the training part and compared with the held-out part only " +
		"(see each capture's report for the full tables). `real` is the noise floor: the real training part against the held-out part.\n\n")
	p("- C2ST: held-out accuracy of a classifier told to separate real from generated single packets / windows of k packets; 0.5 is indistinguishable.\n")
	var marginals []string
	for _, f := range metrics.Marginals {
		marginals = append(marginals, f.Name)
	}
	p("- max KS: the largest KS over %s in both directions (s2c server->client, c2s client->server).\n", andList(marginals))
	p("- max KS / floor: the largest ratio of the comparator's KS to the noise floor's KS on the same feature and direction; 1 is as close as two stretches of the same real conversation.\n")
	var acfNames, acfCols, acfRule []string
	for _, q := range metrics.Sequences {
		acfNames = append(acfNames, "of "+q.Name)
		acfCols = append(acfCols, "ACF "+q.Name)
		acfRule = append(acfRule, "---")
	}
	p("- ACF: autocorrelation error %s at lags 1..%d, s2c / c2s; 0 is the held-out autocorrelation.\n", andList(acfNames), metrics.ACFLags)
	p("- dependence: mean absolute difference of the burst -> reply Spearman correlations from the held-out ones.\n")
	p("- timeline: span of the first n packets over the held-out span of as many packets; 1 is the held-out pace.\n\n")
	p("| capture | packets (held-out) | comparator | C2ST packets | C2ST windows | max KS | max KS / floor | %s | dependence | timeline |\n", strings.Join(acfCols, " | "))
	p("|---|---|---|---|---|---|---|%s|---|---|\n", strings.Join(acfRule, "|"))
	for _, nr := range reps {
		r := nr.Report
		floor := r.Result(NameReal)
		for _, name := range names {
			c := r.Result(name)
			if c == nil {
				continue
			}
			ks, ksAt, ratio, ratioAt := math.NaN(), "", math.NaN(), ""
			if floor != nil {
				ks, ksAt, ratio, ratioAt = maxKS(c, floor)
			}
			win := "–"
			if c.C2STWindow != nil {
				win = fmt3(c.C2STWindow.Accuracy)
			}
			pkt := "–"
			if c.C2STPacket != nil {
				pkt = fmt3(c.C2STPacket.Accuracy)
			}
			s2c, c2s := c.Distances.ServerToClient, c.Distances.ClientToServer
			p("| %s | %d | %s | %s | %s | %s | %s |",
				nr.Name, r.Trace.TestPackets, name, pkt, win,
				withAt(fmt3(ks), ksAt), withAt(fmtG(ratio), ratioAt))
			for _, q := range metrics.Sequences {
				p(" %s / %s |", fmt3(*q.In(&s2c)), fmt3(*q.In(&c2s)))
			}
			p(" %s | %s |\n", fmt3(float64(c.DependenceError)), fmtG(float64(c.TimelineRatio)))
		}
	}
	var missing []string
	for _, nr := range reps {
		for _, name := range names {
			if nr.Report.Result(name) == nil {
				missing = append(missing, nr.Name+"/"+name)
			}
		}
	}
	if len(missing) > 0 {
		p("\nNot in the reports: %s.\n", strings.Join(missing, ", "))
	}
	return bw.Flush()
}

func withAt(v, at string) string {
	if at == "" || v == "–" {
		return v
	}
	return v + " (" + at + ")"
}

// orList joins names as "a, b and c".
func andList(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
