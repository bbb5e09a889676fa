package sampler

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"

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

// Baseline is a registered baseline: a generator fitted on a
// conversation's training rows. Its registration is the only place a
// baseline is named: Fit, New, Names, the CLI's --sampler and the fidelity
// bench's columns (Baselines, in registration order) and notes (Doc) all
// read the registry.
type Baseline struct {
	Name string
	// Doc says in a sentence what the baseline draws (the fidelity
	// report's note on its column).
	Doc string
	Fit func(conv *trace.Conversation) (Model, error)
}

var (
	registryMu sync.RWMutex
	// registry is in registration order, the fidelity report's column
	// order.
	registry = []Baseline{
		{"normal", "the original's Normal baseline: every quantity i.i.d. Normal with the training part's per-side mean and std, clamped to the training range",
			func(c *trace.Conversation) (Model, error) { return fitNormal(c, false) }},
		{"poisson", "the original's Poisson baseline: every quantity i.i.d. Poisson with the training part's per-side mean, clamped to the training range",
			func(c *trace.Conversation) (Model, error) { return fitNormal(c, true) }},
		{"bootstrap", "i.i.d. resampling of the training part's burst rows (length, reply gap) and packet rows (size; in-burst time): its marginals, none of its structure",
			fitBootstrap},
		{"markov", "burst-aware empirical baseline: first-order Markov chain over bursts (reply resampled given the opponent's burst length bin, sizes given the previous size bin)",
			fitMarkov},
	}
)

// Register adds a baseline after the built-in ones, as database/sql.Register
// adds a driver. Names are case-insensitive; Register panics on an empty
// name, a missing fitter or a name already registered (programming errors
// at init time).
func Register(b Baseline) {
	registryMu.Lock()
	defer registryMu.Unlock()
	b.Name = strings.ToLower(b.Name)
	if b.Name == "" || b.Fit == nil {
		panic("sampler: Register: a baseline needs a name and a fitter")
	}
	for _, r := range registry {
		if r.Name == b.Name {
			panic("sampler: Register: baseline " + b.Name + " registered twice")
		}
	}
	registry = append(registry, b)
}

// Baselines returns the registered baselines in registration order (the
// built-in normal, poisson, bootstrap and markov first).
func Baselines() []Baseline {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return slices.Clone(registry)
}

// Lookup returns the named baseline (case-insensitive).
func Lookup(name string) (Baseline, bool) {
	name = strings.ToLower(name)
	for _, b := range Baselines() {
		if b.Name == name {
			return b, true
		}
	}
	return Baseline{}, false
}

// Names returns the names of the baselines Fit and New know, sorted.
func Names() []string {
	bs := Baselines()
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Name
	}
	sort.Strings(out)
	return out
}

// Fit fits the named baseline (one of Names) on conv.
func Fit(name string, conv *trace.Conversation) (Model, error) {
	b, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("sampler: unknown sampler %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	if conv == nil {
		return nil, fmt.Errorf("sampler: %s: no conversation to fit", name)
	}
	return b.Fit(conv)
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
