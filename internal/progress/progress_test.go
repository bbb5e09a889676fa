package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBarRateAndETA(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "train", 100, "steps")
	clock := b.start
	b.now = func() time.Time { return clock }
	clock = clock.Add(10 * time.Second)
	b.Add(25, "G -0.5")
	// The rate is measured from the first Add on: none yet.
	if line := b.Line(); !strings.Contains(line, "ETA ?") {
		t.Errorf("line %q: want no ETA before a measured rate", line)
	}
	clock = clock.Add(10 * time.Second)
	b.Add(0, "")
	// Nothing since the first Add: still no rate.
	if line := b.Line(); !strings.Contains(line, "ETA ?") {
		t.Errorf("line %q: want no ETA before a measured rate", line)
	}
	clock = clock.Add(10 * time.Second)
	b.Add(25, "")
	// 25 steps in the 20 s since the first Add: 1.25 steps/s; 50 left: 40 s.
	line := b.Line()
	for _, want := range []string{"50/100", "1.2 steps/s", "ETA 40s", "| G -0.5", " 50%"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
	if !strings.Contains(buf.String(), "25/100") {
		t.Errorf("non-terminal output %q: want a printed line", buf.String())
	}
}

// TestFirstETA: a run whose first unit comes after a long setup (graphs,
// sessions) gets an ETA from the speed of the units, not from the setup.
// Derived by hand: 60 s of setup, then 10 steps/s; after 10 s of steps,
// 899 of 1000 remain: 89.9 s, shown as 1m30s.
func TestFirstETA(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "train", 1000, "steps")
	clock := b.start
	b.now = func() time.Time { return clock }
	clock = clock.Add(60 * time.Second)
	b.Add(1, "")
	for i := 0; i < 100; i++ {
		clock = clock.Add(100 * time.Millisecond)
		b.Add(1, "")
	}
	line := b.Line()
	for _, want := range []string{"101/1000", "10.0 steps/s", "ETA 1m30s"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
}

// TestFinishOnce: Finish prints a final line only when something changed
// since the last one.
func TestFinishOnce(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "x", 100, "steps")
	clock := b.start
	b.now = func() time.Time { return clock }
	b.Add(25, "")
	b.Finish() // nothing new since the last line: no duplicate
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Errorf("got %d lines, want 1", n)
	}
	b.Add(5, "")
	b.Finish()
	if n := strings.Count(buf.String(), "\n"); n != 2 || !strings.Contains(buf.String(), "30/100") {
		t.Errorf("output %q: want a final line at 30/100", buf.String())
	}
}
