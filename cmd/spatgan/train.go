package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/train"
)

func init() {
	register(command{name: "train", summary: "train the four generators on a conversation and write a bundle", run: runTrain})
}

func runTrain(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("train", "[flags]", "Train TSynGAN and PSynGAN for both sides on a real conversation (the embedded\nSkype call by default) and write a model bundle directory.", stderr)
	var tr traceFlags
	tr.register(fs)
	out := fs.String("out", "out/bundle", "bundle directory to write")
	config := fs.String("config", "default", "model configuration: default (log-times, rich condition) or paper (GLOBECOM 2022)")
	steps := fs.Int("steps", 0, "generator steps per model (0: the configuration's, 3000 default / 25000 paper)")
	seed := fs.Uint64("seed", 1, "random seed (weights, batches, noise)")
	frac := fs.Float64("train-frac", 0.8, "fraction of the conversation's duration used for training; the rest is held out")
	resume := fs.Bool("resume", false, "continue from the checkpoints in OUT/checkpoints")
	parallel := fs.Int("parallel", 0, "models trained at once (0: number of CPUs, at most 4)")
	evalEvery := fs.Int("eval-every", 500, "generator steps between held-out fidelity checks")
	ckEvery := fs.Int("checkpoint-every", 500, "generator steps between checkpoints")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	conv, err := tr.load(stderr)
	if err != nil {
		return err
	}
	cfgs := map[string]graphs.Config{}
	for _, id := range bundle.ModelIDs {
		_, kind, _ := bundle.ModelKind(id)
		var c graphs.Config
		switch *config {
		case "default":
			c = graphs.Default(kind)
		case "paper":
			c = graphs.Paper(kind)
		default:
			return fmt.Errorf("--config %q: want default or paper", *config)
		}
		if *steps > 0 {
			c.Steps = *steps
		}
		cfgs[id] = c
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	opts := train.Options{Conv: conv, TrainFrac: *frac, Configs: cfgs, Seed: *seed, Out: *out, Resume: *resume,
		Parallel: *parallel, EvalEvery: *evalEvery, CheckpointEvery: *ckEvery}
	if !*quiet {
		opts.Progress = stderr
	}
	res, err := train.Run(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bundle written to %s (%d generator steps in %s, %.1f steps/s)\n", *out, res.GenSteps,
		res.Elapsed.Round(1e9), float64(res.GenSteps)/res.Elapsed.Seconds())
	fmt.Fprintf(stdout, "\nheld-out check of each model's kept weights (KS mean of the two targets; C2ST accuracy, 0.5 = indistinguishable):\n\n")
	fmt.Fprintf(stdout, "| model | steps | kept step | KS | C2ST |\n|---|---|---|---|---|\n")
	ids := append([]string(nil), bundle.ModelIDs...)
	sort.Strings(ids)
	for _, id := range ids {
		m := res.Manifest.Models[id]
		ks, c2 := m.HeldOut["ks_mean"], m.HeldOut["c2st_accuracy"]
		fmt.Fprintf(stdout, "| %s | %d | %d | %.3f | %.3f |\n", id, m.Steps, m.SelectedStep, ks, c2)
	}
	return fidelitySummary(ctx, stdout, stderr, *out, res)
}
