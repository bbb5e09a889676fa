package tsne

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// KLDivergence returns the exact t-SNE cost KL(P‖Q) of the layout y (n×2)
// for the input rows x (n×d) at the given perplexity: P are the exact
// symmetrised input affinities over all pairs (as EmbedExact and
// scikit-learn's method="exact" use) and Q the Student-t affinities of y.
// It takes O(n²) time and memory. Use it to compare layouts made by
// different methods on equal terms.
func KLDivergence(x, y mat.Matrix, perplexity float64) (float64, error) {
	pts, n, d, err := points(x)
	if err != nil {
		return 0, err
	}
	yy, err := layout(y, n)
	if err != nil {
		return 0, err
	}
	if !(perplexity > 0) || math.IsInf(perplexity, 0) {
		return 0, fmt.Errorf("tsne: perplexity must be positive and finite, got %v", perplexity)
	}
	p := jointP(pts, n, d, perplexity, runtime.GOMAXPROCS(0))
	return klFull(p, yy, n), nil
}

func layout(y mat.Matrix, n int) ([]float64, error) {
	if y == nil {
		return nil, errors.New("tsne: nil layout")
	}
	r, c := y.Dims()
	if r != n || c != 2 {
		return nil, fmt.Errorf("tsne: layout is %d×%d, want %d×2", r, c, n)
	}
	out := make([]float64, 2*n)
	for i := range n {
		out[2*i], out[2*i+1] = y.At(i, 0), y.At(i, 1)
	}
	return out, nil
}

// Trustworthiness returns to what extent the k nearest neighbours of each
// point in the embedding y are also near in the input x (Venna and Kaski
// 2001), with scikit-learn's definition:
//
//	T(k) = 1 − 2/(n k (2n − 3k − 1)) Σ_i Σ_{j ∈ U_i(k)} (r(i, j) − k)
//
// where U_i(k) are the k nearest neighbours of i in y and r(i, j) is the
// rank of j among i's neighbours in x (1 = nearest). Only ranks above k
// contribute. T is 1 for a perfect embedding. Distances are Euclidean,
// ties broken by index; k must be below n/2. It takes O(n² log n) time.
func Trustworthiness(x, y mat.Matrix, k int) (float64, error) {
	pts, n, d, err := points(x)
	if err != nil {
		return 0, err
	}
	yy, err := layout(y, n)
	if err != nil {
		return 0, err
	}
	if k < 1 || float64(k) >= float64(n)/2 {
		return 0, fmt.Errorf("tsne: trustworthiness needs 1 <= k < n/2, got k=%d, n=%d", k, n)
	}
	dx := sqDistances(pts, n, d, runtime.GOMAXPROCS(0))
	dy := sqDistances(yy, n, 2, runtime.GOMAXPROCS(0))
	var t float64
	order := make([]int, n)
	rank := make([]int, n)
	for i := range n {
		byDist := func(dm []float64) {
			for j := range order {
				order[j] = j
			}
			row := dm[i*n : i*n+n]
			slices.SortFunc(order, func(a, b int) int {
				switch {
				case a == i:
					return 1
				case b == i:
					return -1
				case row[a] < row[b]:
					return -1
				case row[a] > row[b]:
					return 1
				}
				return a - b
			})
		}
		byDist(dx)
		for r, j := range order {
			rank[j] = r + 1
		}
		byDist(dy)
		for _, j := range order[:k] {
			if r := rank[j] - k; r > 0 {
				t += float64(r)
			}
		}
	}
	fn, fk := float64(n), float64(k)
	return 1 - t*2/(fn*fk*(2*fn-3*fk-1)), nil
}

// NeighbourAgreement returns the fraction of points whose nearest other
// point in the layout y (n×2) carries the same label. It takes O(n²) time.
func NeighbourAgreement(y mat.Matrix, labels []int) (float64, error) {
	n := len(labels)
	if n < 2 {
		return 0, fmt.Errorf("tsne: need at least 2 labelled points, have %d", n)
	}
	yy, err := layout(y, n)
	if err != nil {
		return 0, err
	}
	same := 0
	for i := range n {
		best, bj := math.Inf(1), -1
		for j := range n {
			if j == i {
				continue
			}
			dx, dy := yy[2*i]-yy[2*j], yy[2*i+1]-yy[2*j+1]
			if d := dx*dx + dy*dy; d < best {
				best, bj = d, j
			}
		}
		if labels[bj] == labels[i] {
			same++
		}
	}
	return float64(same) / float64(n), nil
}
