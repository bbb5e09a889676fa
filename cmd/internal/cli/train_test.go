package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/graphs"
)

// TestTrainCommandAndBundleConsumers trains a tiny bundle through the CLI and
// uses it from generate and plot.
func TestTrainCommandAndBundleConsumers(t *testing.T) {
	path, _ := benchTrace(t)
	dir := filepath.Join(t.TempDir(), "b")
	var out, errb bytes.Buffer
	err := Run(context.Background(), &out, &errb, []string{"train", "--trace", path, "--out", dir, "--steps", "6",
		"--gen-widths", "16,16", "--critic-widths", "16", "--eval-every", "3", "--quiet"})
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, want := range []string{"bundle written to " + dir, "| client-burst | 6 |", "| reply gap | client->server |", "| C2ST accuracy, single packets |", "Markov baseline"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("train output lacks %q:\n%s", want, out.String())
		}
	}
	for _, f := range []string{"manifest.json", "loss.csv", "server-packet.weights", "checkpoints/client-burst.ckpt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("bundle: %v", err)
		}
	}
	pcap := filepath.Join(t.TempDir(), "g.pcap")
	out.Reset()
	if err := Run(context.Background(), &out, &errb, []string{"generate", "--bundle", dir, "--packets", "300", "--out", pcap}); err != nil {
		t.Fatalf("generate: %v\n%s", err, errb.String())
	}
	png := filepath.Join(t.TempDir(), "d.png")
	errb.Reset()
	if err := Run(context.Background(), &out, &errb, []string{"plot", "dist", "--trace", path, "--bundle", dir, "--out", png}); err != nil {
		t.Fatalf("plot: %v\n%s", err, errb.String())
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 10000 {
		t.Errorf("plot wrote %v (%v)", st, err)
	}
	if !strings.Contains(errb.String(), "generated from "+dir) {
		t.Errorf("plot stderr %q does not say it generated from the bundle", errb.String())
	}
	// Without --trace: the held-out part of the bundle's own capture, said
	// so; with a capture it was not trained on: refused, as bench does.
	errb.Reset()
	if err := Run(context.Background(), &out, &errb, []string{"plot", "flow", "--bundle", dir, "--out", png, "--quiet"}); err != nil {
		t.Fatalf("plot --bundle: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "real: held-out last 20% of "+path+" (the capture the bundle was trained on") {
		t.Errorf("plot --bundle does not say what it compares with:\n%s", errb.String())
	}
	err = Run(context.Background(), &out, &errb, []string{"plot", "flow", "--bundle", dir, "--trace", "default", "--out", png})
	if err == nil || !strings.Contains(err.Error(), "trained on other data") {
		t.Errorf("plot --bundle with another capture: %v", err)
	}
	err = Run(context.Background(), &out, &errb, []string{"plot", "flow", "--bundle", dir, "--split", "0.5", "--out", png})
	if err == nil || !strings.Contains(err.Error(), "trained on the first 0.8") {
		t.Errorf("plot --bundle --split 0.5: %v", err)
	}
	// Bad flags are refused before any work.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--out", dir, "--config", "nope"}, "unknown configuration"},
		{[]string{"train", "--out", dir, "--packet-cond", "opp_count,bogus"}, "bogus"},
		{[]string{"train", "--out", dir, "--gen-widths", "16,x"}, "--gen-widths"},
		{[]string{"train", "--out", dir, "--mismatch", "1"}, `--mismatch "1": want a weight in [0, 1)`},
		{[]string{"train", "--out", dir, "--ema", "x"}, `--ema "x": want a decay`},
		{[]string{"train", "--out", dir, "--cond-noise", "-0.1"}, `--cond-noise "-0.1": want a standard deviation`},
		{[]string{"train", "--out", dir, "--lr-end", "2"}, `--lr-end "2": want a fraction in [0, 1]`},
		{[]string{"train", "--out", dir, "--noise-memory", "0.5,1"}, `--noise-memory "0.5,1": want auto, P or P,B with each in [0, 0.999]`},
		{[]string{"train", "--out", dir, "--calib-damp", "x"}, `--calib-damp "x": want auto or a number in [0, 1]`},
		{[]string{"train", "--out", dir, "--calib-closed-loop", "x"}, `--calib-closed-loop "x": want none, pooled or pos`},
		{[]string{"train", "--out", dir, "--calib-loop-rounds", "2"}, `--calib-loop-rounds and --calib-loop-step need --calib-closed-loop pooled or pos`},
		{[]string{"train", "--out", dir, "--calib-closed-loop", "pos", "--calib-loop-step", "0"}, `--calib-loop-step 0: want 1 to 100 rounds and a step in (0, 1]`},
		{[]string{"train", "--out", dir, "--calib-closed-loop", "pos", "--calib-loop-rounds", "0"}, `--calib-loop-rounds 0, --calib-loop-step 0.5: want 1 to 100 rounds`},
		{[]string{"train", "--out", dir, "--calib-closed-loop", "pos", "--calib-damp", "auto"}, `closed-loop calibration has no damping (--calib-damp "auto")`},
		{[]string{"train", "--out", dir, "--packet-first-bins", "x"}, `--packet-first-bins "x": not a number of bins`},
		{[]string{"train", "--out", dir, "--packet-first-bins", "65"}, "first_bins 65: want 0 to 64"},
		{[]string{"train", "--out", dir, "--packet-first-given", "none", "--packet-first-bins", "8"}, "first_bins 8 needs first_given"},
		{[]string{"train", "--out", dir, "--joint-bins", "x"}, `--joint-bins "x": want a number of bins or none`},
		{[]string{"train", "--out", dir, "--joint-bins", "65"}, "joint_bins 65: want 0 to 64"},
		{[]string{"train", "--out", dir, "--joint", "false", "--joint-bins", "8"}, "joint_bins needs joint"},
		{[]string{"train", "--out", dir, "--in-burst-dt", "false", "--in-burst-by-size", "true"}, "in_burst_by_size needs in_burst_dt"},
		{[]string{"train", "--out", dir, "--pair-critic", "11"}, `--pair-critic "11": want a weight in [0, 10]`},
		{[]string{"train", "--out", dir, "--pair-critic", "1", "--packet-cond", "opp_count,last_size"}, "the pair critic needs the pos condition feature"},
		{[]string{"train", "--out", dir, "--pair-critic", "1", "--mismatch", "0.5"}, "the pair critic and mismatch do not combine"},
	} {
		if err := Run(context.Background(), &out, &errb, c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error containing %q", c.args, err, c.want)
		}
	}
}

// TestPacketCondKeepsKeys: --packet-cond keeps the default's key features
// (first_given) that it still holds and drops the others.
func TestPacketCondKeepsKeys(t *testing.T) {
	c := graphs.Default(graphs.Packet)
	if err := overrideConfig(&c, graphs.Packet, "opp_count,first,last_size", "", "", "", 0, ""); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.FirstGiven, []string{"last_size"}) {
		t.Errorf("first_given %q, want [last_size]", c.FirstGiven)
	}
	c = graphs.Default(graphs.Packet)
	if err := overrideConfig(&c, graphs.Packet, "opp_count,first", "", "", "", 0, ""); err != nil || c.FirstGiven != nil {
		t.Errorf("first_given %q, err %v: want none", c.FirstGiven, err)
	}
}
