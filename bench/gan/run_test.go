//go:build cgo

package gan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spatgan/spatgan/bench"
	"github.com/spatgan/spatgan/bench/internal/testconv"
	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/metrics"
	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/train"
)

func TestRefusesBundleOfOtherData(t *testing.T) {
	_, gan, _ := bundles(t)
	other := testconv.Synth(2, 4000) // same generator, other seed: other data
	s, err := bench.NewSplit(other, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	_, err = CheckBundle(s, gan)
	var me *bench.MismatchError
	if !errors.As(err, &me) || me.Field != "train_sha256" {
		t.Fatalf("CheckBundle on other data: got %v, want a train_sha256 MismatchError", err)
	}
	if !strings.Contains(err.Error(), "trained on other data") || !strings.Contains(err.Error(), gan) {
		t.Errorf("error does not say what is wrong: %v", err)
	}
	// The whole protocol refuses it too, before generating anything.
	_, err = RunFidelity(context.Background(), FidelityConfig{Conv: other, Bundle: gan, Baselines: []string{}})
	if !errors.As(err, &me) {
		t.Fatalf("RunFidelity with a foreign bundle: got %v, want a MismatchError", err)
	}
	// The held-out part alone is other data too: the training part differs.
	conv, _, _ := bundles(t)
	head := &trace.Conversation{Server: conv.Server, Client: conv.Client, Proto: conv.Proto, Source: "prefix",
		Packets: conv.Packets[:len(conv.Packets)/2]}
	if _, err := RunFidelity(context.Background(), FidelityConfig{Conv: head, Bundle: gan, Baselines: []string{}}); !errors.As(err, &me) {
		t.Fatalf("RunFidelity on a prefix of the training trace: got %v, want a MismatchError", err)
	}
}

func TestRefusesOtherSplit(t *testing.T) {
	conv, gan, paper := bundles(t)
	s, err := bench.NewSplit(conv, 0.7)
	if err != nil {
		t.Fatal(err)
	}
	var me *bench.MismatchError
	if _, err := CheckBundle(s, gan); !errors.As(err, &me) || me.Field != "train_frac" {
		t.Fatalf("CheckBundle at another split: got %v, want a train_frac MismatchError", err)
	}
	if _, err := RunFidelity(context.Background(), FidelityConfig{Conv: conv, Bundle: gan, TrainFrac: 0.7}); err == nil ||
		!strings.Contains(err.Error(), "0.7") {
		t.Fatalf("RunFidelity with a training fraction the bundle contradicts: got %v", err)
	}
	// A copy of the paper bundle whose manifest claims another split.
	moved := filepath.Join(t.TempDir(), "paper07")
	if err := os.CopyFS(moved, os.DirFS(paper)); err != nil {
		t.Fatal(err)
	}
	mf := filepath.Join(moved, "manifest.json")
	b, err := os.ReadFile(mf)
	if err != nil {
		t.Fatal(err)
	}
	b2 := bytes.Replace(b, []byte(`"train_frac": 0.8`), []byte(`"train_frac": 0.7`), 1)
	if bytes.Equal(b, b2) {
		t.Fatal("manifest has no train_frac 0.8 to edit")
	}
	if err := os.WriteFile(mf, b2, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = RunFidelity(context.Background(), FidelityConfig{Conv: conv, Bundle: gan, PaperBundle: moved})
	if err == nil || !strings.Contains(err.Error(), "different splits") {
		t.Fatalf("two bundles of different splits: got %v", err)
	}
}

var synReport struct {
	once sync.Once
	rep  *bench.Report
	err  error
}

// syntheticReport runs the whole protocol once on the synthetic
// conversation with both tiny bundles and every baseline.
func syntheticReport(t *testing.T) *bench.Report {
	conv, gan, paper := bundles(t)
	synReport.once.Do(func() {
		synReport.rep, synReport.err = RunFidelity(context.Background(), FidelityConfig{Conv: conv, Bundle: gan, PaperBundle: paper, Seed: 3})
	})
	if synReport.err != nil {
		t.Fatal(synReport.err)
	}
	return synReport.rep
}

func TestReportHasEveryComparator(t *testing.T) {
	rep := syntheticReport(t)
	conv, _, _ := bundles(t)
	tr, te, err := conv.SplitAt(0.8)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"real", "gan", "gan-paper", "normal", "poisson", "bootstrap", "markov"}
	if got := names(rep); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("comparators %v, want %v", got, want)
	}
	if rep.Trace.TestPackets != len(te.Packets) || rep.Trace.TrainPackets != len(tr.Packets) {
		t.Errorf("split sizes %d/%d, want %d/%d", rep.Trace.TrainPackets, rep.Trace.TestPackets, len(tr.Packets), len(te.Packets))
	}
	for _, c := range rep.Comparators {
		// Every generator produced exactly as many packets as the held-out
		// part; the noise floor is the training part.
		wantN := len(te.Packets)
		if c.Kind == bench.KindReal {
			wantN = len(tr.Packets)
		}
		if c.Packets != wantN {
			t.Errorf("%s: %d packets, want %d", c.Name, c.Packets, wantN)
		}
		if (c.Generation == nil) != (c.Kind == bench.KindReal) {
			t.Errorf("%s: generation info %v for kind %s", c.Name, c.Generation, c.Kind)
		}
		if c.C2STPacket == nil || c.C2STWindow == nil {
			t.Errorf("%s: missing C2ST: %v", c.Name, c.Notes)
		}
		for _, side := range bench.Sides {
			d := c.Distances.Get(side)
			for _, f := range features {
				x := f.get(d)
				for name, v := range map[string]float64{"KS": x.KS, "JSD": x.JSD} {
					if !(v >= 0 && v <= 1) {
						t.Errorf("%s %s %s: %s = %v, want in [0, 1]", c.Name, f.name, bench.Direction(side), name, v)
					}
				}
				if x.NReal != f.n(rep.Trace.TestCounts.Get(side)) {
					t.Errorf("%s %s %s: compared with %d real values, held-out has %d", c.Name, f.name, bench.Direction(side), x.NReal, f.n(rep.Trace.TestCounts.Get(side)))
				}
			}
		}
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, s := range []string{
		"| feature | direction | n | KS 95% | real | gan | gan-paper | normal | poisson | bootstrap | markov |",
		"| size | server->client |", "| size | client->server |", "| IAT | server->client |", "| merged delta | client->server |",
		"| burst length | server->client |", "| reply gap | client->server |",
		"| log-IAT | client->server |", "| server | packets -> gap |", "| windows of 8 packets |",
		"Seed 3.", "noise floor",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("Markdown lacks %q", s)
		}
	}
	// JSON holds the same numbers and reads back.
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := bench.ReadJSON(bytes.NewReader(js.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var js2 bytes.Buffer
	if err := back.WriteJSON(&js2); err != nil {
		t.Fatal(err)
	}
	if js.String() != js2.String() {
		t.Error("JSON does not survive a round trip")
	}
	if got, want := back.Result("markov").Distances.ClientToServer.Size.KS, rep.Result("markov").Distances.ClientToServer.Size.KS; got != want {
		t.Errorf("JSON markov size KS %v, report %v", got, want)
	}
	var raw map[string]any
	if err := json.Unmarshal(js.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if raw["seed"] != float64(3) {
		t.Errorf("JSON seed %v", raw["seed"])
	}
}

func TestQuickBundle(t *testing.T) {
	conv := testconv.Synth(4, 1500)
	out := filepath.Join(t.TempDir(), "quick")
	var log bytes.Buffer
	rep, err := RunFidelity(context.Background(), FidelityConfig{Conv: conv, QuickSteps: 10, QuickConfigs: tinyConfigs(graphs.Default, 10),
		QuickOut: out, Baselines: []string{"bootstrap"}, Seed: 2, Progress: &log})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(rep), ","); got != "real,gan,bootstrap" {
		t.Errorf("comparators %s", got)
	}
	if g := rep.Result("gan"); !strings.Contains(g.Note, "trained for this report (no bundle given) with 10 generator steps") {
		t.Errorf("gan note does not say the bundle was trained for the report: %q", g.Note)
	}
	if _, err := os.Stat(filepath.Join(out, "manifest.json")); err != nil {
		t.Errorf("quick bundle not kept in QuickOut: %v", err)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "no paper-configuration bundle") {
		t.Errorf("notes do not say the paper column is missing: %v", rep.Notes)
	}
	if !strings.Contains(log.String(), "training a quick default-configuration bundle") {
		t.Errorf("progress does not announce the quick training:\n%s", log.String())
	}
}

// names lists the report's comparators in column order.
func names(r *bench.Report) []string {
	var out []string
	for _, c := range r.Comparators {
		out = append(out, c.Name)
	}
	return out
}

// features are the report's marginal features with their held-out sample
// sizes.
var features = []struct {
	name string
	get  func(metrics.SeriesDistances) metrics.Distances
	n    func(bench.Counts) int
}{
	{"size", func(d metrics.SeriesDistances) metrics.Distances { return d.Size }, func(c bench.Counts) int { return c.Packets }},
	{"IAT", func(d metrics.SeriesDistances) metrics.Distances { return d.IAT }, func(c bench.Counts) int { return c.IAT }},
	{"merged delta", func(d metrics.SeriesDistances) metrics.Distances { return d.Delta }, func(c bench.Counts) int { return c.Delta }},
	{"burst length", func(d metrics.SeriesDistances) metrics.Distances { return d.Burst }, func(c bench.Counts) int { return c.Bursts }},
	{"reply gap", func(d metrics.SeriesDistances) metrics.Distances { return d.ReplyGap }, func(c bench.Counts) int { return c.ReplyGaps }},
}

func TestCheckBundleNotABundle(t *testing.T) {
	s, err := bench.NewSplit(testconv.Synth(3, 300), 0.8)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckBundle(s, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a bundle") {
		t.Errorf("CheckBundle on an empty directory: %v", err)
	}
}

// tinyConfigs are small, fast versions of a configuration family.
func tinyConfigs(base func(graphs.Kind) graphs.Config, steps int) map[string]graphs.Config {
	m := map[string]graphs.Config{}
	for _, id := range bundle.ModelIDs {
		_, kind, _ := bundle.ModelKind(id)
		c := base(kind)
		c.GenWidths, c.CriticWidths = []int{16, 16}, []int{16, 16}
		c.Steps, c.Pretrain, c.CriticIters, c.Batch = steps, 5, 1, 32
		m[id] = c
	}
	return m
}

// trainTiny trains a tiny bundle on conv at frac into dir.
func trainTiny(tb testing.TB, conv *trace.Conversation, frac float64, base func(graphs.Kind) graphs.Config, dir string) {
	tb.Helper()
	_, err := train.Run(context.Background(), train.Options{Conv: conv, TrainFrac: frac, Configs: tinyConfigs(base, 20),
		Seed: 5, Out: dir, EvalEvery: 20, CheckpointEvery: 20, EvalRows: 200})
	if err != nil {
		tb.Fatal(err)
	}
}

// fixture holds bundles shared by the tests, trained once.
var fixture struct {
	once       sync.Once
	dir        string
	conv       *trace.Conversation
	gan, paper string
	err        error
}

// bundles returns the shared synthetic conversation and two tiny bundles
// trained on its first 0.8 (default and paper configurations).
func bundles(t *testing.T) (conv *trace.Conversation, gan, paper string) {
	t.Helper()
	fixture.once.Do(func() {
		fixture.dir, fixture.err = os.MkdirTemp("", "spatgan-bench-test-*")
		if fixture.err != nil {
			return
		}
		conv := testconv.Synth(1, 4000)
		gan, paper := filepath.Join(fixture.dir, "gan"), filepath.Join(fixture.dir, "paper")
		trainTiny(t, conv, 0.8, graphs.Default, gan)
		trainTiny(t, conv, 0.8, graphs.Paper, paper)
		fixture.conv, fixture.gan, fixture.paper = conv, gan, paper
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	if fixture.gan == "" {
		t.Fatal("fixture bundles failed in an earlier test")
	}
	return fixture.conv, fixture.gan, fixture.paper
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range []string{fixture.dir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

// DrawSeed reseeds the generators' draws and nothing else: the noise
// floor (no draws, classifiers seeded by Seed) is unchanged, every
// generator's traffic changes, and DrawSeed equal to Seed is the default.
func TestDrawSeed(t *testing.T) {
	rep := syntheticReport(t) // Seed 3
	conv, gan, _ := bundles(t)
	run := func(draw uint64) *bench.Report {
		t.Helper()
		r, err := RunFidelity(context.Background(), FidelityConfig{Conv: conv, Bundle: gan, Baselines: []string{"markov"}, Seed: 3, DrawSeed: draw})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	other, same := run(5), run(3)
	if other.DrawSeed != 5 || same.DrawSeed != 3 {
		t.Errorf("report draw seeds %d and %d, want 5 and 3", other.DrawSeed, same.DrawSeed)
	}
	if got, want := other.Result(bench.NameReal).C2STPacket.Accuracy, rep.Result(bench.NameReal).C2STPacket.Accuracy; got != want {
		t.Errorf("noise floor C2ST %v with another draw seed, want %v", got, want)
	}
	for _, name := range []string{bench.NameGAN, "markov"} {
		if a, b := other.Result(name).DurationS, rep.Result(name).DurationS; a == b {
			t.Errorf("%s: the same timeline (%v s) with draw seed 5 as with 3", name, a)
		}
		if a, b := same.Result(name).DurationS, rep.Result(name).DurationS; a != b {
			t.Errorf("%s: draw seed 3 gives a timeline of %v s, the default with seed 3 %v s", name, a, b)
		}
		if a, b := same.Result(name).C2STWindow.Accuracy, rep.Result(name).C2STWindow.Accuracy; a != b {
			t.Errorf("%s: draw seed 3 gives window C2ST %v, the default with seed 3 %v", name, a, b)
		}
	}
	var md bytes.Buffer
	if err := other.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "Seed 3 (the generators' draws: seed 5).") {
		t.Error("Markdown does not name the draw seed")
	}
}
