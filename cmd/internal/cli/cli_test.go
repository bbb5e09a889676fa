package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/trace"
)

// TestFlagErrors: a mistyped or malformed flag gives one line naming the
// flag, the closest valid one or how to write the value, and where the
// help is; numbers are checked before any work.
func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"plot", "flow", "--tracee", "x.csv"}, []string{"plot flow: unknown flag --tracee; did you mean --trace?", "see spatgan plot flow --help"}},
		{[]string{"plot", "flow", "-trace", "x.csv"}, []string{"plot flow: -trace: long flags take two dashes: --trace"}},
		{[]string{"train", "--stpes", "5"}, []string{"train: unknown flag --stpes; did you mean --steps?"}},
		{[]string{"train", "--steps", "-5"}, []string{"train: --steps -5: want a number >= 0"}},
		{[]string{"train", "--steps", "many"}, []string{`train: --steps "many": not a whole number`}},
		{[]string{"generate", "--duration", "20", "--out", "x.pcap"}, []string{`generate: --duration "20": a duration needs a unit, e.g. 20s, 1m30s or 500ms`}},
		{[]string{"generate", "--packets", "-1", "--out", "x.pcap"}, []string{"generate: --packets -1: want a number >= 0"}},
		{[]string{"simulate", "client", "--pairs", "0"}, []string{"simulate client: --pairs 0: want at least 1"}},
		{[]string{"trian"}, []string{`unknown command "trian"; did you mean train?`}},
		{[]string{"plot", "flwo"}, []string{`plot: unknown command "flwo"; did you mean flow?`}},
		{[]string{"plot", "flow", "stray"}, []string{`plot flow: unexpected argument "stray"`}},
	} {
		var out, errb bytes.Buffer
		err := Run(context.Background(), &out, &errb, tc.args)
		if err == nil {
			t.Errorf("%v: no error", tc.args)
			continue
		}
		msg := err.Error()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: error %q lacks %q", tc.args, msg, w)
			}
		}
		if strings.Contains(msg, "\n") || errb.Len() > 0 {
			t.Errorf("%v: not one line: %q, stderr %q", tc.args, msg, errb.String())
		}
	}
	// Renamed flags still work, hidden from the help.
	var out, errb bytes.Buffer
	if err := Run(context.Background(), &out, &errb, []string{"plot", "flow", "--help"}); err != nil {
		t.Fatal(err)
	}
	if h := out.String(); !strings.Contains(h, "--trace string") || strings.Contains(h, "--real ") || strings.Contains(h, "--real-server") {
		t.Errorf("plot flow --help:\n%s", h)
	}
}

// writePcap generates a small synthetic conversation with the given
// transport through the CLI and returns the pcap's path.
func writePcap(t *testing.T, dir, name, net string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	var out, errb bytes.Buffer
	if err := Run(context.Background(), &out, &errb, []string{"generate", "--sampler", "markov", "--packets", "600",
		"--net", net, "--out", p, "--quiet"}); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	return p
}

// TestCaptureInput: a capture cut short is read up to its last whole record
// with a warning naming where it stops (--strict refuses it), like tshark;
// a file of another kind is "not a capture".
func TestCaptureInput(t *testing.T) {
	dir := t.TempDir()
	full := writePcap(t, dir, "full.pcap", "udp")
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, b[:len(b)-20], 0o644); err != nil { // as head -c does
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := Run(context.Background(), &out, &errb, []string{"trace", "inspect", "--trace", cut}); err != nil {
		t.Fatalf("cut capture: %v\n%s", err, errb.String())
	}
	if w := errb.String(); !strings.Contains(w, "warning: trace: "+cut+": record 600:") || !strings.Contains(w, "--strict") {
		t.Errorf("warning %q does not name record 600", w)
	}
	if !strings.Contains(out.String(), "599 packets") {
		t.Errorf("inspect of the cut capture:\n%s", out.String())
	}
	if tshark, err := exec.LookPath("tshark"); err == nil {
		// tshark keeps the same 599 whole records.
		o, _ := exec.Command(tshark, "-n", "-r", cut, "-T", "fields", "-e", "frame.number").Output()
		if n := strings.Count(string(o), "\n"); n != 599 {
			t.Errorf("tshark reads %d packets of the cut file, spatgan 599", n)
		}
	}
	err = Run(context.Background(), &out, &errb, []string{"trace", "inspect", "--trace", cut, "--strict"})
	if err == nil || !strings.Contains(err.Error(), "record 600") {
		t.Errorf("--strict: %v", err)
	}
	png := filepath.Join(dir, "figure.png")
	os.WriteFile(png, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"), 0o644)
	note := filepath.Join(dir, "notes.txt")
	os.WriteFile(note, []byte("remember to capture on eth1\n"), 0o644)
	for _, f := range []string{png, note} {
		for _, args := range [][]string{{"plot", "flow", "--trace", f, "--out", filepath.Join(dir, "f.png")},
			{"train", "--trace", f, "--out", filepath.Join(dir, "b")}, {"trace", "inspect", "--trace", f}} {
			err := Run(context.Background(), &out, &errb, args)
			if err == nil || !strings.Contains(err.Error(), f+": not a capture (pcap, pcapng or CSV)") {
				t.Errorf("%v: %v", args, err)
			}
		}
	}
}

// TestTransportFromCapture: a model fitted on a TCP capture generates TCP
// traffic unless --net says otherwise, and says so.
func TestTransportFromCapture(t *testing.T) {
	dir := t.TempDir()
	tcp := writePcap(t, dir, "tcp.pcap", "tcp")
	for _, tc := range []struct {
		net, want, why string
	}{{"", "tcp", "the protocol of " + tcp + ": tcp"}, {"udp", "udp", "--net"}} {
		out := filepath.Join(dir, "g-"+tc.want+".pcap")
		args := []string{"generate", "--sampler", "markov", "--trace", tcp, "--packets", "300", "--out", out, "--quiet"}
		if tc.net != "" {
			args = append(args, "--net", tc.net)
		}
		var o, errb bytes.Buffer
		if err := Run(context.Background(), &o, &errb, args); err != nil {
			t.Fatalf("%v\n%s", err, errb.String())
		}
		if !strings.Contains(errb.String(), "transport: "+tc.want+" ("+tc.why+")") {
			t.Errorf("%v: stderr does not say the transport:\n%s", args, errb.String())
		}
		c, err := trace.Load(out, trace.Select{Proto: tc.want})
		if err != nil || len(c.Packets) != 300 {
			t.Errorf("%s: not %d %s packets: %v", out, 300, tc.want, err)
		}
	}
}

// TestPlotAlone: flow, dist, PCA and t-SNE of a capture without a synthetic
// side.
func TestPlotAlone(t *testing.T) {
	dir := t.TempDir()
	p := writePcap(t, dir, "mine.pcap", "udp")
	for _, kind := range []string{"flow", "dist", "pca", "tsne"} {
		out := filepath.Join(dir, kind+".png")
		args := []string{"plot", kind, "--trace", p, "--out", out}
		if kind == "tsne" {
			args = append(args, "--iterations", "250", "--quiet")
		}
		var o, errb bytes.Buffer
		if err := Run(context.Background(), &o, &errb, args); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
		if !strings.Contains(errb.String(), "drawing "+p+" alone") {
			t.Errorf("%s: stderr %q", kind, errb.String())
		}
		if st, err := os.Stat(out); err != nil || st.Size() < 5000 {
			t.Errorf("%s: %v %v", kind, st, err)
		}
	}
}

// TestGenerateContinue: --continue starts from the end of --trace's
// conversation, so the first packet is from the side that did not send the
// capture's last burst.
func TestGenerateContinue(t *testing.T) {
	dir := t.TempDir()
	src := writePcap(t, dir, "src.pcap", "udp")
	conv, err := trace.Load(src, trace.Select{})
	if err != nil {
		t.Fatal(err)
	}
	want := conv.Packets[len(conv.Packets)-1].From.Other()
	out := filepath.Join(dir, "cont.pcap")
	var o, e bytes.Buffer
	if err := Run(context.Background(), &o, &e, []string{"generate", "--sampler", "markov", "--trace", src, "--continue",
		"--packets", "50", "--out", out, "--csv", "--quiet"}); err != nil {
		t.Fatalf("%v\n%s", err, e.String())
	}
	b, err := os.ReadFile(csvNextTo(out))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(string(b), "\n")
	if len(rows) < 2 || !strings.Contains(rows[1], ","+want.String()+",") {
		t.Errorf("continued generation opens with %q, want a packet from the %v", rows[1], want)
	}
}
