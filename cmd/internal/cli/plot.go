package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/spatgan/spatgan/features"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/spatgan/spatgan/bench"
	"github.com/spatgan/spatgan/bench/gan"
	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/internal/progress"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/visualize"
	"github.com/spatgan/spatgan/visualize/tsne"
)

const plotLong = `Draws a figure to --out; the extension (.png or .svg) picks the format.

The real side is --trace (default: the embedded Skype call). The synthetic
side is --syn FILE (e.g. from spatgan generate), or --bundle DIR, which
generates it on the fly and compares with the held-out part of the capture
the bundle was trained on (refusing a --trace it was not trained on).
Without either, flow, dist, pca and tsne draw the capture alone.

examples:
  spatgan plot flow --trace my.pcap --out flow.png
  spatgan plot dist --bundle out/bundle --out dist.png
  spatgan plot tsne --trace default --syn gen.pcap --sample 10000 --out tsne.png
  spatgan plot report --syn gen.pcap --split 0.8 --loss out/bundle/loss.csv --out report.svg
  spatgan plot loss --loss out/bundle/loss.csv --out loss.png`

func plotCmd() *cobra.Command {
	var subs []*cobra.Command
	for _, k := range []string{"flow", "pca", "tsne", "dist", "loss", "report"} {
		subs = append(subs, plotKindCmd(k))
	}
	return group("plot", "draw figures of a capture, alone or against synthetic traffic (plot flow|pca|tsne|dist|loss|report)", plotLong, subs...)
}

var plotShort = map[string]string{
	"flow":   "packet size over time for a window, server up and client down",
	"pca":    "rows on the first two principal components of the real rows",
	"tsne":   "Barnes-Hut t-SNE of the rows",
	"dist":   "per-direction CDFs, histograms (and QQ plots) of size, inter-arrival time, burst length and reply gap",
	"loss":   "training curves of a loss log (a bundle's loss.csv)",
	"report": "a dashboard of synthetic against real traffic",
}

var plotSummary = map[string]string{
	"flow": "Draw packet size over time for a window of each conversation (--window, after each trace's first\n" +
		"packet): the server's packets upward, the client's downward, real above synthetic on the same axes.",
	"pca": "Project the (cumulative time, size, log10 merged delta) rows of both traces, standardised with the\n" +
		"real rows' scaler, on the first two principal components of the real rows; the explained variance\n" +
		"is in the legend. --sample rows per set are drawn (the PCA is fitted on every real row).",
	"tsne": "Embed --sample (cumulative time, size, log10 merged delta) rows of each trace together with\n" +
		"Barnes-Hut t-SNE (seeded; perplexity 30 by default) and draw them coloured by set. 5000+5000 rows\n" +
		"take some seconds, 10000+10000 well under a minute on two cores.",
	"dist": "Compare per-direction distributions: CDFs (log time axes), histograms on the fidelity bins and\n" +
		"QQ plots of packet size, inter-arrival time, burst length and reply gap, with KS distances.",
	"loss": "Draw the training curves of a loss log, one column per model: generator loss, critic on real\n" +
		"and generated rows, Wasserstein estimate and gradient penalty, and the held-out KS / C2ST checks.",
	"report": "Draw one dashboard of a synthetic trace against a real one (--bundle compares with the held-out\n" +
		"part of the capture it was trained on): flow charts, PCA, t-SNE, CDFs, QQ plots, and the\n" +
		"training curves (--loss, or the bundle's loss.csv).",
}

// plotFlags are the flags of every figure.
type plotFlags struct {
	tr                 traceFlags
	syn                string
	synServer          string
	synClient          string
	split              float64
	out, title         string
	realName, synName  string
	window             string
	sample             int
	seed               uint64
	logDelta, rawDelta bool
	perplexity, theta  float64
	iterations         int
	lossLog            string
	bundle             string
	quiet              bool
}

func plotKindCmd(kind string) *cobra.Command {
	use := kind + " --out FIG.png|FIG.svg [--trace FILE] [--syn FILE | --bundle DIR] [flags]"
	if kind == "loss" {
		use = "loss --loss loss.csv --out FIG.png|FIG.svg [flags]"
	}
	cmd := &cobra.Command{Use: use, Short: plotShort[kind], Long: plotSummary[kind], Args: noArgs}
	fs := cmd.Flags()
	var f plotFlags
	fs.StringVar(&f.out, "out", "", "figure to write: .png or .svg (required)")
	fs.StringVar(&f.title, "title", "", "figure title (default: one naming the figure and the data)")
	if kind != "loss" {
		f.tr.register(fs)
		alias(fs, "real", "trace")
		alias(fs, "real-server", "server")
		alias(fs, "real-client", "client")
		fs.StringVar(&f.syn, "syn", "", "synthetic traffic: a pcap, pcapng or CSV file, e.g. from spatgan generate")
		fs.StringVar(&f.bundle, "bundle", "", "generate the synthetic traffic on the fly from this model bundle and compare with the held-out part of the capture it was trained on")
		fs.StringVar(&f.synServer, "syn-server", "", "server endpoint in --syn (default: "+trace.DefaultServer.Addr.String()+", the address spatgan generate and simulate write, if the file has it; else chosen automatically)")
		fs.StringVar(&f.synClient, "syn-client", "", "client endpoint in --syn (default: chosen automatically)")
		fs.Float64Var(&f.split, "split", 0, "compare with the held-out part of --trace only: the part after this fraction of its duration, e.g. 0.8 (0: the whole trace; with --bundle: the bundle's split)")
		fs.StringVar(&f.realName, "real-name", "real", "name of the real data in legends")
		fs.StringVar(&f.synName, "syn-name", "synthetic", "name of the synthetic data in legends (SPATGAN with --bundle)")
		fs.Uint64Var(&f.seed, "seed", 1, "seed of the generator (--bundle), the row sampler and t-SNE")
		fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	}
	switch kind {
	case "flow", "report":
		fs.StringVar(&f.window, "window", "0s:2s", "flow chart window after each trace's first packet: START:END or START+LENGTH (Go durations, e.g. 60s+2s)")
	}
	switch kind {
	case "pca", "tsne", "report":
		def := map[string]int{"pca": visualize.DefaultScatterSample, "tsne": visualize.DefaultTSNESample, "report": visualize.DefaultReportTSNESample}[kind]
		fs.IntVar(&f.sample, "sample", 0, fmt.Sprintf("rows drawn per data set, uniformly without replacement (0: %d; -1: all)", def))
	}
	switch kind {
	case "pca", "tsne", "report":
		fs.BoolVar(&f.rawDelta, "raw-delta", false, "use the raw merged delta instead of its log10 (long pauses then dominate)")
		fs.BoolVar(&f.logDelta, "log-delta", true, "use log10 of the merged delta (the default)")
		fs.MarkHidden("log-delta")
	}
	switch kind {
	case "tsne", "report":
		fs.Float64Var(&f.perplexity, "perplexity", tsne.DefaultPerplexity, "t-SNE perplexity")
		fs.Float64Var(&f.theta, "theta", 0.5, "Barnes-Hut opening angle (smaller: slower, closer to exact)")
		fs.IntVar(&f.iterations, "iterations", 1000, "t-SNE iterations (the first 250 with early exaggeration)")
	}
	switch kind {
	case "loss":
		fs.StringVar(&f.lossLog, "loss", "", "loss log to draw: the loss.csv that spatgan train writes in the bundle (required)")
		alias(fs, "log", "loss")
	case "report":
		fs.StringVar(&f.lossLog, "loss", "", "also draw the training curves of this loss log (default with --bundle: its loss.csv)")
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if f.rawDelta {
			f.logDelta = false
		}
		return runPlot(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), kind, f, changed(fs, "trace", "real"), changed(fs, "syn-name"))
	}
	return cmd
}

func runPlot(ctx context.Context, stdout, stderr io.Writer, kind string, f plotFlags, traceGiven, synNameGiven bool) error {
	name := "plot " + kind
	if f.out == "" {
		return fmt.Errorf("%s: --out FIG.png or FIG.svg is required", name)
	}
	// Fail on a bad output path before reading traces or running t-SNE.
	if err := visualize.CheckOutput(f.out); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	opt := visualize.Options{Title: f.title, RealName: f.realName, SynName: f.synName, Sample: f.sample,
		Seed: f.seed, LogDelta: f.logDelta,
		TSNE: tsne.Config{Perplexity: f.perplexity, Theta: f.theta, Iterations: f.iterations}}
	if f.window != "" {
		w, err := visualize.ParseWindow(f.window)
		if err != nil {
			return fmt.Errorf("%s: --window: %w", name, err)
		}
		opt.Window = w
	}
	if kind == "tsne" || kind == "report" {
		if !(f.perplexity > 0) || !(f.theta > 0) || f.iterations < 1 {
			return fmt.Errorf("%s: --perplexity and --theta must be positive and --iterations at least 1", name)
		}
	}
	if f.sample < -1 {
		return fmt.Errorf("%s: --sample %d: want a row count, 0 for the default or -1 for all rows", name, f.sample)
	}
	if f.split != 0 && !(f.split > 0 && f.split < 1) {
		return fmt.Errorf("%s: --split %v: want a fraction between 0 and 1", name, f.split)
	}
	if f.lossLog != "" {
		recs, err := visualize.ReadLossLogFile(f.lossLog)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		opt.Loss = recs
	}

	var fig *visualize.Figure
	var err error
	if kind == "loss" {
		if f.lossLog == "" {
			return errors.New("plot loss: --loss loss.csv is required")
		}
		fig, err = visualize.LossFigure(opt.Loss, opt)
	} else {
		if f.syn != "" && f.bundle != "" {
			return fmt.Errorf("%s: give --syn FILE or --bundle DIR, not both", name)
		}
		if kind == "report" && f.syn == "" && f.bundle == "" {
			return fmt.Errorf("%s: a report compares synthetic with real traffic: give --syn FILE or --bundle DIR (flow, dist, pca and tsne draw a capture alone)", name)
		}
		var real, syn *trace.Conversation
		var prime *features.History // the bundle continues the training part, as in bench fidelity
		if f.bundle != "" {
			var split *bench.Split
			if split, err = bundleReal(&f, &opt, traceGiven, synNameGiven, stderr); err == nil {
				real = split.Test
				h := features.Prime(split.Train)
				prime = &h
			}
		} else {
			real, err = loadReal(f, traceGiven, stderr)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		var synPkts []trace.Packet // nil: the capture alone
		switch {
		case f.bundle != "":
			syn, err = generateFromBundle(ctx, f.bundle, f.seed, len(real.Packets), prime, f.quiet, stderr)
		case f.syn != "":
			syn, err = loadSynthetic(f, stderr)
		default:
			fmt.Fprintf(stderr, "no --syn or --bundle: drawing %s alone\n", real.Source)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if syn != nil {
			synPkts = syn.Packets
		}
		if synPkts == nil && f.realName == "real" {
			// The capture alone: name it rather than "real".
			opt.RealName = captureName(real.Source)
		}
		fig, err = drawFigure(ctx, kind, real.Packets, synPkts, opt, f.quiet, stderr)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := fig.Save(f.out); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(stdout, "wrote %s (%s)\n", f.out, kind)
	return nil
}

// loadReal reads the real conversation of --trace, or its held-out part
// with --split, and says which.
func loadReal(f plotFlags, traceGiven bool, stderr io.Writer) (*trace.Conversation, error) {
	c, err := f.tr.loadQuiet()
	if err != nil {
		return nil, err
	}
	warnTruncated(stderr, c)
	fmt.Fprintf(stderr, "real: %s, server %s, client %s, %d packets\n", c.Source, c.Server, c.Client, len(c.Packets))
	if !traceGiven && f.syn != "" {
		fmt.Fprintln(stderr, "real: no --trace given, so the embedded Skype call; give --trace FILE to compare with your capture")
	}
	if f.split == 0 {
		if f.syn != "" {
			fmt.Fprintln(stderr, "real: the whole trace (--split 0.8 compares with its held-out last 20% only)")
		}
		return c, nil
	}
	_, test, err := c.SplitAt(f.split)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "real: held-out part after %.0f%% of the duration, %d packets\n", 100*f.split, len(test.Packets))
	return test, nil
}

// loadQuiet reads the conversation of the trace flags without printing.
func (t *traceFlags) loadQuiet() (*trace.Conversation, error) {
	if t.isDefault() {
		if t.server != "" || t.client != "" {
			return nil, errors.New("--server and --client apply to --trace FILE, not to the embedded trace")
		}
		return trace.Default()
	}
	return trace.Load(t.path, t.sel())
}

// bundleReal returns the held-out part of the capture the bundle was
// trained on: --trace if given (refused unless the bundle was trained on
// it, as bench fidelity does), else the capture its manifest names. It also
// fills what a bundle implies: its loss log for the report and the legend
// name.
func bundleReal(f *plotFlags, opt *visualize.Options, traceGiven, synNameGiven bool, stderr io.Writer) (*bench.Split, error) {
	m, _, err := bundle.ReadManifest(f.bundle)
	if err != nil {
		return nil, err
	}
	if f.split != 0 && f.split != m.Trace.TrainFrac {
		return nil, fmt.Errorf("--split %g: bundle %s was trained on the first %g of its capture; its held-out part is compared (omit --split)", f.split, f.bundle, m.Trace.TrainFrac)
	}
	var conv *trace.Conversation
	how := "--trace"
	if traceGiven {
		conv, err = f.tr.loadQuiet()
	} else {
		how = "the capture the bundle was trained on"
		switch {
		case m.Trace.Source == trace.DefaultSource:
			conv, err = trace.Default()
		case m.Trace.Source == "":
			return nil, fmt.Errorf("bundle %s does not name its training capture: give --trace FILE", f.bundle)
		default:
			if _, serr := os.Stat(m.Trace.Source); serr != nil {
				return nil, fmt.Errorf("bundle %s was trained on %s, which is not here: give --trace FILE", f.bundle, m.Trace.Source)
			}
			conv, err = trace.Load(m.Trace.Source, trace.Select{Server: m.Trace.Server, Client: m.Trace.Client, Proto: m.Trace.Proto, Strict: f.tr.strict})
		}
	}
	if err != nil {
		return nil, err
	}
	warnTruncated(stderr, conv)
	split, err := bench.NewSplit(conv, m.Trace.TrainFrac)
	if err != nil {
		return nil, err
	}
	if _, err := gan.CheckBundle(split, f.bundle); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "real: held-out last %.0f%% of %s (%s; server %s, client %s), %d packets: never seen in training\n",
		100*(1-m.Trace.TrainFrac), conv.Source, how, conv.Server, conv.Client, len(split.Test.Packets))
	if !synNameGiven {
		opt.SynName = "SPATGAN"
	}
	if f.lossLog == "" && opt.Loss == nil {
		if recs, err := visualize.ReadLossLogFile(filepath.Join(f.bundle, "loss.csv")); err == nil {
			opt.Loss = recs
		}
	}
	return split, nil
}

// generateFromBundle runs the offline closed-loop generator of a bundle for
// n packets, with a progress bar, continuing prime when it is not nil.
func generateFromBundle(ctx context.Context, dir string, seed uint64, n int, prime *features.History, quiet bool, stderr io.Writer) (*trace.Conversation, error) {
	s, _, err := openBundleSampler(dir, seed)
	if err != nil {
		return nil, err
	}
	if c, ok := s.(io.Closer); ok {
		defer c.Close()
	}
	opt := simulate.GenOptions{Packets: int64(n), Prime: prime}
	var bar *genBar
	if !quiet {
		bar = newGenBar(stderr, "generate", opt, 1)
	}
	pkts := make([]trace.Packet, 0, n)
	st, err := simulate.Generate(ctx, s, opt, func(e simulate.Event) error {
		bar.add(e.Packet.TS)
		pkts = append(pkts, e.Packet)
		return nil
	})
	bar.finish(err == nil)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "synthetic: %d packets generated from %s (%.0f packets/s)\n", len(pkts), dir, st.PacketsPerSecond())
	return &trace.Conversation{Server: trace.DefaultServer, Client: trace.DefaultClient, Proto: "udp",
		Source: "bundle:" + dir, Packets: pkts}, nil
}

// loadSynthetic reads the synthetic conversation from a capture or CSV
// file.
func loadSynthetic(f plotFlags, stderr io.Writer) (*trace.Conversation, error) {
	sel := trace.Select{Server: f.synServer, Client: f.synClient, Proto: f.tr.proto, Strict: f.tr.strict}
	var c *trace.Conversation
	var err error
	if sel.Server == "" && sel.Client == "" {
		// Files written by spatgan generate and simulate use fixed
		// addresses: take their server as the server when present.
		sel.Server = trace.DefaultServer.Addr.String()
		c, err = trace.Load(f.syn, sel)
		if errors.Is(err, trace.ErrNoConversation) {
			sel.Server = ""
			c, err = trace.Load(f.syn, sel)
		}
	} else {
		c, err = trace.Load(f.syn, sel)
	}
	if err != nil {
		return nil, err
	}
	warnTruncated(stderr, c)
	fmt.Fprintf(stderr, "synthetic: %s, server %s, client %s, %d packets\n", c.Source, c.Server, c.Client, len(c.Packets))
	return c, nil
}

func drawFigure(ctx context.Context, kind string, real, syn []trace.Packet, opt visualize.Options, quiet bool, stderr io.Writer) (*visualize.Figure, error) {
	switch kind {
	case "flow":
		return visualize.FlowFigure(real, syn, opt)
	case "pca":
		return visualize.PCAFigure(real, syn, opt)
	case "dist":
		return visualize.DistFigure(real, syn, opt)
	case "tsne", "report":
		start := time.Now()
		var fig *visualize.Figure
		var err error
		var bar *progress.Bar
		if !quiet {
			n := opt.TSNE.Iterations
			if n == 0 {
				n = 1000
			}
			bar = progress.New(stderr, "t-SNE", int64(n), "iterations")
			opt.TSNE.Progress = func(int, int) { bar.Add(1, "") }
		}
		if kind == "tsne" {
			fig, err = visualize.TSNEFigure(ctx, real, syn, opt)
		} else {
			fig, err = visualize.ReportFigure(ctx, real, syn, opt)
		}
		if bar != nil {
			bar.Finish()
		}
		if err == nil {
			fmt.Fprintf(stderr, "%s: %.1f s\n", kind, time.Since(start).Seconds())
		}
		return fig, err
	}
	return nil, fmt.Errorf("unknown figure %q", kind)
}

// captureName names a capture in figures: its file name, or "Skype call"
// for the embedded one.
func captureName(source string) string {
	if source == trace.DefaultSource {
		return "Skype call (embedded)"
	}
	return filepath.Base(source)
}
