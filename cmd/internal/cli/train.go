package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/train"
)

func trainCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "train [flags]", Short: "train the four generators on a conversation and write a bundle",
		Long: "Train TSynGAN and PSynGAN for both sides on a real conversation (the embedded\nSkype call by default) and write a model bundle directory.",
		Args: noArgs}
	fs := cmd.Flags()
	var tr traceFlags
	tr.register(fs)
	out := fs.String("out", "out/bundle", "bundle directory to write")
	config := fs.String("config", "default", "model configuration: "+strings.Join(graphs.ConfigNames(), ", ")+" (default: quantile transform, conversation state; v1: the first default; paper: GLOBECOM 2022)")
	steps := fs.Int("steps", 0, "generator steps per model (0: the configuration's, 8000 default / 25000 paper)")
	seed := fs.Uint64("seed", 1, "random seed (weights, batches, noise)")
	upto := fs.Float64("upto", 1, "use only the first FRAC of the conversation's duration (model selection: train and evaluate inside the training part, never reading the held-out rest)")
	frac := fs.Float64("train-frac", trace.DefaultTrainFrac, "fraction of the conversation's duration used for training; the rest is held out for testing and never read")
	valFrac := fs.Float64("val-frac", 0.1, "fraction of the conversation's duration, at the end of the training part, used to pick the kept weights")
	resume := fs.Bool("resume", false, "continue from the checkpoints in OUT/checkpoints")
	parallel := fs.Int("parallel", 0, "models trained at once (0: number of CPUs, at most 4)")
	evalEvery := fs.Int("eval-every", 500, "generator steps between validation checks (the best-scoring weights are kept)")
	ckEvery := fs.Int("checkpoint-every", 500, "generator steps between checkpoints")
	cands := fs.String("candidates", "", "with --select closed-loop, also write every candidate as a bundle under this directory (open-loop, step-N), to study the selection")
	sel := fs.String("select", train.SelectOpenLoop, "how the kept weights are chosen: open-loop (each model's best validation check on its own) or closed-loop (the four models' weights of one validation step, or the open-loop choice, whichever continues the conversation closest to the validation part)")
	damp := fs.String("calib-damp", "0", "damping of the time's calibration, the share of the map undone (0: the full calibration, 1: none), or auto: chosen by continuing the conversation closed loop on the validation part (scores of 0, 0.25, 0.5, 0.75, 1 go into the manifest); a --resume of a finished run only redoes it")
	cloop := fs.String("calib-closed-loop", "none", "refit the calibrations closed loop after training: none, pooled (each model's map refitted on what the bundle draws continuing the fit part's conversation), or pos (the same, with a packet model's packets after the first of their burst calibrated on their own); validation scores before and after go into the manifest; not with --calib-damp; a --resume of a finished run only redoes it")
	cloopRounds := fs.Int("calib-loop-rounds", train.DefaultCalibLoopRounds, "with --calib-closed-loop, how many times the calibrations are refitted, each round drawing with the previous round's maps")
	cloopStep := fs.Float64("calib-loop-step", train.DefaultCalibLoopStep, "with --calib-closed-loop, the share of the way each round moves the maps, in (0, 1] (1: the full refit)")
	memory := fs.String("noise-memory", "0", "how much of the generators' noise a conversation carries from one draw to the next: P for the packet models, P,B for the packet and burst models (each in [0, 0.999]; 0: fresh noise every draw), or auto: chosen by continuing the conversation closed loop on the validation part (the scores go into the manifest); a --resume of a finished run only redoes it")
	quiet := fs.Bool("quiet", false, "no progress bar")
	packetCond := fs.String("packet-cond", "", "PSynGAN condition features, comma-separated (default: the configuration's); known: "+features.Known())
	burstCond := fs.String("burst-cond", "", "TSynGAN condition features, comma-separated (default: the configuration's)")
	packetGiven := fs.String("packet-first-given", "", "PSynGAN: condition features, comma-separated, whose values select the size's quantile table, the first with a table for its value winning (the size given, e.g., last_size_pair,last_size), or none (default: the configuration's, less any feature --packet-cond leaves out)")
	packetTime := fs.String("packet-time-given", "", "PSynGAN: a condition feature whose decile, with the size, selects the time's quantile table (e.g. last_dt_us), or none (default: the configuration's)")
	burstTime := fs.String("burst-time-given", "", "TSynGAN: a condition feature whose decile, with the burst length, selects the reply gap's quantile table (e.g. own_gap_us), or none (default: the configuration's)")
	packetBins := fs.String("packet-first-bins", "", "PSynGAN: where a side's sizes take more than "+strconv.Itoa(graphs.MaxKeyedValues)+" values (a codec's), key the size's quantile table by the bin, of N equally filled bins, of the last --packet-first-given feature (e.g. 20), or none (default: the configuration's)")
	jointBins := fs.String("joint-bins", "", "with --joint, map the time of a size or count too rare for a table of its own through the table of its bin, of N equally filled bins of such values (e.g. 16), or none for the pooled table (default: the configuration's)")
	inBurstSize := fs.String("in-burst-by-size", "", "with --in-burst-dt, draw a first packet's stand-in time from the in-burst times of packets of its size: true or false (default: the configuration's)")
	packetPos := fs.String("packet-first-pos", "", "PSynGAN: map the size through its distribution given whether the packet opens its burst (the --packet-first-given tables split by it too): true or false (default: the configuration's)")
	burstGiven := fs.String("burst-first-given", "", "TSynGAN: condition features, comma-separated, whose values select the burst length's quantile table (e.g. own_count), or none (default: the configuration's)")
	genWidths := fs.String("gen-widths", "", "generator hidden widths, e.g. 128,256,512 (default: the configuration's)")
	criticWidths := fs.String("critic-widths", "", "critic hidden widths, e.g. 512,256,128 (default: the configuration's)")
	lr := fs.Float64("lr", 0, "Adam learning rate (0: the configuration's, 1e-4)")
	mismatch := fs.String("mismatch", "", "weight in [0, 1) of real rows paired with another row's condition in the critic's fake term (a matching-aware critic); 0 for none (default: the configuration's)")
	pairCritic := fs.String("pair-critic", "", "PSynGAN: weight in (0, 10] of a second critic that judges two consecutive packets of a burst together, the second drawn for the condition the first draw leaves (a side with keyed sizes trains without it), e.g. 1; 0 for none (default: the configuration's)")
	lrEnd := fs.String("lr-end", "", "make the learning rate fall linearly to this fraction of --lr at the last step, e.g. 0.1; 0 for a constant rate (default: the configuration's)")
	condNoise := fs.String("cond-noise", "", "standard deviation of Gaussian noise added to the training rows' conditions in network space, e.g. 0.2; 0 for none (default: the configuration's)")
	emaDecay := fs.String("ema", "", "per-step decay of the moving average of generator weights, e.g. 0.999; 0 for none (default: the configuration's)")
	joint := fs.String("joint", "", "with the quantile transform, map times through their distribution given the size or count: true or false (default: the configuration's)")
	calibrate := fs.String("calibrate", "", "map the trained generators' outputs onto the training marginals (fitted after training; a --resume of a finished run only refits it): true or false (default: the configuration's)")
	inBurst := fs.String("in-burst-dt", "", "packet models learn, for a burst's first packet, a time drawn from the in-burst times instead of the reply gap (which the burst model draws and generation never takes from the packet model): true or false (default: the configuration's)")
	batch := fs.Int("batch", 0, "rows per training batch (0: the configuration's, 64)")
	transform := fs.String("transform", "", "feature transform: quantile, or zscore (log/z-score) (default: the configuration's)")
	logTimes := fs.String("log-times", "", "model times, counts and byte totals as log1p: true or false (default: the configuration's)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx, stdout, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
		if err := atLeast("train", bound{"steps", int64(*steps), 0, "0 for the configuration's"}, bound{"parallel", int64(*parallel), 0, "0 for the number of CPUs"},
			bound{"eval-every", int64(*evalEvery), 1, ""}, bound{"checkpoint-every", int64(*ckEvery), 1, ""}); err != nil {
			return err
		}
		if !(*frac > 0 && *frac < 1) || !(*valFrac > 0 && *valFrac < *frac) {
			return fmt.Errorf("train: --train-frac %g, --val-frac %g: want 0 < val-frac < train-frac < 1", *frac, *valFrac)
		}
		if *lr < 0 {
			return fmt.Errorf("train: --lr %g: want a positive rate (0 for the configuration's)", *lr)
		}
		if !(*upto > 0 && *upto <= 1) {
			return fmt.Errorf("train: --upto %g: want a fraction in (0, 1]", *upto)
		}
		// Optional numbers: -1 when not given (the configuration's).
		opt := func(flag, v string, ok func(float64) bool, want string) (float64, error) {
			if v == "" {
				return -1, nil
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !ok(f) {
				return 0, fmt.Errorf("train: --%s %q: want %s", flag, v, want)
			}
			return f, nil
		}
		below1 := func(f float64) bool { return f >= 0 && f < 1 }
		mis, err := opt("mismatch", *mismatch, below1, "a weight in [0, 1), e.g. 0.5 (0: none)")
		if err != nil {
			return err
		}
		pc, err := opt("pair-critic", *pairCritic, func(f float64) bool { return f >= 0 && f <= 10 }, "a weight in [0, 10], e.g. 1 (0: none)")
		if err != nil {
			return err
		}
		cn, err := opt("cond-noise", *condNoise, func(f float64) bool { return f >= 0 && f <= 10 }, "a standard deviation in [0, 10], e.g. 0.2 (0: none)")
		if err != nil {
			return err
		}
		ema, err := opt("ema", *emaDecay, below1, "a decay in [0, 1), e.g. 0.999 (0: none)")
		if err != nil {
			return err
		}
		le, err := opt("lr-end", *lrEnd, func(f float64) bool { return f >= 0 && f <= 1 }, "a fraction in [0, 1], e.g. 0.1 (0: a constant rate)")
		if err != nil {
			return err
		}
		if !slices.Contains(train.SelectModes, *sel) {
			return fmt.Errorf("train: --select %q: want %s", *sel, strings.Join(train.SelectModes, " or "))
		}
		if *cands != "" && *sel != train.SelectClosedLoop {
			return fmt.Errorf("train: --candidates needs --select %s", train.SelectClosedLoop)
		}
		if _, _, err := train.ParseCalibDamp(*damp); err != nil {
			return fmt.Errorf("train: --calib-damp %q: want auto or a number in [0, 1]", *damp)
		}
		if !slices.Contains([]string{train.CalibLoopNone, train.CalibLoopPooled, train.CalibLoopPos}, *cloop) {
			return fmt.Errorf("train: --calib-closed-loop %q: want none, pooled or pos", *cloop)
		}
		if *cloopRounds < 1 || *cloopRounds > bundle.MaxCalibRounds || !(*cloopStep > 0 && *cloopStep <= 1) {
			return fmt.Errorf("train: --calib-loop-rounds %d, --calib-loop-step %v: want 1 to %d rounds and a step in (0, 1]", *cloopRounds, *cloopStep, bundle.MaxCalibRounds)
		}
		if *cloop == train.CalibLoopNone && (fs.Changed("calib-loop-rounds") || fs.Changed("calib-loop-step")) {
			return fmt.Errorf("train: --calib-loop-rounds and --calib-loop-step need --calib-closed-loop pooled or pos")
		}
		if *cloop != train.CalibLoopNone && *damp != "0" {
			return fmt.Errorf("train: --calib-closed-loop %s: a closed-loop calibration has no damping (--calib-damp %q)", *cloop, *damp)
		}
		if _, _, err := train.ParseNoiseMemory(*memory); err != nil {
			return fmt.Errorf("train: --noise-memory %q: want auto, P or P,B with each in [0, %v]", *memory, bundle.MaxNoiseMemory)
		}
		if *batch < 0 {
			return fmt.Errorf("train: --batch %d: want a batch >= 2 (0 for the configuration's)", *batch)
		}
		return runTrain(ctx, stdout, stderr, trainArgs{tr: tr, out: *out, config: *config, steps: *steps, seed: *seed, frac: *frac, valFrac: *valFrac,
			resume: *resume, parallel: *parallel, evalEvery: *evalEvery, ckEvery: *ckEvery, quiet: *quiet, packetCond: *packetCond,
			burstCond: *burstCond, packetGiven: *packetGiven, packetBins: *packetBins, packetPos: *packetPos, inBurstSize: *inBurstSize, jointBins: *jointBins, burstGiven: *burstGiven, packetTime: *packetTime, burstTime: *burstTime, genWidths: *genWidths, criticWidths: *criticWidths, lr: *lr, logTimes: *logTimes,
			upto: *upto, ema: ema, mismatch: mis, pair: pc, condNoise: cn, lrEnd: le, joint: *joint, calibrate: *calibrate, inBurst: *inBurst, batch: *batch, transform: *transform, sel: *sel, cands: *cands, damp: *damp, memory: *memory, cloop: *cloop, cloopRounds: *cloopRounds, cloopStep: *cloopStep})
	}
	return cmd
}

type trainArgs struct {
	tr                                                                                 traceFlags
	out, config                                                                        string
	steps                                                                              int
	seed                                                                               uint64
	frac, valFrac                                                                      float64
	resume                                                                             bool
	parallel, evalEvery, ckEvery                                                       int
	quiet                                                                              bool
	packetCond, burstCond, genWidths, criticWidths                                     string
	packetGiven, packetBins, packetPos, inBurstSize, burstGiven, packetTime, burstTime string
	lr                                                                                 float64
	logTimes                                                                           string
	upto, ema, mismatch, pair, condNoise, lrEnd                                        float64
	joint, calibrate, transform, sel, cands, damp                                      string
	inBurst, memory, jointBins, cloop                                                  string
	batch, cloopRounds                                                                 int
	cloopStep                                                                          float64
}

func runTrain(ctx context.Context, stdout, stderr io.Writer, a trainArgs) error {
	conv, err := a.tr.load(stderr)
	if err != nil {
		return err
	}
	if a.upto != 1 {
		head, _, err := conv.SplitAt(a.upto)
		if err != nil {
			return fmt.Errorf("train: --upto: %w", err)
		}
		conv = head
	}
	if !a.tr.isDefault() {
		// The manifest names the capture; absolute, so that plot --bundle
		// finds it from another directory.
		if abs, err := filepath.Abs(conv.Source); err == nil {
			conv.Source = abs
		}
	}
	if conv.Proto == "any" {
		// Record the transport in the manifest when every packet has the
		// same: generate and simulate default to it.
		if _, p := captureTransport(conv.Proto, conv.Packets); p == "tcp" || p == "udp" {
			conv.Proto = p
		}
	}
	cfgs := map[string]graphs.Config{}
	for _, id := range bundle.ModelIDs {
		_, kind, _ := bundle.ModelKind(id)
		c, err := graphs.Named(a.config, kind)
		if err != nil {
			return fmt.Errorf("train: --config: %w", err)
		}
		if a.steps > 0 {
			c.Steps = a.steps
		}
		if a.ema >= 0 {
			c.EMA = a.ema
		}
		if a.mismatch >= 0 {
			c.Mismatch = a.mismatch
		}
		if a.condNoise >= 0 {
			c.CondNoise = a.condNoise
		}
		if a.lrEnd >= 0 {
			c.LREnd = a.lrEnd
		}
		if a.batch > 0 {
			c.Batch = a.batch
		}
		if err := optionalBool("joint", a.joint, &c.Joint); err != nil {
			return err
		}
		if err := optionalBool("calibrate", a.calibrate, &c.Calibrate); err != nil {
			return err
		}
		switch a.jointBins {
		case "":
		case "none":
			c.JointBins = 0
		default:
			n, err := strconv.Atoi(a.jointBins)
			if err != nil {
				return fmt.Errorf("train: --joint-bins %q: want a number of bins or none", a.jointBins)
			}
			c.JointBins = n
		}
		if kind == graphs.Packet {
			if err := optionalBool("in-burst-dt", a.inBurst, &c.InBurstDt); err != nil {
				return err
			}
			if err := optionalBool("packet-first-pos", a.packetPos, &c.FirstPos); err != nil {
				return err
			}
			if err := optionalBool("in-burst-by-size", a.inBurstSize, &c.InBurstBySize); err != nil {
				return err
			}
			if a.pair >= 0 {
				c.Pair = a.pair
			}
		}
		switch a.transform {
		case "":
		case "zscore":
			c.Transform, c.Joint = "", false
		case graphs.TransformQuantile:
			c.Transform = graphs.TransformQuantile
		default:
			return fmt.Errorf("train: --transform %q: want quantile or zscore", a.transform)
		}
		if err := overrideConfig(&c, kind, a.packetCond, a.burstCond, a.genWidths, a.criticWidths, a.lr, a.logTimes); err != nil {
			return err
		}
		// The keyed-table flags, --packet-X or --burst-X by the model's
		// kind: "" keeps the configuration's, none turns it off.
		for _, g := range []struct {
			name, packet, burst string
			set                 func(v string) error // v "": off
		}{
			{"first-given", a.packetGiven, a.burstGiven, func(v string) error { c.FirstGiven = list(v); return nil }},
			{"first-bins", a.packetBins, "", func(v string) error {
				n, err := strconv.Atoi(cmp.Or(v, "0"))
				if err != nil {
					return fmt.Errorf("not a number of bins")
				}
				c.FirstBins = n
				return nil
			}},
			{"time-given", a.packetTime, a.burstTime, func(v string) error { c.TimeGiven = v; return nil }},
		} {
			v, flag := g.packet, "packet-"+g.name
			if kind == graphs.Burst {
				v, flag = g.burst, "burst-"+g.name
			}
			var err error
			switch v {
			case "":
			case "none":
				err = g.set("")
			default:
				err = g.set(v)
			}
			if err == nil {
				err = c.Validate()
			}
			if err != nil {
				return fmt.Errorf("train: --%s %q: %w", flag, v, err)
			}
		}
		cfgs[id] = c
	}
	if err := os.MkdirAll(a.out, 0o755); err != nil {
		return err
	}
	opts := train.Options{Conv: conv, TrainFrac: a.frac, ValFrac: a.valFrac, Configs: cfgs, Seed: a.seed, Out: a.out, Resume: a.resume,
		Parallel: a.parallel, EvalEvery: a.evalEvery, CheckpointEvery: a.ckEvery, Select: a.sel, CandidatesDir: a.cands, CalibDamp: a.damp, NoiseMemory: a.memory, CalibLoop: a.cloop,
		CalibLoopRounds: a.cloopRounds, CalibLoopStep: a.cloopStep}
	if !a.quiet {
		opts.Progress = stderr
	}
	res, err := train.Run(ctx, opts)
	if err != nil {
		return err
	}
	if res.UpToDate {
		fmt.Fprintf(stdout, "nothing left to train: every model in %s is at its last step; nothing was changed\n", a.out)
	} else {
		fmt.Fprintf(stdout, "bundle written to %s (%d generator steps in %s, %.1f steps/s)\n", a.out, res.GenSteps,
			res.Elapsed.Round(1e9), float64(res.GenSteps)/res.Elapsed.Seconds())
	}
	fmt.Fprintf(stdout, "\nvalidation check of each model's kept weights (KS mean of the two targets; C2ST accuracy, 0.5 = indistinguishable):\n\n")
	fmt.Fprintf(stdout, "| model | steps | kept step | KS | C2ST |\n|---|---|---|---|---|\n")
	ids := append([]string(nil), bundle.ModelIDs...)
	sort.Strings(ids)
	for _, id := range ids {
		m := res.Manifest.Models[id]
		ks, c2 := "-", "-"
		if v := m.Validation; v != nil {
			ks, c2 = strconv.FormatFloat(v.KSMean, 'f', 3, 64), strconv.FormatFloat(v.C2STAccuracy, 'f', 3, 64)
		}
		fmt.Fprintf(stdout, "| %s | %d | %d | %s | %s |\n", id, m.Steps, m.SelectedStep, ks, c2)
	}
	if sel := res.Manifest.Selection; sel != nil {
		k, open := sel.Candidates[sel.Kept], sel.Candidates[0]
		which := fmt.Sprintf("the weights of step %d", k.Step)
		if sel.Kept == 0 {
			which = "the open-loop choice"
		}
		fmt.Fprintf(stdout, "\nclosed-loop selection: %s kept, of %d candidates (score %.3f: C2ST %.3f / %.3f, KS mean %.3f, timeline %.2f; the open-loop choice scored %.3f)\n",
			which, len(sel.Candidates), k.Score, k.C2STPacket, k.C2STWindow, k.KSMean, k.TimelineRatio, open.Score)
	}
	return fidelitySummary(ctx, stdout, stderr, a.out, res)
}

// overrideConfig applies the command line's architecture and feature flags.
func overrideConfig(c *graphs.Config, kind graphs.Kind, packetCond, burstCond, genWidths, criticWidths string, lr float64, logTimes string) error {
	ints := func(flag, s string) ([]int, error) {
		var out []int
		for _, f := range list(s) {
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("--%s: %q is not a positive width", flag, f)
			}
			out = append(out, n)
		}
		return out, nil
	}
	if kind == graphs.Packet && packetCond != "" {
		c.Cond = list(packetCond)
	}
	if kind == graphs.Burst && burstCond != "" {
		c.Cond = list(burstCond)
	}
	// A condition given on the command line keeps the configuration's
	// key features (first_given) it still holds.
	c.FirstGiven = slices.DeleteFunc(slices.Clone(c.FirstGiven), func(f string) bool { return !slices.Contains(c.Cond, f) })
	if len(c.FirstGiven) == 0 {
		c.FirstGiven = nil
	}
	if !slices.Contains(c.Cond, c.TimeGiven) {
		c.TimeGiven = ""
	}
	var err error
	if genWidths != "" {
		if c.GenWidths, err = ints("gen-widths", genWidths); err != nil {
			return err
		}
	}
	if criticWidths != "" {
		if c.CriticWidths, err = ints("critic-widths", criticWidths); err != nil {
			return err
		}
	}
	if lr > 0 {
		c.LR = lr
	}
	if err := optionalBool("log-times", logTimes, &c.LogTimes); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("model configuration: %w", err)
	}
	return nil
}

// optionalBool sets *dst from the value of a true-or-false flag given as a
// string, empty for "the configuration's".
func optionalBool(flag, v string, dst *bool) error {
	if v == "" {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("train: --%s %q: want true or false", flag, v)
	}
	*dst = b
	return nil
}

// list splits a comma-separated flag value, dropping empty items.
func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
