package tsne

import "math"

// bhGradient evaluates the Barnes-Hut t-SNE gradient
//
//	∂KL/∂y_i = 4 [ Σ_j e·p_ij q_ij Z (y_i − y_j) − Σ_j q_ij² Z (y_i − y_j) ]
//
// with the attractive sum over the sparse P and the repulsive sum estimated
// with a quadtree, where q_ij Z = 1/(1+|y_i−y_j|²), Z = Σ_{k≠l} q_kl Z and
// e is the exaggeration.
type bhGradient struct {
	p       *csr
	n       int
	theta2  float64
	workers int
	tree    *quadtree
	rep     []float64 // per-point repulsive force (2 per point)
	sumQ    []float64 // per-point share of Z
	stacks  [][]int32 // per-worker traversal stacks
}

func newBHGradient(p *csr, n int, theta float64, workers int) *bhGradient {
	return &bhGradient{
		p: p, n: n, theta2: theta * theta, workers: workers,
		tree:   newQuadtree(n),
		rep:    make([]float64, 2*n),
		sumQ:   make([]float64, n),
		stacks: make([][]int32, workers),
	}
}

// repulsive fills g.rep and g.sumQ for layout y and returns Z.
func (g *bhGradient) repulsive(y []float64) float64 {
	g.tree.build(y)
	perm := g.tree.perm
	parallelFor(g.n, g.workers, func(w, lo, hi int) {
		st := g.stacks[w]
		for _, i := range perm[lo:hi] {
			var fx, fy, q float64
			fx, fy, q, st = g.tree.repulsion(i, g.theta2, st)
			g.rep[2*i], g.rep[2*i+1], g.sumQ[i] = fx, fy, q
		}
		g.stacks[w] = st
	})
	var z float64
	for _, q := range g.sumQ {
		z += q
	}
	return z
}

func (g *bhGradient) gradient(y, grad []float64, exaggeration float64) {
	z := g.repulsive(y)
	p := g.p
	parallelFor(g.n, g.workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			yx, yy := y[2*i], y[2*i+1]
			var ax, ay float64
			for e := p.rowPtr[i]; e < p.rowPtr[i+1]; e++ {
				j := p.col[e]
				dx, dy := yx-y[2*j], yy-y[2*j+1]
				m := p.val[e] / (1 + dx*dx + dy*dy)
				ax += m * dx
				ay += m * dy
			}
			grad[2*i] = 4 * (exaggeration*ax - g.rep[2*i]/z)
			grad[2*i+1] = 4 * (exaggeration*ay - g.rep[2*i+1]/z)
		}
	})
}

// kl returns Σ p_ij log(p_ij/q_ij) over the sparse P, with Z estimated by
// the quadtree (the quantity openTSNE and scikit-learn report for BH).
func (g *bhGradient) kl(y []float64) float64 {
	z := g.repulsive(y)
	p := g.p
	var kl float64
	for i := range g.n {
		for e := p.rowPtr[i]; e < p.rowPtr[i+1]; e++ {
			j := p.col[e]
			dx, dy := y[2*i]-y[2*j], y[2*i+1]-y[2*j+1]
			q := math.Max(1/(1+dx*dx+dy*dy)/z, machineEpsilon)
			pv := math.Max(p.val[e], machineEpsilon)
			kl += pv * math.Log(pv/q)
		}
	}
	return kl
}

// exactGradient evaluates the exact t-SNE gradient over a dense P.
type exactGradient struct {
	p       []float64
	n       int
	workers int
	num     []float64 // q_ij Z, n×n
	rowZ    []float64
}

func (g *exactGradient) gradient(y, grad []float64, exaggeration float64) {
	n := g.n
	if g.num == nil {
		g.num = make([]float64, n*n)
		g.rowZ = make([]float64, n)
	}
	parallelFor(n, g.workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			var s float64
			for j := range n {
				if j == i {
					g.num[i*n+j] = 0
					continue
				}
				dx, dy := y[2*i]-y[2*j], y[2*i+1]-y[2*j+1]
				q := 1 / (1 + dx*dx + dy*dy)
				g.num[i*n+j] = q
				s += q
			}
			g.rowZ[i] = s
		}
	})
	var z float64
	for _, s := range g.rowZ {
		z += s
	}
	parallelFor(n, g.workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			var gx, gy float64
			for j := range n {
				q := g.num[i*n+j]
				m := (exaggeration*g.p[i*n+j] - q/z) * q
				gx += m * (y[2*i] - y[2*j])
				gy += m * (y[2*i+1] - y[2*j+1])
			}
			grad[2*i], grad[2*i+1] = 4*gx, 4*gy
		}
	})
}

// klFull returns KL(P‖Q) = Σ_{i≠j} p_ij log(p_ij/q_ij) for a dense P and
// layout y, with q floored at machine epsilon as scikit-learn does.
func klFull(p, y []float64, n int) float64 {
	var z float64
	for i := range n {
		for j := range n {
			if i != j {
				dx, dy := y[2*i]-y[2*j], y[2*i+1]-y[2*j+1]
				z += 1 / (1 + dx*dx + dy*dy)
			}
		}
	}
	var kl float64
	for i := range n {
		for j := range n {
			if i == j {
				continue
			}
			dx, dy := y[2*i]-y[2*j], y[2*i+1]-y[2*j+1]
			q := math.Max(1/(1+dx*dx+dy*dy)/z, machineEpsilon)
			pv := p[i*n+j]
			if pv > 0 {
				kl += pv * math.Log(pv/q)
			}
		}
	}
	return kl
}
