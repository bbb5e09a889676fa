package graphs

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/trace"
)

// Scaler maps raw feature values to the networks' space and back: an
// optional log1p, then a z-score with statistics of the training split. It
// also keeps each feature's raw training range, used to map generated
// values back to valid ones.
type Scaler struct {
	Names []string `json:"names"`
	// Quant holds, when the configuration's Transform is "quantile", each
	// feature's empirical-quantile transform, used instead of log and
	// z-score (Mean, Std, Log then describe the raw data only).
	Quant []*Quantile `json:"quantile,omitempty"`
	// Given holds, for a target scaler under Config.Joint, the second
	// target's quantile transform per value of the first (see Given).
	Given *Given `json:"given,omitempty"`
	// Keyed holds, for a target scaler under Config.FirstGiven, the first
	// target's quantile transform per value of condition feature
	// KeyCols[l] (raw units), for each feature l in order; the first
	// feature whose value has a table gives it, else Quant[0].
	Keyed   []*Given `json:"keyed,omitempty"`
	KeyCols []int    `json:"key_cols,omitempty"`
	// KeyEdges, under Config.FirstBins, are the upper edges of the bins of
	// condition feature KeyCols[0] (raw units, increasing): the single
	// Keyed table set is then keyed by a value's bin (the number of edges
	// below it) rather than by the value.
	KeyEdges []float64 `json:"key_edges,omitempty"`
	// PosKeyed holds, for a target scaler under Config.FirstPos, the
	// first target's quantile transform given PosKey of condition feature
	// PosCol ("pos"): 0 for a burst's first packet, 1 for the others. It
	// serves the rows no Keyed table serves; the Keyed tables' keys are
	// then split by PosKey too (posSplit).
	PosKeyed *Given `json:"pos_keyed,omitempty"`
	PosCol   int    `json:"pos_col,omitempty"`
	// TimeKeyed holds, for a target scaler under Config.TimeGiven, the
	// second target's quantile transform per key TimeKey(first target's
	// value, decile of condition feature TimeKeyCol (raw units)), the
	// deciles' upper edges being TimeKeyEdges; a key without a table
	// backs off to Given.
	TimeKeyed    *Given    `json:"time_keyed,omitempty"`
	TimeKeyCol   int       `json:"time_key_col,omitempty"`
	TimeKeyEdges []float64 `json:"time_key_edges,omitempty"`
	// Calib, for a target scaler under Config.Calibrate, maps the
	// generator's outputs onto the training targets' distribution before
	// the inverse transform (see Calib); fitted after training.
	Calib *Calib    `json:"calib,omitempty"`
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
	quant := cfg.Transform == TransformQuantile
	for j, col := range cols {
		if len(col) == 0 {
			return s, errors.New("graphs: no rows to fit the scaler")
		}
		lg := logged(cfg, names[j]) && !quant
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
		if quant {
			q, err := FitQuantile(col)
			if err != nil {
				return s, fmt.Errorf("graphs: feature %s: %w", names[j], err)
			}
			s.Quant = append(s.Quant, q)
		}
	}
	return s, nil
}

// Forward maps raw value v of feature j to network space.
func (s *Scaler) Forward(j int, v float64) float64 {
	if s.Quant != nil {
		return s.Quant[j].Forward(v)
	}
	if s.Log[j] {
		v = math.Log1p(math.Max(v, 0))
	}
	return (v - s.Mean[j]) / s.Std[j]
}

// Inverse maps network value x of feature j back to a raw value (not yet
// clamped; see Valid).
func (s *Scaler) Inverse(j int, x float64) float64 {
	if s.Quant != nil {
		return s.Quant[j].Inverse(x)
	}
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
type Raw = features.Table

// Decision returns the features package's decision kind of a model kind.
func (k Kind) Decision() features.Kind {
	if k == Burst {
		return features.TurnDecision
	}
	return features.PacketDecision
}

// FeatureSet resolves cfg's condition features.
func (c Config) FeatureSet() (*features.Set, error) {
	set, err := features.Resolve(c.Cond, c.Kind.Decision())
	if err != nil {
		return nil, fmt.Errorf("graphs: %s model: %w", c.Kind, err)
	}
	return set, nil
}

// RawRows extracts cfg's targets and condition for side from a
// conversation, by replaying it through a features.History (features.Rows).
func RawRows(cfg Config, conv *trace.Conversation, side trace.Side) (*Raw, error) {
	if cfg.Kind != Burst && cfg.Kind != Packet {
		return nil, fmt.Errorf("graphs: unknown model kind %q", cfg.Kind)
	}
	set, err := cfg.FeatureSet()
	if err != nil {
		return nil, err
	}
	t, err := features.Rows(conv, side, cfg.Kind.Decision(), set)
	if err != nil || !cfg.InBurstDt {
		return t, err
	}
	inBurstDt(t, side, cfg.InBurstBySize)
	return t, nil
}

// MinInBurst is the fewest in-burst times InBurstDt draws from; a side with
// fewer (nearly every burst one packet long) gets 0 for every first
// packet's time.
const MinInBurst = 10

// inBurstDt replaces the time target of every burst's first packet in t
// (Config.InBurstDt) by one of the side's in-burst times, drawn with a
// fixed seed per side; bySize (Config.InBurstBySize) draws it from the
// in-burst times of packets of the same size where that size has at least
// MinGroup of them.
func inBurstDt(t *Raw, side trace.Side, bySize bool) {
	var in []float64
	of := map[float64][]float64{}
	for i, p := range t.Pos {
		if p > 0 {
			in = append(in, t.X[1][i])
			if bySize {
				of[t.X[0][i]] = append(of[t.X[0][i]], t.X[1][i])
			}
		}
	}
	rng := rand.New(rand.NewPCG(0x1b, uint64(side)))
	for i, p := range t.Pos {
		if p != 0 {
			continue
		}
		t.X[1][i] = 0
		if g := of[t.X[0][i]]; len(g) >= MinGroup {
			t.X[1][i] = g[rng.IntN(len(g))]
		} else if len(in) >= MinInBurst {
			t.X[1][i] = in[rng.IntN(len(in))]
		}
	}
}

// MinRows is the fewest training rows a model accepts.
const MinRows = 64

// MaxKeyedValues is the most distinct training values the first target may
// take for Config.FirstGiven to key its table: a protocol's vocabulary of
// message sizes (pgbench: 13 and 24 per side) is keyed, a codec's hundreds
// of sizes are not (the scaler then has no keyed tables and the pooled
// table serves every row). Chosen on the selection split (BENCHMARKS.md).
const MaxKeyedValues = 64

// MaxFirstBins is the most bins Config.FirstBins may ask for.
const MaxFirstBins = 64

// fitKeyed fits the first target's keyed tables under Config.FirstGiven:
// by each feature's exact value where the target is a small vocabulary
// (at most MaxKeyedValues values), else, with Config.FirstBins, by the
// quantile bin of the last FirstGiven feature; else none.
func (s *Scaler) fitKeyed(cfg Config, raw *Raw) error {
	if len(cfg.FirstGiven) == 0 {
		return nil
	}
	cols := make([]int, len(cfg.FirstGiven))
	for l, f := range cfg.FirstGiven {
		cols[l] = slices.Index(cfg.Cond, f)
		if cols[l] < 0 || cols[l] >= len(raw.Cond) {
			return fmt.Errorf("graphs: first_given %q is not a condition feature", f)
		}
	}
	q := s.Quant
	if q == nil {
		return nil
	}
	// Under FirstPos (PosKeyed, fitted first) every key also says whether
	// the row opens its burst.
	keyOf := func(k float64, i int) float64 {
		if s.PosKeyed == nil {
			return k
		}
		return posSplit(k, raw.Cond[s.PosCol][i])
	}
	if q[0].Discrete && len(q[0].Values) <= MaxKeyedValues {
		for _, col := range cols {
			keys := make([]float64, len(raw.Cond[col]))
			for i, v := range raw.Cond[col] {
				keys[i] = keyOf(v, i)
			}
			g, err := fitGiven(keys, raw.X[0])
			if err != nil {
				return err
			}
			s.Keyed, s.KeyCols = append(s.Keyed, g), append(s.KeyCols, col)
		}
		return nil
	}
	if cfg.FirstBins < 2 {
		// A large vocabulary (a codec's sizes) and no bins: the tables
		// per key value would be estimated from a few rows each.
		return nil
	}
	col := cols[len(cols)-1]
	edges := quantileEdges(raw.Cond[col], cfg.FirstBins)
	keys := make([]float64, len(raw.Cond[col]))
	for i, v := range raw.Cond[col] {
		keys[i] = keyOf(float64(binOf(edges, v)), i)
	}
	g, err := fitGiven(keys, raw.X[0])
	if err != nil {
		return err
	}
	s.Keyed, s.KeyCols, s.KeyEdges = []*Given{g}, []int{col}, edges
	return nil
}

// posSplit is the key of a keyed table under Config.FirstPos: key k of
// a key feature's value, told apart by PosKey of the row's raw "pos".
func posSplit(k, pos float64) float64 { return 2*k + PosKey(pos) }

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
	if cfg.Joint {
		if ts.Given, err = fitGivenBins(raw.X[0], raw.X[1], cfg.JointBins); err != nil {
			return nil, err
		}
	}
	if cfg.FirstPos && ts.Quant != nil {
		col := slices.Index(cfg.Cond, "pos")
		if col < 0 || col >= len(raw.Cond) {
			return nil, errors.New("graphs: first_pos: pos is not a condition feature")
		}
		keys := make([]float64, n)
		for i, v := range raw.Cond[col] {
			keys[i] = PosKey(v)
		}
		if ts.PosKeyed, err = fitGiven(keys, raw.X[0]); err != nil {
			return nil, err
		}
		ts.PosCol = col
	}
	if err := ts.fitKeyed(cfg, raw); err != nil {
		return nil, err
	}
	if cfg.TimeGiven != "" {
		col := slices.Index(cfg.Cond, cfg.TimeGiven)
		if col < 0 || col >= len(raw.Cond) {
			return nil, fmt.Errorf("graphs: time_given %q is not a condition feature", cfg.TimeGiven)
		}
		if ts.Quant == nil || ts.Given == nil {
			return nil, errors.New("graphs: time_given needs the quantile transform and joint")
		}
		ts.TimeKeyCol, ts.TimeKeyEdges = col, decileEdges(raw.Cond[col])
		keys := make([]float64, n)
		for i := range keys {
			keys[i] = ts.timeKey(raw.X[0][i], raw.Cond[col][i])
		}
		if ts.TimeKeyed, err = fitGiven(keys, raw.X[1]); err != nil {
			return nil, err
		}
	}
	cs, err := fitScaler(cfg, cfg.Cond, raw.Cond)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Target: ts, Cond: cs}
	return d, d.fill(raw, true)
}

// Apply scales raw rows with this dataset's statistics (for held-out rows).
func (d *Dataset) Apply(raw *Raw) (*Dataset, error) { return d.apply(raw, false) }

// ApplyJitter is Apply with discrete targets spread over their steps of
// network space as in the training table (for calibration targets).
func (d *Dataset) ApplyJitter(raw *Raw) (*Dataset, error) { return d.apply(raw, true) }

func (d *Dataset) apply(raw *Raw, jitter bool) (*Dataset, error) {
	out := &Dataset{Target: d.Target, Cond: d.Cond}
	return out, out.fill(raw, jitter)
}

// fill scales raw rows. With jitter, discrete quantile-transformed targets
// are spread uniformly over their step of network space (Quantile.Jitter),
// with a fixed seed so that a dataset is the same on every run.
func (d *Dataset) fill(raw *Raw, jitter bool) error {
	jit := rand.New(rand.NewPCG(0x6a17, 0x7e4))
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
			q := (*Quantile)(nil)
			if d.Target.Quant != nil {
				q = d.Target.Quant[j]
				if j == 1 {
					if g := d.Target.timeTableAt(raw.X[0][i], raw.Cond, i); g != nil {
						q = g
					} else if g := d.Target.Given.table(raw.X[0][i]); g != nil {
						q = g
					}
				} else if g := d.Target.keyTable(raw.Cond, i); g != nil {
					q = g
				}
			}
			switch {
			case q != nil && jitter:
				d.X[2*i+j] = float32(q.Jitter(v, jit.Float64()))
			case q != nil:
				d.X[2*i+j] = float32(q.Forward(v))
			default:
				d.X[2*i+j] = float32(d.Target.Forward(j, v))
			}
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

// CondTo writes the scaled condition of raw feature values into dst (both
// of length len(Names)).
func (s *Scaler) CondTo(dst []float32, raw []float64) {
	for j, v := range raw {
		dst[j] = float32(s.Forward(j, v))
	}
}

// Valid maps a generated network-space pair back to raw units and into the
// valid range, as documented: counts are rounded to the nearest integer and
// clamped to [1, training maximum]; sizes are rounded and clamped to the
// training [minimum, maximum]; times are clamped to [0, training maximum].
// NaN or infinite outputs become the training mean.
func (s *Scaler) Valid(kind Kind, x0, x1 float32) (float64, float64) {
	return s.ValidCond(kind, x0, x1, nil)
}

// ValidCond is Valid for a row whose raw condition is cond (which selects
// the first target's table under Keyed; nil: the pooled table).
func (s *Scaler) ValidCond(kind Kind, x0, x1 float32, cond []float64) (float64, float64) {
	out := [2]float64{}
	for j, x := range [2]float32{x0, x1} {
		inv := func(z float64) float64 {
			if j == 1 {
				if q := s.timeTable(out[0], cond); q != nil {
					return q.Inverse(z)
				}
				if q := s.Given.table(out[0]); q != nil {
					return q.Inverse(z)
				}
			} else if q := s.keyed(cond); q != nil {
				return q.Inverse(z)
			}
			return s.Inverse(j, z)
		}
		z := float64(x)
		if s.Calib != nil {
			z = s.Calib.MapCond(j, z, cond)
		}
		v := inv(z)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = inv(0)
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

// ForwardTargets maps a raw target pair to network space: the second
// target through its table given the first under the joint transform.
func (s *Scaler) ForwardTargets(x0, x1 float64) (float64, float64) {
	return s.ForwardTargetsCond(x0, x1, nil)
}

// ForwardTargetsCond is ForwardTargets for a row whose raw condition is
// cond (nil: none).
func (s *Scaler) ForwardTargetsCond(x0, x1 float64, cond []float64) (float64, float64) {
	z0 := s.Forward(0, x0)
	if q := s.keyed(cond); q != nil {
		z0 = q.Forward(x0)
	}
	if q := s.timeTable(x0, cond); q != nil {
		return z0, q.Forward(x1)
	}
	if q := s.Given.table(x0); q != nil {
		return z0, q.Forward(x1)
	}
	return z0, s.Forward(1, x1)
}

// timeKeyBins is the most bins of TimeGiven's feature (deciles), and the
// factor that separates the first target's value from the bin in a key.
const timeKeyBins = 16

// decileEdges returns the distinct 10th..90th percentiles of v (raw
// units), increasing: a value's bin is the number of edges below it.
func decileEdges(v []float64) []float64 { return quantileEdges(v, 10) }

// quantileEdges returns the distinct upper edges of n equally filled bins
// of v (the k/n-th quantiles, k = 1..n-1), increasing (raw units).
func quantileEdges(v []float64, n int) []float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	var out []float64
	for k := 1; k < n; k++ {
		e := s[min(len(s)-1, k*len(s)/n)]
		if len(out) == 0 || e > out[len(out)-1] {
			out = append(out, e)
		}
	}
	return out
}

// binOf is the bin of v among increasing edges: the number of edges below
// it (a value equal to an edge is in the bin that edge closes).
func binOf(edges []float64, v float64) int {
	b, _ := slices.BinarySearch(edges, v)
	return b
}

// timeKey is the TimeKeyed key of a first-target value and a raw value of
// the TimeGiven feature: x0 * timeKeyBins + the feature's bin.
func (s *Scaler) timeKey(x0, v float64) float64 {
	return x0*timeKeyBins + float64(binOf(s.TimeKeyEdges, v))
}

// timeTable returns the time's table for first-target value x0 and raw
// condition row cond under TimeKeyed, or nil.
func (s *Scaler) timeTable(x0 float64, cond []float64) *Quantile {
	if s.TimeKeyed == nil || s.TimeKeyCol >= len(cond) {
		return nil
	}
	return s.TimeKeyed.table(s.timeKey(x0, cond[s.TimeKeyCol]))
}

// timeTableAt is timeTable for row i of column-major raw conditions.
func (s *Scaler) timeTableAt(x0 float64, cond [][]float64, i int) *Quantile {
	if s.TimeKeyed == nil || s.TimeKeyCol >= len(cond) {
		return nil
	}
	return s.TimeKeyed.table(s.timeKey(x0, cond[s.TimeKeyCol][i]))
}

// keyed returns the first target's table for a raw condition row: the
// table of the first key feature whose value has one (keyed by the
// position too under FirstPos), else under FirstPos the table given the
// position alone, or nil (no keyed transform or no row).
func (s *Scaler) keyed(cond []float64) *Quantile {
	if cond == nil {
		return nil
	}
	return s.keyedAt(len(cond), func(c int) float64 { return cond[c] })
}

// keyedAt is keyed for a row of n condition features whose feature c is
// at(c).
func (s *Scaler) keyedAt(n int, at func(c int) float64) *Quantile {
	split := s.PosKeyed != nil && s.PosCol < n
	for l, g := range s.Keyed {
		if c := s.KeyCols[l]; c < n {
			k := s.key(at(c))
			if split {
				k = posSplit(k, at(s.PosCol))
			}
			if q := g.table(k); q != nil {
				return q
			}
		}
	}
	if split {
		return s.PosKeyed.table(PosKey(at(s.PosCol)))
	}
	return nil
}

// PosKey is the PosKeyed key of a raw "pos" value: 0 for a burst's first
// packet, 1 for a later one.
func PosKey(pos float64) float64 {
	if pos < 0.5 {
		return 0
	}
	return 1
}

// key is the Keyed key of a key feature's raw value: the value, or its
// bin under KeyEdges.
func (s *Scaler) key(v float64) float64 {
	if s.KeyEdges == nil {
		return v
	}
	return float64(binOf(s.KeyEdges, v))
}

// keyTable returns the first target's table for row i of column-major raw
// conditions.
func (s *Scaler) keyTable(cond [][]float64, i int) *Quantile {
	return s.keyedAt(len(cond), func(c int) float64 { return cond[c][i] })
}
