package simulate

import (
	"fmt"
	"io"
	"net/netip"
	"sort"
	"sync/atomic"
	"time"

	"github.com/spatgan/spatgan/trace"
)

// Drops counts received messages that were discarded before reaching a
// conversation. Memory does not grow with them: each is read into one fixed
// buffer, counted and forgotten.
type Drops struct {
	// NoConversation: from an address (or conversation id) without an active
	// conversation and not a handshake (UDP server).
	NoConversation int64
	// BadHeader: too short, bad magic, undefined flags, or a side that is not
	// the peer's.
	BadHeader int64
	// BadVersion: another protocol version.
	BadVersion int64
	// BadLength: the header's length field differs from the message length,
	// or a TCP record length is out of range.
	BadLength int64
	// Overflow: the conversation's receive queue was full.
	Overflow int64
}

type dropCounters struct {
	noConv, badHeader, badVersion, badLength, overflow atomic.Int64
}

func (d *dropCounters) snapshot() Drops {
	return Drops{NoConversation: d.noConv.Load(), BadHeader: d.badHeader.Load(), BadVersion: d.badVersion.Load(),
		BadLength: d.badLength.Load(), Overflow: d.overflow.Load()}
}

// Total returns the number of dropped messages.
func (d Drops) Total() int64 {
	return d.NoConversation + d.BadHeader + d.BadVersion + d.BadLength + d.Overflow
}

// ConvReport is what one conversation did.
type ConvReport struct {
	Conv       uint32
	Local      netip.AddrPort
	Peer       netip.AddrPort
	Sent       int64 // data packets sent
	SentBytes  int64 // their frame bytes
	Received   int64 // data packets received
	RecvBytes  int64
	Bursts     int64 // bursts sent
	Late       int64 // packets sent more than LateAfter after their deadline
	Lost       int64 // data packets missing from the peer's sequence numbers
	Stale      int64 // data packets of an already completed (timed-out) burst
	Unexpected int64 // data packets arriving while it was this side's turn
	Syncs      int64 // Sync messages sent after a turn timeout
	Clamps     Clamps
	Calls      int64 // sampler calls
	// Pacing is actual minus scheduled send time per data packet, ns.
	Pacing Histogram
	// PacingRest is Pacing for the packets after the first of each burst:
	// the error of the waiting (timers, scheduling) and, with a stepwise
	// sampler, of a draw that did not fit in the wait before the previous
	// packet, where a first packet waits for its decision.
	PacingRest Histogram
	// Decision is the time to draw a burst's turn and what must be drawn
	// before its first packet can go out (the first packet with a
	// stepwise sampler, else the whole burst), ns.
	Decision Histogram
	// Draw is the time of each later draw of a stepwise sampler (one or
	// more packets of an open burst, made while waiting to send), ns.
	Draw Histogram
	// End says how the conversation ended: "limit", "peer bye",
	// "interrupted" or an error message.
	End   string
	Start time.Time
	Stop  time.Time
}

// Report is what an agent did over all its conversations.
type Report struct {
	Side      trace.Side
	Transport Transport
	Framing   Framing
	Convs     []ConvReport
	Drops     Drops
	Elapsed   time.Duration
}

// Totals sums the conversations' counters (pacing and decision histograms
// merged).
func (r *Report) Totals() ConvReport {
	var t ConvReport
	for i := range r.Convs {
		c := &r.Convs[i]
		t.Sent += c.Sent
		t.SentBytes += c.SentBytes
		t.Received += c.Received
		t.RecvBytes += c.RecvBytes
		t.Bursts += c.Bursts
		t.Late += c.Late
		t.Lost += c.Lost
		t.Stale += c.Stale
		t.Unexpected += c.Unexpected
		t.Syncs += c.Syncs
		t.Calls += c.Calls
		t.Clamps.add(c.Clamps)
		t.Pacing.Merge(&c.Pacing)
		t.PacingRest.Merge(&c.PacingRest)
		t.Decision.Merge(&c.Decision)
		t.Draw.Merge(&c.Draw)
	}
	return t
}

// SentPerSecond returns the data packets this agent sent per second of the
// run.
func (r *Report) SentPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Totals().Sent) / r.Elapsed.Seconds()
}

// WriteText writes a human-readable summary.
func (r *Report) WriteText(w io.Writer) {
	t := r.Totals()
	fmt.Fprintf(w, "%s: %d conversation(s) over %s in %v\n", r.Side, len(r.Convs), r.Framing, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  sent %d packets (%d bytes) in %d bursts, %.1f packets/s; received %d packets (%d bytes), lost %d, stale %d, unexpected %d\n",
		t.Sent, t.SentBytes, t.Bursts, r.SentPerSecond(), t.Received, t.RecvBytes, t.Lost, t.Stale, t.Unexpected)
	p := t.Pacing.Summary()
	fmt.Fprintf(w, "  pacing error (actual - scheduled): p50 %v p99 %v p99.9 %v max %v; late %d\n", p.P50, p.P99, p.P999, p.Max, t.Late)
	pr := t.PacingRest.Summary()
	fmt.Fprintf(w, "  pacing error after the first packet of a burst: p50 %v p99 %v p99.9 %v max %v\n", pr.P50, pr.P99, pr.P999, pr.Max)
	d := t.Decision.Summary()
	perPkt := time.Duration(0)
	if t.Sent > 0 {
		all := t.Decision.Mean()*float64(t.Decision.Count()) + t.Draw.Mean()*float64(t.Draw.Count())
		perPkt = time.Duration(all / float64(t.Sent))
	}
	fmt.Fprintf(w, "  decision latency per burst: p50 %v p99 %v p99.9 %v max %v (drawing time per packet sent %v); sampler calls %d\n",
		d.P50, d.P99, d.P999, d.Max, perPkt, t.Calls)
	if t.Draw.Count() > 0 {
		dw := t.Draw.Summary()
		fmt.Fprintf(w, "  later draws while sending (%d): p50 %v p99 %v max %v\n", t.Draw.Count(), dw.P50, dw.P99, dw.Max)
	}
	fmt.Fprintf(w, "  clamped: size %d, count %d, time %d; syncs sent %d\n", t.Clamps.Size, t.Clamps.Count, t.Clamps.Time, t.Syncs)
	dr := r.Drops
	fmt.Fprintf(w, "  dropped: no conversation %d, bad header %d, bad version %d, bad length %d, queue overflow %d\n",
		dr.NoConversation, dr.BadHeader, dr.BadVersion, dr.BadLength, dr.Overflow)
	ends := map[string]int{}
	for _, c := range r.Convs {
		ends[c.End]++
	}
	keys := make([]string, 0, len(ends))
	for e := range ends {
		keys = append(keys, e)
	}
	sort.Strings(keys)
	for _, e := range keys {
		fmt.Fprintf(w, "  ended (%d): %s\n", ends[e], e)
	}
}
