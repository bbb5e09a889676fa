package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/visualize"
	"github.com/spatgan/spatgan/visualize/tsne"
)

func init() {
	register(command{name: "plot", summary: "draw figures of synthetic against real traffic (plot flow|pca|tsne|dist|loss|report)", run: runPlot})
}

const plotUsage = `usage: spatgan plot KIND [flags]   (spatgan plot KIND --help for the flags)

Draws a figure to --out; the extension (.png or .svg) picks the format.

kinds:
  flow    packet size over time for a window, server up and client down,
          real above synthetic
  pca     rows (cumulative time, size, merged delta), standardised on the
          real rows, on the first two principal components of the real rows
  tsne    Barnes-Hut t-SNE (perplexity 30) of real and synthetic rows together
  dist    per-direction CDFs, histograms and QQ plots of size,
          inter-arrival time, burst length and reply gap
  loss    training curves of a loss log (a bundle's loss.csv)
  report  a dashboard of the above

examples:
  spatgan plot flow --syn gen.pcap --window 60s+2s --out flow.png
  spatgan plot tsne --real default --syn gen.pcap --sample 10000 --out tsne.png
  spatgan plot report --syn gen.pcap --split 0.8 --loss out/bundle/loss.csv --out report.svg
  spatgan plot loss --log out/bundle/loss.csv --out loss.png`

var plotKinds = map[string]bool{"flow": true, "pca": true, "tsne": true, "dist": true, "loss": true, "report": true}

func runPlot(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, plotUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	kind := args[0]
	if !plotKinds[kind] {
		fmt.Fprintln(stderr, plotUsage)
		return fmt.Errorf("plot: unknown figure %q (want flow, pca, tsne, dist, loss or report)", kind)
	}
	return runPlotKind(ctx, stdout, stderr, kind, args[1:])
}

// plotFlags are the flags of every figure.
type plotFlags struct {
	real, realServer, realClient string
	syn, synServer, synClient    string
	proto                        string
	split                        float64
	out, title                   string
	realName, synName            string
	window                       string
	sample                       int
	seed                         uint64
	logDelta                     bool
	perplexity, theta            float64
	iterations                   int
	lossLog                      string
	bundle                       string
}

func runPlotKind(ctx context.Context, stdout, stderr io.Writer, kind string, args []string) error {
	needsTraces := kind != "loss"
	argsHelp := "--real FILE|default --syn FILE --out FIG.png|FIG.svg [flags]"
	if !needsTraces {
		argsHelp = "--log loss.csv --out FIG.png|FIG.svg [flags]"
	}
	fs := newFlagSet("plot "+kind, argsHelp, plotSummary[kind], stderr)
	var f plotFlags
	fs.StringVar(&f.out, "out", "", "figure to write: .png or .svg (required)")
	fs.StringVar(&f.title, "title", "", "figure title (default: one naming the figure and the data)")
	if needsTraces {
		fs.StringVar(&f.real, "real", "default", "real capture (pcap, pcapng or CSV), or \"default\" for the embedded Skype call")
		fs.StringVar(&f.realServer, "real-server", "", "server endpoint ADDR[:PORT] in --real (default: chosen automatically)")
		fs.StringVar(&f.realClient, "real-client", "", "client endpoint ADDR[:PORT] in --real (default: chosen automatically)")
		fs.StringVar(&f.syn, "syn", "", "synthetic traffic: a pcap, pcapng or CSV file, e.g. from spatgan generate (this or --bundle is required)")
		fs.StringVar(&f.bundle, "bundle", "", "generate the synthetic traffic on the fly from this model bundle (as many packets as the real data; --split defaults to the bundle's held-out split; report draws its loss.csv)")
		fs.StringVar(&f.synServer, "syn-server", "", "server endpoint in --syn (default: "+trace.DefaultServer.Addr.String()+", the address spatgan generate and simulate write, if the file has it; else chosen automatically)")
		fs.StringVar(&f.synClient, "syn-client", "", "client endpoint in --syn (default: chosen automatically)")
		fs.StringVar(&f.proto, "proto", "any", "protocol of both conversations: udp, tcp or any")
		fs.Float64Var(&f.split, "split", 0, "compare with the held-out part of the real trace only: the part after this fraction of its duration, e.g. 0.8 (0: the whole trace)")
		fs.StringVar(&f.realName, "real-name", "real", "name of the real data in legends")
		fs.StringVar(&f.synName, "syn-name", "synthetic", "name of the synthetic data in legends")
		fs.Uint64Var(&f.seed, "seed", 1, "seed of the row sampler and of t-SNE")
	} else {
		fs.StringVar(&f.lossLog, "log", "", "loss log to draw: the loss.csv that spatgan train writes in the bundle (required)")
	}
	switch kind {
	case "flow", "report":
		fs.StringVar(&f.window, "window", "0s:2s", "flow chart window after each trace's first packet: START:END or START+LENGTH (Go durations)")
	}
	switch kind {
	case "pca", "tsne", "report":
		def := map[string]int{"pca": visualize.DefaultScatterSample, "tsne": visualize.DefaultTSNESample, "report": visualize.DefaultReportTSNESample}[kind]
		fs.IntVar(&f.sample, "sample", 0, fmt.Sprintf("rows drawn per data set, uniformly without replacement (0: %d; -1: all)", def))
		fs.BoolVar(&f.logDelta, "log-delta", false, "use log10 of the merged delta instead of the raw value (keeps long pauses from dominating)")
	}
	switch kind {
	case "tsne", "report":
		fs.Float64Var(&f.perplexity, "perplexity", tsne.DefaultPerplexity, "t-SNE perplexity")
		fs.Float64Var(&f.theta, "theta", 0.5, "Barnes-Hut opening angle (smaller: slower, closer to exact)")
		fs.IntVar(&f.iterations, "iterations", 1000, "t-SNE iterations (the first 250 with early exaggeration)")
	}
	if kind == "report" {
		fs.StringVar(&f.lossLog, "loss", "", "also draw the training curves of this loss log (a bundle's loss.csv)")
	}
	if err := parseFlags(fs, args); err != nil {
		return ignoreHelp(err)
	}
	if f.out == "" {
		fs.Usage()
		return fmt.Errorf("plot %s: --out FIG.png or FIG.svg is required", kind)
	}
	// Fail on a bad output path before reading traces or running t-SNE.
	if err := visualize.CheckOutput(f.out); err != nil {
		return fmt.Errorf("plot %s: %w", kind, err)
	}
	opt := visualize.Options{Title: f.title, RealName: f.realName, SynName: f.synName, Sample: f.sample,
		Seed: f.seed, LogDelta: f.logDelta,
		TSNE: tsne.Config{Perplexity: f.perplexity, Theta: f.theta, Iterations: f.iterations}}
	if f.window != "" {
		w, err := visualize.ParseWindow(f.window)
		if err != nil {
			return fmt.Errorf("plot %s: --window: %w", kind, err)
		}
		opt.Window = w
	}
	if kind == "tsne" || kind == "report" {
		if !(f.perplexity > 0) || !(f.theta > 0) || f.iterations < 1 {
			return fmt.Errorf("plot %s: --perplexity and --theta must be positive and --iterations at least 1", kind)
		}
	}
	if f.sample < -1 {
		return fmt.Errorf("plot %s: --sample %d: want a row count, 0 for the default or -1 for all rows", kind, f.sample)
	}
	if f.lossLog != "" {
		recs, err := visualize.ReadLossLogFile(f.lossLog)
		if err != nil {
			return fmt.Errorf("plot %s: %w", kind, err)
		}
		opt.Loss = recs
	}

	var fig *visualize.Figure
	var err error
	if kind == "loss" {
		if f.lossLog == "" {
			fs.Usage()
			return errors.New("plot loss: --log loss.csv is required")
		}
		fig, err = visualize.LossFigure(opt.Loss, opt)
	} else {
		if (f.syn == "") == (f.bundle == "") {
			fs.Usage()
			return fmt.Errorf("plot %s: give one of --syn FILE and --bundle DIR", kind)
		}
		if f.bundle != "" {
			if err := bundleDefaults(&f, &opt); err != nil {
				return fmt.Errorf("plot %s: %w", kind, err)
			}
		}
		var real, syn *trace.Conversation
		real, err = loadReal(f, stderr)
		if err != nil {
			return fmt.Errorf("plot %s: %w", kind, err)
		}
		if f.bundle != "" {
			syn, err = generateFromBundle(ctx, f.bundle, f.seed, len(real.Packets), stderr)
		} else {
			syn, err = loadSynthetic(f, stderr)
		}
		if err != nil {
			return fmt.Errorf("plot %s: %w", kind, err)
		}
		fig, err = drawFigure(ctx, kind, real.Packets, syn.Packets, opt, stderr)
	}
	if err != nil {
		return fmt.Errorf("plot %s: %w", kind, err)
	}
	if err := fig.Save(f.out); err != nil {
		return fmt.Errorf("plot %s: %w", kind, err)
	}
	fmt.Fprintf(stdout, "wrote %s (%s)\n", f.out, kind)
	return nil
}

var plotSummary = map[string]string{
	"flow": "Draw packet size over time for a window of each conversation (--window, after each trace's first\n" +
		"packet): the server's packets upward, the client's downward, real above synthetic on the same axes.",
	"pca": "Project the (cumulative time, size, merged delta) rows of both traces, standardised with the\n" +
		"real rows' scaler, on the first two principal components of the real rows; the explained variance\n" +
		"is in the legend. --sample rows per set are drawn (the PCA is fitted on every real row).",
	"tsne": "Embed --sample rows of each trace together with Barnes-Hut t-SNE (seeded; perplexity 30 by\n" +
		"default) and draw them coloured by set. 5000+5000 rows take some seconds, 10000+10000 well under a\n" +
		"minute on two cores.",
	"dist": "Compare per-direction distributions: CDFs (log time axes), histograms on the fidelity bins and\n" +
		"QQ plots of packet size, inter-arrival time, burst length and reply gap, with KS distances.",
	"loss": "Draw the training curves of a loss log, one column per model: generator loss, critic on real\n" +
		"and generated rows, Wasserstein estimate and gradient penalty, and the held-out KS / C2ST checks.",
	"report": "Draw one dashboard of a synthetic trace against a real one (use --split to compare with the\n" +
		"held-out part of the trace a bundle was trained on): flow charts, PCA, t-SNE, CDFs, QQ plots, and\n" +
		"the training curves with --loss.",
}

// loadReal reads the real conversation, or its held-out part with --split.
func loadReal(f plotFlags, stderr io.Writer) (*trace.Conversation, error) {
	var c *trace.Conversation
	var err error
	if f.real == "default" || f.real == "" {
		if f.realServer != "" || f.realClient != "" {
			return nil, errors.New("--real-server and --real-client apply to --real FILE, not to the embedded trace")
		}
		c, err = trace.Default()
	} else {
		c, err = trace.Load(f.real, trace.Select{Server: f.realServer, Client: f.realClient, Proto: f.proto})
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "real: %s, server %s, client %s, %d packets\n", c.Source, c.Server, c.Client, len(c.Packets))
	if f.split != 0 {
		if !(f.split > 0 && f.split < 1) {
			return nil, fmt.Errorf("--split %v: want a fraction between 0 and 1", f.split)
		}
		_, test, err := c.SplitAt(f.split)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "real: held-out part after %.0f%% of the duration, %d packets\n", 100*f.split, len(test.Packets))
		c = test
	}
	return c, nil
}

// bundleDefaults fills what a bundle implies: the held-out split it was
// trained with, its loss log for the report, and the legend name.
func bundleDefaults(f *plotFlags, opt *visualize.Options) error {
	m, _, err := bundle.ReadManifest(f.bundle)
	if err != nil {
		return err
	}
	if f.split == 0 && (f.real == "default" || f.real == "") && m.Trace.Source == trace.DefaultSource {
		f.split = m.Trace.TrainFrac
	}
	if f.synName == "synthetic" {
		opt.SynName = "SPATGAN"
	}
	if f.lossLog == "" && opt.Loss == nil {
		if recs, err := visualize.ReadLossLogFile(filepath.Join(f.bundle, "loss.csv")); err == nil {
			opt.Loss = recs
		}
	}
	return nil
}

// generateFromBundle runs the offline closed-loop generator of a bundle for
// n packets.
func generateFromBundle(ctx context.Context, dir string, seed uint64, n int, stderr io.Writer) (*trace.Conversation, error) {
	s, _, err := openBundleSampler(dir, int64(seed))
	if err != nil {
		return nil, err
	}
	if c, ok := s.(io.Closer); ok {
		defer c.Close()
	}
	pkts, st, err := simulate.GenerateAll(ctx, s, simulate.GenOptions{Packets: int64(n)})
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
	sel := trace.Select{Server: f.synServer, Client: f.synClient, Proto: f.proto}
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
	fmt.Fprintf(stderr, "synthetic: %s, server %s, client %s, %d packets\n", c.Source, c.Server, c.Client, len(c.Packets))
	return c, nil
}

func drawFigure(ctx context.Context, kind string, real, syn []trace.Packet, opt visualize.Options, stderr io.Writer) (*visualize.Figure, error) {
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
		if kind == "tsne" {
			fmt.Fprintln(stderr, "t-SNE: running...")
			fig, err = visualize.TSNEFigure(ctx, real, syn, opt)
		} else {
			fmt.Fprintln(stderr, "report: running t-SNE and drawing...")
			fig, err = visualize.ReportFigure(ctx, real, syn, opt)
		}
		if err == nil {
			fmt.Fprintf(stderr, "%s: %.1f s\n", kind, time.Since(start).Seconds())
		}
		return fig, err
	}
	return nil, fmt.Errorf("unknown figure %q", kind)
}
