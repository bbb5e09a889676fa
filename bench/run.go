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
		out := cfg.QuickOut
		if out == "" {
			tmp, err := os.MkdirTemp("", "spatgan-bench-*")
			if err != nil {
				return nil, fmt.Errorf("bench: %w", err)
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

	comps := []Comparator{NoiseFloor(split)}
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
		c, err := OpenModel(col.name, col.dir, manifests[col.dir], col.note, cfg.Seed, cfg.Session)
		if err != nil {
			return nil, err
		}
		comps = append(comps, c)
	}
	bl, err := FitBaselines(split, names, cfg.Seed)
	if err != nil {
		return nil, err
	}
	comps = append(comps, bl...)

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

// NoiseFloor returns the noise-floor comparator of s: its real training
// part, compared with the held-out part like a generator's output.
func NoiseFloor(s *Split) Comparator {
	return Comparator{Name: NameReal, Kind: KindReal, Packets: s.Train.Packets,
		Note: fmt.Sprintf("noise floor: the real training part (%d packets) against the held-out part", len(s.Train.Packets))}
}

// FitBaselines fits the named baselines (nil: BaselineNames) on s's
// training part and returns one comparator each, in order, its sampler
// seeded with SamplerSeed(seed, name). Each call returns fresh samplers.
func FitBaselines(s *Split, names []string, seed uint64) ([]Comparator, error) {
	if names == nil {
		names = BaselineNames
	}
	var comps []Comparator
	for _, name := range names {
		m, err := sampler.Fit(name, s.Train)
		if err != nil {
			return nil, fmt.Errorf("bench: baseline %s: %w", name, err)
		}
		comps = append(comps, Comparator{Name: m.Name(), Kind: KindBaseline, Fingerprint: m.Fingerprint(),
			Sampler: m.New(int64(SamplerSeed(seed, m.Name()))), Note: baselineNotes[m.Name()]})
	}
	return comps, nil
}

// OpenModel opens the bundle in dir, whose manifest m was checked against
// the split (Split.CheckBundle), as the model comparator name, its sampler
// seeded with SamplerSeed(seed, name). The caller closes the sampler (a
// *bundle.Bundle).
func OpenModel(name, dir string, m *bundle.Manifest, note string, seed uint64, sess tf.SessionOptions) (Comparator, error) {
	b, err := bundle.Open(dir, SamplerSeed(seed, name), sess)
	if err != nil {
		return Comparator{}, err
	}
	return Comparator{Name: name, Kind: KindModel, Sampler: b, Fingerprint: b.Fingerprint(),
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
func TrainQuick(ctx context.Context, s *Split, q QuickOptions) (*bundle.Manifest, string, error) {
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
		fmt.Fprintf(q.Progress, "bench: no bundle given: training a quick default-configuration bundle (%d generator steps per model) into %s\n", steps, q.Out)
	}
	opts := train.Options{Conv: s.Conv, TrainFrac: s.Frac, Configs: configs, Seed: q.Seed, Out: q.Out,
		EvalEvery: max(50, steps/4), CheckpointEvery: max(50, steps), Progress: q.Progress}
	if _, err := train.Run(ctx, opts); err != nil {
		return nil, "", fmt.Errorf("bench: quick bundle: %w", err)
	}
	m, err := s.CheckBundle(q.Out)
	if err != nil {
		return nil, "", fmt.Errorf("bench: quick bundle: %w", err)
	}
	note := fmt.Sprintf("trained for this report (no bundle given) with %d generator steps per model, a quick run far from convergence; ",
		configs[bundle.ModelIDs[0]].Steps)
	return m, note, nil
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
