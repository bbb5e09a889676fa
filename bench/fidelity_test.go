package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/metrics"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// dkw is the Dvoretzky-Kiefer-Wolfowitz(-Massart) bound: the empirical CDF
// of n i.i.d. draws is within dkw(n, alpha) of the true CDF everywhere with
// probability at least 1 - alpha.
func dkw(n int, alpha float64) float64 {
	return math.Sqrt(math.Log(2/alpha) / (2 * float64(n)))
}

func TestRefusesBundleOfOtherData(t *testing.T) {
	_, gan, _ := bundles(t)
	other := synthConv(2, 4000) // same generator, other seed: other data
	s, err := NewSplit(other, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CheckBundle(gan)
	var me *MismatchError
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
	s, err := NewSplit(conv, 0.7)
	if err != nil {
		t.Fatal(err)
	}
	var me *MismatchError
	if _, err := s.CheckBundle(gan); !errors.As(err, &me) || me.Field != "train_frac" {
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
	rep  *Report
	err  error
}

// syntheticReport runs the whole protocol once on the synthetic
// conversation with both tiny bundles and every baseline.
func syntheticReport(t *testing.T) *Report {
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
	if got := rep.names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("comparators %v, want %v", got, want)
	}
	if rep.Trace.TestPackets != len(te.Packets) || rep.Trace.TrainPackets != len(tr.Packets) {
		t.Errorf("split sizes %d/%d, want %d/%d", rep.Trace.TrainPackets, rep.Trace.TestPackets, len(tr.Packets), len(te.Packets))
	}
	for _, c := range rep.Comparators {
		// Every generator produced exactly as many packets as the held-out
		// part; the noise floor is the training part.
		wantN := len(te.Packets)
		if c.Kind == KindReal {
			wantN = len(tr.Packets)
		}
		if c.Packets != wantN {
			t.Errorf("%s: %d packets, want %d", c.Name, c.Packets, wantN)
		}
		if (c.Generation == nil) != (c.Kind == KindReal) {
			t.Errorf("%s: generation info %v for kind %s", c.Name, c.Generation, c.Kind)
		}
		if c.C2STPacket == nil || c.C2STWindow == nil {
			t.Errorf("%s: missing C2ST: %v", c.Name, c.Notes)
		}
		for _, side := range Sides {
			d := c.Distances.Get(side)
			for _, f := range features {
				x := f.get(&d)
				for name, v := range map[string]float64{"KS": x.KS, "JSD": x.JSD} {
					if !(v >= 0 && v <= 1) {
						t.Errorf("%s %s %s: %s = %v, want in [0, 1]", c.Name, f.name, Direction(side), name, v)
					}
				}
				if x.NReal != f.n(rep.Trace.TestCounts.Get(side)) {
					t.Errorf("%s %s %s: compared with %d real values, held-out has %d", c.Name, f.name, Direction(side), x.NReal, f.n(rep.Trace.TestCounts.Get(side)))
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
	back, err := ReadJSON(bytes.NewReader(js.Bytes()))
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

// TestBaselinesOnStationaryTrace checks the report against expectations
// derived by hand from how the synthetic conversation is made (synthConv):
// it is stationary, so the training part and the held-out part come from
// one distribution.
func TestBaselinesOnStationaryTrace(t *testing.T) {
	rep := syntheticReport(t)
	const alpha = 1e-6
	for _, side := range Sides {
		nTest := rep.Trace.TestCounts.Get(side).Packets
		floor := rep.Result("real")
		nTrain := floor.Counts.Get(side).Packets

		// Noise floor: two samples of one distribution; by DKW each ECDF is
		// within dkw of the truth, so their KS is below the sum.
		if ks, bound := floor.Distances.Get(side).Size.KS, dkw(nTrain, alpha)+dkw(nTest, alpha); ks > bound {
			t.Errorf("%s: noise-floor size KS %.4f above the DKW bound %.4f", Direction(side), ks, bound)
		}
		// Bootstrap: i.i.d. draws from the training ECDF (sizes stay within
		// [MinFrame, MaxFrame], so nothing is clamped). KS to the held-out
		// part <= dkw(draws) + dkw(train) + dkw(test), plus 0.002 for the
		// few client packets before the first server burst, which are not
		// packet rows.
		boot := rep.Result("bootstrap")
		m := boot.Counts.Get(side).Packets
		if ks, bound := boot.Distances.Get(side).Size.KS, dkw(m, alpha)+dkw(nTrain, alpha)+dkw(nTest, alpha)+0.002; ks > bound {
			t.Errorf("%s: bootstrap size KS %.4f above the bound %.4f", Direction(side), ks, bound)
		}
		// Normal baseline: N(mu, sigma) fitted to the mixture
		// 2/3 N(200,20) + 1/3 N(900,50): mu = 433.3, sigma^2 =
		// 2/3(200^2+20^2) + 1/3(900^2+50^2) - mu^2 = 109989, sigma = 331.6.
		// At x = 250 the mixture's CDF is 2/3 Phi(2.5) = 0.6626, the
		// normal's Phi(-0.553) = 0.290 (clamping at the training minimum
		// moves mass below 250 only): KS >= 0.372 minus the pointwise
		// sampling error of both ECDFs at one point (5 binomial standard
		// deviations, about 0.06 each at these sizes) and of mu and sigma:
		// KS > 0.25.
		if ks := rep.Result("normal").Distances.Get(side).Size.KS; ks < 0.25 {
			t.Errorf("%s: normal size KS %.3f, want > 0.25 (a unimodal fit to a bimodal mixture)", Direction(side), ks)
		}
		// Poisson with mean 433 has sd 20.8: its CDF at 250 is ~0 (z = -8.8)
		// against 0.66 for the mixture: KS > 0.55.
		if ks := rep.Result("poisson").Distances.Get(side).Size.KS; ks < 0.55 {
			t.Errorf("%s: poisson size KS %.3f, want > 0.55", Direction(side), ks)
		}
	}

	// Cross-direction dependence: the server answers with exactly as many
	// packets as the client sent, so the held-out Spearman correlation of
	// the client's burst length with the server's is 1 but for the bursts
	// cut by the split. The Markov baseline resamples the server's burst
	// among the rows that followed a client burst of the same length bin
	// (1, 2, 3, 4 are bins of their own), all of which have that length:
	// it reproduces the correlation. The bootstrap draws independently of
	// the client: |rho| is at sampling level, below 4.5/sqrt(n).
	if rho := rep.RealDependence.ServerToClient.CountCount; rho < 0.99 {
		t.Errorf("held-out server count->count %.3f, want ~1", rho)
	}
	if rho := rep.Result("markov").Dependence.ServerToClient.CountCount; rho < 0.99 {
		t.Errorf("markov server count->count %.3f, want ~1", rho)
	}
	bd := rep.Result("bootstrap").Dependence.ServerToClient
	if lim := 4.5 / math.Sqrt(float64(bd.N)); math.Abs(bd.CountCount) > lim {
		t.Errorf("bootstrap server count->count %.3f, want |rho| < %.3f", bd.CountCount, lim)
	}
	if a, b := float64(rep.Result("markov").DependenceError), float64(rep.Result("bootstrap").DependenceError); !(a < b) {
		t.Errorf("markov dependence error %.3f not below the bootstrap's %.3f", a, b)
	}

	// C2ST: on one distribution the held-out accuracy is 0.5 in
	// expectation (labels independent of the rows): within 5 standard
	// errors. The normal's size distribution is at total variation >= KS
	// >= 0.25 from the truth, so the Bayes classifier reaches >= 0.625 on
	// size alone; boosted trees on (direction, size, delta) get near it.
	if r := rep.Result("real").C2STPacket; r.Accuracy > 0.5+5*r.StdErr {
		t.Errorf("noise-floor packet C2ST %.3f ± %.3f on a stationary trace, want ~0.5", r.Accuracy, r.StdErr)
	}
	if r := rep.Result("normal").C2STPacket; r.Accuracy < 0.6 {
		t.Errorf("normal packet C2ST %.3f, want > 0.6", r.Accuracy)
	}
}

// TestDefaultTraceAgainstScipy runs the protocol on the embedded Skype call
// with the noise floor and the bootstrap, and checks the split, the
// noise floor and the held-out dependence against testdata/
// split_reference.json (numpy/scipy from the CSV; see testdata/README.md).
func TestDefaultTraceAgainstScipy(t *testing.T) {
	var ref struct {
		TrainPackets int `json:"train_packets"`
		TestPackets  int `json:"test_packets"`
		Sides        map[string]struct {
			TestPackets    int     `json:"test_packets"`
			TestBursts     int     `json:"test_bursts"`
			TrainBelow70   float64 `json:"train_below_70"`
			FloorKSSize    float64 `json:"floor_ks_size"`
			FloorKSIAT     float64 `json:"floor_ks_iat"`
			FloorKSBurst   float64 `json:"floor_ks_burst"`
			TestDependence struct {
				N          int     `json:"n"`
				CountGap   float64 `json:"count_gap"`
				BytesGap   float64 `json:"bytes_gap"`
				CountCount float64 `json:"count_count"`
				BytesBytes float64 `json:"bytes_bytes"`
			} `json:"test_dependence"`
		} `json:"sides"`
	}
	b, err := os.ReadFile("testdata/split_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Sides) != 2 || ref.TestPackets == 0 {
		t.Fatalf("reference incomplete: %+v", ref)
	}

	conv, err := trace.Default()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSplit(conv, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	bm, err := sampler.Fit("bootstrap", s.Train)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), s, []Comparator{
		{Name: "real", Kind: KindReal, Packets: s.Train.Packets},
		{Name: "bootstrap", Kind: KindBaseline, Sampler: bm.New(9)},
	}, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Trace.TrainPackets != ref.TrainPackets || rep.Trace.TestPackets != ref.TestPackets {
		t.Fatalf("split %d/%d, scipy reference %d/%d", rep.Trace.TrainPackets, rep.Trace.TestPackets, ref.TrainPackets, ref.TestPackets)
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.12g, reference %.12g", what, got, want)
		}
	}
	floor, boot := rep.Result("real"), rep.Result("bootstrap")
	for _, side := range Sides {
		key := map[trace.Side]string{trace.Server: "server_to_client", trace.Client: "client_to_server"}[side]
		r := ref.Sides[key]
		dir := Direction(side)
		if c := rep.Trace.TestCounts.Get(side); c.Packets != r.TestPackets || c.Bursts != r.TestBursts {
			t.Errorf("%s: held-out %d packets %d bursts, reference %d %d", dir, c.Packets, c.Bursts, r.TestPackets, r.TestBursts)
		}
		d := floor.Distances.Get(side)
		near(dir+" floor size KS", d.Size.KS, r.FloorKSSize, 1e-12)
		near(dir+" floor IAT KS", d.IAT.KS, r.FloorKSIAT, 1e-12)
		near(dir+" floor burst KS", d.Burst.KS, r.FloorKSBurst, 1e-12)
		dep := rep.RealDependence.Get(side)
		if dep.N != r.TestDependence.N {
			t.Errorf("%s: %d dependence pairs, reference %d", dir, dep.N, r.TestDependence.N)
		}
		near(dir+" count->gap", dep.CountGap, r.TestDependence.CountGap, 1e-9)
		near(dir+" bytes->gap", dep.BytesGap, r.TestDependence.BytesGap, 1e-9)
		near(dir+" count->count", dep.CountCount, r.TestDependence.CountCount, 1e-9)
		near(dir+" bytes->bytes", dep.BytesBytes, r.TestDependence.BytesBytes, 1e-9)

		// The bootstrap draws sizes i.i.d. from the training packets, and
		// generation clamps those below MinFrame (70 B) up to it. By the
		// triangle inequality |KS(boot, test) - KS(train, test)| <=
		// KS(boot, train) <= dkw(draws) + (share of training sizes below
		// 70) + 0.002 (packets before the first opponent burst are not
		// rows). The bootstrap's KS is thus at the noise floor: this is
		// fidelity.md's "KS about 0.005 on marginals" measured honestly,
		// against held-out data.
		m := boot.Counts.Get(side).Packets
		bound := dkw(m, 1e-6) + r.TrainBelow70 + 0.002
		if got := boot.Distances.Get(side).Size.KS; math.Abs(got-r.FloorKSSize) > bound {
			t.Errorf("%s: bootstrap size KS %.4f, noise floor %.4f: differ by more than %.4f", dir, got, r.FloorKSSize, bound)
		}
		if g := boot.Generation; g == nil || g.Clamps.Count != 0 {
			t.Errorf("%s: bootstrap generation %+v: burst lengths come from training rows, none should be clamped", dir, g)
		}
	}
	// The Markdown row carries the held-out n and the KS null level
	// 1.358*sqrt(2/4110) = 0.02996, computed by hand.
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| size | server->client | 4110 | 0.030 | ") {
		t.Errorf("Markdown size row lacks n = 4110 and KS 95%% = 0.030:\n%s", md.String())
	}
	// Every packet below MinFrame is counted in BelowMinFrame: 3.0% of the
	// held-out part (computed from the CSV: 287 of 9550).
	if rep.Trace.BelowMinFrame < 0.029 || rep.Trace.BelowMinFrame > 0.031 {
		t.Errorf("below-MinFrame share %.4f, want 0.030", rep.Trace.BelowMinFrame)
	}
}

func TestQuickBundle(t *testing.T) {
	conv := synthConv(4, 1500)
	out := filepath.Join(t.TempDir(), "quick")
	var log bytes.Buffer
	rep, err := RunFidelity(context.Background(), FidelityConfig{Conv: conv, QuickSteps: 10, QuickConfigs: tinyConfigs(graphs.Default, 10),
		QuickOut: out, Baselines: []string{"bootstrap"}, Seed: 2, Progress: &log})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rep.names(), ","); got != "real,gan,bootstrap" {
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

func TestEvaluateErrors(t *testing.T) {
	conv := synthConv(3, 300)
	s, err := NewSplit(conv, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	floor := Comparator{Name: "real", Kind: KindReal, Packets: s.Train.Packets}
	for name, tc := range map[string]struct {
		comps []Comparator
		opt   Options
		want  string
	}{
		"none":      {nil, Options{}, "no comparators"},
		"duplicate": {[]Comparator{floor, floor}, Options{}, "two comparators named"},
		"empty":     {[]Comparator{{Name: "x"}}, Options{}, "neither a sampler nor packets"},
		"unnamed":   {[]Comparator{{Packets: s.Train.Packets}}, Options{}, "has no name"},
		"window":    {[]Comparator{floor}, Options{WindowK: -1}, "window length"},
		"badside":   {[]Comparator{{Name: "x", Packets: []trace.Packet{{From: 7}}}}, Options{}, "packet 0: side 7"},
	} {
		_, err := Evaluate(context.Background(), s, tc.comps, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "bench: ") {
			t.Errorf("%s: got %v, want an error containing %q", name, err, tc.want)
		}
	}
	if _, err := NewSplit(conv, 1.5); err == nil || !strings.HasPrefix(err.Error(), "bench: ") {
		t.Errorf("NewSplit(1.5): %v", err)
	}
	if _, err := s.CheckBundle(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a bundle") {
		t.Errorf("CheckBundle on an empty directory: %v", err)
	}
	// A generator too small for the windowed test is reported, not fatal.
	short := Comparator{Name: "short", Kind: KindReal, Packets: s.Train.Packets[:6]}
	rep, err := Evaluate(context.Background(), s, []Comparator{short}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Result("short"); r.C2STWindow != nil || len(r.Notes) == 0 {
		t.Errorf("6 packets: window C2ST %v, notes %v", r.C2STWindow, r.Notes)
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil || !strings.Contains(md.String(), "short: C2ST on windows of 8") {
		t.Errorf("Markdown does not carry the note: %v\n%s", err, md.String())
	}
}

func TestFloatJSON(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), 0.25} {
		b, err := json.Marshal(Float(v))
		if err != nil {
			t.Fatal(err)
		}
		var back Float
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		switch {
		case v == 0.25 && (string(b) != "0.25" || back != 0.25):
			t.Errorf("0.25 -> %s -> %v", b, back)
		case v != 0.25 && (string(b) != "null" || !math.IsNaN(float64(back))):
			t.Errorf("%v -> %s -> %v", v, b, back)
		}
	}
}

// The metrics used here are the metrics package's: make sure the report's
// W1 column for times is the log-time W1 (decades), as its header says.
func TestTimeCellIsLogW1(t *testing.T) {
	d := metrics.Compare([]float64{10, 100}, []float64{100, 1000}, metrics.TimeKind)
	// log10: {1, 2} vs {2, 3}: W1 = 1 decade, derived by hand.
	if got := cell(d); !strings.Contains(got, " / 1.00 / ") {
		t.Errorf("cell %q, want W1 = 1.00 decade", got)
	}
}
