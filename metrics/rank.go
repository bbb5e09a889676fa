package metrics

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Ranks returns the 1-based ranks of x, tied values getting the average of
// the ranks they span (scipy.stats.rankdata with method "average"). NaN
// values sort first, as slices.Sort orders them; callers that need a
// meaningful rank should not pass NaN.
func Ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(x[a], x[b]) })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && cmpFloat(x[idx[j]], x[idx[i]]) == 0 {
			j++
		}
		// Positions i..j-1 (0-based) hold ranks i+1..j; their average:
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			r[idx[k]] = avg
		}
		i = j
	}
	return r
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	}
	// At least one NaN: NaN first, NaNs equal.
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return -1
	}
	return 1
}

// Spearman returns Spearman's rank correlation of the pairs (x[i], y[i]):
// the Pearson correlation of their average ranks (Ranks), as
// scipy.stats.spearmanr computes it. It is NaN when x or y is constant (the
// correlation is undefined) or holds a NaN. It returns an error if the
// lengths differ or there are fewer than 2 pairs.
func Spearman(x, y []float64) (float64, error) {
	if len(x) != len(y) {
		return 0, fmt.Errorf("metrics: spearman: %d x values against %d y values", len(x), len(y))
	}
	if len(x) < 2 {
		return 0, fmt.Errorf("metrics: spearman: %d pairs, need at least 2", len(x))
	}
	for i := range x {
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) {
			return math.NaN(), nil
		}
	}
	rx, ry := Ranks(x), Ranks(y)
	if constant(rx) || constant(ry) {
		return math.NaN(), nil
	}
	return stat.Correlation(rx, ry, nil), nil
}

func constant(x []float64) bool {
	for _, v := range x[1:] {
		if v != x[0] {
			return false
		}
	}
	return true
}
