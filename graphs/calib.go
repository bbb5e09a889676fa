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
}

// FitCalib computes the calibration from generated rows gen and training
// rows target, both row-major with two columns (their row counts may
// differ).
func FitCalib(gen, target []float32) (*Calib, error) {
	if len(gen) < 4 || len(target) < 4 || len(gen)%2 != 0 || len(target)%2 != 0 {
		return nil, fmt.Errorf("graphs: calibration: %d generated and %d training values (two columns, at least two rows)", len(gen), len(target))
	}
	c := &Calib{}
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
	m := c.mapFull(j, z)
	if len(c.Damp) == 2 && c.Damp[j] != 0 {
		return m - c.Damp[j]*(m-z)
	}
	return m
}

// mapFull is Map without Damp.
func (c *Calib) mapFull(j int, z float64) float64 {
	if math.IsNaN(z) {
		return z
	}
	g, t := c.Gen[j], c.Target[j]
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
	for j := 0; j < 2; j++ {
		g, t := c.Gen[j], c.Target[j]
		if len(g) < 2 || len(g) != len(t) || len(g) > CalibKnots+1 {
			return fmt.Errorf("graphs: calibration of target %d: %d generated and %d training knots (want equal, 2 to %d)", j, len(g), len(t), CalibKnots+1)
		}
		for k := range g {
			if math.IsNaN(g[k]) || math.IsInf(g[k], 0) || math.IsNaN(t[k]) || math.IsInf(t[k], 0) {
				return fmt.Errorf("graphs: calibration of target %d: knot %d is not finite", j, k)
			}
			if k > 0 && (g[k] < g[k-1] || t[k] < t[k-1]) {
				return fmt.Errorf("graphs: calibration of target %d: knot %d is out of order", j, k)
			}
		}
	}
	return nil
}
