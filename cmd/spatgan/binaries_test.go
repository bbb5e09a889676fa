package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// These tests run the built binaries as a user would, with a clean
// environment: no TF_CPP_MIN_LOG_LEVEL, nothing from the Makefile.

var binDir string

func TestMain(m *testing.M) {
	// make test has just built them: SPATGAN_BIN=bin saves linking again.
	if d := os.Getenv("SPATGAN_BIN"); d != "" {
		binDir = d
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "spatgan-bin-*")
	if err != nil {
		panic(err)
	}
	binDir = dir
	// The libtensorflow path is in the binary's rpath (CGO_LDFLAGS).
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), ".", "../spatgan-server", "../spatgan-client")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		panic("building the binaries: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cleanEnv is the environment of env -i PATH=$PATH.
func cleanEnv(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH")}, extra...)
}

// tfLogLine matches a line of TensorFlow's or Abseil's logging: "2026-11-30
// 11:40:08.070686: I tensorflow/...", "I0000 00:00:1796038809.710370 8385
// mlir_graph_optimization_pass.cc:401] ...", Abseil's "WARNING: All log
// messages before absl::InitializeLog() ..." and the CPU feature notice.
var tfLogLine = regexp.MustCompile(`(?m)^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] |[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\]|WARNING: All log messages before absl|To enable the following instructions)`)

func runBin(t *testing.T, ctx context.Context, dir string, env []string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, name), args...)
	cmd.Env = env
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// TestNoTensorFlowLog: a normal run prints no TensorFlow log line, with or
// without TensorFlow work; --verbose and SPATGAN_TF_LOG=1 bring them back.
func TestNoTensorFlowLog(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	out := filepath.Join(dir, "b")
	// A tiny training run creates sessions (the MLIR line came from the
	// first one) and generates for the fidelity summary.
	train := []string{"train", "--steps", "3", "--gen-widths", "8,8", "--critic-widths", "8", "--eval-every", "3",
		"--checkpoint-every", "3", "--quiet", "--out", out}
	for _, args := range [][]string{{"plot", "--help"}, {"version"}, train,
		{"generate", "--bundle", out, "--packets", "200", "--out", filepath.Join(dir, "g.pcap"), "--quiet"}} {
		_, stderr, err := runBin(t, ctx, dir, cleanEnv(), "spatgan", args...)
		if err != nil && args[0] != "plot" {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		if m := tfLogLine.FindString(stderr); m != "" {
			t.Errorf("%v printed a TensorFlow log line %q:\n%s", args, m, stderr)
		}
	}
	// Whatever the environment says.
	_, stderr, _ := runBin(t, ctx, dir, cleanEnv("TF_CPP_MIN_LOG_LEVEL=0"), "spatgan", "version")
	if m := tfLogLine.FindString(stderr); m != "" {
		t.Errorf("TF_CPP_MIN_LOG_LEVEL=0: a TensorFlow log line %q", m)
	}
	_, stderr, _ = runBin(t, ctx, dir, nil, "spatgan", "version")
	if m := tfLogLine.FindString(stderr); m != "" {
		t.Errorf("empty environment: a TensorFlow log line %q", m)
	}
	for _, env := range [][]string{cleanEnv("SPATGAN_TF_LOG=1"), cleanEnv()} {
		args := []string{"generate", "--bundle", out, "--packets", "200", "--out", filepath.Join(dir, "g.pcap"), "--quiet"}
		if len(env) == 1 {
			args = append(args, "--verbose")
		}
		_, stderr, err := runBin(t, ctx, dir, env, "spatgan", args...)
		if err != nil {
			t.Fatalf("%v %v: %v\n%s", env, args, err, stderr)
		}
		if !tfLogLine.MatchString(stderr) {
			t.Errorf("%v %v: no TensorFlow log line:\n%s", env, args, stderr)
		}
	}
}

// TestSideBinaries runs spatgan-server and spatgan-client as two terminals
// would, for one conversation.
func TestSideBinaries(t *testing.T) {
	dir := t.TempDir()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	type result struct {
		out, err string
		e        error
	}
	srv := make(chan result, 1)
	go func() {
		o, e, err := runBin(t, ctx, dir, cleanEnv(), "spatgan-server", "--listen", addr, "--sampler", "bootstrap",
			"--out", filepath.Join(dir, "server.pcap"), "--csv")
		srv <- result{o, e, err}
	}()
	out, stderr, err := runBin(t, ctx, dir, cleanEnv(), "spatgan-client", "--connect", addr, "--sampler", "bootstrap",
		"--packets", "200", "--speedup", "50", "--out", filepath.Join(dir, "client.pcap"), "--csv")
	s := <-srv
	if err != nil || s.e != nil {
		t.Fatalf("client: %v\n%s\n%s\nserver: %v\n%s\n%s", err, out, stderr, s.e, s.out, s.err)
	}
	for _, f := range []string{"server.csv", "client.csv"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "\n"); n != 201 {
			t.Errorf("%s: %d lines, want 201 (header and 200 packets)", f, n)
		}
	}
	if !strings.Contains(out, "pacing error") || !strings.Contains(s.out, "pacing error") {
		t.Errorf("reports:\n%s\n%s", out, s.out)
	}
	if !strings.Contains(s.err, "server listening on "+addr) {
		t.Errorf("server stderr:\n%s", s.err)
	}
	// The same flags as spatgan simulate server|client, one-line errors.
	_, stderr, err = runBin(t, ctx, dir, cleanEnv(), "spatgan-client", "--conect", addr)
	if err == nil || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "did you mean --connect?") {
		t.Errorf("mistyped flag: %v\n%s", err, stderr)
	}
}

// TestLocalModelPerAgent: simulate local with a bundle gives each of its
// two agents its own model, and each draws its side's decisions from it.
func TestLocalModelPerAgent(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	out := filepath.Join(dir, "b")
	if _, stderr, err := runBin(t, ctx, dir, cleanEnv(), "spatgan", "train", "--steps", "3", "--gen-widths", "8,8",
		"--critic-widths", "8", "--eval-every", "3", "--checkpoint-every", "3", "--quiet", "--out", out); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	stdout, stderr, err := runBin(t, ctx, dir, cleanEnv(), "spatgan", "simulate", "local", "--bundle", out,
		"--pairs", "2", "--packets", "40", "--duration", "20s")
	if err != nil {
		t.Fatalf("simulate local: %v\n%s\n%s", err, stdout, stderr)
	}
	for _, who := range []string{"server", "client"} {
		m := regexp.MustCompile(`(?m)^` + who + ` model calls: (\d+) decisions`).FindStringSubmatch(stdout)
		if m == nil || m[1] == "0" {
			t.Errorf("no decisions from the %s's model:\n%s", who, stdout)
		}
	}
	if strings.Count(stdout, "model calls:") != 2 {
		t.Errorf("want one model-calls line per agent:\n%s", stdout)
	}
}
