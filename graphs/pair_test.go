package graphs

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
)

// TestPairsRebuildCondition: on the embedded call, the pair table holds
// every later packet of a burst with its predecessor, and each map,
// evaluated at the predecessor's real network-space target, gives back
// the successor's real condition column as features.Rows computed it
// (up to the interpolation between knots and the jitter of discrete
// sizes).
func TestPairsRebuildCondition(t *testing.T) {
	conv, err := trace.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Default(Packet)
	cfg.Pair = 1
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, side := range []trace.Side{trace.Server, trace.Client} {
		raw, err := RawRows(cfg, conv, side)
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDataset(cfg, raw)
		if err != nil {
			t.Fatal(err)
		}
		if d.Target.Keyed != nil {
			t.Fatalf("side %v: the embedded call's sizes are keyed; the test wants an unkeyed side", side)
		}
		p, err := d.Pairs(cfg, raw)
		if err != nil {
			t.Fatal(err)
		}
		pos := slices.Index(cfg.Cond, "pos")
		later := 0
		for _, v := range raw.Cond[pos] {
			if v >= 1 {
				later++
			}
		}
		if p.N < later*99/100 || p.N > later {
			t.Errorf("side %v: %d pairs for %d later packets", side, p.N, later)
		}
		if len(p.Maps) != 3 {
			t.Fatalf("side %v: maps %v, want last_size, last_dt_us, last_size_pair", side, p.Maps)
		}
		k := d.CondDim()
		for q, pm := range p.Maps {
			errs := make([]float64, 0, p.N)
			for j, r := range p.First {
				x := float64(d.X[2*r+pm.Src])
				want := float64(d.C[k*(r+1)+pm.Col])
				errs = append(errs, math.Abs(p.At(q, j, x)-want))
			}
			sort.Float64s(errs)
			med, p90 := errs[len(errs)/2], errs[len(errs)*9/10]
			t.Logf("side %v, %s: |map(real x) - real condition| median %.4f, p90 %.4f", side, cfg.Cond[pm.Col], med, p90)
			if med > 0.05 || p90 > 0.3 {
				t.Errorf("side %v, %s: the map misses the real condition: median error %.3f, p90 %.3f", side, cfg.Cond[pm.Col], med, p90)
			}
		}
	}
}

// TestPairsKeyed: a side whose size has keyed tables has no pair table.
func TestPairsKeyed(t *testing.T) {
	cfg := Default(Packet)
	cfg.FirstGiven = []string{"last_size"}
	cfg.Pair = 1
	key := slices.Index(cfg.Cond, "last_size")
	pos := slices.Index(cfg.Cond, "pos")
	raw := &Raw{Cond: make([][]float64, len(cfg.Cond))}
	cycle := []float64{100, 200, 300}
	for i := 0; i < 300; i++ {
		addRow(raw, cycle[i%3], 50+float64(i%7), float64(i%5), map[int]float64{key: cycle[(i+2)%3], pos: float64(i % 3)})
	}
	d, err := NewDataset(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Pairs(cfg, raw); !errors.Is(err, ErrPairKeyed) {
		t.Fatalf("keyed sizes: err %v, want ErrPairKeyed", err)
	}
}

// TestPairInterpGraph: the training graph's interpolation computes
// Pairs.At, inside the knots, outside them and on them.
func TestPairInterpGraph(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 200
	p := &Pairs{N: n, Maps: []PairMap{{}}, V0: [][]float32{make([]float32, n)}, D: [][]float32{make([]float32, n*(PairKnotN-1))}}
	src := make([]float32, n)
	for i := range src {
		p.V0[0][i] = float32(rng.NormFloat64())
		for k := 0; k < PairKnotN-1; k++ {
			p.D[0][i*(PairKnotN-1)+k] = float32(rng.Float64())
		}
		switch i % 4 {
		case 0:
			src[i] = float32(PairKnot(rng.IntN(PairKnotN)))
		case 1:
			src[i] = float32(5 * (rng.Float64() - 0.5) * 2) // some outside [-3, 3]
		default:
			src[i] = float32(rng.NormFloat64())
		}
	}
	g := tf.NewGraph()
	xs, v0, d := g.Placeholder("src", 1), g.Placeholder("v0", 1), g.Placeholder("d", PairKnotN-1)
	out := pairInterp(g, xs, v0, d)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	sess, err := tf.NewSession(g, tf.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	res, err := sess.Run([]tf.Feed{{Node: xs, Data: src, Rows: n}, {Node: v0, Data: p.V0[0], Rows: n}, {Node: d, Data: p.D[0], Rows: n}}, []tf.Node{out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range src {
		want := p.At(0, i, float64(src[i]))
		if got := float64(res[0][i]); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
			t.Errorf("row %d at %v: graph %v, Pairs.At %v", i, src[i], got, want)
		}
	}
}

// TestPairCriticTrains: a packet model with the pair critic trains (both
// critics and the generator move, losses finite), the weights differ from
// the same model's without it, and a step without a pair batch is an error.
func TestPairCriticTrains(t *testing.T) {
	conv, err := trace.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Default(Packet)
	cfg.Pair = 1
	cfg.Batch = 16
	raw, err := RawRows(cfg, conv, trace.Client)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := NewDataset(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ds.Pairs(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWGAN(cfg, ds.CondDim(), 3, tf.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if !w.HasPair() {
		t.Fatal("no pair critic in the graph")
	}
	k, n, kn := ds.CondDim(), cfg.Batch, PairKnotN-1
	rng := rand.New(rand.NewPCG(4, 5))
	x, c, z, eps := make([]float32, 2*n), make([]float32, k*n), make([]float32, cfg.ZDim*n), make([]float32, n)
	pb := &PairBatch{Rows: n, C1: make([]float32, k*n), C2: make([]float32, k*n), X1: make([]float32, 2*n), X2: make([]float32, 2*n),
		Z1: make([]float32, cfg.ZDim*n), Z2: make([]float32, cfg.ZDim*n), E: make([]float32, n), V0: make([][]float32, len(p.Maps)), D: make([][]float32, len(p.Maps))}
	for q := range p.Maps {
		pb.V0[q], pb.D[q] = make([]float32, n), make([]float32, kn*n)
	}
	fill := func() {
		for i := 0; i < n; i++ {
			r := rng.IntN(ds.N)
			copy(x[2*i:], ds.X[2*r:2*r+2])
			copy(c[k*i:], ds.C[k*r:k*r+k])
			eps[i] = float32(rng.Float64())
			j := rng.IntN(p.N)
			f := p.First[j]
			copy(pb.C1[k*i:], ds.C[k*f:k*f+k])
			copy(pb.C2[k*i:], ds.C[k*(f+1):k*(f+1)+k])
			copy(pb.X1[2*i:], ds.X[2*f:2*f+2])
			copy(pb.X2[2*i:], ds.X[2*(f+1):2*(f+1)+2])
			pb.E[i] = float32(rng.Float64())
			for q := range p.Maps {
				pb.V0[q][i] = p.V0[q][j]
				copy(pb.D[q][kn*i:], p.D[q][kn*j:kn*j+kn])
			}
		}
		for i := range z {
			z[i], pb.Z1[i], pb.Z2[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
	}
	fill()
	before, err := w.Generate(nil, c, z)
	if err != nil {
		t.Fatal(err)
	}
	before = slices.Clone(before)
	if _, err := w.CriticStep(x, c, z, eps); err == nil {
		t.Error("a critic step without a pair batch succeeded")
	}
	if _, err := w.GenStep(c, z); err == nil {
		t.Error("a generator step without a pair batch succeeded")
	}
	for step := 0; step < 20; step++ {
		fill()
		st, err := w.CriticStepPair(x, c, z, eps, pb)
		if err != nil {
			t.Fatal(err)
		}
		gl, err := w.GenStepPair(c, z, pb)
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(float64(gl)) || math.IsNaN(float64(st.Wasserstein)) || math.IsInf(float64(gl), 0) {
			t.Fatalf("step %d: generator loss %v, W %v", step, gl, st.Wasserstein)
		}
	}
	out, err := w.Generate(nil, c, z)
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for i := range out {
		if out[i] != before[i] {
			moved++
		}
	}
	if moved == 0 {
		t.Error("the generator did not move in 20 steps")
	}
}
