package bench

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/train"
)

// DefaultQuickSteps is the number of generator steps per model of the
// quick bundle RunFidelity trains when it is given none: under a minute on
// two cores, far from a converged model.
const DefaultQuickSteps = 500

// BaselineNames are the baselines of the report, in column order: the
// original's Normal and Poisson generators, the i.i.d. bootstrap of the
// training rows and the burst-aware first-order Markov chain (see the
// sampler package).
var BaselineNames = []string{"normal", "poisson", "bootstrap", "markov"}

// Comparator names of the report's model columns and the noise floor.
const (
	NameGAN   = "gan"
	NamePaper = "gan-paper"
	NameReal  = "real"
)

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
	// DefaultTrainFrac). A bundle's manifest fixes the split; giving a
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
	// BaselineNames; empty non-nil: none).
	Baselines []string
	// Seed seeds training, every sampler (each comparator its own stream
	// derived from Seed and its name) and the classifier tests.
	Seed uint64
	// Options configure the evaluation; its Seed is set to Seed.
	Options Options
	// Session configures the TensorFlow sessions of the bundles.
	Session tf.SessionOptions
	// Progress receives training progress and one line per comparator
	// (nil: none).
	Progress io.Writer
}

// SamplerSeed derives a comparator's sampler seed from the run's seed and
// its name, so that adding or removing a column does not change the others.
func SamplerSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return seed ^ h.Sum64()
}

// RunFidelity runs the whole fidelity protocol: it splits cfg.Conv (at the
// bundles' recorded split if bundles are given, refusing bundles trained on
// other data), trains a quick default bundle if none is given, fits the
// baselines on the training part, and evaluates every comparator and the
// noise floor against the held-out part.
func RunFidelity(ctx context.Context, cfg FidelityConfig) (*Report, error) {
	if cfg.Conv == nil {
		return nil, errors.New("bench: no conversation")
	}
	logf := func(format string, a ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, format, a...)
		}
	}
	names := cfg.Baselines
	if names == nil {
		names = BaselineNames
	}
	known := map[string]bool{}
	for _, n := range sampler.Names() {
		known[n] = true
	}
	for _, n := range names {
		if !known[n] {
			return nil, fmt.Errorf("bench: unknown baseline %q (known: %s)", n, strings.Join(sampler.Names(), ", "))
		}
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
			return nil, fmt.Errorf("bench: bundle %s was trained on the first %g of its trace, not the requested %g: omit the training fraction to use the bundle's", dir, f, cfg.TrainFrac)
		case fracFrom != "" && f != frac:
			return nil, fmt.Errorf("bench: bundles %s and %s were trained on different splits (%g and %g): evaluate them separately", fracFrom, dir, frac, f)
		}
		frac, fracFrom = f, dir
	}
	if frac == 0 {
		frac = DefaultTrainFrac
	}
	split, err := NewSplit(cfg.Conv, frac)
	if err != nil {
		return nil, err
	}
	manifests := map[string]*bundle.Manifest{}
	for _, dir := range []string{cfg.Bundle, cfg.PaperBundle} {
		if dir == "" {
			continue
		}
		m, err := split.CheckBundle(dir)
		if err != nil {
			return nil, err
		}
		manifests[dir] = m
	}

	gan := cfg.Bundle
	ganNote := ""
	if gan == "" {
		steps := cfg.QuickSteps
		if steps <= 0 {
			steps = DefaultQuickSteps
		}
		out := cfg.QuickOut
		if out == "" {
			tmp, err := os.MkdirTemp("", "spatgan-bench-*")
			if err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			defer os.RemoveAll(tmp)
			out = tmp
		}
		configs := cfg.QuickConfigs
		if configs == nil {
			configs = map[string]graphs.Config{}
			for _, id := range bundle.ModelIDs {
				_, kind, _ := bundle.ModelKind(id)
				c := graphs.Default(kind)
				c.Steps = steps
				configs[id] = c
			}
		}
		logf("bench: no bundle given: training a quick default-configuration bundle (%d generator steps per model) into %s\n", steps, out)
		opts := train.Options{Conv: cfg.Conv, TrainFrac: frac, Configs: configs, Seed: cfg.Seed, Out: out,
			EvalEvery: max(50, steps/4), CheckpointEvery: max(50, steps), Progress: cfg.Progress}
		if _, err := train.Run(ctx, opts); err != nil {
			return nil, fmt.Errorf("bench: quick bundle: %w", err)
		}
		m, err := split.CheckBundle(out)
		if err != nil {
			return nil, fmt.Errorf("bench: quick bundle: %w", err)
		}
		manifests[out] = m
		gan = out
		ganNote = fmt.Sprintf("trained for this report (no bundle given) with %d generator steps per model, a quick run far from convergence; ",
			configs[bundle.ModelIDs[0]].Steps)
		if cfg.QuickOut == "" {
			ganNote += "temporary "
		}
	}

	comps := []Comparator{{Name: NameReal, Kind: KindReal, Packets: split.Train.Packets,
		Note: fmt.Sprintf("noise floor: the real training part (%d packets) against the held-out part", len(split.Train.Packets))}}
	defer func() {
		for _, c := range comps {
			if b, ok := c.Sampler.(*bundle.Bundle); ok {
				b.Close()
			}
		}
	}()
	for _, col := range []struct{ name, dir, note string }{{NameGAN, gan, ganNote}, {NamePaper, cfg.PaperBundle, ""}} {
		if col.dir == "" {
			continue
		}
		b, err := bundle.Open(col.dir, SamplerSeed(cfg.Seed, col.name), cfg.Session)
		if err != nil {
			return nil, err
		}
		comps = append(comps, Comparator{Name: col.name, Kind: KindModel, Sampler: b, Fingerprint: b.Fingerprint(),
			Note: col.note + "bundle " + col.dir + ": " + DescribeManifest(manifests[col.dir])})
	}
	for _, name := range names {
		m, err := sampler.Fit(name, split.Train)
		if err != nil {
			return nil, fmt.Errorf("bench: baseline %s: %w", name, err)
		}
		comps = append(comps, Comparator{Name: m.Name(), Kind: KindBaseline, Fingerprint: m.Fingerprint(),
			Sampler: m.New(int64(SamplerSeed(cfg.Seed, m.Name()))), Note: baselineNotes[m.Name()]})
	}

	opt := cfg.Options
	opt.Seed = cfg.Seed
	if opt.Log == nil {
		opt.Log = cfg.Progress
	}
	rep, err := Evaluate(ctx, split, comps, opt)
	if err != nil {
		return nil, err
	}
	if cfg.PaperBundle == "" {
		rep.Notes = append(rep.Notes, "no paper-configuration bundle given (--paper-bundle): no gan-paper column")
	}
	return rep, nil
}

// baselineNotes describe the baselines in the report.
var baselineNotes = map[string]string{
	"normal":    "the original's Normal baseline: every quantity i.i.d. Normal with the training part's per-side mean and std, clamped to the training range",
	"poisson":   "the original's Poisson baseline: every quantity i.i.d. Poisson with the training part's per-side mean, clamped to the training range",
	"bootstrap": "i.i.d. resampling of the training part's burst rows (length, reply gap) and packet rows (size; in-burst time): its marginals, none of its structure",
	"markov":    "burst-aware empirical baseline: first-order Markov chain over bursts (reply resampled given the opponent's burst length bin, sizes given the previous size bin)",
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
		if c.LogTimes {
			tr = "log-times"
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
