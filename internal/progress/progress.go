package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar is a progress bar. It is safe for concurrent use.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	unit     string
	total    int64
	done     int64
	start    time.Time
	last     time.Time
	status   string
	drawn    int64 // done at the last draw, -1 before the first
	based    bool  // the first Add happened, at baseT with baseDone units done after it
	baseT    time.Time
	baseDone int64
	tty      bool
	Interval time.Duration // minimum time between redraws (non-terminal: between lines)
	now      func() time.Time
}

// minMeasure is how long after the first Add the rate is first trusted.
const minMeasure = 250 * time.Millisecond

// New returns a bar counting to total units (e.g. "steps") written to w.
func New(w io.Writer, label string, total int64, unit string) *Bar {
	b := &Bar{w: w, label: label, unit: unit, total: total, now: time.Now}
	b.start = b.now()
	b.drawn = -1
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	b.Interval = 200 * time.Millisecond
	if !b.tty {
		b.Interval = 10 * time.Second
	}
	return b
}

// SetDone sets the number of completed units (for resumed work).
func (b *Bar) SetDone(n int64) {
	b.mu.Lock()
	b.done = n
	b.mu.Unlock()
}

// Add records n more completed units and the current status, redrawing if
// the interval has passed.
func (b *Bar) Add(n int64, status string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if status != "" {
		b.status = status
	}
	if !b.based {
		b.based, b.baseT, b.baseDone = true, b.now(), b.done
	}
	if t := b.now(); t.Sub(b.last) >= b.Interval || b.done >= b.total {
		b.last = t
		b.draw(false)
	}
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tty || b.drawn != b.done {
		b.draw(true)
	}
}

// Line returns the bar's current text (without control characters).
func (b *Bar) Line() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.line()
}

func (b *Bar) line() string {
	elapsed := b.now().Sub(b.start)
	frac := 0.0
	if b.total > 0 {
		frac = float64(b.done) / float64(b.total)
	}
	const width = 24
	fill := int(frac * width)
	if fill > width {
		fill = width
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(b.done) / s
	}
	eta := "?"
	measured := false
	if since := b.now().Sub(b.baseT); b.based && since >= minMeasure && b.done > b.baseDone {
		rate = float64(b.done-b.baseDone) / since.Seconds()
		measured = true
	}
	if measured && rate > 0 && b.total >= b.done {
		eta = time.Duration(float64(b.total-b.done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	s := fmt.Sprintf("%s [%s%s] %3.0f%% %d/%d %s %.1f %s/s ETA %s",
		b.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), 100*frac,
		b.done, b.total, b.unit, rate, b.unit, eta)
	if b.status != "" {
		s += " | " + b.status
	}
	return s
}

func (b *Bar) draw(final bool) {
	b.drawn = b.done
	l := b.line()
	switch {
	case b.tty && final:
		fmt.Fprintf(b.w, "\r\x1b[K%s\n", l)
	case b.tty:
		fmt.Fprintf(b.w, "\r\x1b[K%s", l)
	default:
		fmt.Fprintln(b.w, l)
	}
}
