package trace

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spatgan/spatgan/internal/stat"
)

// InspectOptions controls Inspect.
type InspectOptions struct {
	// MaxConvs is the number of conversations listed (0 = 10, negative =
	// all).
	MaxConvs int
	// How says how the conversation was chosen, printed with it (for
	// example "automatic: busiest two-way pair").
	How string
}

// Inspect writes a human-readable report: the file totals, the
// conversation table (busiest first, like tshark -z conv), the chosen
// conversation with explicit roles, and per direction the packet count,
// size and inter-arrival quantiles, the burst-length histogram, reply-gap
// quantiles, and clock steps. The model tables' sizes are the features
// package's (features.Count): this report says only what the capture
// holds. l may be nil (the embedded trace has no
// listing); c may be nil to print only the listing.
func Inspect(w io.Writer, l *Listing, c *Conversation, opt InspectOptions) error {
	ew := &errWriter{w: w}
	if l != nil {
		st := l.ScanStats
		ew.printf("file %s (%s): %d records: %d IP (UDP %d, TCP %d, other %d), %d non-IP, %d malformed IP; %d clock steps; %s\n",
			l.File, l.Format, st.Records, st.IP, st.UDP, st.TCP, st.OtherIP, st.NonIP, st.Malformed, st.ClockSteps, span(st.FirstTS, st.LastTS))
		n := opt.MaxConvs
		if n == 0 {
			n = 10
		}
		if n < 0 || n > len(l.Convs) {
			n = len(l.Convs)
		}
		ew.printf("\nconversations (%d, busiest first):\n", len(l.Convs))
		ew.printf("%-4s %-42s %-42s %10s %12s %10s %12s %10s %10s %8s %8s %8s\n",
			"#", "A (first sender)", "B", "A->B pkts", "A->B bytes", "B->A pkts", "B->A bytes", "start s", "dur s", "udp", "tcp", "other")
		for i := 0; i < n; i++ {
			cv := &l.Convs[i]
			a, b := cv.A.String(), cv.B.String()
			if cv.Proto != 0 {
				a, b = protoName(cv.Proto)+" "+a, protoName(cv.Proto)+" "+b
			}
			ew.printf("%-4d %-42s %-42s %10d %12d %10d %12d %10.3f %10.3f %8d %8d %8d\n", i+1, a, b,
				cv.Packets[0], cv.Bytes[0], cv.Packets[1], cv.Bytes[1],
				float64(cv.FirstTS-st.FirstTS)/1e9, float64(cv.LastTS-cv.FirstTS)/1e9, cv.UDP, cv.TCP, cv.Other)
		}
		if n < len(l.Convs) {
			ew.printf("... %d more (--all lists every conversation)\n", len(l.Convs)-n)
		}
	}
	if c == nil {
		return ew.err
	}
	ew.printf("\nchosen conversation: server %s, client %s, protocol %s", c.Server, c.Client, c.Proto)
	if opt.How != "" {
		ew.printf(" (%s)", opt.How)
	}
	ew.printf("\n  source %s: %d packets, %s, %d clock steps\n", c.Source, len(c.Packets), span(c.Start(), c.Start()+c.Duration()), c.ClockSteps)

	for _, side := range []Side{Server, Client} {
		dir := "server->client"
		if side == Client {
			dir = "client->server"
		}
		sizes := c.Sizes(side)
		var bytes int64
		var udp, tcp int
		for _, p := range c.Packets {
			if p.From == side {
				bytes += int64(p.Size)
				switch p.Proto {
				case protoUDP:
					udp++
				case protoTCP:
					tcp++
				}
			}
		}
		ew.printf("\n%s (sent by the %s): %d packets (UDP %d, TCP %d, other %d), %d bytes\n", dir, side, len(sizes), udp, tcp, len(sizes)-udp-tcp, bytes)
		iat, negIAT := c.IATs(side)
		gaps, negGap := c.ReplyGaps(side.Other())
		ew.printf("  %-28s %8s %12s %12s %12s %12s %12s %12s %12s\n", "", "n", "min", "Q1", "median", "Q3", "max", "mean", "std")
		row := func(name string, s stat.Summary) {
			// Pad by characters, not bytes: µ is two bytes.
			name += strings.Repeat(" ", max(0, 28-utf8.RuneCountInString(name)))
			ew.printf("  %s %8d %12s %12s %12s %12s %12s %12s %12s\n", name, s.N, num(s.Min), num(s.Q1), num(s.Median), num(s.Q3), num(s.Max), num(s.Mean), num(s.Std))
		}
		row("size [B]", stat.Summarize(stat.Floats(sizes, 1)))
		row("inter-arrival [µs]", stat.Summarize(stat.Floats(iat, 1e3)))
		row("burst length [packets]", stat.Summarize(stat.Floats(c.BurstLengths(side), 1)))
		row("reply gap before [µs]", stat.Summarize(stat.Floats(gaps, 1e3)))
		if negIAT+negGap > 0 {
			ew.printf("  left out for clock steps: %d negative inter-arrival times, %d negative reply gaps\n", negIAT, negGap)
		}
		bursts, stepped := 0, 0
		for _, b := range c.Bursts() {
			if b.From == side {
				bursts++
				if b.ClockSteps > 0 {
					stepped++
				}
			}
		}
		ew.printf("  bursts: %d (%d containing a clock step)\n", bursts, stepped)
		ew.printf("  burst length histogram:")
		hist := burstHistogram(c.BurstLengths(side))
		for i, h := range hist {
			ew.printf(" %s:%d", histLabels[i], h)
		}
		ew.printf("\n")
	}
	return ew.err
}

var histLabels = []string{"1", "2", "3", "4", "5-8", "9-16", "17-32", "33+"}

func burstHistogram(lengths []int) []int {
	h := make([]int, len(histLabels))
	for _, n := range lengths {
		switch {
		case n <= 4:
			h[n-1]++
		case n <= 8:
			h[4]++
		case n <= 16:
			h[5]++
		case n <= 32:
			h[6]++
		default:
			h[7]++
		}
	}
	return h
}

func protoName(p uint8) string {
	switch p {
	case protoUDP:
		return "udp"
	case protoTCP:
		return "tcp"
	}
	return fmt.Sprintf("ip%d", p)
}

// num formats a statistic compactly: integers without decimals.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func span(first, last int64) string {
	t := time.Unix(0, first).UTC().Format("2006-01-02 15:04:05.000000")
	return fmt.Sprintf("%s UTC + %.6f s", t, float64(last-first)/1e9)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}
