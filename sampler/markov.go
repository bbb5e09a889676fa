package sampler

import (
	"slices"
	"sort"

	"github.com/spatgan/spatgan/trace"
)

// MarkovMinPool is the least number of training rows a conditional pool of
// the Markov baseline must hold; smaller pools fall back to the side's
// whole table.
const MarkovMinPool = 10

// countBins are the upper bounds of the opponent burst length bins of the
// Markov baseline: 0 (no preceding burst), 1, 2, 3, 4, 5-6, 7-9, 10-14, 15+.
var countBins = []int{0, 1, 2, 3, 4, 6, 9, 14}

// countBin returns the bin of an opponent burst length.
func countBin(c float64) int {
	n := int(c + 0.5)
	return sort.SearchInts(countBins, n) // len(countBins) for 15 and more
}

const nCountBins = 9

// sizeBinsN is the number of quantile bins of the previous packet's size.
const sizeBinsN = 8

// MarkovModel is the burst-aware empirical baseline, a first-order Markov
// chain over bursts with resampled contents:
//
//   - Turn: the state is the opponent's preceding burst length, in bins
//     0 | 1 | 2 | 3 | 4 | 5-6 | 7-9 | 10-14 | 15+. The answer (burst length
//     and reply gap together) is a burst row of the side drawn uniformly from
//     the rows that followed an opponent burst of the same bin.
//   - First packet of a burst: (size) drawn from the side's first packets
//     that followed an opponent burst of the same bin.
//   - Later packets: (size, in-burst time) drawn together from the side's
//     later packets whose predecessor in the burst had a size in the same
//     quantile bin (8 bins of the side's packet sizes): a first-order chain
//     over sizes within the burst.
//
// A pool with fewer than MarkovMinPool rows is replaced by the pool of all
// rows of its kind. It reads OppCount, First and PrevSize.
type MarkovModel struct {
	turns     [2][nCountBins][]Turn
	firsts    [2][nCountBins][]Pkt
	laters    [2][sizeBinsN][]Pkt
	sizeEdges [2][]float64 // upper bounds of size bins 0..sizeBinsN-2
	fp        string
}

func fitMarkov(conv *trace.Conversation) (Model, error) {
	t, err := loadTables("markov", conv)
	if err != nil {
		return nil, err
	}
	m := &MarkovModel{}
	var h hasher
	h.s("markov")
	for side := 0; side < 2; side++ {
		var allTurns []Turn
		var byBin [nCountBins][]Turn
		for _, r := range t.bursts[side] {
			tu := Turn{Count: r.Count, GapNS: usToNS(r.GapUS)}
			allTurns = append(allTurns, tu)
			b := countBin(r.Cond.OppCount)
			byBin[b] = append(byBin[b], tu)
			h.i(int64(b))
			h.i(int64(tu.Count))
			h.i(tu.GapNS)
		}
		// Size bin edges: quantiles of the side's packet sizes.
		sizes := make([]float64, 0, len(t.packets[side]))
		for _, r := range t.packets[side] {
			sizes = append(sizes, float64(r.Size))
		}
		slices.Sort(sizes)
		edges := make([]float64, 0, sizeBinsN-1)
		for k := 1; k < sizeBinsN; k++ {
			edges = append(edges, sizes[(len(sizes)-1)*k/sizeBinsN])
		}
		m.sizeEdges[side] = edges
		var allFirst, allLater []Pkt
		var firstBy [nCountBins][]Pkt
		var laterBy [sizeBinsN][]Pkt
		for _, r := range t.packets[side] {
			p := Pkt{Size: r.Size, DtNS: usToNS(r.DtUS)}
			h.i(int64(p.Size))
			h.i(p.DtNS)
			if r.Cond.First == 1 {
				p.DtNS = 0 // a first packet's time is the turn's reply gap
				b := countBin(r.Cond.OppCount)
				firstBy[b] = append(firstBy[b], p)
				allFirst = append(allFirst, p)
				continue
			}
			b := sizeBin(edges, r.Cond.PrevSize)
			laterBy[b] = append(laterBy[b], p)
			allLater = append(allLater, p)
		}
		if len(allFirst) == 0 {
			allFirst = allLater
		}
		if len(allLater) == 0 {
			for _, p := range allFirst {
				allLater = append(allLater, Pkt{Size: p.Size})
			}
		}
		for b := range nCountBins {
			m.turns[side][b] = pool(byBin[b], allTurns)
			m.firsts[side][b] = pool(firstBy[b], allFirst)
		}
		for b := range sizeBinsN {
			m.laters[side][b] = pool(laterBy[b], allLater)
		}
		h.s("|")
	}
	m.fp = h.sum("markov")
	return m, nil
}

// pool returns rows if it holds at least MarkovMinPool of them, else all.
func pool[T any](rows, all []T) []T {
	if len(rows) >= MarkovMinPool {
		return rows
	}
	return all
}

func sizeBin(edges []float64, size float64) int {
	return sort.SearchFloat64s(edges, size)
}

// Name implements Model.
func (m *MarkovModel) Name() string { return "markov" }

// Fingerprint implements Model.
func (m *MarkovModel) Fingerprint() string { return m.fp }

// New implements Model.
func (m *MarkovModel) New(seed int64) Sampler { return &markovSampler{m: m, r: newStreams(seed)} }

type markovSampler struct {
	m *MarkovModel
	r streams
}

var (
	_ Sampler       = (*markovSampler)(nil)
	_ Fingerprinter = (*markovSampler)(nil)
)

func (s *markovSampler) Name() string        { return "markov" }
func (s *markovSampler) Fingerprint() string { return s.m.fp }

// TurnsTo implements Sampler.
func (s *markovSampler) TurnsTo(out []Turn, side trace.Side, convs []*Conv) error {
	if err := CheckBatch(len(out), len(convs), side); err != nil {
		return err
	}
	r, err := s.r.turns(side)
	if err != nil {
		return err
	}
	for i, c := range convs {
		rows := s.m.turns[side][countBin(oppCount(c, side))]
		out[i] = rows[r.IntN(len(rows))]
	}
	return nil
}

// BurstsTo implements Sampler: the first packet from the pool of the
// opponent burst's length bin, each later one from the pool of the size bin
// of the packet drawn before it.
func (s *markovSampler) BurstsTo(out [][]Pkt, side trace.Side, convs []*Conv) error {
	if err := CheckBatch(len(out), len(convs), side); err != nil {
		return err
	}
	r, err := s.r.packets(side)
	if err != nil {
		return err
	}
	for i, burst := range out {
		for j := range burst {
			var rows []Pkt
			if j == 0 {
				rows = s.m.firsts[side][countBin(oppCount(convs[i], side))]
			} else {
				rows = s.m.laters[side][sizeBin(s.m.sizeEdges[side], float64(burst[j-1].Size))]
			}
			burst[j] = rows[r.IntN(len(rows))]
		}
	}
	return nil
}

// oppCount is the length of the opponent's latest burst in c (0 if none).
func oppCount(c *Conv, side trace.Side) float64 {
	b, _ := c.H.Last(side.Other(), 0)
	return float64(b.Count)
}
