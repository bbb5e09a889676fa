package metrics

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// Bins is a fixed binning scheme over the real line. Bin i covers
// [Lower(i), Lower(i+1)); the last bin is open to +Inf (the overflow bin).
// Values below the first edge fall in the first bin and values above the
// last edge in the last bin: out-of-range values are never dropped.
// The zero value has no bins; build schemes with NewBins.
type Bins struct {
	name  string
	lower []float64
}

// NewBins returns a scheme with the given lower bin edges, which must be
// finite and strictly increasing. The slice is copied.
func NewBins(name string, lower []float64) (Bins, error) {
	if len(lower) == 0 {
		return Bins{}, fmt.Errorf("metrics: bins %q: no edges", name)
	}
	for i, v := range lower {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Bins{}, fmt.Errorf("metrics: bins %q: edge %d is %v", name, i, v)
		}
		if i > 0 && !(v > lower[i-1]) {
			return Bins{}, fmt.Errorf("metrics: bins %q: edge %d (%v) is not above edge %d (%v)", name, i, v, i-1, lower[i-1])
		}
	}
	return Bins{name: name, lower: append([]float64(nil), lower...)}, nil
}

func mustBins(name string, lower []float64) Bins {
	b, err := NewBins(name, lower)
	if err != nil {
		panic(err) // programmer error in a package-level scheme
	}
	return b
}

// SizeBins bins frame sizes in bytes: 152 bins of 10 bytes on [0, 1520) and
// one overflow bin [1520, +Inf). Negative sizes fall in the first bin.
var SizeBins = mustBins("size", sizeLower())

// TimeBins bins times in microseconds: one bin [0, 1 us), then 10
// log-spaced bins per decade from 1 us to 10 s (edges 10^(k/10) us,
// k = 0..70, decade edges exact), then one overflow bin [10 s, +Inf).
// Negative times fall in the first bin. 72 bins in all.
var TimeBins = mustBins("time", timeLower())

// BurstBins bins burst lengths in packets: one bin per length 1..30 and one
// for 31 and more. Lengths below 1 fall in the first bin, fractional lengths
// in the bin of their integer part. 31 bins in all.
var BurstBins = mustBins("burst", burstLower())

func sizeLower() []float64 {
	l := make([]float64, 153)
	for i := range l {
		l[i] = float64(10 * i)
	}
	return l
}

func timeLower() []float64 {
	l := make([]float64, 0, 72)
	l = append(l, 0)
	for k := 0; k <= 70; k++ {
		dec := math.Pow10(k / 10)
		if k%10 == 0 {
			l = append(l, dec)
		} else {
			l = append(l, dec*math.Pow(10, float64(k%10)/10))
		}
	}
	return l
}

func burstLower() []float64 {
	l := make([]float64, 31)
	for i := range l {
		l[i] = float64(i + 1)
	}
	return l
}

// Name returns the name the scheme was built with.
func (b Bins) Name() string { return b.name }

// Len returns the number of bins, the overflow bin included.
func (b Bins) Len() int { return len(b.lower) }

// Lower returns a copy of the lower bin edges.
func (b Bins) Lower() []float64 { return append([]float64(nil), b.lower...) }

// Index returns the bin of v, clamping out-of-range values to the edge
// bins. It returns -1 for NaN and for a scheme without bins.
func (b Bins) Index(v float64) int {
	if math.IsNaN(v) || len(b.lower) == 0 {
		return -1
	}
	// Number of lower edges <= v, minus one.
	i := sort.Search(len(b.lower), func(i int) bool { return b.lower[i] > v }) - 1
	if i < 0 {
		return 0
	}
	return i
}

// CountsTo adds the bin counts of x to dst and returns the number of NaN
// values, which are not counted. It panics if len(dst) != b.Len(), a
// programming error.
func (b Bins) CountsTo(dst []float64, x []float64) (nan int) {
	if len(dst) != len(b.lower) {
		panic("metrics: CountsTo: dst length does not match the number of bins")
	}
	for _, v := range x {
		i := b.Index(v)
		if i < 0 {
			nan++
			continue
		}
		dst[i]++
	}
	return nan
}

// Histogram returns the bin counts of x. NaN values are not counted.
func (b Bins) Histogram(x []float64) []float64 {
	c := make([]float64, len(b.lower))
	b.CountsTo(c, x)
	return c
}

// JSD returns the Jensen-Shannon divergence in bits (log base 2, range
// [0, 1]) between the histograms of the samples x and y on bins. It is
// symmetric and 0 when both samples fill the bins in the same proportions.
// It returns NaN if either sample is empty or holds a NaN.
func JSD(x, y []float64, bins Bins) float64 {
	if len(x) == 0 || len(y) == 0 || bins.Len() == 0 {
		return math.NaN()
	}
	p := make([]float64, bins.Len())
	q := make([]float64, bins.Len())
	if bins.CountsTo(p, x) > 0 || bins.CountsTo(q, y) > 0 {
		return math.NaN()
	}
	return JSDProb(p, q)
}

// JSDProb returns the Jensen-Shannon divergence in bits between two
// histograms given as non-negative weights over the same bins; each is
// normalised to sum to 1 first. It returns NaN if the lengths differ, a
// weight is negative or NaN, or a histogram sums to 0.
//
// It is gonum's stat.JensenShannon (natural log, range [0, ln 2]) divided
// by ln 2, clamped to [0, 1] against rounding.
func JSDProb(p, q []float64) float64 {
	if len(p) != len(q) || len(p) == 0 {
		return math.NaN()
	}
	pn, ok1 := normalise(p)
	qn, ok2 := normalise(q)
	if !ok1 || !ok2 {
		return math.NaN()
	}
	d := stat.JensenShannon(pn, qn) / math.Ln2
	return math.Min(1, math.Max(0, d))
}

func normalise(p []float64) ([]float64, bool) {
	var s float64
	for _, v := range p {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, false
		}
		s += v
	}
	if s == 0 {
		return nil, false
	}
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = v / s
	}
	return out, true
}
