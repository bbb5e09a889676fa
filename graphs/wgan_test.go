package graphs

import (
	"math/rand/v2"
	"testing"

	"github.com/spatgan/spatgan/metrics"
	"github.com/spatgan/spatgan/tf"
)

// TestWGANLearnsMixture trains a small WGAN-GP for a few hundred steps on a
// known two-component mixture and checks that the generator's marginals
// move measurably closer to it (two-sample KS against fresh data, seeded).
func TestWGANLearnsMixture(t *testing.T) {
	cfg := Default(Packet)
	cfg.Cond, cfg.FirstGiven = []string{"first"}, nil
	cfg.GenWidths, cfg.CriticWidths = []int{64, 64}, []int{64, 64}
	cfg.LR = 1e-3
	rng := rand.New(rand.NewPCG(11, 12))
	draw := func(n int) (x, c []float32) {
		for i := 0; i < n; i++ {
			a := -1.5 + 0.3*rng.NormFloat64()
			if rng.IntN(2) == 0 {
				a = 1.5 + 0.3*rng.NormFloat64()
			}
			x = append(x, float32(a), float32(0.5*a+0.2*rng.NormFloat64()))
			c = append(c, 0)
		}
		return x, c
	}
	w, err := NewWGAN(cfg, 1, 3, tf.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	realX, _ := draw(2000)
	noise := rand.New(rand.NewPCG(5, 5))
	ks := func() (k0, k1 float64) {
		n := 2000
		z := make([]float32, n*cfg.ZDim)
		for i := range z {
			z[i] = float32(noise.NormFloat64())
		}
		out, err := w.Generate(nil, make([]float32, n), z)
		if err != nil {
			t.Fatal(err)
		}
		var r0, r1, s0, s1 []float64
		for i := 0; i < n; i++ {
			r0, r1 = append(r0, float64(realX[2*i])), append(r1, float64(realX[2*i+1]))
			s0, s1 = append(s0, float64(out[2*i])), append(s1, float64(out[2*i+1]))
		}
		return metrics.KS(r0, s0), metrics.KS(r1, s1)
	}
	b0, b1 := ks()
	batch := cfg.Batch
	z := make([]float32, batch*cfg.ZDim)
	eps := make([]float32, batch)
	for step := 0; step < 800; step++ {
		for i := 0; i < cfg.CriticIters; i++ {
			x, c := draw(batch)
			for j := range z {
				z[j] = float32(rng.NormFloat64())
			}
			for j := range eps {
				eps[j] = float32(rng.Float64())
			}
			if _, err := w.CriticStep(x, c, z, eps); err != nil {
				t.Fatal(err)
			}
		}
		for j := range z {
			z[j] = float32(rng.NormFloat64())
		}
		if _, err := w.GenStep(make([]float32, batch), z); err != nil {
			t.Fatal(err)
		}
	}
	a0, a1 := ks()
	t.Logf("KS before %.3f %.3f, after %.3f %.3f", b0, b1, a0, a1)
	if a0 > 0.6*b0 || a1 > 0.6*b1 || a0 > 0.25 || a1 > 0.25 {
		t.Errorf("KS before %.3f %.3f, after %.3f %.3f: the generator did not move toward the data", b0, b1, a0, a1)
	}
	if g, c := w.Steps(); g != 800 || c != 4000 {
		t.Errorf("steps %d/%d, want 800/4000", g, c)
	}
}

func TestScalerValidRange(t *testing.T) {
	cfg := Default(Burst)
	raw := &Raw{X: [2][]float64{{1, 2, 3, 40}, {0, 10, 100, 1e6}}}
	for range cfg.Cond {
		raw.Cond = append(raw.Cond, []float64{1, 2, 3, 4})
	}
	for i := 0; i < 70; i++ { // pad to MinRows
		raw.X[0] = append(raw.X[0], 2)
		raw.X[1] = append(raw.X[1], 50)
		for j := range raw.Cond {
			raw.Cond[j] = append(raw.Cond[j], 2)
		}
	}
	d, err := NewDataset(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x0, x1         float32
		count, gapLow  float64
		countHi, gapHi float64
	}{
		{-100, -100, 1, 0, 1, 0},     // far below: count 1, gap 0
		{100, 100, 40, 1e6, 40, 1e6}, // far above: the training maxima
	} {
		cnt, gap := d.Target.Valid(Burst, c.x0, c.x1)
		if cnt < c.count || cnt > c.countHi || gap < c.gapLow || gap > c.gapHi || cnt != float64(int(cnt)) {
			t.Errorf("Valid(%v, %v) = %v, %v", c.x0, c.x1, cnt, gap)
		}
	}
	// Forward then Inverse is the identity on training values.
	for _, v := range []float64{1, 3, 40} {
		if got := d.Target.Inverse(0, d.Target.Forward(0, v)); got < v-1e-9 || got > v+1e-9 {
			t.Errorf("round trip %v -> %v", v, got)
		}
	}
}
