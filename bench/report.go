package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/spatgan/spatgan/internal/atomicfile"
	"github.com/spatgan/spatgan/metrics"
)

// Float is a float64 that marshals NaN and infinities as JSON null and
// reads null back as NaN.
type Float float64

// MarshalJSON encodes f, null when it is not finite.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON decodes a number, or null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	*f = Float(v)
	return nil
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteJSONFile writes the report as JSON to path.
func (r *Report) WriteJSONFile(path string) error {
	if err := atomicfile.Write(path, r.WriteJSON); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	dec := json.NewDecoder(rd)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("bench: reading report: %w", err)
	}
	return &r, nil
}

// The report's tables iterate the metrics package's registry of per-series
// metrics (metrics.Marginals, metrics.Sequences): adding a metric there adds
// its rows here, to the headline numbers and to the summary.

// fmtG formats a value with 3 significant digits, "–" for NaN.
func fmtG(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 0.01:
		return strconv.FormatFloat(v, 'f', max(0, 2-int(math.Floor(math.Log10(a)))), 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// fmt3 formats a value in [0, 1] with 3 decimals, "–" for NaN.
func fmt3(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func cell(d metrics.Distances) string {
	w1 := d.W1
	if d.Kind == metrics.TimeKind {
		w1 = d.W1Log
	}
	return fmt3(d.KS) + " / " + fmtG(w1) + " / " + fmt3(d.JSD)
}

func c2stCell(r *metrics.C2STResult) string {
	if r == nil {
		return "–"
	}
	return fmt3(r.Accuracy) + " ± " + fmt3(r.StdErr)
}

// WriteMarkdown writes the report as Markdown: the setup, the marginal
// distances, the sequence metrics, the cross-direction dependence, the
// classifier tests and the sample sizes.
func (r *Report) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	t := &r.Trace
	p("# Fidelity against held-out real traffic\n\n")
	p("Conversation: %s, server %s, client %s, protocol %s: %d packets over %.1f s.\n\n",
		t.Source, t.Server, t.Client, t.Proto, t.Packets, t.DurationS)
	p("Protocol: the conversation is split in time at %g of its duration. Models and baselines are fitted on the "+
		"training part (%d packets); every generator then produces %d packets offline, closed loop over a virtual clock, "+
		"and is compared with the held-out part (%d packets, %.1f s) only, never with training rows. "+
		"The column `real` is the noise floor: the real training part itself compared with the held-out part.\n\n",
		t.TrainFrac, t.TrainPackets, t.TestPackets, t.TestPackets, t.TestS)
	if r.Primed {
		p("Every generator continues the conversation: it starts from what a party that saw the training part remembers " +
			"(its last bursts per side) and draws the side that comes next, as the held-out part does.\n\n")
	} else {
		p("Every generator starts a conversation from nothing (no earlier bursts), with the client's burst.\n\n")
	}
	draws := ""
	if r.DrawSeed != 0 && r.DrawSeed != r.Seed {
		draws = fmt.Sprintf(" (the generators' draws: seed %d)", r.DrawSeed)
	}
	p("Seed %d%s. Generation framing %s: generated sizes are clamped to at least %d B, and %.1f%% of the held-out packets are smaller than that.\n\n",
		r.Seed, draws, r.Framing, r.MinFrame, 100*t.BelowMinFrame)
	p("Comparators:\n\n")
	for _, c := range r.Comparators {
		p("- `%s` (%s)", c.Name, c.Kind)
		if c.Note != "" {
			p(": %s", c.Note)
		}
		p("\n")
	}
	p("\n")

	header := func(first ...string) {
		cols := append(append([]string{}, first...), r.names()...)
		p("| %s |\n|", strings.Join(cols, " | "))
		for range cols {
			p("---|")
		}
		p("\n")
	}

	p("## Marginals: KS / W1 / JSD\n\n")
	p("Lower is better. W1 is in bytes for size, in decades (log10 of microseconds) for times, in packets for burst length; JSD in bits on the fixed bins of fidelity.md. " +
		"`n` is the held-out sample size; `KS 95%%` is 1.358·sqrt(2/n), the KS two samples of n values from one continuous distribution stay below 95%% of the time: smaller differences are sampling noise.\n\n")
	header("feature", "direction", "n", "KS 95%")
	for _, f := range metrics.Marginals {
		for _, side := range Sides {
			// n is the held-out sample size, which every comparator was
			// compared with (Distances.NReal).
			n := 0
			if len(r.Comparators) > 0 {
				d := r.Comparators[0].Distances.Get(side)
				n = f.In(&d).NReal
			}
			p("| %s | %s | %d | %s |", f.Name, Direction(side), n, fmt3(1.358*math.Sqrt(2/float64(n))))
			for i := range r.Comparators {
				d := r.Comparators[i].Distances.Get(side)
				p(" %s |", cell(*f.In(&d)))
			}
			p("\n")
		}
	}
	p("\n")

	p("## Sequence structure: ACF error, lags 1..%d\n\n", r.ACFLags)
	p("sum((acf_real - acf_syn)^2) / sum(acf_real^2) per direction: 0 is the held-out autocorrelation exactly, 1 is as far as no autocorrelation at all.\n\n")
	header("series", "direction")
	for _, q := range metrics.Sequences {
		for _, side := range Sides {
			p("| %s | %s |", q.Name, Direction(side))
			for i := range r.Comparators {
				d := r.Comparators[i].Distances.Get(side)
				p(" %s |", fmt3(*q.In(&d)))
			}
			p("\n")
		}
	}
	p("\n")

	p("## Cross-direction dependence: Spearman correlation, preceding burst vs reply\n\n")
	p("How the replying side's burst depends on the other side's burst just before it. `held-out` is the target; the last row is the mean absolute difference from it.\n\n")
	cols := append([]string{"replier", "burst -> reply", "held-out"}, r.names()...)
	p("| %s |\n|", strings.Join(cols, " | "))
	for range cols {
		p("---|")
	}
	p("\n")
	for _, side := range Sides {
		for _, m := range []struct {
			name string
			get  func(metrics.Dependence) float64
		}{
			{"packets -> gap", func(d metrics.Dependence) float64 { return d.CountGap }},
			{"bytes -> gap", func(d metrics.Dependence) float64 { return d.BytesGap }},
			{"packets -> packets", func(d metrics.Dependence) float64 { return d.CountCount }},
			{"bytes -> bytes", func(d metrics.Dependence) float64 { return d.BytesBytes }},
		} {
			p("| %s | %s | %s |", side, m.name, fmt3(m.get(r.RealDependence.Get(side))))
			for i := range r.Comparators {
				p(" %s |", fmt3(m.get(r.Comparators[i].Dependence.Get(side))))
			}
			p("\n")
		}
	}
	p("| | mean abs. difference | 0 |")
	for i := range r.Comparators {
		p(" %s |", fmt3(float64(r.Comparators[i].DependenceError)))
	}
	p("\n\n")

	p("## Classifier two-sample test: held-out accuracy ± std. error\n\n")
	p("Gradient-boosted trees told to separate held-out real rows from the comparator's rows; 0.5 is indistinguishable, 1 always told apart. Rows: (direction, size, log merged delta) per packet. The rows \"packets, ...\" test single packets within one group (by sender, opening a burst or later in it; rows (size, log merged delta), as many of each class): they say which packets give a generator away. The windows' last three rows leave columns out: \"without sizes\" near the whole windows' accuracy says the difference is in the times and directions, \"directions only\" high says it is in who sends when (the burst structure).\n\n")
	header("rows")
	type row struct {
		name string
		get  func(*Result) *metrics.C2STResult
	}
	rows := []row{{"single packets", func(x *Result) *metrics.C2STResult { return x.C2STPacket }}}
	for _, part := range packetParts {
		rows = append(rows, row{"packets, " + part.Name, func(x *Result) *metrics.C2STResult {
			if x.PacketParts == nil {
				return nil
			}
			return *part.Get(x.PacketParts)
		}})
	}
	rows = append(rows, row{fmt.Sprintf("windows of %d packets", r.WindowK), func(x *Result) *metrics.C2STResult { return x.C2STWindow }})
	for _, part := range windowParts {
		rows = append(rows, row{"windows, " + part.Name, func(x *Result) *metrics.C2STResult {
			if x.WindowParts == nil {
				return nil
			}
			return *part.Get(x.WindowParts)
		}})
	}
	for _, row := range rows {
		p("| %s |", row.name)
		for i := range r.Comparators {
			p(" %s |", c2stCell(row.get(&r.Comparators[i])))
		}
		p("\n")
	}
	p("| test rows (packets / windows) |")
	for i := range r.Comparators {
		c := &r.Comparators[i]
		n := func(x *metrics.C2STResult) string {
			if x == nil {
				return "–"
			}
			return strconv.Itoa(x.NTest)
		}
		p(" %s / %s |", n(c.C2STPacket), n(c.C2STWindow))
	}
	p("\n\n")

	p("## Sample sizes\n\n")
	p("Packets and bursts per direction (server->client / client->server) and the timeline of each packet sequence; held-out: %d / %d packets, %d / %d bursts, %.1f s. "+
		"The timeline ratio is the span of the sequence's first n packets over the span of the held-out part's first n packets, n the smaller packet count: "+
		"1 is the held-out pace, far below 1 a generator that leaves out the pauses.\n\n",
		t.TestCounts.ServerToClient.Packets, t.TestCounts.ClientToServer.Packets,
		t.TestCounts.ServerToClient.Bursts, t.TestCounts.ClientToServer.Bursts, t.TestS)
	p("| comparator | packets | packets s->c / c->s | bursts s->c / c->s | timeline [s] | timeline ratio | generation [packets/s] | clamped size / count / time |\n|---|---|---|---|---|---|---|---|\n")
	for i := range r.Comparators {
		c := &r.Comparators[i]
		p("| %s | %d | %d / %d | %d / %d | %.1f | %s |", c.Name, c.Packets,
			c.Counts.ServerToClient.Packets, c.Counts.ClientToServer.Packets,
			c.Counts.ServerToClient.Bursts, c.Counts.ClientToServer.Bursts, c.DurationS, fmtG(float64(c.TimelineRatio)))
		if g := c.Generation; g != nil {
			p(" %.0f | %d / %d / %d |\n", g.PacketsPerSecond, g.Clamps.Size, g.Clamps.Count, g.Clamps.Time)
		} else {
			p(" – | – |\n")
		}
	}
	p("\n")

	p("Where the timeline goes, per sending side (server->client / client->server), over the timeline's n packets: " +
		"the sum of the side's reply gaps and of its bursts' durations in seconds, and its bursts, against the held-out part's first n packets. " +
		"A pace off in the reply gaps with the right number of bursts is the pauses; the right pauses spread over too many bursts is the burst lengths.\n\n")
	p("| comparator | n | reply gaps [s] | held-out | in bursts [s] | held-out | bursts | held-out |\n|---|---|---|---|---|---|---|---|\n")
	for i := range r.Comparators {
		c := &r.Comparators[i]
		if c.TimelinePackets < 2 {
			continue
		}
		s, h := &c.TimeBudget, &c.RealTimeBudget
		p("| %s | %d | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %d / %d | %d / %d |\n", c.Name, c.TimelinePackets,
			s.ServerToClient.ReplyS, s.ClientToServer.ReplyS, h.ServerToClient.ReplyS, h.ClientToServer.ReplyS,
			s.ServerToClient.InBurstS, s.ClientToServer.InBurstS, h.ServerToClient.InBurstS, h.ClientToServer.InBurstS,
			s.ServerToClient.Bursts, s.ClientToServer.Bursts, h.ServerToClient.Bursts, h.ClientToServer.Bursts)
	}
	p("\n")
	var notes []string
	notes = append(notes, r.Notes...)
	for _, c := range r.Comparators {
		for _, n := range c.Notes {
			notes = append(notes, c.Name+": "+n)
		}
	}
	if len(notes) > 0 {
		p("Notes:\n\n")
		for _, n := range notes {
			p("- %s\n", n)
		}
		p("\n")
	}
	p("Evaluated in %.1f s.\n", r.Elapsed)
	return bw.Flush()
}

// names returns the comparator names as table column headers.
func (r *Report) names() []string {
	out := make([]string, len(r.Comparators))
	for i, c := range r.Comparators {
		out[i] = c.Name
	}
	return out
}
