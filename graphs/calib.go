package graphs

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/spatgan/spatgan/internal/stat"
)

// CalibKnots bounds a calibration table: each target keeps CalibKnots+1
// quantiles of the generator's outputs and of the training targets.
const CalibKnots = 1024

// Calib is a monotone map, per target, from a trained generator's raw
// outputs onto the training targets' distribution in network space
// (quantile mapping): an output z becomes the training target quantile at
// the level where z sits among the generator's own outputs. It is fitted
// once after training, by generating for every training condition (see
// train), so a generator whose output distribution is slightly too narrow,
// shifted or lopsided still yields each target's training marginal, while
// the ordering the generator learnt (which condition gets which part of
// the distribution) is kept. A generator that already matches maps to
// itself. Gen[j][k] and Target[j][k] are the two quantiles at level
// k/(len-1).
type Calib struct {
	Gen    [2][]float64 `json:"gen"`
	Target [2][]float64 `json:"target"`
	// Damp, when set (two values in [0, 1], one per target), undoes that
	// share of the map: Map returns z + (1-Damp[j]) (map(z) - z), so 0 is
	// the full calibration and 1 none. Teacher-forced outputs calibrated
	// in full can make the closed loop too slow (a generator that draws
	// a long pause conditions its next draws on it); training chooses the
	// time's Damp closed loop on the validation part (train.DampGrid).
	Damp []float64 `json:"damp,omitempty"`
	// Later, when set, is the map for the packets after the first of
	// their burst (condition column PosCol, "pos", above 0.5); Gen and
	// Target then serve the first packets only. Training fits it closed
	// loop (train --calib-closed-loop pos): a packet model's draws later
	// in a burst and its burst openers are calibrated each onto its own
	// training rows. Damp does not apply to it (a closed-loop map has
	// none).
	Later  *CalibMap `json:"later,omitempty"`
	PosCol int       `json:"pos_col,omitempty"`
}

// CalibMap is a second pair of quantile tables of a Calib (Calib.Later).
type CalibMap struct {
	Gen    [2][]float64 `json:"gen"`
	Target [2][]float64 `json:"target"`
}

// FitCalib computes the calibration from generated rows gen and training
// rows target, both row-major with two columns (their row counts may
// differ).
func FitCalib(gen, target []float32) (*Calib, error) {
	m, err := fitMap(gen, target)
	if err != nil {
		return nil, err
	}
	return &Calib{Gen: m.Gen, Target: m.Target}, nil
}

// FitCalibByPos is FitCalib with a second map for the rows after the
// first of their burst (Calib.Later): genLater[i] and targetLater[i] say
// whether row i of gen or target is such a row, and posCol is the pos
// column of the condition that tells them apart in generation. Each
// group needs at least two rows on both sides.
func FitCalibByPos(gen []float32, genLater []bool, target []float32, targetLater []bool, posCol int) (*Calib, error) {
	if len(genLater)*2 != len(gen) || len(targetLater)*2 != len(target) {
		return nil, fmt.Errorf("graphs: calibration by position: %d and %d flags for %d and %d rows", len(genLater), len(targetLater), len(gen)/2, len(target)/2)
	}
	if posCol < 0 {
		return nil, fmt.Errorf("graphs: calibration by position: pos column %d", posCol)
	}
	split := func(rows []float32, later []bool, want bool) []float32 {
		var out []float32
		for i, l := range later {
			if l == want {
				out = append(out, rows[2*i], rows[2*i+1])
			}
		}
		return out
	}
	first, err := fitMap(split(gen, genLater, false), split(target, targetLater, false))
	if err != nil {
		return nil, fmt.Errorf("%w (the first packets of bursts)", err)
	}
	later, err := fitMap(split(gen, genLater, true), split(target, targetLater, true))
	if err != nil {
		return nil, fmt.Errorf("%w (the packets later in bursts)", err)
	}
	return &Calib{Gen: first.Gen, Target: first.Target, Later: later, PosCol: posCol}, nil
}

// Toward returns next with its generated quantiles moved only the share
// step of the way from prev's (knot by knot; step 1 is next itself): a
// damped update of a calibration refitted closed loop, whose outputs shift
// when the map they feed back through changes. next's map for later
// packets starts from prev's when prev has one, else from prev's main
// map. The training quantiles are next's. Both must have the same number
// of knots.
func (next *Calib) Toward(prev *Calib, step float64) (*Calib, error) {
	if !(step > 0 && step <= 1) {
		return nil, fmt.Errorf("graphs: calibration step %v: want (0, 1]", step)
	}
	blend := func(p, n [2][]float64) ([2][]float64, error) {
		var out [2][]float64
		for j := 0; j < 2; j++ {
			if len(p[j]) != len(n[j]) {
				return out, fmt.Errorf("graphs: calibration step: %d and %d knots", len(p[j]), len(n[j]))
			}
			out[j] = make([]float64, len(n[j]))
			for k := range n[j] {
				out[j][k] = p[j][k] + step*(n[j][k]-p[j][k])
			}
		}
		return out, nil
	}
	c := *next
	var err error
	if c.Gen, err = blend(prev.Gen, next.Gen); err != nil {
		return nil, err
	}
	if next.Later != nil {
		from := prev.Gen
		if prev.Later != nil {
			from = prev.Later.Gen
		}
		l := *next.Later
		if l.Gen, err = blend(from, next.Later.Gen); err != nil {
			return nil, err
		}
		c.Later = &l
	}
	return &c, nil
}

// fitMap fits one pair of quantile tables (FitCalib).
func fitMap(gen, target []float32) (*CalibMap, error) {
	if len(gen) < 4 || len(target) < 4 || len(gen)%2 != 0 || len(target)%2 != 0 {
		return nil, fmt.Errorf("graphs: calibration: %d generated and %d training values (two columns, at least two rows)", len(gen), len(target))
	}
	c := &CalibMap{}
	for j := 0; j < 2; j++ {
		g, err := quantiles(gen, j)
		if err != nil {
			return nil, fmt.Errorf("graphs: calibration: generated %w", err)
		}
		t, err := quantiles(target, j)
		if err != nil {
			return nil, fmt.Errorf("graphs: calibration: training %w", err)
		}
		c.Gen[j], c.Target[j] = g, t
	}
	return c, nil
}

// quantiles returns CalibKnots+1 quantiles of column j of rows (linear
// interpolation between order statistics, stat.QuantileSorted).
func quantiles(rows []float32, j int) ([]float64, error) {
	v := make([]float64, len(rows)/2)
	for i := range v {
		x := float64(rows[2*i+j])
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("target %d, row %d: %v", j, i, x)
		}
		v[i] = x
	}
	slices.Sort(v)
	q := make([]float64, CalibKnots+1)
	for k := range q {
		q[k] = stat.QuantileSorted(v, float64(k)/CalibKnots)
	}
	return q, nil
}

// Map maps generator output z of target j onto the training distribution.
// Outputs beyond the generator's observed range map to the training
// extremes; NaN stays NaN (Valid handles it).
func (c *Calib) Map(j int, z float64) float64 {
	m := mapFull(c.Gen[j], c.Target[j], z)
	if len(c.Damp) == 2 && c.Damp[j] != 0 {
		return m - c.Damp[j]*(m-z)
	}
	return m
}

// MapCond is Map for a row whose raw condition is cond: a packet after
// the first of its burst goes through Later when the calibration has it
// (cond nil: Map).
func (c *Calib) MapCond(j int, z float64, cond []float64) float64 {
	if c.Later != nil && c.PosCol < len(cond) && PosKey(cond[c.PosCol]) == 1 {
		return mapFull(c.Later.Gen[j], c.Later.Target[j], z)
	}
	return c.Map(j, z)
}

// mapFull maps z from the quantiles g onto the quantiles t.
func mapFull(g, t []float64, z float64) float64 {
	if math.IsNaN(z) {
		return z
	}
	k := sort.SearchFloat64s(g, z) // first knot >= z
	switch {
	case k == 0:
		return t[0]
	case k == len(g):
		return t[len(t)-1]
	}
	// Inside [g[k-1], g[k]] (g[k-1] < z <= g[k]); several knots may be
	// equal to g[k] (a generator that piles onto one value): spread z's
	// level over the run of equal knots' middle.
	e := k
	for e+1 < len(g) && g[e+1] == g[k] {
		e++
	}
	if z == g[k] {
		return t[(k+e)/2]
	}
	f := (z - g[k-1]) / (g[k] - g[k-1])
	return t[k-1] + f*(t[k]-t[k-1])
}

// Check validates a calibration read from a file.
func (c *Calib) Check() error {
	if c.Damp != nil {
		if len(c.Damp) != 2 {
			return fmt.Errorf("graphs: calibration: damp has %d values, want 2 (one per target)", len(c.Damp))
		}
		for j, d := range c.Damp {
			if !(d >= 0 && d <= 1) {
				return fmt.Errorf("graphs: calibration of target %d: damp %v is outside [0, 1]", j, d)
			}
		}
	}
	if c.PosCol < 0 || (c.Later == nil && c.PosCol != 0) {
		return fmt.Errorf("graphs: calibration: pos_col %d without a map for later packets", c.PosCol)
	}
	if err := checkTables(c.Gen, c.Target, ""); err != nil {
		return err
	}
	if c.Later != nil {
		return checkTables(c.Later.Gen, c.Later.Target, " (later packets)")
	}
	return nil
}

// checkTables validates one pair of quantile tables of a calibration.
func checkTables(gen, target [2][]float64, what string) error {
	for j := 0; j < 2; j++ {
		g, t := gen[j], target[j]
		if len(g) < 2 || len(g) != len(t) || len(g) > CalibKnots+1 {
			return fmt.Errorf("graphs: calibration of target %d%s: %d generated and %d training knots (want equal, 2 to %d)", j, what, len(g), len(t), CalibKnots+1)
		}
		for k := range g {
			if math.IsNaN(g[k]) || math.IsInf(g[k], 0) || math.IsNaN(t[k]) || math.IsInf(t[k], 0) {
				return fmt.Errorf("graphs: calibration of target %d%s: knot %d is not finite", j, what, k)
			}
			if k > 0 && (g[k] < g[k-1] || t[k] < t[k-1]) {
				return fmt.Errorf("graphs: calibration of target %d%s: knot %d is out of order", j, what, k)
			}
		}
	}
	return nil
}
