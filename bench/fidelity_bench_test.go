package bench_test

// BenchmarkFidelity: the fidelity protocol as Go benchmarks, so that
// benchstat compares two versions of the model (or of a baseline):
//
//	go test -run '^$' -bench Fidelity -benchtime 1x ./bench > new.txt
//	benchstat old.txt new.txt
//
// One sub-benchmark per capture and comparator,
// BenchmarkFidelity/capture=NAME/gen=COMPARATOR, whose iteration generates
// as many packets as the capture's held-out part holds (closed loop, virtual
// clock) and compares them with it; it reports Result.Metrics: KS per
// feature and direction, ACF errors, dependence error, both classifier
// accuracies and the virtual timeline ratio. Every number is seeded, so an
// unchanged model reports the same numbers; ns/op is the generation and
// evaluation time.
//
// Captures: skype5 (the embedded trace), skype1 and skype2
// (../shared/data/skype_eth_1.csv and _2.csv beside the repository, or in
// $SPATGAN_SHARED_DATA), and the TCP captures of testdata/captures (pgbench,
// redis, pgbench-wan); a missing file skips its capture.
//
// Comparators: real (the noise floor: the training part itself), gan, and
// the baselines normal, poisson, bootstrap and markov. Training a GAN per
// capture takes about ten minutes on two cores, so gan needs a bundle
// trained on that capture:
//   - SPATGAN_BUNDLES=DIR: DIR/NAME is the bundle of capture NAME (the
//     layout scripts/fidelity-all.sh writes in out/bundles);
//   - SPATGAN_BUNDLE=DIR: one bundle, used for the capture it was trained
//     on (found by its manifest's training fingerprint);
//   - SPATGAN_QUICK=1: without a bundle, train a quick one per capture
//     (SPATGAN_QUICK_STEPS generator steps per model, default
//     gan.DefaultQuickSteps; a minute or more per capture, far from converged).
//
// Without any of them gan is left out (the benchmark logs why). Relative
// paths in these variables are relative to the repository root.
//
// SPATGAN_DRAW_SEED=N seeds the generators' draws (gan and the baselines)
// with N instead of fidelitySeed, training and the classifier tests
// staying as they are (spatgan bench fidelity --draw-seed): runs with a
// few draw seeds give benchstat the spread the draws alone cause.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/spatgan/spatgan/bench"
	"github.com/spatgan/spatgan/bench/gan"
	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
)

// quickDir is fidelityBundle's answer for a quick bundle still to train.
const quickDir = "(quick)"

// fidelitySeed seeds every sampler and classifier test of the benchmark
// (the spatgan bench fidelity default).
const fidelitySeed = 1

// fromRepo resolves a path given in the environment: relative paths are
// relative to the repository root, where make and the scripts run (go test
// runs in bench/).
func fromRepo(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join("..", p)
}

// fidelityCapture is one evaluation capture of BenchmarkFidelity.
type fidelityCapture struct {
	name string
	path string // "" for the embedded trace
}

// fidelityCaptures lists the evaluation captures, in benchmark order; the
// names are those of scripts/fidelity-all.sh.
func fidelityCaptures() []fidelityCapture {
	shared := fromRepo(os.Getenv("SPATGAN_SHARED_DATA"))
	if shared == "" {
		shared = filepath.Join("..", "..", "shared", "data") // beside the repository; tests run in bench/
	}
	caps := []fidelityCapture{
		{"skype5", ""},
		{"skype1", filepath.Join(shared, "skype_eth_1.csv")},
		{"skype2", filepath.Join(shared, "skype_eth_2.csv")},
	}
	for _, n := range []string{"pgbench", "redis", "pgbench-wan"} {
		caps = append(caps, fidelityCapture{n, filepath.Join("testdata", "captures", n+".spc")})
	}
	return caps
}

// load reads the capture's busiest conversation, the one every spatgan
// command picks automatically.
func (c fidelityCapture) load() (*trace.Conversation, error) {
	if c.path == "" {
		return trace.Default()
	}
	return trace.Load(c.path, trace.Select{})
}

func BenchmarkFidelity(b *testing.B) {
	for _, c := range fidelityCaptures() {
		b.Run("capture="+c.name, func(b *testing.B) {
			if c.path != "" {
				if _, err := os.Stat(c.path); err != nil {
					b.Skipf("capture %s: %v", c.name, err)
				}
			}
			conv, err := c.load()
			if err != nil {
				b.Fatal(err)
			}
			benchFidelity(b, c.name, conv)
		})
	}
}

// benchFidelity runs one sub-benchmark per comparator on conv.
func benchFidelity(b *testing.B, name string, conv *trace.Conversation) {
	ctx := context.Background()
	draw := uint64(fidelitySeed)
	if v := os.Getenv("SPATGAN_DRAW_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			b.Fatalf("SPATGAN_DRAW_SEED %q: want a positive integer", v)
		}
		draw = n
	}
	dir, m, split, notes := fidelityBundle(b, name, conv)
	var quick sync.Once
	var quickErr error
	quickBundle := func() error {
		quick.Do(func() {
			steps, _ := strconv.Atoi(os.Getenv("SPATGAN_QUICK_STEPS"))
			dir = filepath.Join(b.TempDir(), name)
			m, _, quickErr = gan.TrainQuick(ctx, split, gan.QuickOptions{Steps: steps, Out: dir, Seed: fidelitySeed})
		})
		return quickErr
	}
	type column struct {
		name string
		make func() (bench.Comparator, error)
	}
	cols := []column{{bench.NameReal, func() (bench.Comparator, error) { return bench.NoiseFloor(split), nil }}}
	if dir != "" {
		cols = append(cols, column{bench.NameGAN, func() (bench.Comparator, error) {
			if dir == quickDir {
				if err := quickBundle(); err != nil {
					return bench.Comparator{}, err
				}
			}
			return gan.OpenModel(bench.NameGAN, dir, m, "", draw, tf.SessionOptions{})
		}})
	}
	for _, bl := range bench.DefaultBaselines() {
		cols = append(cols, column{bl, func() (bench.Comparator, error) {
			cs, err := bench.FitBaselines(split, []string{bl}, draw)
			if err != nil {
				return bench.Comparator{}, err
			}
			return cs[0], nil
		}})
	}
	for _, col := range cols {
		b.Run("gen="+col.name, func(b *testing.B) {
			if col.name == bench.NameReal {
				// A leaf benchmark's log is printed without -v, its parent's
				// is not.
				for _, n := range notes {
					b.Log(n)
				}
			}
			var res bench.Result
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				// A fresh, identically seeded sampler per iteration: every
				// iteration reports the same numbers.
				c, err := col.make()
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				rep, err := bench.Evaluate(ctx, split, []bench.Comparator{c}, bench.Options{Seed: fidelitySeed, Prime: true})
				b.StopTimer()
				if bu, ok := c.Sampler.(*bundle.Bundle); ok {
					bu.Close()
				}
				if err != nil {
					b.Fatal(err)
				}
				res = rep.Comparators[0]
			}
			for _, mt := range res.Metrics() {
				b.ReportMetric(mt.Value, mt.Unit)
			}
		})
	}
}

// fidelityBundle finds the GAN bundle of capture name (see the comment at
// the top of this file) and returns it with its manifest and the split it
// was trained on; without one, dir is "" and the split is at
// trace.DefaultTrainFrac. notes say why a bundle was not used.
func fidelityBundle(b *testing.B, name string, conv *trace.Conversation) (dir string, m *bundle.Manifest, split *bench.Split, notes []string) {
	b.Helper()
	check := func(d string) (*bundle.Manifest, *bench.Split, error) {
		bm, _, err := bundle.ReadManifest(d)
		if err != nil {
			return nil, nil, err
		}
		s, err := bench.NewSplit(conv, bm.Trace.TrainFrac)
		if err != nil {
			return nil, nil, err
		}
		bm, err = gan.CheckBundle(s, d)
		return bm, s, err
	}
	if root := fromRepo(os.Getenv("SPATGAN_BUNDLES")); root != "" {
		d := filepath.Join(root, name)
		if _, err := os.Stat(d); err == nil {
			m, s, err := check(d)
			if err != nil {
				b.Fatalf("SPATGAN_BUNDLES: %v", err)
			}
			return d, m, s, nil
		}
		notes = append(notes, fmt.Sprintf("gan: no bundle %s in SPATGAN_BUNDLES", d))
	}
	if d := fromRepo(os.Getenv("SPATGAN_BUNDLE")); d != "" {
		m, s, err := check(d)
		var me *bench.MismatchError
		switch {
		case err == nil:
			return d, m, s, nil
		case !errors.As(err, &me):
			b.Fatalf("SPATGAN_BUNDLE: %v", err)
		}
		notes = append(notes, fmt.Sprintf("gan: SPATGAN_BUNDLE %s was not trained on capture %s", d, name))
	}
	split, err := bench.NewSplit(conv, trace.DefaultTrainFrac)
	if err != nil {
		b.Fatal(err)
	}
	if os.Getenv("SPATGAN_QUICK") == "1" {
		steps := 0
		if s := os.Getenv("SPATGAN_QUICK_STEPS"); s != "" {
			if steps, err = strconv.Atoi(s); err != nil || steps < 1 {
				b.Fatalf("SPATGAN_QUICK_STEPS=%q: want a positive number of steps", s)
			}
		}
		// Trained when the gan column first needs it, so that a -bench
		// pattern leaving gan out trains nothing.
		if steps == 0 {
			steps = gan.DefaultQuickSteps
		}
		return quickDir, nil, split, []string{fmt.Sprintf("gan: a quick bundle trained on capture %s for this benchmark (%d generator steps per model), far from converged", name, steps)}
	}
	notes = append(notes, fmt.Sprintf("gan: no bundle for capture %s, so only the noise floor and the baselines: set SPATGAN_BUNDLES=DIR (DIR/%s), "+
		"SPATGAN_BUNDLE, or SPATGAN_QUICK=1 to train a quick one (scripts/fidelity-all.sh trains full ones)", name, name))
	return "", nil, split, notes
}
