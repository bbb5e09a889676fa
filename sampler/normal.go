package sampler

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/spatgan/spatgan/internal/stat"
	"github.com/spatgan/spatgan/trace"
)

// Moments summarises one feature of the training rows: count, mean,
// standard deviation (n-1), minimum and maximum.
type Moments struct {
	N                   int
	Mean, Std, Min, Max float64
}

// momentsOf computes Moments with the statistics of internal/stat (the
// one implementation); a single value has Std 0, so that it draws itself.
func momentsOf(v []float64) Moments {
	m := Moments{N: len(v)}
	if len(v) == 0 {
		return m
	}
	m.Mean, m.Min, m.Max = stat.Mean(v), slices.Min(v), slices.Max(v)
	if len(v) > 1 {
		m.Std = stat.Std(v)
	}
	return m
}

// SideMoments are the per-side statistics the Normal and Poisson baselines
// draw from.
type SideMoments struct {
	Size  Moments // frame size [bytes] over the side's packet rows
	DtUS  Moments // in-burst time [us]: packet rows that are not first in their burst
	Count Moments // burst length [packets] over the side's burst rows
	GapUS Moments // reply gap [us] over the side's burst rows
}

// MomentsModel is the fitted Normal or Poisson baseline, as in the
// original SPATGAN: every quantity is drawn i.i.d., ignoring all
// conditions, from a per-side distribution with the training mean (and,
// for Normal, standard deviation):
//
//	Normal:  size, burst length, reply gap and in-burst time ~ N(mean, std)
//	Poisson: the same quantities ~ Poisson(mean), times in microseconds
//
// Draws are then made valid by clamping into the range seen in training:
// sizes (rounded) into [min, max], burst lengths (rounded) into [1, max],
// times into [0, max]. (The original rejected sizes <= 0 or > 1440 and
// times <= 0 and drew again; clamping keeps one draw per decision and the
// sampler's cost constant, at the price of point masses at the bounds,
// which is part of why these baselines fit badly.) The first packet's time
// of a burst is its reply gap; its drawn in-burst time is ignored by the
// callers.
type MomentsModel struct {
	poisson bool
	Sides   [2]SideMoments // indexed by trace.Side
	fp      string
}

func fitNormal(conv *trace.Conversation, poisson bool) (Model, error) {
	name := "normal"
	if poisson {
		name = "poisson"
	}
	t, err := loadTables(name, conv)
	if err != nil {
		return nil, err
	}
	m := &MomentsModel{poisson: poisson}
	var h hasher
	h.s(name)
	for side := 0; side < 2; side++ {
		var size, dt, count, gap []float64
		for _, r := range t.packets[side] {
			size = append(size, float64(r.Size))
			if r.Cond.First == 0 {
				dt = append(dt, r.DtUS)
			}
		}
		for _, r := range t.bursts[side] {
			count = append(count, float64(r.Count))
			gap = append(gap, r.GapUS)
		}
		sm := SideMoments{Size: momentsOf(size), DtUS: momentsOf(dt), Count: momentsOf(count), GapUS: momentsOf(gap)}
		m.Sides[side] = sm
		for _, mo := range []Moments{sm.Size, sm.DtUS, sm.Count, sm.GapUS} {
			h.i(int64(mo.N))
			h.f(mo.Mean)
			h.f(mo.Std)
			h.f(mo.Min)
			h.f(mo.Max)
		}
	}
	m.fp = h.sum(name)
	return m, nil
}

// Name implements Model.
func (m *MomentsModel) Name() string {
	if m.poisson {
		return "poisson"
	}
	return "normal"
}

// Fingerprint implements Model.
func (m *MomentsModel) Fingerprint() string { return m.fp }

// New implements Model.
func (m *MomentsModel) New(seed int64) Sampler {
	return &momentsSampler{m: m, r: newStreams(seed)}
}

type momentsSampler struct {
	m *MomentsModel
	r streams
}

var (
	_ Sampler       = (*momentsSampler)(nil)
	_ Fingerprinter = (*momentsSampler)(nil)
)

func (s *momentsSampler) Name() string        { return s.m.Name() }
func (s *momentsSampler) Fingerprint() string { return s.m.fp }

// draw returns one value of mo's distribution, unclamped.
func (s *momentsSampler) draw(r *rand.Rand, mo Moments) float64 {
	if s.m.poisson {
		return Poisson(r, mo.Mean)
	}
	return mo.Mean + mo.Std*r.NormFloat64()
}

func clampF(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }

// TurnsTo implements Sampler.
func (s *momentsSampler) TurnsTo(out []Turn, side trace.Side, convs []*Conv) error {
	if err := CheckBatch(len(out), len(convs), side); err != nil {
		return err
	}
	r, err := s.r.turns(side)
	if err != nil {
		return err
	}
	sm := &s.m.Sides[side]
	for i := range out {
		c := clampF(math.Round(s.draw(r, sm.Count)), 1, math.Max(1, sm.Count.Max))
		g := clampF(s.draw(r, sm.GapUS), 0, sm.GapUS.Max)
		out[i] = Turn{Count: int(c), GapNS: usToNS(g)}
	}
	return nil
}

// BurstsTo implements Sampler.
func (s *momentsSampler) BurstsTo(out [][]Pkt, side trace.Side, convs []*Conv) error {
	if err := CheckBatch(len(out), len(convs), side); err != nil {
		return err
	}
	r, err := s.r.packets(side)
	if err != nil {
		return err
	}
	sm := &s.m.Sides[side]
	for _, burst := range out {
		for i := range burst {
			z := clampF(math.Round(s.draw(r, sm.Size)), sm.Size.Min, sm.Size.Max)
			d := clampF(s.draw(r, sm.DtUS), 0, sm.DtUS.Max)
			burst[i] = Pkt{Size: int32(z), DtNS: usToNS(d)}
		}
	}
	return nil
}

// Poisson draws from the Poisson distribution with mean lambda (0 if
// lambda <= 0): by multiplication of uniforms below 10, else by Hörmann's
// transformed rejection with squeeze (PTRS, 1993), as numpy does.
func Poisson(r *rand.Rand, lambda float64) float64 {
	if !(lambda > 0) {
		return 0
	}
	if lambda < 10 {
		l := math.Exp(-lambda)
		k := 0.0
		p := r.Float64()
		for p > l {
			k++
			p *= r.Float64()
		}
		return k
	}
	slam := math.Sqrt(lambda)
	loglam := math.Log(lambda)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invalpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := r.Float64() - 0.5
		v := r.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lambda + 0.43)
		if us >= 0.07 && v <= vr {
			return k
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invalpha)-math.Log(a/(us*us)+b) <= -lambda+k*loglam-lg {
			return k
		}
	}
}
