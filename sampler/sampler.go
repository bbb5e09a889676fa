package sampler

import (
	"fmt"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/trace"
)

// Turn is one burst decision (TSynGAN): how many packets this side sends
// before the opponent answers, and how long after the opponent's last packet
// its first packet goes out.
type Turn = features.Turn

// Pkt is one packet decision (PSynGAN): its frame size, and its time since
// the previous packet of the same burst. A burst's first packet goes out
// after the Turn's gap and callers ignore its DtNS; a sampler whose later
// packets read it (an autoregressive model's last_dt_us) must put the gap
// there (0 for the conversation's opening burst), as training does
// (features.Rows): the GAN bundle does.
type Pkt = features.Pkt

// Conv is one conversation as a generator sees it: the caller's handle for
// it, passed to every draw. It holds the conversation's History (what each
// side sent, as this party knows it), from which every model computes its
// condition, and a slot for the sampler's own per-conversation state.
//
// The caller keeps the History current, in this order for each burst of
// the side it draws for:
//
//	TurnsTo -> H.Begin(side, turn) -> BurstsTo -> H.End(what was sent)
//
// and records each burst of the other side with H.Observe (as measured on
// receipt) when it does not draw it, or with the same Begin/End sequence
// when it does (offline generation drives both sides on one Conv).
type Conv struct {
	// ID names the conversation: unique among the conversations a caller
	// runs (a capture's conversation index, a cluster worker's slot).
	ID uint64
	// H is the conversation's memory.
	H features.History
	// State belongs to the sampler drawing for this conversation (nil
	// until it sets one); callers never touch it.
	State any
}

// NewConv returns an empty conversation with the given id.
func NewConv(id uint64) *Conv { return &Conv{ID: id} }

// Sampler draws turns and bursts for one side, for a batch of
// conversations at once: out[i] is drawn for convs[i], from everything
// convs[i] holds. Implementations are seeded at construction and
// deterministic for a given sequence of calls; they need not be safe for
// concurrent use (make one per goroutine from a Model, or serialise).
type Sampler interface {
	// Name identifies the generator in reports ("gan", "markov", ...).
	Name() string
	// TurnsTo draws side's next turn in each conversation.
	TurnsTo(out []Turn, side trace.Side, convs []*Conv) error
	// BurstsTo draws the packets of side's open burst in each
	// conversation (opened with H.Begin): out[i] has the length of that
	// burst (its turn's count, possibly clamped by the caller) and
	// receives every packet. The sampler draws position by position when
	// its packets depend on the ones before; it does not change the
	// History.
	BurstsTo(out [][]Pkt, side trace.Side, convs []*Conv) error
}

// Stepper is an optional interface of a Sampler whose packets depend on
// the earlier packets of their burst (an autoregressive packet model) and
// which therefore draws them one position at a time anyway. A caller that
// wants a burst's first packet early (a live agent: the first packet is
// due after the reply gap, the later ones after their own gaps) draws the
// packets a few at a time at no extra cost: BurstsFrom draws out[i][from[i]:]
// of side's open burst in convs[i], where out[i][:from[i]] are the packets
// this sampler drew for that burst before (BurstsTo or BurstsFrom, in the
// same order as BurstsTo would have drawn them), unchanged by the caller;
// out[i] may be shorter than the burst. Drawing a burst in pieces this way
// gives exactly what one BurstsTo call gives for the same draws.
type Stepper interface {
	// Stepwise reports whether side's packets are drawn position by
	// position (BurstsFrom is then worth calling); if not, callers draw
	// whole bursts with BurstsTo.
	Stepwise(side trace.Side) bool
	// BurstsFrom draws out[i][from[i]:] for each conversation.
	BurstsFrom(out [][]Pkt, from []int, side trace.Side, convs []*Conv) error
}

// Fingerprinter is an optional interface of a Sampler that identifies the
// model it draws from (not its seed): two samplers with the same fingerprint
// draw from the same distributions. Simulation agents compare fingerprints
// at the handshake.
type Fingerprinter interface {
	Fingerprint() string
}

// CheckBatch returns an error unless out and convs have the same length and
// side is a side; implementations call it first.
func CheckBatch(nOut, nConvs int, side trace.Side) error {
	if nOut != nConvs {
		return fmt.Errorf("sampler: %d outputs for %d conversations", nOut, nConvs)
	}
	if side != trace.Server && side != trace.Client {
		return fmt.Errorf("sampler: side %d is neither server nor client", side)
	}
	return nil
}
