package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spatgan/spatgan/bench"
	"github.com/spatgan/spatgan/bench/gan"
)

func init() {
	register(command{name: "bench", summary: "measure fidelity against held-out real traffic and baselines (bench fidelity)", run: runBench})
}

func runBench(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "usage: spatgan bench fidelity [flags]  (spatgan bench fidelity --help for the flags)")
		fmt.Fprintln(stderr, "\nSpeed benchmarks are Go benchmarks: make bench (see BENCHMARKS.md).")
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "fidelity":
		return runBenchFidelity(ctx, stdout, stderr, args[1:])
	}
	return fmt.Errorf("bench: unknown benchmark %q (want fidelity; speed benchmarks run with make bench)", args[0])
}

func runBenchFidelity(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("bench fidelity", "[flags]",
		"Split a real conversation in time, generate as many packets as the held-out part holds with the\n"+
			"bundle(s) and the baselines fitted on the training part, and compare each with the held-out part\n"+
			"only (KS / W1 / JSD per feature and direction, ACF error, cross-direction dependence, C2ST), next\n"+
			"to the noise floor (the real training part against the held-out part). Prints Markdown.\n"+
			"Without --bundle a quick default bundle is trained first (--steps).", stderr)
	var tr traceFlags
	tr.register(fs)
	bundleDir := fs.String("bundle", "", "bundle trained on this trace (default configuration); empty: train a quick one")
	paper := fs.String("paper-bundle", "", "bundle of the paper configuration trained on this trace (optional column)")
	steps := fs.Int("steps", gan.DefaultQuickSteps, "generator steps per model of the quick bundle trained without --bundle")
	quickOut := fs.String("quick-out", "", "keep the quick bundle in this directory (default: a temporary directory, removed)")
	upto := fs.Float64("upto", 1, "use only the first FRAC of the conversation's duration (model selection: train and evaluate inside the training part, never reading the held-out rest)")
	frac := fs.Float64("train-frac", 0, "training fraction of the duration when no bundle fixes it (0: the bundle's, else 0.8)")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	seed := fs.Uint64("seed", 1, "random seed (quick training, samplers, classifier tests)")
	window := fs.Int("window", bench.DefaultWindowK, "window length of the windowed classifier test")
	baselines := fs.String("baselines", strings.Join(bench.BaselineNames, ","), "comma-separated baselines to fit on the training part (empty: none)")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := parseFlags(fs, args); err != nil {
		return ignoreHelp(err)
	}
	if *steps < 1 {
		return fmt.Errorf("bench fidelity: --steps %d: want at least 1", *steps)
	}
	conv, err := tr.load(stderr)
	if err != nil {
		return err
	}
	if *upto != 1 {
		head, _, err := conv.SplitAt(*upto)
		if err != nil {
			return fmt.Errorf("--upto: %w", err)
		}
		conv = head
	}
	names := []string{}
	for _, n := range strings.Split(*baselines, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	cfg := gan.FidelityConfig{Conv: conv, Bundle: *bundleDir, PaperBundle: *paper, TrainFrac: *frac,
		QuickSteps: *steps, QuickOut: *quickOut, Baselines: names, Seed: *seed,
		Options: bench.Options{WindowK: *window}}
	if !*quiet {
		cfg.Progress = stderr
	}
	rep, err := gan.RunFidelity(ctx, cfg)
	if err != nil {
		return err
	}
	if err := rep.WriteMarkdown(stdout); err != nil {
		return err
	}
	if *jsonOut != "" {
		if err := rep.WriteJSONFile(*jsonOut); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "report written to %s\n", *jsonOut)
	}
	return nil
}
