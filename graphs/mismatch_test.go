package graphs

import (
	"math/rand/v2"
	"testing"

	"github.com/spatgan/spatgan/tf"
)

// condToy draws rows whose first target is +1.5 under condition 1 and -1.5
// under condition 0 (plus a little noise): the target is a function of the
// condition, and the marginal alone is a two-mode mixture.
func condToy(rng *rand.Rand, n int) (x, c []float32) {
	for i := 0; i < n; i++ {
		k := float32(rng.IntN(2))
		x = append(x, 3*k-1.5+float32(0.1*rng.NormFloat64()), float32(0.1*rng.NormFloat64()))
		c = append(c, k)
	}
	return x, c
}

// trainToy runs steps generator steps (critic_iters critic steps each) on
// condToy and returns the model and the critic's last statistics.
func trainToy(t *testing.T, cfg Config, steps int) (*WGAN, CriticStats) {
	t.Helper()
	w, err := NewWGAN(cfg, 1, 3, tf.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	z := make([]float32, cfg.Batch*cfg.ZDim)
	eps := make([]float32, cfg.Batch)
	var st CriticStats
	for step := 0; step < steps; step++ {
		for i := 0; i < cfg.CriticIters; i++ {
			x, c := condToy(rng, cfg.Batch)
			for j := range z {
				z[j] = float32(rng.NormFloat64())
			}
			for j := range eps {
				eps[j] = float32(rng.Float64())
			}
			if st, err = w.CriticStep(x, c, z, eps); err != nil {
				w.Close()
				t.Fatal(err)
			}
		}
		_, c := condToy(rng, cfg.Batch)
		for j := range z {
			z[j] = float32(rng.NormFloat64())
		}
		if _, err := w.GenStep(c, z); err != nil {
			w.Close()
			t.Fatal(err)
		}
	}
	return w, st
}

func toyConfig() Config {
	cfg := Default(Packet)
	cfg.Cond, cfg.FirstGiven = []string{"first"}, nil
	cfg.GenWidths, cfg.CriticWidths = []int{64, 64}, []int{64, 64}
	cfg.LR = 1e-3
	return cfg
}

// TestMismatchChangesTheCritic: the mismatched pairs enter the critic's
// loss (same seed and data, the critic's weights after a few steps differ
// from those trained without them, so its outputs on the same batch do).
func TestMismatchChangesTheCritic(t *testing.T) {
	cfg := toyConfig()
	w0, s0 := trainToy(t, cfg, 5)
	w0.Close()
	cfg.Mismatch = 0.5
	w1, s1 := trainToy(t, cfg, 5)
	w1.Close()
	if s0.Real == s1.Real && s0.Fake == s1.Fake {
		t.Errorf("critic statistics %+v with mismatch 0.5 equal those without: the mismatched term is not in the loss", s1)
	}
}

// TestMismatchLearnsTheCondition trains the matching-aware critic's GAN on
// the toy and checks that the generator's target follows its condition.
func TestMismatchLearnsTheCondition(t *testing.T) {
	cfg := toyConfig()
	cfg.Mismatch = 0.5
	w, _ := trainToy(t, cfg, 600)
	defer w.Close()
	rng := rand.New(rand.NewPCG(7, 7))
	n := 1000
	for _, k := range []float32{0, 1} {
		c := make([]float32, n)
		for i := range c {
			c[i] = k
		}
		z := make([]float32, n*cfg.ZDim)
		for i := range z {
			z[i] = float32(rng.NormFloat64())
		}
		out, err := w.Generate(nil, c, z)
		if err != nil {
			t.Fatal(err)
		}
		right := 0
		for i := 0; i < n; i++ {
			if (out[2*i] > 0) == (k == 1) {
				right++
			}
		}
		t.Logf("condition %v: %d of %d on the condition's side", k, right, n)
		if right < 9*n/10 {
			t.Errorf("condition %v: only %d of %d generated targets on the condition's side (want 90%%)", k, right, n)
		}
	}
}

func TestMismatchValidate(t *testing.T) {
	for _, v := range []float64{-0.1, 1, 2} {
		cfg := Default(Packet)
		cfg.Mismatch = v
		if err := cfg.Validate(); err == nil {
			t.Errorf("mismatch %v accepted", v)
		}
	}
}
