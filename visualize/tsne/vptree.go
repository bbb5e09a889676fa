package tsne

import (
	"math"
	"math/rand/v2"
)

// vpTree is a vantage-point tree (Yianilos 1993) over the rows of a
// row-major n×d point set, for exact k-nearest-neighbour queries under the
// Euclidean distance.
type vpTree struct {
	pts   []float64
	d     int
	nodes []vpNode
}

type vpNode struct {
	point     int32   // vantage point (row index)
	threshold float64 // median distance from the vantage point to its subtree
	inside    int32   // node of points closer than threshold, -1 if none
	outside   int32   // node of the other points, -1 if none
}

func (t *vpTree) dist(i int32, q []float64) float64 {
	var s float64
	row := t.pts[int(i)*t.d : int(i)*t.d+t.d]
	for j, v := range row {
		diff := v - q[j]
		s += diff * diff
	}
	return math.Sqrt(s)
}

// newVPTree builds the tree. Vantage points are drawn with a PCG seeded
// by seed, so the tree (and the order of tied neighbours) is reproducible.
func newVPTree(pts []float64, n, d int, seed uint64) *vpTree {
	t := &vpTree{pts: pts, d: d, nodes: make([]vpNode, 0, n)}
	items := make([]int32, n)
	for i := range items {
		items[i] = int32(i)
	}
	ds := make([]float64, n)
	rng := rand.New(rand.NewPCG(seed, 0x7670))
	t.build(items, ds, rng)
	return t
}

func (t *vpTree) build(items []int32, ds []float64, rng *rand.Rand) int32 {
	if len(items) == 0 {
		return -1
	}
	id := int32(len(t.nodes))
	t.nodes = append(t.nodes, vpNode{inside: -1, outside: -1})
	r := rng.IntN(len(items))
	items[0], items[r] = items[r], items[0]
	vp := items[0]
	node := vpNode{point: vp, inside: -1, outside: -1}
	rest, rds := items[1:], ds[1:len(items)]
	if len(rest) > 0 {
		q := t.pts[int(vp)*t.d : int(vp)*t.d+t.d]
		for i, it := range rest {
			rds[i] = t.dist(it, q)
		}
		m := len(rest) / 2
		selectNth(rest, rds, m)
		node.threshold = rds[m]
		// rest[:m] have distance <= threshold, rest[m:] >= threshold.
		node.inside = t.build(rest[:m], rds[:m], rng)
		node.outside = t.build(rest[m:], rds[m:], rng)
	}
	t.nodes[id] = node
	return id
}

// selectNth partially sorts items by key so that key[m] is the m-th
// smallest, with smaller-or-equal keys before it and larger-or-equal after.
func selectNth(items []int32, key []float64, m int) {
	lo, hi := 0, len(items)-1
	for lo < hi {
		// Median of three pivot.
		mid := lo + (hi-lo)/2
		if key[mid] < key[lo] {
			swap2(items, key, mid, lo)
		}
		if key[hi] < key[lo] {
			swap2(items, key, hi, lo)
		}
		if key[hi] < key[mid] {
			swap2(items, key, hi, mid)
		}
		pivot := key[mid]
		i, j := lo, hi
		for i <= j {
			for key[i] < pivot {
				i++
			}
			for key[j] > pivot {
				j--
			}
			if i <= j {
				swap2(items, key, i, j)
				i++
				j--
			}
		}
		switch {
		case m <= j:
			hi = j
		case m >= i:
			lo = i
		default:
			return
		}
	}
}

func swap2(items []int32, key []float64, i, j int) {
	items[i], items[j] = items[j], items[i]
	key[i], key[j] = key[j], key[i]
}

// neighbourHeap is a max-heap on distance of at most k candidates.
type neighbourHeap struct {
	idx  []int32
	dist []float64
	k    int
}

func (h *neighbourHeap) tau() float64 {
	if len(h.idx) < h.k {
		return math.Inf(1)
	}
	return h.dist[0]
}

func (h *neighbourHeap) push(i int32, d float64) {
	if len(h.idx) < h.k {
		h.idx = append(h.idx, i)
		h.dist = append(h.dist, d)
		c := len(h.idx) - 1
		for c > 0 {
			p := (c - 1) / 2
			if !h.less(p, c) {
				break
			}
			h.swap(p, c)
			c = p
		}
		return
	}
	if !(d < h.dist[0] || d == h.dist[0] && i < h.idx[0]) {
		return
	}
	h.idx[0], h.dist[0] = i, d
	p := 0
	for {
		l, r, big := 2*p+1, 2*p+2, p
		if l < len(h.idx) && h.less(big, l) {
			big = l
		}
		if r < len(h.idx) && h.less(big, r) {
			big = r
		}
		if big == p {
			return
		}
		h.swap(p, big)
		p = big
	}
}

// less orders candidates by distance, then index, so that ties are
// resolved the same way whatever the search order.
func (h *neighbourHeap) less(a, b int) bool {
	if h.dist[a] != h.dist[b] {
		return h.dist[a] < h.dist[b]
	}
	return h.idx[a] < h.idx[b]
}

func (h *neighbourHeap) swap(a, b int) {
	h.idx[a], h.idx[b] = h.idx[b], h.idx[a]
	h.dist[a], h.dist[b] = h.dist[b], h.dist[a]
}

// search fills h with the k points nearest to q.
func (t *vpTree) search(q []float64, h *neighbourHeap) {
	stack := make([]int32, 0, 64)
	if len(t.nodes) > 0 {
		stack = append(stack, 0)
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nd := &t.nodes[id]
		dv := t.dist(nd.point, q)
		h.push(nd.point, dv)
		tau := h.tau()
		// Push the farther side first so the nearer side is searched
		// first and tau shrinks sooner. The <= and >= keep points at
		// exactly the threshold (which may sit on either side).
		if dv < nd.threshold {
			if nd.outside >= 0 && dv+tau >= nd.threshold {
				stack = append(stack, nd.outside)
			}
			if nd.inside >= 0 && dv-tau <= nd.threshold {
				stack = append(stack, nd.inside)
			}
		} else {
			if nd.inside >= 0 && dv-tau <= nd.threshold {
				stack = append(stack, nd.inside)
			}
			if nd.outside >= 0 && dv+tau >= nd.threshold {
				stack = append(stack, nd.outside)
			}
		}
	}
}

// knn returns, for every point, its k nearest other points and their
// squared Euclidean distances, ascending (ties by index), as n×k row-major
// slices.
func knn(pts []float64, n, d, k int, seed uint64, workers int) ([]int32, []float64) {
	t := newVPTree(pts, n, d, seed)
	idx := make([]int32, n*k)
	dist := make([]float64, n*k)
	parallelFor(n, workers, func(_, lo, hi int) {
		h := &neighbourHeap{idx: make([]int32, 0, k+1), dist: make([]float64, 0, k+1), k: k + 1}
		for i := lo; i < hi; i++ {
			h.idx, h.dist = h.idx[:0], h.dist[:0]
			t.search(pts[i*d:i*d+d], h)
			sortHeap(h)
			// Drop the point itself; if duplicates crowd it out of the
			// k+1 nearest, drop the farthest instead.
			o := i * k
			c := 0
			self := false
			for j := range h.idx {
				if h.idx[j] == int32(i) && !self {
					self = true
					continue
				}
				if c == k {
					break
				}
				idx[o+c] = h.idx[j]
				// Recompute the squared distance rather than square the
				// rounded square root.
				var s float64
				a, b := pts[i*d:i*d+d], pts[int(h.idx[j])*d:int(h.idx[j])*d+d]
				for e, v := range a {
					diff := v - b[e]
					s += diff * diff
				}
				dist[o+c] = s
				c++
			}
		}
	})
	return idx, dist
}

// sortHeap sorts the heap contents ascending by (distance, index).
func sortHeap(h *neighbourHeap) {
	// Insertion sort: k is small (about 90) and the heap is half ordered.
	for i := 1; i < len(h.idx); i++ {
		for j := i; j > 0 && h.less(j, j-1); j-- {
			h.swap(j, j-1)
		}
	}
}
