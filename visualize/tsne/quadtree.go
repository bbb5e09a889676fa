package tsne

import "math"

// maxDepth bounds the quadtree depth: points closer together than the
// layout extent / 2^maxDepth end up in one leaf however many they are.
const maxDepth = 48

// leafSize is the most points a leaf holds (above maxDepth). A leaf that
// cannot be summarised is summed point by point from a contiguous copy of
// its coordinates, which is cheaper than descending to one-point leaves.
const leafSize = 16

// quadtree is a region quadtree over a 2-D layout, stored as a flat slice
// of nodes. It is rebuilt every iteration; the permutation of points is
// kept between builds so that points arrive nearly sorted (and the
// traversal order, which follows it, stays cache friendly).
type quadtree struct {
	nodes  []qnode
	perm   []int32   // points in tree (depth-first, quadrant) order
	leafOf []int32   // the leaf node holding each point
	ys     []float64 // coordinates in perm order (2 per point)
	y      []float64
}

type qnode struct {
	cx, cy float64  // centre of mass
	w2     float64  // squared cell width
	n      float64  // number of points
	child  [4]int32 // child nodes, -1 where the quadrant is empty
	lo, hi int32    // a leaf's points: perm[lo:hi]
	leaf   bool
}

func newQuadtree(n int) *quadtree {
	t := &quadtree{perm: make([]int32, n), leafOf: make([]int32, n), ys: make([]float64, 2*n), nodes: make([]qnode, 0, n/2)}
	for i := range t.perm {
		t.perm[i] = int32(i)
	}
	return t
}

// build rebuilds the tree over the layout y (n×2 row-major).
func (t *quadtree) build(y []float64) {
	t.y = y
	t.nodes = t.nodes[:0]
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for i := 0; i < len(y); i += 2 {
		minX, maxX = math.Min(minX, y[i]), math.Max(maxX, y[i])
		minY, maxY = math.Min(minY, y[i+1]), math.Max(maxY, y[i+1])
	}
	size := math.Max(maxX-minX, maxY-minY)
	// Widen a little so the maximum falls strictly inside.
	size = size*(1+1e-9) + 1e-300
	t.split(0, len(t.perm), minX, minY, size, 0)
	for k, p := range t.perm {
		t.ys[2*k], t.ys[2*k+1] = y[2*p], y[2*p+1]
	}
}

func (t *quadtree) split(lo, hi int, x0, y0, size float64, depth int) int32 {
	id := int32(len(t.nodes))
	t.nodes = append(t.nodes, qnode{})
	nd := qnode{w2: size * size, n: float64(hi - lo), child: [4]int32{-1, -1, -1, -1}}
	if hi-lo <= leafSize || depth >= maxDepth {
		nd.leaf, nd.lo, nd.hi = true, int32(lo), int32(hi)
		for _, p := range t.perm[lo:hi] {
			nd.cx += t.y[2*p]
			nd.cy += t.y[2*p+1]
			t.leafOf[p] = id
		}
		nd.cx /= nd.n
		nd.cy /= nd.n
		t.nodes[id] = nd
		return id
	}
	h := size / 2
	mx, my := x0+h, y0+h
	a := t.partition(lo, hi, 0, mx)
	b1 := t.partition(lo, a, 1, my)
	b2 := t.partition(a, hi, 1, my)
	bounds := [5]int{lo, b1, a, b2, hi}
	orig := [4][2]float64{{x0, y0}, {x0, my}, {mx, y0}, {mx, my}}
	for q := range 4 {
		if bounds[q] == bounds[q+1] {
			continue
		}
		c := t.split(bounds[q], bounds[q+1], orig[q][0], orig[q][1], h, depth+1)
		cn := &t.nodes[c]
		nd.child[q] = c
		nd.cx += cn.cx * cn.n
		nd.cy += cn.cy * cn.n
	}
	nd.cx /= nd.n
	nd.cy /= nd.n
	t.nodes[id] = nd
	return id
}

// partition reorders perm[lo:hi] so that points with coordinate axis below
// mid come first and returns the boundary.
func (t *quadtree) partition(lo, hi, axis int, mid float64) int {
	i, j := lo, hi-1
	for i <= j {
		if t.y[2*int(t.perm[i])+axis] < mid {
			i++
			continue
		}
		t.perm[i], t.perm[j] = t.perm[j], t.perm[i]
		j--
	}
	return i
}

// repulsion returns the Barnes-Hut estimate of the unnormalised repulsive
// force on point i, Σ_j q_ij² Z² (y_i − y_j), and of its share of the
// normalisation Σ_j q_ij Z, where q_ij Z = 1/(1+|y_i−y_j|²). stack is
// scratch space.
func (t *quadtree) repulsion(i int32, theta2 float64, stack []int32) (fx, fy, sumQ float64, _ []int32) {
	px, py := t.y[2*i], t.y[2*i+1]
	self := t.leafOf[i]
	stack = append(stack[:0], 0)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nd := &t.nodes[id]
		dx, dy := px-nd.cx, py-nd.cy
		d2 := dx*dx + dy*dy
		if nd.w2 < theta2*d2 && id != self {
			// Far enough: the cell acts as one body at its centre of
			// mass.
			q := 1 / (1 + d2)
			sumQ += nd.n * q
			m := nd.n * q * q
			fx += m * dx
			fy += m * dy
			continue
		}
		if !nd.leaf {
			for _, c := range nd.child {
				if c >= 0 {
					stack = append(stack, c)
				}
			}
			continue
		}
		// A leaf too close to summarise: sum its points exactly.
		for k := nd.lo; k < nd.hi; k++ {
			if t.perm[k] == i {
				continue
			}
			dx, dy := px-t.ys[2*k], py-t.ys[2*k+1]
			q := 1 / (1 + dx*dx + dy*dy)
			sumQ += q
			m := q * q
			fx += m * dx
			fy += m * dy
		}
	}
	return fx, fy, sumQ, stack
}
