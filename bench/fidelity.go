package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/metrics"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/trace"
)

// Comparator kinds, the Kind of a Comparator and of a Result.
const (
	KindReal     = "real"     // the noise floor: real training packets
	KindModel    = "model"    // a trained bundle
	KindBaseline = "baseline" // a simple generator fitted on the training part
)

// DefaultWindowK is the window length of the windowed classifier test.
const DefaultWindowK = 8

// Comparator is one column of the report: a generator, or for the noise
// floor a real packet sequence.
type Comparator struct {
	Name        string // column name, unique in a report
	Kind        string // KindReal, KindModel or KindBaseline
	Note        string // one line said about it in the report
	Fingerprint string // the model's fingerprint, if any
	// Sampler generates the synthetic conversation. When it is nil, Packets
	// are compared instead (the noise floor).
	Sampler sampler.Sampler
	Packets []trace.Packet
}

// Split is a conversation split in time into a training part and the
// held-out rest.
type Split struct {
	Conv        *trace.Conversation
	Frac        float64 // time fraction of the training part
	Train, Test *trace.Conversation
	// TrainSHA256 is trace.Fingerprint of the training packets, the value
	// a bundle trained on this split records in its manifest.
	TrainSHA256 string
}

// NewSplit splits conv at frac of its duration with trace.SplitAt.
func NewSplit(conv *trace.Conversation, frac float64) (*Split, error) {
	if conv == nil {
		return nil, errors.New("bench: no conversation")
	}
	tr, te, err := conv.SplitAt(frac)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return &Split{Conv: conv, Frac: frac, Train: tr, Test: te, TrainSHA256: trace.Fingerprint(tr.Packets)}, nil
}

// MismatchError reports a bundle that was not trained on a split's
// training part.
type MismatchError struct {
	Dir      string
	Field    string // "train_frac" or "train_sha256"
	Bundle   string // the manifest's value
	Split    string // the split's value
	Trained  string // what the manifest says the bundle was trained on
	Evaluate string // the conversation being evaluated
}

func (e *MismatchError) Error() string {
	if e.Field == "train_frac" {
		return fmt.Sprintf("bench: bundle %s was trained on the first %s of its trace, this evaluation splits at %s: use the bundle's split",
			e.Dir, e.Bundle, e.Split)
	}
	return fmt.Sprintf("bench: bundle %s was trained on other data: its manifest's training fingerprint %.12s… (%s) "+
		"does not match the training part of %s (%.12s…); evaluate it on the conversation it was trained on, or train a bundle on this one",
		e.Dir, e.Bundle, e.Trained, e.Evaluate, e.Split)
}

// Trained is what a model says it was trained on (a bundle's manifest).
type Trained struct {
	Frac   float64 // time fraction of the training part
	SHA256 string  // trace.Fingerprint of the training packets
	What   string  // the training data in words, for messages
}

// Check checks that the model in dir, trained on t, was trained on exactly
// s's training part: same time fraction and same training-data
// fingerprint. Evaluating a model on rows it was trained on, or on another
// trace's split, would be meaningless; a *MismatchError says which.
// (gan.CheckBundle reads t from a bundle's manifest.)
func (s *Split) Check(dir string, t Trained) error {
	here := fmt.Sprintf("%s (server %s, client %s, %s, %d packets)", s.Conv.Source, s.Conv.Server, s.Conv.Client, s.Conv.Proto, len(s.Conv.Packets))
	if t.Frac != s.Frac {
		return &MismatchError{Dir: dir, Field: "train_frac", Bundle: fmt.Sprint(t.Frac), Split: fmt.Sprint(s.Frac), Trained: t.What, Evaluate: here}
	}
	if t.SHA256 != s.TrainSHA256 {
		return &MismatchError{Dir: dir, Field: "train_sha256", Bundle: t.SHA256, Split: s.TrainSHA256, Trained: t.What, Evaluate: here}
	}
	return nil
}

// Options configure Evaluate.
type Options struct {
	// Seed seeds the classifier tests (C2ST.Seed, when that is zero).
	Seed uint64
	// WindowK is the window length of the windowed classifier test
	// (default DefaultWindowK).
	WindowK int
	// C2ST configures both classifier tests (zero value: the metrics
	// package's defaults, seeded with Seed).
	C2ST metrics.C2STConfig
	// Gen configures offline generation; Packets is set to the size of the
	// held-out part.
	Gen simulate.GenOptions
	// Log receives one line per comparator as it is evaluated (nil: none).
	Log io.Writer
	// Dump, when not empty, is a directory Evaluate writes each sequence
	// it compares into, as pcap (trace.WritePcap; Load reads it back):
	// held-out.pcap, the held-out part, and NAME.pcap per comparator, the
	// packets it was scored on, for a look at what a score measured.
	Dump string
	// Prime makes every generator continue the conversation: each starts
	// from the training part's History (features.Prime: its last bursts
	// per side, what a party that saw the training part remembers) and
	// draws the side that comes next, as the held-out part does. Without
	// it every generator starts a conversation from nothing. Generators
	// that keep no state (the i.i.d. baselines) draw the same either way.
	Prime bool
}

// BySide holds one value per direction, named by the side that sends.
type BySide[T any] struct {
	ServerToClient T `json:"server_to_client"`
	ClientToServer T `json:"client_to_server"`
}

// Get returns the value of the direction sent by side.
func (b *BySide[T]) Get(side trace.Side) T {
	if side == trace.Server {
		return b.ServerToClient
	}
	return b.ClientToServer
}

// Ptr returns a pointer to the value of the direction sent by side.
func (b *BySide[T]) Ptr(side trace.Side) *T {
	if side == trace.Server {
		return &b.ServerToClient
	}
	return &b.ClientToServer
}

// Sides lists the two sides in report order: server->client, then
// client->server.
var Sides = [2]trace.Side{trace.Server, trace.Client}

// Direction names the direction sent by side ("server->client").
func Direction(side trace.Side) string {
	return side.String() + "->" + side.Other().String()
}

// Counts are the sample sizes of one direction's series.
type Counts struct {
	Packets   int `json:"packets"`
	IAT       int `json:"iat"`
	Delta     int `json:"delta"`
	Bursts    int `json:"bursts"`
	ReplyGaps int `json:"reply_gaps"`
}

func countsOf(s metrics.Series) Counts {
	return Counts{Packets: len(s.Size), IAT: len(s.IAT), Delta: len(s.Delta), Bursts: len(s.Burst), ReplyGaps: len(s.ReplyGap)}
}

// GenInfo describes the offline generation of a comparator.
type GenInfo struct {
	Seconds          float64         `json:"seconds"`
	PacketsPerSecond float64         `json:"packets_per_second"`
	Bursts           int64           `json:"bursts"`
	SamplerCalls     int64           `json:"sampler_calls"`
	Clamps           simulate.Clamps `json:"clamps"`
}

// Result is one comparator's column: its distances to the held-out part.
type Result struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Note        string `json:"note,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Packets compared, and the time from their first to their last
	// packet in seconds.
	Packets   int     `json:"packets"`
	DurationS float64 `json:"duration_s"`
	// TimelineRatio is the virtual timeline ratio: the span of this
	// sequence's first TimelinePackets packets over the span of the
	// held-out part's first TimelinePackets packets (TimelinePackets is the
	// smaller of the two packet counts). 1 is the held-out pace; a
	// generator that leaves out reply gaps scores far below 1.
	TimelineRatio   Float `json:"timeline_ratio"`
	TimelinePackets int   `json:"timeline_packets"`
	// TimeBudget and RealTimeBudget say where the timeline goes, per
	// sending side, in this sequence's first TimelinePackets packets and
	// in the held-out part's: reply gaps against time inside bursts.
	TimeBudget     BySide[metrics.TimeBudget] `json:"time_budget"`
	RealTimeBudget BySide[metrics.TimeBudget] `json:"real_time_budget"`
	Counts         BySide[Counts]             `json:"counts"`
	// Distances are the marginal distances and ACF errors per direction.
	Distances BySide[metrics.SeriesDistances] `json:"distances"`
	// Dependence is this sequence's cross-direction dependence, by
	// replying side; compare with Report.RealDependence.
	Dependence BySide[metrics.Dependence] `json:"dependence"`
	// DependenceError is the mean absolute difference between these
	// Spearman correlations and the held-out ones (all that are defined on
	// both); null when none is.
	DependenceError Float `json:"dependence_error"`
	// C2STPacket and C2STWindow are the classifier two-sample tests on
	// single packets and on windows of Report.WindowK packets; null when
	// there were too few rows (see Notes).
	C2STPacket *metrics.C2STResult `json:"c2st_packet"`
	C2STWindow *metrics.C2STResult `json:"c2st_window"`
	// PacketParts is C2STPacket within groups of packets (nil when not
	// computed).
	PacketParts *PacketParts `json:"c2st_packet_parts,omitempty"`
	// WindowParts is the window test again with columns left out: where
	// the windows differ (nil when the window is one packet).
	WindowParts *WindowParts `json:"c2st_window_parts,omitempty"`
	// Generation is nil for the noise floor.
	Generation *GenInfo `json:"generation,omitempty"`
	Notes      []string `json:"notes,omitempty"`
}

// PacketParts is the single-packet test (Result.C2STPacket) within four
// groups of packets, by sending side and by whether a packet opens its
// burst or follows in it, on rows (size, log merged delta)
// (metrics.PacketRowsOf): it says which packets give a generator away.
// Each test draws as many rows from each class, so it compares the
// groups' contents, not their sizes.
type PacketParts struct {
	ServerOpening *metrics.C2STResult `json:"server_opening"`
	ServerLater   *metrics.C2STResult `json:"server_later"`
	ClientOpening *metrics.C2STResult `json:"client_opening"`
	ClientLater   *metrics.C2STResult `json:"client_later"`
}

// packetParts are PacketParts' tests in report order.
var packetParts = []struct {
	Name, Tag string // in the report, as a benchmark metric
	Side      trace.Side
	Opening   bool
	Get       func(*PacketParts) **metrics.C2STResult
}{
	{"server->client, opening a burst", "c2st-pkt-s2c-open", trace.Server, true, func(p *PacketParts) **metrics.C2STResult { return &p.ServerOpening }},
	{"server->client, later in a burst", "c2st-pkt-s2c-later", trace.Server, false, func(p *PacketParts) **metrics.C2STResult { return &p.ServerLater }},
	{"client->server, opening a burst", "c2st-pkt-c2s-open", trace.Client, true, func(p *PacketParts) **metrics.C2STResult { return &p.ClientOpening }},
	{"client->server, later in a burst", "c2st-pkt-c2s-later", trace.Client, false, func(p *PacketParts) **metrics.C2STResult { return &p.ClientLater }},
}

// WindowParts is the window test (Result.C2STWindow) on rows with some of
// each packet's columns left out (metrics.WindowRowsOf). Compared with the
// whole test, it says what the classifier reads: when windows without
// sizes score as high as whole windows, the difference is in the times
// and directions; when directions alone score high, in who sends when (the
// burst structure). A nil part had too few rows.
type WindowParts struct {
	WithoutSizes   *metrics.C2STResult `json:"without_sizes"`   // direction and time
	WithoutTimes   *metrics.C2STResult `json:"without_times"`   // direction and size
	DirectionsOnly *metrics.C2STResult `json:"directions_only"` // direction
}

// windowParts lists the parts of WindowParts: their columns, their names
// in the report and where each result goes.
var windowParts = []struct {
	Name string
	Cols metrics.Columns
	Get  func(*WindowParts) **metrics.C2STResult
}{
	{"without sizes", metrics.ColDirection | metrics.ColTime, func(w *WindowParts) **metrics.C2STResult { return &w.WithoutSizes }},
	{"without times", metrics.ColDirection | metrics.ColSize, func(w *WindowParts) **metrics.C2STResult { return &w.WithoutTimes }},
	{"directions only", metrics.ColDirection, func(w *WindowParts) **metrics.C2STResult { return &w.DirectionsOnly }},
}

// TraceInfo describes the evaluated conversation and its split.
type TraceInfo struct {
	Source       string  `json:"source"`
	Server       string  `json:"server"`
	Client       string  `json:"client"`
	Proto        string  `json:"proto"`
	Packets      int     `json:"packets"`
	DurationS    float64 `json:"duration_s"`
	TrainFrac    float64 `json:"train_frac"`
	TrainPackets int     `json:"train_packets"`
	TestPackets  int     `json:"test_packets"`
	TestS        float64 `json:"test_duration_s"`
	TrainSHA256  string  `json:"train_sha256"`
	// TestCounts are the held-out sample sizes per direction.
	TestCounts BySide[Counts] `json:"test_counts"`
	// BelowMinFrame is the share of held-out packets smaller than the
	// smallest frame offline generation can produce (its framing's
	// MinFrame, the in-band header's floor).
	BelowMinFrame float64 `json:"below_min_frame"`
}

// Report is the outcome of the fidelity protocol.
type Report struct {
	Trace TraceInfo `json:"trace"`
	Seed  uint64    `json:"seed"`
	// DrawSeed seeded the comparators' samplers when it differs from
	// Seed (gan.FidelityConfig.DrawSeed); 0 or equal to Seed: Seed did.
	DrawSeed uint64 `json:"draw_seed,omitempty"`
	WindowK  int    `json:"window_k"`
	ACFLags  int    `json:"acf_lags"`
	Framing  string `json:"framing"`
	// Primed says the generators continued the training part's
	// conversation (Options.Prime) rather than starting from nothing.
	Primed   bool  `json:"primed"`
	MinFrame int32 `json:"min_frame"`
	// RealDependence is the held-out part's cross-direction dependence.
	RealDependence BySide[metrics.Dependence] `json:"real_dependence"`
	Comparators    []Result                   `json:"comparators"`
	Notes          []string                   `json:"notes,omitempty"`
	Elapsed        float64                    `json:"elapsed_s"`
}

// Result returns the named comparator's result, or nil.
func (r *Report) Result(name string) *Result {
	for i := range r.Comparators {
		if r.Comparators[i].Name == name {
			return &r.Comparators[i]
		}
	}
	return nil
}

// Evaluate runs the fidelity protocol: each comparator with a Sampler
// generates, closed-loop over a virtual clock, as many packets as s's
// held-out part holds; each comparator's packets are compared with the
// held-out part, and only with it. Comparators are evaluated in order.
func Evaluate(ctx context.Context, s *Split, comps []Comparator, opt Options) (*Report, error) {
	start := time.Now()
	if s == nil || s.Test == nil {
		return nil, errors.New("bench: no split")
	}
	if len(comps) == 0 {
		return nil, errors.New("bench: no comparators")
	}
	seen := map[string]bool{}
	for i, c := range comps {
		switch {
		case c.Name == "":
			return nil, fmt.Errorf("bench: comparator %d has no name", i)
		case seen[c.Name]:
			return nil, fmt.Errorf("bench: two comparators named %q", c.Name)
		case c.Sampler == nil && len(c.Packets) == 0:
			return nil, fmt.Errorf("bench: comparator %q has neither a sampler nor packets", c.Name)
		}
		seen[c.Name] = true
	}
	if opt.WindowK == 0 {
		opt.WindowK = DefaultWindowK
	}
	if opt.WindowK < 1 {
		return nil, fmt.Errorf("bench: window length %d < 1", opt.WindowK)
	}
	if opt.C2ST.Seed == 0 {
		opt.C2ST.Seed = opt.Seed
	}
	gen := opt.Gen
	gen.Packets = int64(len(s.Test.Packets))
	gen.Duration = 0
	// The comparison is of what the generators draw: offline framing (no
	// in-band header floor, no MTU ceiling), over the capture's transport.
	gen.Framing.Offline = true
	if s.Conv.Proto == "tcp" {
		gen.Framing.Transport = simulate.TCP
	}
	if opt.Prime {
		h := features.Prime(s.Train)
		gen.Prime = &h
	}

	real, err := metrics.Extract(s.Test.Packets)
	if err != nil {
		return nil, fmt.Errorf("bench: held-out part: %w", err)
	}
	realBursts, err := metrics.Bursts(s.Test.Packets)
	if err != nil {
		return nil, fmt.Errorf("bench: held-out part: %w", err)
	}
	rep := &Report{Seed: opt.Seed, WindowK: opt.WindowK, ACFLags: metrics.ACFLags, Primed: opt.Prime,
		Framing: gen.Framing.String(), MinFrame: gen.Framing.MinFrame()}
	rep.Trace = TraceInfo{
		Source: s.Conv.Source, Server: s.Conv.Server.String(), Client: s.Conv.Client.String(), Proto: s.Conv.Proto,
		Packets: len(s.Conv.Packets), DurationS: float64(s.Conv.Duration()) / 1e9,
		TrainFrac: s.Frac, TrainPackets: len(s.Train.Packets), TestPackets: len(s.Test.Packets),
		TestS: float64(s.Test.Duration()) / 1e9, TrainSHA256: s.TrainSHA256,
	}
	below := 0
	for _, p := range s.Test.Packets {
		if p.Size < rep.MinFrame {
			below++
		}
	}
	rep.Trace.BelowMinFrame = float64(below) / float64(len(s.Test.Packets))
	for _, side := range Sides {
		*rep.Trace.TestCounts.Ptr(side) = countsOf(real[side])
		*rep.RealDependence.Ptr(side) = metrics.CrossDependence(realBursts, side)
	}

	if opt.Dump != "" {
		if err := dumpPcap(opt.Dump, "held-out.pcap", s.Test, s.Test.Packets); err != nil {
			return nil, err
		}
	}
	for _, c := range comps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res := Result{Name: c.Name, Kind: c.Kind, Note: c.Note, Fingerprint: c.Fingerprint}
		pkts := c.Packets
		if c.Sampler != nil {
			var st simulate.GenStats
			pkts, st, err = simulate.GenerateAll(ctx, c.Sampler, gen)
			if err != nil {
				return nil, fmt.Errorf("bench: %s: %w", c.Name, err)
			}
			res.Generation = &GenInfo{Seconds: st.Elapsed.Seconds(), PacketsPerSecond: st.PacketsPerSecond(),
				Bursts: st.Bursts, SamplerCalls: st.SamplerCalls, Clamps: st.Clamps}
		}
		if opt.Dump != "" {
			if err := dumpPcap(opt.Dump, c.Name+".pcap", s.Test, pkts); err != nil {
				return nil, err
			}
		}
		if err := evaluateOne(&res, pkts, real, rep.RealDependence, s.Test.Packets, opt); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", c.Name, err)
		}
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, "bench: %s: %d packets", c.Name, res.Packets)
			if g := res.Generation; g != nil {
				fmt.Fprintf(opt.Log, " generated in %.2f s (%.0f packets/s)", g.Seconds, g.PacketsPerSecond)
			}
			fmt.Fprintln(opt.Log)
		}
		rep.Comparators = append(rep.Comparators, res)
	}
	rep.Elapsed = time.Since(start).Seconds()
	return rep, nil
}

// dumpPcap writes pkts, sent between test's parties, to dir/file, with
// the test conversation's endpoints (the writer's own when the two are one
// address and port, as on loopback without ports) and transport.
func dumpPcap(dir, file string, test *trace.Conversation, pkts []trace.Packet) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: --dump: %w", err)
	}
	opt := trace.WriterOptions{}
	if test.Proto == "tcp" {
		opt.Proto = "tcp"
	}
	c := *test
	c.Source, c.Packets = file, pkts
	if err := trace.WritePcap(filepath.Join(dir, file), &c, opt); err != nil {
		return fmt.Errorf("bench: --dump: %s: %w", file, err)
	}
	return nil
}

// MinPartRows is the fewest rows per class a group of PacketParts needs
// to be tested: 100 leave 30 test rows per class, whose accuracy has a
// standard error of about 0.065 at chance.
const MinPartRows = 100

// c2stPacketsOf is C2ST on the rows metrics.PacketRowsOf keeps of the real
// and the synthetic packets.
func c2stPacketsOf(real, syn []trace.Packet, side trace.Side, opening bool, cfg metrics.C2STConfig) (metrics.C2STResult, error) {
	rr, err := metrics.PacketRowsOf(real, side, opening)
	if err != nil {
		return metrics.C2STResult{}, err
	}
	sr, err := metrics.PacketRowsOf(syn, side, opening)
	if err != nil {
		return metrics.C2STResult{}, err
	}
	if n := min(len(rr), len(sr)); n < MinPartRows {
		return metrics.C2STResult{}, fmt.Errorf("%d real and %d generated rows, fewer than %d", len(rr), len(sr), MinPartRows)
	}
	return metrics.C2ST(rr, sr, cfg)
}

// evaluateOne fills res with pkts compared against the held-out series.
func evaluateOne(res *Result, pkts []trace.Packet, real [2]metrics.Series, realDep BySide[metrics.Dependence], test []trace.Packet, opt Options) error {
	res.Packets = len(pkts)
	res.DurationS = float64(metrics.Span(pkts)) / 1e9
	ratio, n := metrics.TimelineRatio(pkts, test)
	res.TimelineRatio, res.TimelinePackets = Float(ratio), n
	syn, err := metrics.Extract(pkts)
	if err != nil {
		return err
	}
	sb, err := metrics.Budget(pkts[:n])
	if err != nil {
		return err
	}
	rb, err := metrics.Budget(test[:n])
	if err != nil {
		return err
	}
	for _, side := range Sides {
		*res.TimeBudget.Ptr(side), *res.RealTimeBudget.Ptr(side) = sb[side], rb[side]
	}
	bursts, err := metrics.Bursts(pkts)
	if err != nil {
		return err
	}
	var diff float64
	var ndiff int
	for _, side := range Sides {
		*res.Counts.Ptr(side) = countsOf(syn[side])
		*res.Distances.Ptr(side) = metrics.CompareSeries(real[side], syn[side])
		d := metrics.CrossDependence(bursts, side)
		*res.Dependence.Ptr(side) = d
		r := realDep.Get(side)
		for _, pr := range [][2]float64{{d.CountGap, r.CountGap}, {d.BytesGap, r.BytesGap}, {d.CountCount, r.CountCount}, {d.BytesBytes, r.BytesBytes}} {
			if !math.IsNaN(pr[0]) && !math.IsNaN(pr[1]) {
				diff += math.Abs(pr[0] - pr[1])
				ndiff++
			}
		}
	}
	res.DependenceError = Float(math.NaN())
	if ndiff > 0 {
		res.DependenceError = Float(diff / float64(ndiff))
	}
	ks := []int{1, opt.WindowK}
	if opt.WindowK == 1 {
		ks = ks[:1]
	}
	for _, k := range ks {
		r, err := metrics.C2STWindows(test, pkts, k, opt.C2ST)
		if err != nil {
			// Too few rows (a tiny trace or a degenerate generator) is a
			// finding to report, not a reason to lose the other metrics.
			res.Notes = append(res.Notes, fmt.Sprintf("C2ST on windows of %d packet(s) not computed: %v", k, err))
			continue
		}
		if k == 1 {
			res.C2STPacket = &r
		}
		if k == opt.WindowK {
			res.C2STWindow = &r
		}
	}
	if res.C2STPacket != nil {
		res.PacketParts = &PacketParts{}
		for _, part := range packetParts {
			r, err := c2stPacketsOf(test, pkts, part.Side, part.Opening, opt.C2ST)
			if err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("C2ST on packets %s not computed: %v", part.Name, err))
				continue
			}
			*part.Get(res.PacketParts) = &r
		}
	}
	if opt.WindowK > 1 && res.C2STWindow != nil {
		res.WindowParts = &WindowParts{}
		for _, part := range windowParts {
			r, err := metrics.C2STWindowsOf(test, pkts, opt.WindowK, part.Cols, opt.C2ST)
			if err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("C2ST on windows %s not computed: %v", part.Name, err))
				continue
			}
			*part.Get(res.WindowParts) = &r
		}
	}
	return nil
}
