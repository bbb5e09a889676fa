package tf

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// rssBytes reads the resident set size from /proc (Linux).
func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm:", err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestRunFreesTensors: with the Go garbage collector off, 1,000 runs that
// feed and fetch 256 KiB each (500 MiB of C tensors in all) leave the
// resident size within 64 MiB: every C tensor is freed when Run returns,
// not by a finaliser.
func TestRunFreesTensors(t *testing.T) {
	g := NewGraph()
	x := g.Placeholder("x", 1024)
	y := g.Mul(x, g.Scalar(2))
	s := newSession(t, g)
	in := make([]float32, 64*1024)
	for i := range in {
		in[i] = float32(i)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	dst := [][]float32{make([]float32, len(in))}
	feeds := []Feed{{Node: x, Data: in, Rows: 64}}
	fetches := []Node{y}
	if _, err := s.Run(feeds, fetches, dst); err != nil {
		t.Fatal(err)
	}
	before := rssBytes(t)
	for i := 0; i < 1000; i++ {
		out, err := s.Run(feeds, fetches, dst)
		if err != nil {
			t.Fatal(err)
		}
		if out[0][5] != 10 {
			t.Fatalf("y[5] = %v, want 10", out[0][5])
		}
	}
	if grew := rssBytes(t) - before; grew > 64<<20 {
		t.Fatalf("resident size grew by %d MiB over 1,000 runs: C tensors are not freed", grew>>20)
	}
}
