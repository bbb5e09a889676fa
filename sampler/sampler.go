// Package sampler defines the interface through which every traffic
// generator, the trained GAN bundle and the simple baselines alike, is driven
// by simulation, offline generation and benchmarks.
package sampler

import "github.com/spatgan/spatgan/trace"

// Turn is one burst decision (TSynGAN): how many packets this side sends
// before the opponent answers, and how long after the opponent's last packet
// its first packet goes out.
type Turn struct {
	Count int   // packets in the burst, >= 1
	GapNS int64 // reply gap in nanoseconds, >= 0
}

// Pkt is one packet decision (PSynGAN).
type Pkt struct {
	Size int32 // frame length in bytes, within the model's valid range
	DtNS int64 // time since the previous packet of the same burst, >= 0 (ignored for the first packet, whose time is the Turn's gap)
}

// Sampler draws turns and packets for one side given conditions. Calls are
// batched: out[i] is drawn for conds[i]. Implementations are seeded at
// construction and deterministic for a given sequence of calls. They need
// not be safe for concurrent use.
type Sampler interface {
	// Name identifies the generator in reports ("gan", "normal", ...).
	Name() string
	// TurnsTo draws one turn per condition for side.
	TurnsTo(out []Turn, side trace.Side, conds []trace.Cond) error
	// PacketsTo draws one packet per condition for side.
	PacketsTo(out []Pkt, side trace.Side, conds []trace.Cond) error
}

// CondUse is a set of condition features, bit i standing for
// trace.CondNames[i] (the fields of trace.Cond in order).
type CondUse uint8

// The condition features as CondUse bits.
const (
	UseOppCount CondUse = 1 << iota
	UseOppBytes
	UseOppDur
	UseOppMeanDt
	UseFirst
	UsePrevSize

	// UseAll is every feature of trace.Cond.
	UseAll = UseOppCount | UseOppBytes | UseOppDur | UseOppMeanDt | UseFirst | UsePrevSize
)

// CondUser is an optional interface of a Sampler that reports which
// condition features its draws read. Callers use it to batch: when PacketsTo
// does not read PrevSize, all packets of a burst are drawn in one call; when
// a method reads no feature at all, callers may draw many decisions ahead
// with zero conditions. A Sampler without it is taken to read everything.
type CondUser interface {
	CondUse() (turns, packets CondUse)
}

// Uses returns the features s reads, UseAll for both if s does not
// implement CondUser.
func Uses(s Sampler) (turns, packets CondUse) {
	if u, ok := s.(CondUser); ok {
		return u.CondUse()
	}
	return UseAll, UseAll
}

// Fingerprinter is an optional interface of a Sampler that identifies the
// model it draws from (not its seed): two samplers with the same fingerprint
// draw from the same distributions. Simulation agents compare fingerprints
// at the handshake.
type Fingerprinter interface {
	Fingerprint() string
}
