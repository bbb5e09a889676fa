package tsne

import (
	"math"
	"slices"
)

// machineEpsilon is the floor scikit-learn puts under probabilities
// (np.finfo(np.double).eps).
const machineEpsilon = 2.220446049250313e-16

// perplexityTol and perplexitySteps are the binary-search tolerance on the
// entropy (nats) and its step limit, as in scikit-learn.
const (
	perplexityTol   = 1e-5
	perplexitySteps = 100
)

// searchBeta sets p to the conditional distribution exp(-beta·d_j)/Σ over
// the squared distances d whose entropy is log(perplexity), found by
// bisection on the precision beta (scikit-learn's
// _binary_search_perplexity). Distances are shifted by their minimum
// before exponentiation for numerical range; the distribution is invariant
// to the shift.
func searchBeta(d, p []float64, logU float64) {
	if len(d) == 0 {
		return
	}
	dmin := d[0]
	for _, v := range d {
		dmin = math.Min(dmin, v)
	}
	beta, lo, hi := 1.0, math.Inf(-1), math.Inf(1)
	var sum float64
	for range perplexitySteps {
		sum = 0
		var wsum float64
		for j, v := range d {
			e := math.Exp(-(v - dmin) * beta)
			p[j] = e
			sum += e
			wsum += (v - dmin) * e
		}
		h := math.Log(sum) + beta*wsum/sum
		diff := h - logU
		if math.Abs(diff) <= perplexityTol {
			break
		}
		if diff > 0 {
			lo = beta
			if math.IsInf(hi, 1) {
				beta *= 2
			} else {
				beta = (beta + hi) / 2
			}
		} else {
			hi = beta
			if math.IsInf(lo, -1) {
				beta /= 2
			} else {
				beta = (beta + lo) / 2
			}
		}
	}
	for j := range p {
		p[j] /= sum
	}
}

// conditionalP returns p_{j|i} for the k neighbours of each point (n×k,
// row-major, aligned with the knn output).
func conditionalP(dist []float64, n, k int, perplexity float64, workers int) []float64 {
	p := make([]float64, n*k)
	logU := math.Log(perplexity)
	parallelFor(n, workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			searchBeta(dist[i*k:i*k+k], p[i*k:i*k+k], logU)
		}
	})
	return p
}

// csr is a sparse symmetric matrix in compressed sparse row form.
type csr struct {
	rowPtr []int
	col    []int32
	val    []float64
}

// symmetrise returns P = (C + Cᵀ) / sum(C + Cᵀ) for the sparse conditional
// matrix C whose row i holds cond[i*k:(i+1)*k] at columns idx[i*k:...].
func symmetrise(idx []int32, cond []float64, n, k int) *csr {
	// Count entries per row of C + Cᵀ (with duplicates), then fill.
	count := make([]int, n+1)
	for i := range n {
		for _, j := range idx[i*k : i*k+k] {
			count[i+1]++
			count[int(j)+1]++
		}
	}
	for i := range n {
		count[i+1] += count[i]
	}
	type entry struct {
		col int32
		val float64
	}
	ent := make([]entry, count[n])
	fill := slices.Clone(count[:n])
	for i := range n {
		for c, j := range idx[i*k : i*k+k] {
			v := cond[i*k+c]
			ent[fill[i]] = entry{j, v}
			fill[i]++
			ent[fill[j]] = entry{int32(i), v}
			fill[j]++
		}
	}
	m := &csr{rowPtr: make([]int, n+1), col: make([]int32, 0, len(ent)), val: make([]float64, 0, len(ent))}
	var total float64
	for i := range n {
		row := ent[count[i]:count[i+1]]
		slices.SortFunc(row, func(a, b entry) int { return int(a.col) - int(b.col) })
		for r := 0; r < len(row); {
			c, v := row[r].col, 0.0
			for ; r < len(row) && row[r].col == c; r++ {
				v += row[r].val
			}
			m.col = append(m.col, c)
			m.val = append(m.val, v)
			total += v
		}
		m.rowPtr[i+1] = len(m.col)
	}
	total = math.Max(total, machineEpsilon)
	for i := range m.val {
		m.val[i] /= total
	}
	return m
}

// sqDistances returns the full n×n matrix of squared Euclidean distances.
func sqDistances(pts []float64, n, d, workers int) []float64 {
	out := make([]float64, n*n)
	parallelFor(n, workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			a := pts[i*d : i*d+d]
			for j := range n {
				var s float64
				b := pts[j*d : j*d+d]
				for c, v := range a {
					diff := v - b[c]
					s += diff * diff
				}
				out[i*n+j] = s
			}
		}
	})
	return out
}

// jointP returns the dense symmetric input affinities of exact t-SNE
// (scikit-learn's _joint_probabilities): conditional distributions over all
// other points, symmetrised, normalised to sum 1, floored at machine
// epsilon. The diagonal is zero.
func jointP(pts []float64, n, d int, perplexity float64, workers int) []float64 {
	dist := sqDistances(pts, n, d, workers)
	cond := make([]float64, n*n)
	logU := math.Log(perplexity)
	parallelFor(n, workers, func(_, lo, hi int) {
		dd := make([]float64, n-1)
		pp := make([]float64, n-1)
		for i := lo; i < hi; i++ {
			copy(dd, dist[i*n:i*n+i])
			copy(dd[i:], dist[i*n+i+1:i*n+n])
			searchBeta(dd, pp, logU)
			copy(cond[i*n:i*n+i], pp[:i])
			copy(cond[i*n+i+1:i*n+n], pp[i:])
		}
	})
	p := dist // reuse
	var total float64
	for i := range n {
		for j := range n {
			v := cond[i*n+j] + cond[j*n+i]
			p[i*n+j] = v
			total += v
		}
	}
	total = math.Max(total, machineEpsilon)
	for i := range n {
		for j := range n {
			if i == j {
				p[i*n+j] = 0
				continue
			}
			p[i*n+j] = math.Max(p[i*n+j]/total, machineEpsilon)
		}
	}
	return p
}
