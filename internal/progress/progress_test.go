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
	// 25 steps in 10 s: 2.5 steps/s; 75 left: 30 s.
	line := b.Line()
	for _, want := range []string{"25/100", "2.5 steps/s", "ETA 30s", "| G -0.5", " 25%"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
	if !strings.Contains(buf.String(), "25/100") {
		t.Errorf("non-terminal output %q: want a printed line", buf.String())
	}
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
