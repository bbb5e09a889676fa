package sampler

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/trace"
)

// Model is a fitted generator from which any number of independently
// seeded samplers can be made; it is read-only after fitting and safe to
// share between goroutines (each Sampler is not).
type Model interface {
	// Name is the generator's name ("normal", "poisson", ...).
	Name() string
	// Fingerprint identifies the fitted model (not the seed).
	Fingerprint() string
	// New returns a sampler drawing from the model with the given seed.
	New(seed int64) Sampler
}

// MinRows is the least number of burst rows and packet rows each side must
// have for a baseline to be fitted.
const MinRows = 2

// fitter fits one baseline.
type fitter func(conv *trace.Conversation) (Model, error)

var registry = map[string]fitter{
	"normal":    func(c *trace.Conversation) (Model, error) { return fitNormal(c, false) },
	"poisson":   func(c *trace.Conversation) (Model, error) { return fitNormal(c, true) },
	"bootstrap": fitBootstrap,
	"markov":    fitMarkov,
}

// Names returns the names of the baselines Fit and New know, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Fit fits the named baseline ("normal", "poisson", "bootstrap" or
// "markov") on conv.
func Fit(name string, conv *trace.Conversation) (Model, error) {
	f, ok := registry[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("sampler: unknown sampler %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	if conv == nil {
		return nil, fmt.Errorf("sampler: %s: no conversation to fit", name)
	}
	return f(conv)
}

// New fits the named baseline on conv and returns a sampler seeded with
// seed. To make many samplers from one fit, use Fit and Model.New.
func New(name string, conv *trace.Conversation, seed int64) (Sampler, error) {
	m, err := Fit(name, conv)
	if err != nil {
		return nil, err
	}
	return m.New(seed), nil
}

// FitNormal fits the Normal baseline and returns a sampler seeded with seed.
func FitNormal(conv *trace.Conversation, seed int64) (Sampler, error) {
	return New("normal", conv, seed)
}

// FitPoisson fits the Poisson baseline and returns a sampler seeded with seed.
func FitPoisson(conv *trace.Conversation, seed int64) (Sampler, error) {
	return New("poisson", conv, seed)
}

// FitBootstrap fits the i.i.d. bootstrap baseline and returns a sampler
// seeded with seed.
func FitBootstrap(conv *trace.Conversation, seed int64) (Sampler, error) {
	return New("bootstrap", conv, seed)
}

// FitMarkov fits the burst-aware Markov baseline and returns a sampler
// seeded with seed.
func FitMarkov(conv *trace.Conversation, seed int64) (Sampler, error) {
	return New("markov", conv, seed)
}

// tables holds both sides' training rows, built by the features package
// (features.Rows), with the condition features the baselines use.
type tables struct {
	bursts  [2][]burstRow
	packets [2][]packetRow
}

// burstRow is one turn row: the burst's packet count and reply gap, and the
// opponent's preceding burst (feature opp_count).
type burstRow struct {
	Count int
	GapUS float64
	Cond  rowCond
}

// packetRow is one packet row: its size and merged delta, and its
// condition (features opp_count, first, prev_size).
type packetRow struct {
	Size int32
	DtUS float64
	Cond rowCond
}

type rowCond struct {
	OppCount, First, PrevSize float64
}

// The named features the baselines read, in the order of rowCond.
var (
	turnCond   = []string{"opp_count"}
	packetCond = []string{"opp_count", "first", "prev_size"}
)

func loadTables(name string, conv *trace.Conversation) (*tables, error) {
	tset, err := features.Resolve(turnCond, features.TurnDecision)
	if err != nil {
		return nil, err
	}
	pset, err := features.Resolve(packetCond, features.PacketDecision)
	if err != nil {
		return nil, err
	}
	t := &tables{}
	for _, side := range []trace.Side{trace.Server, trace.Client} {
		tt, err := features.Rows(conv, side, features.TurnDecision, tset)
		if err != nil {
			return nil, err
		}
		pt, err := features.Rows(conv, side, features.PacketDecision, pset)
		if err != nil {
			return nil, err
		}
		for i := range tt.Len() {
			t.bursts[side] = append(t.bursts[side], burstRow{Count: int(tt.X[0][i]), GapUS: tt.X[1][i],
				Cond: rowCond{OppCount: tt.Cond[0][i]}})
		}
		for i := range pt.Len() {
			t.packets[side] = append(t.packets[side], packetRow{Size: int32(pt.X[0][i]), DtUS: pt.X[1][i],
				Cond: rowCond{OppCount: pt.Cond[0][i], First: pt.Cond[1][i], PrevSize: pt.Cond[2][i]}})
		}
		if n := len(t.bursts[side]); n < MinRows {
			return nil, fmt.Errorf("sampler: %s: %s: the %s side has %d bursts answering the %s, need at least %d",
				name, conv.Source, side, n, side.Other(), MinRows)
		}
		if n := len(t.packets[side]); n < MinRows {
			return nil, fmt.Errorf("sampler: %s: %s: the %s side has %d packets after a %s burst, need at least %d",
				name, conv.Source, side, n, side.Other(), MinRows)
		}
	}
	return t, nil
}

// streams are the random sources of a sampler: one per side and kind
// (turns, packets), so that a side's turn draws do not depend on how many
// packets were drawn in between, nor on batch sizes.
type streams [2][2]*rand.Rand

func newStreams(seed int64) streams {
	var s streams
	for side := 0; side < 2; side++ {
		for kind := 0; kind < 2; kind++ {
			s[side][kind] = rand.New(rand.NewPCG(uint64(seed), uint64(2*side+kind+1)))
		}
	}
	return s
}

func (s *streams) turns(side trace.Side) (*rand.Rand, error) {
	if side != trace.Server && side != trace.Client {
		return nil, fmt.Errorf("sampler: side %d is neither server nor client", side)
	}
	return s[side][0], nil
}

func (s *streams) packets(side trace.Side) (*rand.Rand, error) {
	if side != trace.Server && side != trace.Client {
		return nil, fmt.Errorf("sampler: side %d is neither server nor client", side)
	}
	return s[side][1], nil
}

// hasher accumulates a model fingerprint.
type hasher struct{ b []byte }

func (h *hasher) f(v float64) { h.b = binary.LittleEndian.AppendUint64(h.b, math.Float64bits(v)) }
func (h *hasher) i(v int64)   { h.b = binary.LittleEndian.AppendUint64(h.b, uint64(v)) }
func (h *hasher) s(v string)  { h.i(int64(len(v))); h.b = append(h.b, v...) }

// sum returns "name-v1:" and the first 16 bytes of the SHA-256 in hex.
func (h *hasher) sum(name string) string {
	d := sha256.Sum256(h.b)
	return name + "-v1:" + hex.EncodeToString(d[:16])
}

// usToNS converts microseconds to integer nanoseconds.
func usToNS(us float64) int64 { return int64(math.Round(us * 1e3)) }
