package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spatgan/spatgan/bench"
	"github.com/spatgan/spatgan/bench/gan"
	"github.com/spatgan/spatgan/internal/progress"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/trace"
)

func benchCmd() *cobra.Command {
	return group("bench", "measure fidelity against held-out real traffic and baselines (bench fidelity)",
		"Speed benchmarks are Go benchmarks: make bench (see BENCHMARKS.md).", benchFidelityCmd())
}

func benchFidelityCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "fidelity [flags]", Short: "compare a bundle and the baselines with the held-out part of a conversation",
		Long: "Split a real conversation in time, generate as many packets as the held-out part holds with the\n" +
			"bundle(s) and the baselines fitted on the training part, and compare each with the held-out part\n" +
			"only (KS / W1 / JSD per feature and direction, ACF error, cross-direction dependence, C2ST), next\n" +
			"to the noise floor (the real training part against the held-out part). Prints Markdown.\n" +
			"Without --bundle a quick default bundle is trained first (--steps).",
		Args: noArgs}
	fs := cmd.Flags()
	var tr traceFlags
	tr.register(fs)
	bundleDir := fs.String("bundle", "", "bundle trained on this trace (default configuration); empty: train a quick one")
	paper := fs.String("paper-bundle", "", "bundle of the paper configuration trained on this trace (optional column)")
	steps := fs.Int("steps", gan.DefaultQuickSteps, "generator steps per model of the quick bundle trained without --bundle")
	quickOut := fs.String("quick-out", "", "keep the quick bundle in this directory (default: a temporary directory, removed)")
	upto := fs.Float64("upto", 1, "use only the first FRAC of the conversation's duration (model selection: train and evaluate inside the training part, never reading the held-out rest)")
	frac := fs.Float64("train-frac", 0, "training fraction of the duration when no bundle fixes it (0: the bundle's, else "+strconv.FormatFloat(trace.DefaultTrainFrac, 'g', -1, 64)+")")
	out := fs.String("out", "", "write the Markdown report to this file (default: standard output)")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	seed := fs.Uint64("seed", 1, "random seed (quick training, samplers, classifier tests)")
	drawSeed := fs.Uint64("draw-seed", 0, "seed of the generators' draws (models and baselines) when not 0, --seed still seeding training and the classifier tests: runs that differ only by --draw-seed show how much the draws alone move each score")
	window := fs.Int("window", bench.DefaultWindowK, "window length of the windowed classifier test")
	baselines := fs.String("baselines", strings.Join(bench.DefaultBaselines(), ","), "comma-separated baselines to fit on the training part (empty: none)")
	quiet := fs.Bool("quiet", false, "no progress output")
	dump := fs.String("dump", "", "write the held-out part and every comparator's packets as pcap into this directory (held-out.pcap, NAME.pcap), for a look at what was scored")
	prime := fs.Bool("prime", true, "generators continue the conversation from the training part's last bursts (--prime=false: start from nothing)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx, stdout, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
		if err := atLeast("bench fidelity", bound{"steps", int64(*steps), 1, ""}, bound{"window", int64(*window), 1, ""}); err != nil {
			return err
		}
		if !(*frac >= 0 && *frac < 1) {
			return fmt.Errorf("bench fidelity: --train-frac %g: want a fraction between 0 and 1 (0: the bundle's)", *frac)
		}
		if !(*upto > 0 && *upto <= 1) {
			return fmt.Errorf("bench fidelity: --upto %g: want a fraction in (0, 1]", *upto)
		}
		return runBenchFidelity(ctx, stdout, stderr, tr, *bundleDir, *paper, *steps, *quickOut, *upto, *frac, *out, *jsonOut, *seed, *drawSeed, *window, *baselines, *quiet, *prime, *dump)
	}
	return cmd
}

func runBenchFidelity(ctx context.Context, stdout, stderr io.Writer, tr traceFlags, bundleDir, paper string, steps int, quickOut string,
	upto, frac float64, out, jsonOut string, seed, drawSeed uint64, window int, baselines string, quiet, prime bool, dump string) error {
	conv, err := tr.load(stderr)
	if err != nil {
		return err
	}
	if upto != 1 {
		head, _, err := conv.SplitAt(upto)
		if err != nil {
			return fmt.Errorf("bench fidelity: --upto: %w", err)
		}
		conv = head
	}
	names := []string{}
	for _, n := range strings.Split(baselines, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	// Generated traffic is framed like the capture's (TCP for a TCP
	// capture), as generate and simulate do.
	t, why := captureTransport(conv.Proto, conv.Packets)
	fmt.Fprintf(stderr, "transport of the generated traffic: %s (the protocol of %s: %s)\n", t, conv.Source, why)
	cfg := gan.FidelityConfig{Conv: conv, Bundle: bundleDir, PaperBundle: paper, TrainFrac: frac,
		QuickSteps: steps, QuickOut: quickOut, Baselines: names, Seed: seed, DrawSeed: drawSeed,
		Options: bench.Options{WindowK: window, Prime: prime, Dump: dump, Gen: simulate.GenOptions{Framing: simulate.NewFraming(t, conv.Server.Addr.Is6())}}}
	if !quiet {
		cfg.Progress = stderr
		// One step per comparator: the noise floor, the bundle(s), the
		// baselines; Evaluate writes one line as each is done.
		n := 2 + len(names)
		if paper != "" {
			n++
		}
		lb := &lineBar{bar: progress.New(stderr, "bench", int64(n), "comparators")}
		defer lb.bar.Finish()
		cfg.Options.Log = lb
	}
	rep, err := gan.RunFidelity(ctx, cfg)
	if err != nil {
		return err
	}
	if out == "" {
		if err := rep.WriteMarkdown(stdout); err != nil {
			return err
		}
	} else {
		var b bytes.Buffer
		if err := rep.WriteMarkdown(&b); err != nil {
			return err
		}
		if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("bench fidelity: %w", err)
		}
		fmt.Fprintf(stderr, "report written to %s\n", out)
	}
	if jsonOut != "" {
		if err := rep.WriteJSONFile(jsonOut); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "report written to %s\n", jsonOut)
	}
	return nil
}

// lineBar advances a progress bar by one for each line written to it,
// showing the line (without its "bench: " prefix) as the status.
type lineBar struct {
	bar *progress.Bar
	buf []byte
}

func (l *lineBar) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.bar.Add(1, strings.TrimPrefix(string(l.buf[:i]), "bench: "))
		l.buf = l.buf[i+1:]
	}
}
