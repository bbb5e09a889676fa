package graphs

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/spatgan/spatgan/internal/stat"
)

// MaxKnots bounds a quantile transform's table: a feature with at most
// MaxKnots distinct training values keeps every value (a discrete
// feature: frame sizes, burst lengths); one with more keeps MaxKnots+1
// quantiles and interpolates between them (a continuous feature: times).
const MaxKnots = 1024

// Quantile is the empirical-quantile (Gaussian copula) transform of one
// feature: a training value x maps to Φ⁻¹(F(x)) with F the training CDF,
// and a network value z maps back to the training quantile at Φ(z). A
// discrete feature maps back onto values seen in training and nothing
// else, with their training frequencies; a heavy-tailed one needs no log.
type Quantile struct {
	// Discrete features: Values are the distinct training values in
	// increasing order and CDF[k] the fraction of rows <= Values[k].
	// Continuous features: Values are the training quantiles at levels
	// CDF[k] = k/(len-1).
	Values   []float64 `json:"values"`
	CDF      []float64 `json:"cdf"`
	Discrete bool      `json:"discrete"`
	// N is the number of training rows (it bounds the levels Forward
	// reaches, 0.5/N to 1-0.5/N).
	N int `json:"n"`
}

// FitQuantile computes the transform of a column.
func FitQuantile(col []float64) (*Quantile, error) { return fitQuantile(col, MaxKnots) }

func fitQuantile(col []float64, maxKnots int) (*Quantile, error) {
	n := len(col)
	if n == 0 {
		return nil, errors.New("graphs: quantile transform: no rows")
	}
	v := slices.Clone(col)
	slices.Sort(v)
	q := &Quantile{N: n}
	distinct := 1
	for i := 1; i < n; i++ {
		if v[i] != v[i-1] {
			distinct++
		}
	}
	if distinct <= maxKnots {
		q.Discrete = true
		for i := 0; i < n; i++ {
			if i+1 < n && v[i+1] == v[i] {
				continue
			}
			q.Values = append(q.Values, v[i])
			q.CDF = append(q.CDF, float64(i+1)/float64(n))
		}
		return q, nil
	}
	for k := 0; k <= maxKnots; k++ {
		lvl := float64(k) / float64(maxKnots)
		q.Values = append(q.Values, stat.QuantileSorted(v, lvl))
		q.CDF = append(q.CDF, lvl)
	}
	return q, nil
}

// Check validates a transform read from a file.
func (q *Quantile) Check() error {
	if len(q.Values) == 0 || len(q.Values) != len(q.CDF) || q.N < 1 {
		return fmt.Errorf("graphs: quantile transform: %d values, %d levels, %d rows", len(q.Values), len(q.CDF), q.N)
	}
	for k := range q.Values {
		if math.IsNaN(q.Values[k]) || math.IsInf(q.Values[k], 0) || !(q.CDF[k] >= 0 && q.CDF[k] <= 1) {
			return fmt.Errorf("graphs: quantile transform: knot %d is not finite or its level is outside [0, 1]", k)
		}
		if k > 0 && (q.Values[k] < q.Values[k-1] || q.CDF[k] < q.CDF[k-1]) {
			return fmt.Errorf("graphs: quantile transform: knot %d is out of order", k)
		}
	}
	return nil
}

// level returns the CDF level of x: the middle of its step for a discrete
// value, interpolated between knots otherwise, kept inside [0.5/N, 1-0.5/N].
func (q *Quantile) level(x float64) float64 {
	lo, hi := 0.5/float64(q.N), 1-0.5/float64(q.N)
	vs := q.Values
	k := sort.SearchFloat64s(vs, x) // first index with vs[k] >= x
	var u float64
	switch {
	case k == len(vs):
		u = hi
	case q.Discrete && vs[k] == x:
		prev := 0.0
		if k > 0 {
			prev = q.CDF[k-1]
		}
		u = (prev + q.CDF[k]) / 2
	case k == 0:
		u = lo
	default:
		// Between knots k-1 and k: interpolate the levels (the middles of
		// the steps for a discrete feature).
		a, b := q.mid(k-1), q.mid(k)
		u = a + (x-vs[k-1])/(vs[k]-vs[k-1])*(b-a)
	}
	return math.Min(math.Max(u, lo), hi)
}

func (q *Quantile) mid(k int) float64 {
	if !q.Discrete {
		return q.CDF[k]
	}
	prev := 0.0
	if k > 0 {
		prev = q.CDF[k-1]
	}
	return (prev + q.CDF[k]) / 2
}

// Forward maps x to network space, Φ⁻¹ of its level.
func (q *Quantile) Forward(x float64) float64 { return normQuantile(q.level(x)) }

// Jitter maps a training value x to network space at a level drawn
// uniformly inside its step (u in [0, 1)), for the networks' training
// rows: a discrete value then covers its whole interval of network space,
// as a generated value will, instead of one point (dequantisation).
func (q *Quantile) Jitter(x, u float64) float64 {
	if !q.Discrete {
		return q.Forward(x)
	}
	k := sort.SearchFloat64s(q.Values, x)
	if k == len(q.Values) || q.Values[k] != x {
		return q.Forward(x)
	}
	prev := 0.0
	if k > 0 {
		prev = q.CDF[k-1]
	}
	lo, hi := 0.5/float64(q.N), 1-0.5/float64(q.N)
	lvl := prev + u*(q.CDF[k]-prev)
	return normQuantile(math.Min(math.Max(lvl, lo), hi))
}

// Inverse maps network value z back to the training quantile at Φ(z): for
// a discrete feature the first value whose CDF reaches it.
func (q *Quantile) Inverse(z float64) float64 {
	if math.IsNaN(z) {
		z = 0
	}
	u := normCDF(z)
	if q.Discrete {
		k := sort.SearchFloat64s(q.CDF, u)
		return q.Values[min(k, len(q.Values)-1)]
	}
	pos := u * float64(len(q.Values)-1)
	i := int(pos)
	if i >= len(q.Values)-1 {
		return q.Values[len(q.Values)-1]
	}
	return q.Values[i] + (pos-float64(i))*(q.Values[i+1]-q.Values[i])
}

func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// normQuantile is Φ⁻¹(p) for p in (0, 1).
func normQuantile(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }

// MinGroup is the fewest training rows a value of the first target needs
// for the second target to get a quantile table of its own under the
// joint transform; rarer values share the pooled table.
const MinGroup = 20

// groupKnots bounds the per-value tables of the joint transform.
const groupKnots = 128

// Given is the second target's quantile transform conditional on the
// first target's value (a Rosenblatt transform): for each frequent value
// of the first target (a frame size, a burst length), the distribution of
// the second (the time) among the training rows with that value. A
// generated pair then maps back to a first value seen in training and a
// second value drawn from the times that went with it, so the joint
// distribution keeps the capture's pairs (small audio frames 20 ms apart,
// large video frames back to back) without the network having to learn
// them.
type Given struct {
	Values []float64   `json:"values"` // first-target values with a table, increasing
	Tables []*Quantile `json:"tables"` // the second target's transform given each value
	// Edges and Bins (Config.JointBins) serve the first-target values
	// without a table of their own: Bins[k] is the second target's
	// transform among the training rows of such values in bin k, the bin
	// being the number of Edges (increasing) below the value; a nil bin
	// backs off to the pooled table.
	Edges []float64   `json:"edges,omitempty"`
	Bins  []*Quantile `json:"bins,omitempty"`
}

// fitGiven computes the conditional tables of x1 given x0.
func fitGiven(x0, x1 []float64) (*Given, error) {
	groups := map[float64][]float64{}
	for i, v := range x0 {
		groups[v] = append(groups[v], x1[i])
	}
	g := &Given{}
	keys := make([]float64, 0, len(groups))
	for v, rows := range groups {
		if len(rows) >= MinGroup {
			keys = append(keys, v)
		}
	}
	slices.Sort(keys)
	for _, v := range keys {
		q, err := fitQuantile(groups[v], groupKnots)
		if err != nil {
			return nil, err
		}
		g.Values = append(g.Values, v)
		g.Tables = append(g.Tables, q)
	}
	return g, nil
}

// fitGivenBins is fitGiven, and then tables for the rows whose first
// value has none, by the bin of that value among nBins equally filled bins
// of those rows (a bin with fewer than MinGroup rows gets none).
func fitGivenBins(x0, x1 []float64, nBins int) (*Given, error) {
	g, err := fitGiven(x0, x1)
	if err != nil || nBins < 2 {
		return g, err
	}
	var r0, r1 []float64
	for i, v := range x0 {
		if g.table(v) == nil {
			r0, r1 = append(r0, v), append(r1, x1[i])
		}
	}
	if len(r0) < MinGroup {
		return g, nil
	}
	g.Edges = quantileEdges(r0, nBins)
	groups := make([][]float64, len(g.Edges)+1)
	for i, v := range r0 {
		b := binOf(g.Edges, v)
		groups[b] = append(groups[b], r1[i])
	}
	g.Bins = make([]*Quantile, len(groups))
	for b, rows := range groups {
		if len(rows) >= MinGroup {
			if g.Bins[b], err = fitQuantile(rows, groupKnots); err != nil {
				return nil, err
			}
		}
	}
	return g, nil
}

// table returns the conditional table for first-target value x0 (its
// own, else its bin's), or nil.
func (g *Given) table(x0 float64) *Quantile {
	if g == nil {
		return nil
	}
	k := sort.SearchFloat64s(g.Values, x0)
	if k < len(g.Values) && g.Values[k] == x0 {
		return g.Tables[k]
	}
	if g.Edges != nil {
		return g.Bins[binOf(g.Edges, x0)]
	}
	return nil
}

// Check validates tables read from a file.
func (g *Given) Check() error {
	if len(g.Values) != len(g.Tables) {
		return fmt.Errorf("graphs: joint transform: %d values, %d tables", len(g.Values), len(g.Tables))
	}
	for k, q := range g.Tables {
		if k > 0 && !(g.Values[k] > g.Values[k-1]) {
			return fmt.Errorf("graphs: joint transform: value %d is out of order", k)
		}
		if q == nil {
			return fmt.Errorf("graphs: joint transform: value %v has no table", g.Values[k])
		}
		if err := q.Check(); err != nil {
			return fmt.Errorf("graphs: joint transform, value %v: %w", g.Values[k], err)
		}
	}
	if g.Edges == nil && g.Bins == nil {
		return nil
	}
	if len(g.Bins) != len(g.Edges)+1 {
		return fmt.Errorf("graphs: joint transform: %d edges, %d bins", len(g.Edges), len(g.Bins))
	}
	for k, e := range g.Edges {
		if math.IsNaN(e) || math.IsInf(e, 0) || (k > 0 && !(e > g.Edges[k-1])) {
			return fmt.Errorf("graphs: joint transform: edge %d is not finite or out of order", k)
		}
	}
	for k, q := range g.Bins {
		if q == nil {
			continue
		}
		if err := q.Check(); err != nil {
			return fmt.Errorf("graphs: joint transform, bin %d: %w", k, err)
		}
	}
	return nil
}
