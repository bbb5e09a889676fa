package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTraceInspectDefault(t *testing.T) {
	var out, errb bytes.Buffer
	if err := Run(context.Background(), &out, &errb, []string{"trace", "inspect", "default"}); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	// Numbers from shared/docs/fidelity.md: 16424 server packets, size
	// median 247; 24273 client packets, size median 104.
	for _, want := range []string{"server 124.123.243.15, client 192.168.1.133", "16424 packets", "24273 packets", "burst length histogram"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestTraceExport(t *testing.T) {
	dir := t.TempDir()
	for _, table := range []string{"packets", "bursts", "conversation"} {
		p := filepath.Join(dir, table+".csv")
		var out, errb bytes.Buffer
		if err := Run(context.Background(), &out, &errb, []string{"trace", "export", "default", "--out", p, "--table", table}); err != nil {
			t.Fatalf("%s: %v\n%s", table, err, errb.String())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// 40697 packets, 10815 bursts (5408 + 5407), plus the header line.
		want := map[string]int{"packets": 40698, "bursts": 10816, "conversation": 40698}[table]
		if n := strings.Count(string(b), "\n"); n != want {
			t.Errorf("%s: %d lines, want %d", table, n, want)
		}
	}
}

func TestTraceErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	for _, args := range [][]string{
		{"trace"},
		{"trace", "bogus"},
		{"trace", "inspect"},
		{"trace", "inspect", empty},
		{"trace", "inspect", filepath.Join(dir, "missing.pcap")},
		{"trace", "inspect", "default", "--server", "10.0.0.1"},
		{"trace", "export", "default"},
		{"trace", "export", "default", "--out", filepath.Join(dir, "x.csv"), "--table", "nope"},
	} {
		var out, errb bytes.Buffer
		if err := Run(context.Background(), &out, &errb, args); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.csv")); err == nil {
		t.Error("a failed export left its output file")
	}
}
