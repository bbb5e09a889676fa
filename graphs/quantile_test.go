package graphs

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Φ⁻¹ at table values (standard normal table: 0.975 -> 1.959964,
// 0.5 -> 0, 0.8413447 -> 1.0000000).
func TestNormQuantile(t *testing.T) {
	for _, c := range []struct{ p, z float64 }{{0.975, 1.959964}, {0.5, 0}, {0.8413447, 1}, {0.0013499, -3.0}} {
		if got := normQuantile(c.p); math.Abs(got-c.z) > 1e-5 {
			t.Errorf("Φ⁻¹(%v) = %v, want %v", c.p, got, c.z)
		}
		if got := normCDF(c.z); math.Abs(got-c.p) > 1e-6 {
			t.Errorf("Φ(%v) = %v, want %v", c.z, got, c.p)
		}
	}
}

// A discrete column: values 1, 1, 2, 3, 3, 3 (derived by hand: CDF 2/6,
// 3/6, 1; middles of the steps 1/6, 5/12, 3/4).
func TestQuantileDiscreteByHand(t *testing.T) {
	q, err := FitQuantile([]float64{3, 1, 2, 3, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	if !q.Discrete || len(q.Values) != 3 {
		t.Fatalf("%+v", q)
	}
	for _, c := range []struct{ x, lvl float64 }{{1, 1.0 / 6}, {2, 5.0 / 12}, {3, 3.0 / 4}} {
		if got := normCDF(q.Forward(c.x)); math.Abs(got-c.lvl) > 1e-12 {
			t.Errorf("level of %v = %v, want %v", c.x, got, c.lvl)
		}
		if got := q.Inverse(q.Forward(c.x)); got != c.x {
			t.Errorf("Inverse(Forward(%v)) = %v", c.x, got)
		}
	}
	// Generated values are training values with training frequencies.
	r := rand.New(rand.NewPCG(1, 2))
	const n = 60000
	count := map[float64]int{}
	for i := 0; i < n; i++ {
		count[q.Inverse(r.NormFloat64())]++
	}
	for v, p := range map[float64]float64{1: 2.0 / 6, 2: 1.0 / 6, 3: 3.0 / 6} {
		if got := float64(count[v]) / n; math.Abs(got-p) > 5*math.Sqrt(p*(1-p)/n) {
			t.Errorf("P(%v) = %.4f, want %.4f", v, got, p)
		}
	}
	if len(count) != 3 {
		t.Errorf("values outside the training set: %v", count)
	}
	// Jitter spreads a value over its step and no further.
	for i := 0; i < 1000; i++ {
		if got := q.Inverse(q.Jitter(2, r.Float64())); got != 2 {
			t.Fatalf("jittered 2 maps back to %v", got)
		}
	}
	// Unseen values interpolate between the steps' middles, clamped.
	if a, b, c := q.Forward(1.5), q.Forward(1), q.Forward(2); !(a > b && a < c) {
		t.Errorf("Forward(1.5) = %v not between %v and %v", a, b, c)
	}
	if q.Forward(-100) != q.Forward(-1000) || q.Forward(100) != normQuantile(1-0.5/6) {
		t.Error("values beyond the training range are not clamped to the extreme levels")
	}
	if err := q.Check(); err != nil {
		t.Fatal(err)
	}
}

// A continuous column (more distinct values than MaxKnots): the transform
// is monotone and round-trips within the interpolation error.
func TestQuantileContinuous(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	col := make([]float64, 20000)
	for i := range col {
		col[i] = math.Exp(3 * r.NormFloat64()) // heavy-tailed, like reply gaps
	}
	q, err := FitQuantile(col)
	if err != nil {
		t.Fatal(err)
	}
	if q.Discrete || len(q.Values) != MaxKnots+1 {
		t.Fatalf("discrete %v, %d knots", q.Discrete, len(q.Values))
	}
	prev := math.Inf(-1)
	for _, x := range []float64{1e-6, 1e-3, 0.1, 1, 10, 1e3, 1e6} {
		z := q.Forward(x)
		if z < prev {
			t.Fatalf("not monotone at %v", x)
		}
		prev = z
		if x > 1e-3 && x < 1e3 {
			if back := q.Inverse(z); math.Abs(back-x) > 0.02*x {
				t.Errorf("Inverse(Forward(%v)) = %v", x, back)
			}
		}
	}
	// Standard normal in, the training distribution out: its median.
	if m := q.Inverse(0); math.Abs(math.Log(m)) > 0.1 {
		t.Errorf("median %v, want about 1", m)
	}
	bad := *q
	bad.CDF = append([]float64{}, q.CDF...)
	bad.CDF[3] = 2
	if bad.Check() == nil {
		t.Error("a level above 1 passed the check")
	}
}

// The joint transform keeps the capture's pairs: sizes 60 always 20 ms
// apart, sizes 1000 always 0.1 ms apart (a made-up call, derived by hand:
// whatever the network outputs, a generated 60 comes with 20 ms and a
// generated 1000 with 0.1 ms).
func TestJointTransformKeepsPairs(t *testing.T) {
	cfg := Default(Packet)
	cfg.Joint = true
	r := rand.New(rand.NewPCG(5, 6))
	raw := &Raw{Cond: make([][]float64, len(cfg.Cond))}
	for i := 0; i < 400; i++ {
		size, dt := 60.0, 20000+r.Float64()*10
		if i%2 == 1 {
			size, dt = 1000, 100+r.Float64()
		}
		raw.X[0] = append(raw.X[0], size)
		raw.X[1] = append(raw.X[1], dt)
		for j := range raw.Cond {
			raw.Cond[j] = append(raw.Cond[j], float64(i%7))
		}
	}
	ds, err := NewDataset(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Target.Given == nil || len(ds.Target.Given.Values) != 2 {
		t.Fatalf("joint tables %+v", ds.Target.Given)
	}
	for i := 0; i < 2000; i++ {
		size, dt := ds.Target.Valid(Packet, float32(r.NormFloat64()), float32(r.NormFloat64()))
		if size == 60 && (dt < 20000 || dt > 20010) || size == 1000 && (dt < 100 || dt > 101) || size != 60 && size != 1000 {
			t.Fatalf("generated pair (%v, %v) never occurs in training", size, dt)
		}
	}
	// Without the joint transform the times are pooled: some 60-byte
	// frames come out 0.1 ms apart.
	cfg.Joint = false
	ds, err = NewDataset(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	mixed := 0
	for i := 0; i < 2000; i++ {
		if size, dt := ds.Target.Valid(Packet, float32(r.NormFloat64()), float32(r.NormFloat64())); size == 60 && dt < 1000 {
			mixed++
		}
	}
	if mixed == 0 {
		t.Fatal("the pooled transform kept the pairs too: the test shows nothing")
	}
}
