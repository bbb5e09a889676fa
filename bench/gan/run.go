//go:build cgo

package gan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spatgan/spatgan/bench"
	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/train"
)

// DefaultQuickSteps is the number of generator steps per model of the
// quick bundle RunFidelity trains when it is given none: under a minute on
// two cores, far from a converged model.
const DefaultQuickSteps = 500

// FidelityConfig configures RunFidelity.
type FidelityConfig struct {
	// Conv is the real conversation to evaluate on.
	Conv *trace.Conversation
	// Bundle is a bundle directory trained on Conv (default configuration,
	// the "gan" column). Empty: a quick bundle is trained on Conv's
	// training part with QuickConfigs and QuickSteps.
	Bundle string
	// PaperBundle is a bundle directory of the paper configuration trained
	// on Conv (the "gan-paper" column); empty: no such column.
	PaperBundle string
	// TrainFrac is the split when no bundle fixes it (default
	// trace.DefaultTrainFrac). A bundle's manifest fixes the split; giving a
	// different TrainFrac is an error.
	TrainFrac float64
	// QuickSteps is the generator steps per model of the quick bundle
	// (default DefaultQuickSteps); QuickConfigs its configurations by model
	// ID (default graphs.Default with QuickSteps); QuickOut where to write
	// it (default a temporary directory removed afterwards).
	QuickSteps   int
	QuickConfigs map[string]graphs.Config
	QuickOut     string
	// Baselines are the baselines to fit on the training part (nil:
	// bench.DefaultBaselines(); empty non-nil: none).
	Baselines []string
	// Seed seeds training, every sampler (each comparator its own stream
	// derived from Seed and its name) and the classifier tests.
	Seed uint64
	// DrawSeed, when non-zero, seeds the samplers' draws (the models'
	// noise and the baselines) instead of Seed, which keeps seeding
	// training and the classifier tests: with Seed fixed, reports that
	// differ only by DrawSeed show how much the generated traffic's
	// randomness alone moves each score.
	DrawSeed uint64
	// Options configure the evaluation; its Seed is set to Seed.
	Options bench.Options
	// Session configures the TensorFlow sessions of the bundles.
	Session tf.SessionOptions
	// Progress receives training progress and one line per comparator
	// (nil: none).
	Progress io.Writer
}

// RunFidelity runs the whole fidelity protocol: it splits cfg.Conv (at the
// bundles' recorded split if bundles are given, refusing bundles trained on
// other data), trains a quick default bundle if none is given, fits the
// baselines on the training part, and evaluates every comparator and the
// noise floor against the held-out part.
func RunFidelity(ctx context.Context, cfg FidelityConfig) (*bench.Report, error) {
	if cfg.Conv == nil {
		return nil, errors.New("gan: no conversation")
	}
	names := cfg.Baselines
	if names == nil {
		names = bench.DefaultBaselines()
	}
	if err := bench.CheckBaselines(names); err != nil {
		return nil, err
	}
	frac := cfg.TrainFrac
	fracFrom := ""
	for _, dir := range []string{cfg.Bundle, cfg.PaperBundle} {
		if dir == "" {
			continue
		}
		m, _, err := bundle.ReadManifest(dir)
		if err != nil {
			return nil, err
		}
		f := m.Trace.TrainFrac
		switch {
		case fracFrom == "" && cfg.TrainFrac != 0 && f != cfg.TrainFrac:
			return nil, fmt.Errorf("gan: bundle %s was trained on the first %g of its trace, not the requested %g: omit the training fraction to use the bundle's", dir, f, cfg.TrainFrac)
		case fracFrom != "" && f != frac:
			return nil, fmt.Errorf("gan: bundles %s and %s were trained on different splits (%g and %g): evaluate them separately", fracFrom, dir, frac, f)
		}
		frac, fracFrom = f, dir
	}
	if frac == 0 {
		frac = trace.DefaultTrainFrac
	}
	split, err := bench.NewSplit(cfg.Conv, frac)
	if err != nil {
		return nil, err
	}
	manifests := map[string]*bundle.Manifest{}
	for _, dir := range []string{cfg.Bundle, cfg.PaperBundle} {
		if dir == "" {
			continue
		}
		m, err := CheckBundle(split, dir)
		if err != nil {
			return nil, err
		}
		manifests[dir] = m
	}

	gan := cfg.Bundle
	ganNote := ""
	if gan == "" {
		out := cfg.QuickOut
		if out == "" {
			tmp, err := os.MkdirTemp("", "spatgan-bench-*")
			if err != nil {
				return nil, fmt.Errorf("gan: %w", err)
			}
			defer os.RemoveAll(tmp)
			out = tmp
		}
		m, note, err := TrainQuick(ctx, split, QuickOptions{Steps: cfg.QuickSteps, Configs: cfg.QuickConfigs,
			Out: out, Seed: cfg.Seed, Progress: cfg.Progress})
		if err != nil {
			return nil, err
		}
		manifests[out] = m
		gan = out
		ganNote = note
		if cfg.QuickOut == "" {
			ganNote += "temporary "
		}
	}

	comps := []bench.Comparator{bench.NoiseFloor(split)}
	defer func() {
		for _, c := range comps {
			if b, ok := c.Sampler.(*bundle.Bundle); ok {
				b.Close()
			}
		}
	}()
	draw := cfg.Seed
	if cfg.DrawSeed != 0 {
		draw = cfg.DrawSeed
	}
	for _, col := range []struct{ name, dir, note string }{{bench.NameGAN, gan, ganNote}, {bench.NamePaper, cfg.PaperBundle, ""}} {
		if col.dir == "" {
			continue
		}
		c, err := OpenModel(col.name, col.dir, manifests[col.dir], col.note, draw, cfg.Session)
		if err != nil {
			return nil, err
		}
		comps = append(comps, c)
	}
	bl, err := bench.FitBaselines(split, names, draw)
	if err != nil {
		return nil, err
	}
	comps = append(comps, bl...)

	opt := cfg.Options
	opt.Seed = cfg.Seed
	if opt.Log == nil {
		opt.Log = cfg.Progress
	}
	rep, err := bench.Evaluate(ctx, split, comps, opt)
	if err != nil {
		return nil, err
	}
	rep.DrawSeed = draw
	if cfg.PaperBundle == "" {
		rep.Notes = append(rep.Notes, "no paper-configuration bundle given (--paper-bundle): no gan-paper column")
	}
	return rep, nil
}

// OpenModel opens the bundle in dir, whose manifest m was checked against
// the split (CheckBundle), as the model comparator name, its sampler
// seeded with bench.SamplerSeed(seed, name). The caller closes the sampler (a
// *bundle.Bundle).
func OpenModel(name, dir string, m *bundle.Manifest, note string, seed uint64, sess tf.SessionOptions) (bench.Comparator, error) {
	b, err := bundle.Open(dir, bench.SamplerSeed(seed, name), sess)
	if err != nil {
		return bench.Comparator{}, err
	}
	return bench.Comparator{Name: name, Kind: bench.KindModel, Sampler: b, Fingerprint: b.Fingerprint(),
		Note: note + "bundle " + dir + ": " + DescribeManifest(m)}, nil
}

// QuickOptions configure TrainQuick.
type QuickOptions struct {
	// Steps is the generator steps per model (default DefaultQuickSteps);
	// Configs the configurations by model ID (default graphs.Default with
	// Steps).
	Steps   int
	Configs map[string]graphs.Config
	Out     string // bundle directory to write
	Seed    uint64
	// Progress receives training progress (nil: none).
	Progress io.Writer
}

// TrainQuick trains a quick default-configuration bundle on s's training
// part into q.Out, far from a converged model but enough to exercise the
// protocol, and returns its checked manifest and a note for the report.
func TrainQuick(ctx context.Context, s *bench.Split, q QuickOptions) (*bundle.Manifest, string, error) {
	steps := q.Steps
	if steps <= 0 {
		steps = DefaultQuickSteps
	}
	configs := q.Configs
	if configs == nil {
		configs = map[string]graphs.Config{}
		for _, id := range bundle.ModelIDs {
			_, kind, _ := bundle.ModelKind(id)
			c := graphs.Default(kind)
			c.Steps = steps
			configs[id] = c
		}
	}
	if q.Progress != nil {
		fmt.Fprintf(q.Progress, "gan: no bundle given: training a quick default-configuration bundle (%d generator steps per model) into %s\n", steps, q.Out)
	}
	opts := train.Options{Conv: s.Conv, TrainFrac: s.Frac, Configs: configs, Seed: q.Seed, Out: q.Out,
		EvalEvery: max(50, steps/4), CheckpointEvery: max(50, steps), Progress: q.Progress}
	if _, err := train.Run(ctx, opts); err != nil {
		return nil, "", fmt.Errorf("gan: quick bundle: %w", err)
	}
	m, err := CheckBundle(s, q.Out)
	if err != nil {
		return nil, "", fmt.Errorf("gan: quick bundle: %w", err)
	}
	note := fmt.Sprintf("trained for this report (no bundle given) with %d generator steps per model, a quick run far from convergence; ",
		configs[bundle.ModelIDs[0]].Steps)
	return m, note, nil
}

// DescribeManifest summarises a bundle in one line: per model kind the
// time transform, condition and generator widths, then each model's trained
// and kept steps.
func DescribeManifest(m *bundle.Manifest) string {
	if m == nil {
		return ""
	}
	var kinds, steps []string
	for _, kind := range []graphs.Kind{graphs.Burst, graphs.Packet} {
		c := m.Models[bundle.ModelID(trace.Client, kind)].Config
		tr := "raw times"
		switch {
		case c.Transform == graphs.TransformQuantile && c.Joint:
			tr = "quantile transform, time given the first target"
		case c.Transform == graphs.TransformQuantile:
			tr = "quantile transform"
		case c.LogTimes:
			tr = "log-times"
		}
		if c.EMA > 0 {
			tr += fmt.Sprintf(", EMA %g", c.EMA)
		}
		if c.Calibrate {
			tr += ", calibrated"
		}
		kinds = append(kinds, fmt.Sprintf("%s models %s, cond %s, G %s", kind, tr, strings.Join(c.Cond, "+"), widths(c.GenWidths)))
	}
	ids := append([]string(nil), bundle.ModelIDs...)
	sort.Strings(ids)
	for _, id := range ids {
		steps = append(steps, fmt.Sprintf("%s %d/%d", id, m.Models[id].Steps, m.Models[id].SelectedStep))
	}
	return fmt.Sprintf("%s; steps trained/kept: %s; seed %d, TF %s", strings.Join(kinds, "; "), strings.Join(steps, ", "), m.Seed, m.TFVersion)
}

func widths(w []int) string {
	s := make([]string, len(w))
	for i, v := range w {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, "-")
}

// CheckBundle reads the manifest of the bundle in dir and checks that the
// bundle was trained on exactly s's training part (bench.Split.Check).
func CheckBundle(s *bench.Split, dir string) (*bundle.Manifest, error) {
	m, _, err := bundle.ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	ti := m.Trace
	t := bench.Trained{Frac: ti.TrainFrac, SHA256: ti.TrainSHA256,
		What: fmt.Sprintf("%s, server %s, client %s, %s, %d packets", ti.Source, ti.Server, ti.Client, ti.Proto, ti.Packets)}
	if err := s.Check(dir, t); err != nil {
		return nil, err
	}
	return m, nil
}
