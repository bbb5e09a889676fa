package cli

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/bench"
	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/train"
)

// benchTrace writes a seeded synthetic conversation (alternating bursts of
// 1..4 packets, two-component sizes, exponential gaps) as CSV and returns
// the path and the conversation as the CLI reads it back.
func benchTrace(t *testing.T) (string, *trace.Conversation) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	c := &trace.Conversation{Proto: "udp", Source: "synthetic"}
	c.Server.Addr = netip.MustParseAddr("10.0.0.1")
	c.Client.Addr = netip.MustParseAddr("10.0.0.2")
	us := int64(1_600_000_000_000_000)
	side := trace.Client
	for b := 0; b < 2000; b++ {
		us += 1000 + int64(rng.ExpFloat64()*20000)
		for i, n := 0, 1+rng.IntN(4); i < n; i++ {
			if i > 0 {
				us += 100 + int64(rng.ExpFloat64()*2000)
			}
			size := 200 + 20*rng.NormFloat64()
			if rng.IntN(3) == 0 {
				size = 900 + 50*rng.NormFloat64()
			}
			c.Packets = append(c.Packets, trace.Packet{TS: us * 1000, Size: int32(math.Round(size)), From: side, Proto: 17})
		}
		side = side.Other()
	}
	path := writeCSVTrace(t, c)
	back, err := trace.Load(path, trace.Select{Proto: "any"})
	if err != nil {
		t.Fatal(err)
	}
	return path, back
}

// tinyBundle trains a small, fast bundle on conv's first 0.8.
func tinyBundle(t *testing.T, conv *trace.Conversation) string {
	t.Helper()
	cfgs := map[string]graphs.Config{}
	for _, id := range bundle.ModelIDs {
		_, kind, _ := bundle.ModelKind(id)
		c := graphs.Default(kind)
		c.GenWidths, c.CriticWidths = []int{16, 16}, []int{16, 16}
		c.Steps, c.Pretrain, c.CriticIters, c.Batch = 10, 5, 1, 32
		cfgs[id] = c
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, err := train.Run(context.Background(), train.Options{Conv: conv, Configs: cfgs, Seed: 1, Out: dir,
		EvalEvery: 10, CheckpointEvery: 10, EvalRows: 200}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBenchFidelityCommand(t *testing.T) {
	path, conv := benchTrace(t)
	dir := tinyBundle(t, conv)
	js := filepath.Join(t.TempDir(), "report.json")
	md := filepath.Join(t.TempDir(), "report.md")
	dump := filepath.Join(t.TempDir(), "dump")
	var out, errb bytes.Buffer
	err := Run(context.Background(), &out, &errb, []string{"bench", "fidelity", "--trace", path, "--bundle", dir,
		"--baselines", "bootstrap,markov", "--json", js, "--seed", "4", "--quiet", "--out", md, "--dump", dump})
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	b, err := os.ReadFile(md)
	if err != nil || out.Len() != 0 {
		t.Fatalf("--out: %v; stdout %q", err, out.String())
	}
	out.Write(b)
	for _, want := range []string{
		"| feature | direction | n | KS 95% | real | gan | bootstrap | markov |",
		"| reply gap | client->server |", "## Classifier two-sample test", "Seed 4.",
		"| packets, client->server, later in a burst |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	f, err := os.Open(js)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := bench.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seed != 4 || len(rep.Comparators) != 4 || rep.Result("markov") == nil {
		t.Errorf("JSON report: seed %d, %d comparators", rep.Seed, len(rep.Comparators))
	}
	// --dump: the held-out part and each comparator's packets, as pcap
	// that trace.Load reads back: the held-out part is the conversation's
	// last packets, and each file holds as many as the report scored.
	held, err := trace.Load(filepath.Join(dump, "held-out.pcap"), trace.Select{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(held.Packets); n == 0 || n >= len(conv.Packets) || held.Packets[n-1].TS != conv.Packets[len(conv.Packets)-1].TS ||
		held.Packets[0].TS != conv.Packets[len(conv.Packets)-n].TS {
		t.Errorf("held-out.pcap: %d packets, not the conversation's last part", n)
	}
	for _, c := range rep.Comparators {
		d, err := trace.Load(filepath.Join(dump, c.Name+".pcap"), trace.Select{})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Packets) != c.Packets {
			t.Errorf("%s.pcap: %d packets, the report scored %d", c.Name, len(d.Packets), c.Packets)
		}
		if c.Kind != bench.KindReal && slices.Equal(d.Packets, held.Packets) {
			t.Errorf("%s.pcap holds the held-out part", c.Name)
		}
	}

	// The same bundle on the embedded Skype call: refused.
	out.Reset()
	errb.Reset()
	err = Run(context.Background(), &out, &errb, []string{"bench", "fidelity", "--trace", "default", "--bundle", dir, "--quiet"})
	if err == nil || !strings.Contains(err.Error(), "trained on other data") {
		t.Errorf("bundle of another trace: got %v", err)
	}
}

func TestBenchCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
		want string
	}{
		{[]string{"bench", "--help"}, true, ""},
		{[]string{"bench", "fidelity", "--help"}, true, ""},
		{[]string{"bench"}, false, "usage"},
		{[]string{"bench", "speed"}, false, `unknown command "speed" (want fidelity)`},
		{[]string{"bench", "fidelity", "extra"}, false, "unexpected argument"},
		{[]string{"bench", "fidelity", "--steps", "0"}, false, "--steps"},
		{[]string{"bench", "fidelity", "--bundle", "/nonexistent/bundle", "--quiet"}, false, "not a bundle"},
		{[]string{"bench", "fidelity", "--trace", filepath.Join(t.TempDir(), "missing.csv")}, false, "missing.csv"},
		{[]string{"bench", "fidelity", "--baselines", "normal,gaussian", "--steps", "1", "--quiet"}, false, "unknown baseline \"gaussian\""},
	} {
		var out, errb bytes.Buffer
		err := Run(context.Background(), &out, &errb, tc.args)
		if tc.ok {
			if err != nil {
				t.Errorf("%v: %v", tc.args, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
