package cli

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/trace"
)

// plotSynCSV writes a small seeded two-sided conversation between the
// addresses spatgan generate uses, in the CSV format, and returns its path.
// The first packet comes from the server, so automatic role detection
// alone would swap the roles: plot must pick 192.0.2.1 as the server.
func plotSynCSV(t *testing.T) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 3))
	c := &trace.Conversation{Proto: "udp", Source: "synthetic", Server: trace.DefaultServer, Client: trace.DefaultClient}
	c.Server.Addr, c.Client.Addr = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	us := int64(1_600_000_000_000_000)
	side := trace.Server
	for len(c.Packets) < 3000 {
		us += 500 + int64(rng.ExpFloat64()*15000)
		for i, n := 0, 1+rng.IntN(4); i < n; i++ {
			if i > 0 {
				us += 50 + int64(rng.ExpFloat64()*1000)
			}
			size := int32(100 + rng.IntN(300))
			c.Packets = append(c.Packets, trace.Packet{TS: us * 1000, Size: size, From: side, Proto: 17})
		}
		side = side.Other()
	}
	path := writeCSVTrace(t, c)
	return path
}

func TestPlotCommands(t *testing.T) {
	syn := plotSynCSV(t)
	dir := t.TempDir()
	lossLog := filepath.Join("..", "..", "..", "visualize", "testdata", "loss_sample.csv")
	for _, tc := range []struct {
		kind string
		out  string
		args []string
	}{
		{"flow", "flow.png", []string{"--window", "100s+2s"}},
		{"pca", "pca.svg", []string{"--sample", "500", "--raw-delta"}},
		{"dist", "dist.png", []string{"--split", "0.8"}},
		{"tsne", "tsne.png", []string{"--sample", "200", "--iterations", "250", "--seed", "4"}},
		{"report", "report.png", []string{"--sample", "200", "--iterations", "250", "--loss", lossLog}},
		{"loss", "loss.png", []string{"--loss", lossLog}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			out := filepath.Join(dir, tc.out)
			args := append([]string{"plot", tc.kind, "--out", out}, tc.args...)
			if tc.kind != "loss" {
				args = append(args, "--trace", "default", "--syn", syn)
			}
			var stdout, stderr bytes.Buffer
			if err := Run(context.Background(), &stdout, &stderr, args); err != nil {
				t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), "wrote "+out) {
				t.Errorf("stdout %q", stdout.String())
			}
			if tc.kind != "loss" && !strings.Contains(stderr.String(), "synthetic: "+syn+", server 192.0.2.1, client 192.0.2.2") {
				t.Errorf("roles of the synthetic file not taken from the generator's addresses:\n%s", stderr.String())
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(out, ".png") && !bytes.HasPrefix(b, []byte("\x89PNG")) ||
				strings.HasSuffix(out, ".svg") && !bytes.Contains(b[:min(len(b), 400)], []byte("<svg")) {
				t.Errorf("%s is not the format its extension says", out)
			}
		})
	}
}

func TestPlotErrors(t *testing.T) {
	syn := plotSynCSV(t)
	dir := t.TempDir()
	png := filepath.Join(dir, "f.png")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plot", "bars", "--out", png}, `unknown command "bars" (want dist, flow, loss, pca, report, tsne)`},
		{[]string{"plot", "flow", "--syn", syn}, "--out FIG.png or FIG.svg is required"},
		{[]string{"plot", "flow", "--syn", syn, "--out", filepath.Join(dir, "f.jpg")}, `unsupported extension ".jpg"`},
		{[]string{"plot", "flow", "--syn", syn, "--out", filepath.Join(dir, "no", "f.png")}, "cannot write"},
		{[]string{"plot", "flow", "--out", png, "--syn", syn, "--bundle", dir}, "not both"},
		{[]string{"plot", "report", "--out", png}, "give --syn FILE or --bundle DIR"},
		{[]string{"plot", "flow", "--syn", filepath.Join(dir, "missing.pcap"), "--out", png}, "missing.pcap"},
		{[]string{"plot", "flow", "--syn", syn, "--out", png, "--window", "5s:1s"}, "--window"},
		{[]string{"plot", "flow", "--syn", syn, "--out", png, "--window", "1h+1s"}, "no packets in window"},
		{[]string{"plot", "dist", "--syn", syn, "--out", png, "--split", "1.5"}, "--split 1.5"},
		{[]string{"plot", "pca", "--syn", syn, "--out", png, "--sample", "-7"}, "--sample -7"},
		{[]string{"plot", "tsne", "--syn", syn, "--out", png, "--perplexity", "0"}, "--perplexity"},
		{[]string{"plot", "loss", "--out", png}, "--loss loss.csv is required"},
		{[]string{"plot", "loss", "--out", png, "--log", syn}, "line 1: header"},
		{[]string{"plot", "flow", "--syn", syn, "--out", png, "extra"}, `unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		err := Run(context.Background(), &stdout, &stderr, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(png); err == nil {
		t.Error("a failed command left a figure behind")
	}
	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), &stdout, &stderr, []string{"plot", "tsne", "--help"}); err != nil {
		t.Errorf("--help: %v", err)
	}
	if !strings.Contains(stdout.String(), "--perplexity") || !strings.Contains(stdout.String(), "--sample") {
		t.Errorf("tsne --help lacks its flags:\n%s", stdout.String())
	}
}

// writeCSVTrace writes a conversation in the shared CSV format to a
// temporary file and returns its path.
func writeCSVTrace(t *testing.T, c *trace.Conversation) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "syn.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.WriteCSV(f, c); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
