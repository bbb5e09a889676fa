package simulate

import (
	"context"
	"errors"
	"github.com/spatgan/spatgan/features"
	"time"

	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// DefaultStartNS is the virtual start time of offline generation,
// 2020-01-01T00:00:00Z, fixed so that output depends only on the sampler and
// its seed.
const DefaultStartNS int64 = 1577836800 * 1e9

// GenOptions configures offline generation. At least one of Packets and
// Duration must be set.
type GenOptions struct {
	// Packets stops generation after this many packets in total (both sides).
	Packets int64
	// Duration: no packet later than StartNS+Duration is generated; a burst
	// is cut before that time and generation ends with the first burst that
	// has no packet before it.
	Duration time.Duration
	// StartNS is the virtual time at which the conversation starts (the
	// "handshake"); 0 means DefaultStartNS.
	StartNS int64
	// Framing gives the frame size range sizes are clamped into; the zero
	// value is UDP over IPv4.
	Framing Framing
	// MaxCount and MaxGap bound sampled burst counts and times (0: defaults).
	MaxCount int
	MaxGap   time.Duration
	// Stagger (GenerateMany): conversation c starts at StartNS + c*Stagger,
	// and its Duration counts from its own start.
	Stagger time.Duration
	// Ordered (GenerateMany): emit every packet in time order across the
	// conversations (ties by conversation), as one capture
	// needs. Packets are held back until every running conversation's
	// clock has passed them, so memory grows with the spread of the
	// conversations' clocks (a few bursts each in practice).
	Ordered bool
	// Prime, when set, is the History every conversation starts from
	// instead of an empty one (features.Prime of a real conversation: the
	// generators continue it), and the first burst is the side that comes
	// next in it. Nil starts every conversation from nothing, with the
	// client's burst.
	Prime *features.History
}

// Event is one synthetic data packet of a conversation: the packet and the
// in-band header it carries on the wire.
type Event struct {
	Packet trace.Packet
	Header Header
}

// GenStats summarises an offline generation.
type GenStats struct {
	Packets      int64
	Bursts       int64
	Bytes        int64
	PerSide      [2]int64 // packets sent by trace.Server and trace.Client
	SamplerCalls int64
	Clamps       Clamps
	FirstNS      int64 // time of the first packet
	LastNS       int64 // time of the last packet
	Elapsed      time.Duration
}

// PacketsPerSecond returns the generation speed (packets per second of wall
// time).
func (g GenStats) PacketsPerSecond() float64 {
	if g.Elapsed <= 0 {
		return 0
	}
	return float64(g.Packets) / g.Elapsed.Seconds()
}

// Generate produces a two-party conversation without sockets, over a virtual
// clock, with the same closed-loop logic as the live agents: the client
// sends the first burst at StartNS plus its reply gap; each burst's first
// packet goes out its reply gap after the opponent's last packet, the
// others their inter-packet times after the previous one; each decision
// sees the conversation's history, in which every burst is recorded as it
// was sent (with no network delay, receive times equal send times). The
// same sampler (and seed) and options give the same events. emit is called
// once per packet in time order; its error stops generation and is
// returned.
//
// Both sides draw from s (a Sampler is per-side by its arguments). Errors
// from the sampler are returned wrapped. Generate is GenerateMany with one
// conversation.
func Generate(ctx context.Context, s sampler.Sampler, opt GenOptions, emit func(Event) error) (GenStats, error) {
	return GenerateMany(ctx, s, 1, opt, func(_ int, e Event) error { return emit(e) })
}

// schedule appends the absolute send times of a planned burst whose first
// packet goes out plan.gap after ref.
func schedule(times []int64, ref int64, plan *burstPlan) []int64 {
	times = times[:0]
	for range plan.dts {
		times = extend(times, ref, plan)
	}
	return times
}

// extend appends the send time of plan's next packet to times, the send
// times of its earlier packets (ref: when the opponent's burst ended).
func extend(times []int64, ref int64, plan *burstPlan) []int64 {
	i := len(times)
	if i == 0 {
		return append(times, ref+plan.gap)
	}
	return append(times, times[i-1]+plan.dts[i])
}

// stopReason says why a conversation ends with a burst.
type stopReason int8

const (
	goOn       stopReason = iota
	stopLimit             // the packet limit is reached with this burst
	stopAtTime            // no packet of this burst falls before the end time
)

// truncate returns how many packets of a burst with the given send times
// may go out, given the packets already carried by the conversation, the
// packet limit (0 = none) and the end time (0 = none), and whether the
// conversation ends with this burst. A burst cut short by the end time
// ends with its last packet before the end, and the conversation goes on:
// the opponent may still answer before the end. The conversation ends when
// the packet limit is reached or a burst has no packet before the end.
func truncate(times []int64, carried, maxPackets, end int64) (n int, why stopReason) {
	n, why = limitCut(len(times), carried, maxPackets)
	if end > 0 {
		for i := 0; i < n; i++ {
			if times[i] > end {
				n, why = i, goOn
				break
			}
		}
	}
	if n == 0 && why == goOn {
		why = stopAtTime
	}
	return n, why
}

// limitCut returns how many of a burst's count packets the packet limit
// (0 = none) lets out after the carried ones, and stopLimit if the
// conversation reaches the limit with this burst.
func limitCut(count int, carried, maxPackets int64) (int, stopReason) {
	if maxPackets > 0 && carried+int64(count) >= maxPackets {
		return int(max(maxPackets-carried, 0)), stopLimit
	}
	return count, goOn
}

// check validates the options of an offline generation and returns the
// virtual start and end times (end 0: no duration limit) and the IP
// protocol written in the frames.
func (opt GenOptions) check(s sampler.Sampler) (start, end int64, proto uint8, err error) {
	switch {
	case s == nil:
		return 0, 0, 0, errors.New("simulate: generate: nil sampler")
	case opt.Packets <= 0 && opt.Duration <= 0:
		return 0, 0, 0, errors.New("simulate: generate: set a packet limit or a duration")
	case opt.Packets < 0 || opt.Duration < 0:
		return 0, 0, 0, errors.New("simulate: generate: negative limit")
	}
	start = opt.StartNS
	if start == 0 {
		start = DefaultStartNS
	}
	if opt.Duration > 0 {
		end = start + int64(opt.Duration)
	}
	proto = 17
	if opt.Framing.Transport == TCP {
		proto = 6
	}
	return start, end, proto, nil
}

// GenerateAll runs Generate and returns the packets in time order.
func GenerateAll(ctx context.Context, s sampler.Sampler, opt GenOptions) ([]trace.Packet, GenStats, error) {
	var out []trace.Packet
	if opt.Packets > 0 {
		out = make([]trace.Packet, 0, min(opt.Packets, 1<<24))
	}
	st, err := Generate(ctx, s, opt, func(e Event) error {
		out = append(out, e.Packet)
		return nil
	})
	if err != nil {
		return nil, st, err
	}
	return out, st, nil
}
