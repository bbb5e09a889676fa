package graphs

import (
	"errors"
	"fmt"
	"math"

	"github.com/spatgan/spatgan/trace"
)

// Scaler maps raw feature values to the networks' space and back: an
// optional log1p, then a z-score with statistics of the training split. It
// also keeps each feature's raw training range, used to map generated
// values back to valid ones.
type Scaler struct {
	Names []string  `json:"names"`
	Log   []bool    `json:"log"`
	Mean  []float64 `json:"mean"`
	Std   []float64 `json:"std"`
	Min   []float64 `json:"min"` // raw training minimum
	Max   []float64 `json:"max"` // raw training maximum
}

// logged reports whether a feature is log-transformed under cfg: times,
// counts and byte totals are, when cfg.LogTimes; sizes and flags never.
func logged(cfg Config, name string) bool {
	if !cfg.LogTimes {
		return false
	}
	switch name {
	case "size", "first", "prev_size":
		return false
	}
	return true
}

// fitScaler computes the statistics of columns cols (one slice per feature).
func fitScaler(cfg Config, names []string, cols [][]float64) (Scaler, error) {
	s := Scaler{Names: names}
	for j, col := range cols {
		if len(col) == 0 {
			return s, errors.New("graphs: no rows to fit the scaler")
		}
		lg := logged(cfg, names[j])
		mn, mx := math.Inf(1), math.Inf(-1)
		var sum, sq float64
		for i, v := range col {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return s, fmt.Errorf("graphs: feature %s, row %d: %v", names[j], i, v)
			}
			if v < 0 {
				return s, fmt.Errorf("graphs: feature %s, row %d: negative value %v", names[j], i, v)
			}
			mn, mx = math.Min(mn, v), math.Max(mx, v)
			if lg {
				v = math.Log1p(v)
			}
			sum += v
			sq += v * v
		}
		n := float64(len(col))
		mean := sum / n
		std := math.Sqrt(math.Max(sq/n-mean*mean, 0))
		if std < 1e-9 {
			std = 1 // a constant feature: centre it only
		}
		s.Log = append(s.Log, lg)
		s.Mean = append(s.Mean, mean)
		s.Std = append(s.Std, std)
		s.Min = append(s.Min, mn)
		s.Max = append(s.Max, mx)
	}
	return s, nil
}

// Forward maps raw value v of feature j to network space.
func (s *Scaler) Forward(j int, v float64) float64 {
	if s.Log[j] {
		v = math.Log1p(math.Max(v, 0))
	}
	return (v - s.Mean[j]) / s.Std[j]
}

// Inverse maps network value x of feature j back to a raw value (not yet
// clamped; see Valid).
func (s *Scaler) Inverse(j int, x float64) float64 {
	v := x*s.Std[j] + s.Mean[j]
	if s.Log[j] {
		v = math.Expm1(math.Min(v, 700))
	}
	return v
}

// Dataset is a model's training table in network space: N rows of two
// targets and len(Cond) condition values, row-major float32.
type Dataset struct {
	N      int
	X      []float32 // N x 2
	C      []float32 // N x CondDim
	Target Scaler
	Cond   Scaler
}

// CondDim returns the width of the condition.
func (d *Dataset) CondDim() int { return len(d.Cond.Names) }

// Raw is a model's table in raw units before scaling.
type Raw struct {
	X    [2][]float64 // targets
	Cond [][]float64  // one column per condition feature
}

// RawRows extracts cfg's targets and condition for side from a conversation.
func RawRows(cfg Config, conv *trace.Conversation, side trace.Side) (*Raw, error) {
	r := &Raw{Cond: make([][]float64, len(cfg.Cond))}
	add := func(x0, x1 float64, c trace.Cond) {
		r.X[0] = append(r.X[0], x0)
		r.X[1] = append(r.X[1], x1)
		for j, n := range cfg.Cond {
			v, _ := c.Value(n)
			r.Cond[j] = append(r.Cond[j], v)
		}
	}
	switch cfg.Kind {
	case Burst:
		for _, row := range conv.BurstRows(side) {
			add(float64(row.Count), row.GapUS, row.Cond)
		}
	case Packet:
		for _, row := range conv.PacketRows(side) {
			add(float64(row.Size), row.DtUS, row.Cond)
		}
	default:
		return nil, fmt.Errorf("graphs: unknown model kind %q", cfg.Kind)
	}
	return r, nil
}

// MinRows is the fewest training rows a model accepts.
const MinRows = 64

// NewDataset scales raw rows with statistics fitted on them.
func NewDataset(cfg Config, raw *Raw) (*Dataset, error) {
	n := len(raw.X[0])
	if n < MinRows {
		return nil, fmt.Errorf("graphs: %s model: %d training rows, at least %d are needed", cfg.Kind, n, MinRows)
	}
	t := cfg.Targets()
	ts, err := fitScaler(cfg, t[:], raw.X[:])
	if err != nil {
		return nil, err
	}
	cs, err := fitScaler(cfg, cfg.Cond, raw.Cond)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Target: ts, Cond: cs}
	return d, d.fill(raw)
}

// Apply scales raw rows with this dataset's statistics (for held-out rows).
func (d *Dataset) Apply(raw *Raw) (*Dataset, error) {
	out := &Dataset{Target: d.Target, Cond: d.Cond}
	return out, out.fill(raw)
}

func (d *Dataset) fill(raw *Raw) error {
	n := len(raw.X[0])
	if len(raw.X[1]) != n || len(raw.Cond) != len(d.Cond.Names) {
		return errors.New("graphs: ragged table")
	}
	d.N = n
	d.X = make([]float32, 2*n)
	d.C = make([]float32, n*len(raw.Cond))
	k := len(raw.Cond)
	for i := 0; i < n; i++ {
		for j := 0; j < 2; j++ {
			v := raw.X[j][i]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("graphs: feature %s, row %d: %v", d.Target.Names[j], i, v)
			}
			d.X[2*i+j] = float32(d.Target.Forward(j, v))
		}
		for j := 0; j < k; j++ {
			if len(raw.Cond[j]) != n {
				return errors.New("graphs: ragged condition table")
			}
			v := raw.Cond[j][i]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("graphs: condition %s, row %d: %v", d.Cond.Names[j], i, v)
			}
			d.C[k*i+j] = float32(d.Cond.Forward(j, v))
		}
	}
	return nil
}

// CondVector writes the scaled condition of c into dst (len CondDim).
func (s *Scaler) CondVector(dst []float32, c trace.Cond) {
	for j, n := range s.Names {
		v, _ := c.Value(n)
		dst[j] = float32(s.Forward(j, v))
	}
}

// Valid maps a generated network-space pair back to raw units and into the
// valid range, as documented: counts are rounded to the nearest integer and
// clamped to [1, training maximum]; sizes are rounded and clamped to the
// training [minimum, maximum]; times are clamped to [0, training maximum].
// NaN or infinite outputs become the training mean.
func (s *Scaler) Valid(kind Kind, x0, x1 float32) (float64, float64) {
	out := [2]float64{}
	for j, x := range [2]float32{x0, x1} {
		v := s.Inverse(j, float64(x))
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = s.Inverse(j, 0)
		}
		lo, hi := s.Min[j], s.Max[j]
		if j == 1 { // a time
			lo = 0
		} else {
			v = math.Round(v)
			if kind == Burst {
				lo = math.Max(1, lo)
			}
		}
		out[j] = math.Min(math.Max(v, lo), hi)
	}
	return out[0], out[1]
}
