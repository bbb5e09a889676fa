package sampler

import (
	"github.com/spatgan/spatgan/trace"
)

// BootstrapModel is the i.i.d. bootstrap baseline: each turn is a burst
// row of the side drawn uniformly with replacement, (burst length, reply
// gap) together; each packet's size is drawn from all the side's packet
// rows and its in-burst time, independently, from the rows that are not
// first in their burst. Conditions are ignored. It reproduces every
// marginal of the training data and none of its structure.
type BootstrapModel struct {
	turns [2][]Turn  // per side: (count, gap) of each burst row
	sizes [2][]int32 // per side: size of each packet row
	dts   [2][]int64 // per side: in-burst time of each non-first packet row, ns
	fp    string
}

func fitBootstrap(conv *trace.Conversation) (Model, error) {
	t, err := loadTables("bootstrap", conv)
	if err != nil {
		return nil, err
	}
	m := &BootstrapModel{}
	var h hasher
	h.s("bootstrap")
	for side := 0; side < 2; side++ {
		for _, r := range t.bursts[side] {
			tu := Turn{Count: r.Count, GapNS: usToNS(r.GapUS)}
			m.turns[side] = append(m.turns[side], tu)
			h.i(int64(tu.Count))
			h.i(tu.GapNS)
		}
		for _, r := range t.packets[side] {
			m.sizes[side] = append(m.sizes[side], r.Size)
			h.i(int64(r.Size))
			if r.Cond.First == 0 {
				d := usToNS(r.DtUS)
				m.dts[side] = append(m.dts[side], d)
				h.i(d)
			}
		}
		h.s("|")
	}
	m.fp = h.sum("bootstrap")
	return m, nil
}

// Name implements Model.
func (m *BootstrapModel) Name() string { return "bootstrap" }

// Fingerprint implements Model.
func (m *BootstrapModel) Fingerprint() string { return m.fp }

// New implements Model.
func (m *BootstrapModel) New(seed int64) Sampler { return &bootstrapSampler{m: m, r: newStreams(seed)} }

type bootstrapSampler struct {
	m *BootstrapModel
	r streams
}

var (
	_ Sampler       = (*bootstrapSampler)(nil)
	_ Fingerprinter = (*bootstrapSampler)(nil)
)

func (s *bootstrapSampler) Name() string        { return "bootstrap" }
func (s *bootstrapSampler) Fingerprint() string { return s.m.fp }

// TurnsTo implements Sampler.
func (s *bootstrapSampler) TurnsTo(out []Turn, side trace.Side, convs []*Conv) error {
	if err := CheckBatch(len(out), len(convs), side); err != nil {
		return err
	}
	r, err := s.r.turns(side)
	if err != nil {
		return err
	}
	rows := s.m.turns[side]
	for i := range out {
		out[i] = rows[r.IntN(len(rows))]
	}
	return nil
}

// PacketsTo implements Sampler.
func (s *bootstrapSampler) BurstsTo(out [][]Pkt, side trace.Side, convs []*Conv) error {
	if err := CheckBatch(len(out), len(convs), side); err != nil {
		return err
	}
	r, err := s.r.packets(side)
	if err != nil {
		return err
	}
	sizes, dts := s.m.sizes[side], s.m.dts[side]
	for _, burst := range out {
		for i := range burst {
			burst[i].Size = sizes[r.IntN(len(sizes))]
			burst[i].DtNS = 0
			if len(dts) > 0 {
				burst[i].DtNS = dts[r.IntN(len(dts))]
			}
		}
	}
	return nil
}
