package graphs

import (
	"math"
	"testing"
)

// TestKeyedTransform: with first_given, the size maps through its
// distribution given the key condition feature, so any network value under
// a key whose sizes were always the same maps back to that size, a key
// without a table of its own uses the pooled table, and a training pair
// survives the round trip.
func TestKeyedTransform(t *testing.T) {
	cfg := Default(Packet)
	cfg.FirstGiven = "last_size"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	key := -1
	for j, n := range cfg.Cond {
		if n == "last_size" {
			key = j
		}
	}
	// A request cycle: 100, 200, 300, 100, ... (the size after 100 is
	// always 200), times 50 + 10*size.
	raw := &Raw{}
	raw.Cond = make([][]float64, len(cfg.Cond))
	cycle := []float64{100, 200, 300}
	for i := 0; i < 300; i++ {
		size, last := cycle[i%3], cycle[(i+2)%3]
		raw.X[0] = append(raw.X[0], size)
		raw.X[1] = append(raw.X[1], 50+10*size+float64(i%7))
		for j := range raw.Cond {
			v := float64(i % 5)
			if j == key {
				v = last
			}
			raw.Cond[j] = append(raw.Cond[j], v)
		}
	}
	d, err := NewDataset(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.Target.Keyed == nil || d.Target.KeyCol != key {
		t.Fatalf("keyed tables %v, key column %d (want %d)", d.Target.Keyed, d.Target.KeyCol, key)
	}
	for _, z := range []float32{-3, -1, 0, 0.5, 2.5} {
		for last, want := range map[float64]float64{100: 200, 200: 300, 300: 100} {
			if got, _ := d.Target.ValidKeyed(Packet, z, 0, last); got != want {
				t.Errorf("z %v after %v: size %v, want %v", z, last, got, want)
			}
		}
	}
	// Unkeyed (NaN) and unseen keys use the pooled table: all three sizes.
	seen := map[float64]bool{}
	for _, z := range []float32{-2, 0, 2} {
		a, _ := d.Target.ValidKeyed(Packet, z, 0, 999)
		b, _ := d.Target.Valid(Packet, z, 0)
		if a != b {
			t.Errorf("z %v: unseen key gives %v, no key %v", z, a, b)
		}
		seen[a] = true
	}
	if len(seen) != 3 {
		t.Errorf("pooled table gave %v, want all three sizes", seen)
	}
	// The training rows' network values under their keys map back.
	for i := 0; i < 6; i++ {
		x0, x1 := raw.X[0][i], raw.X[1][i]
		z0, z1 := d.Target.ForwardTargetsKeyed(x0, x1, raw.Cond[key][i])
		if math.Abs(float64(d.X[2*i])-z0) > 3 { // the training row is jittered inside its step
			t.Errorf("row %d: training value %v, forward %v", i, d.X[2*i], z0)
		}
		a, b := d.Target.ValidKeyed(Packet, float32(z0), float32(z1), raw.Cond[key][i])
		if a != x0 || math.Abs(b-x1) > 1e-6*x1+1 {
			t.Errorf("row %d: (%v, %v) -> (%v, %v)", i, x0, x1, a, b)
		}
	}
}

func TestFirstGivenValidate(t *testing.T) {
	cfg := Default(Packet)
	cfg.FirstGiven = "own_count_avg" // not in the packet condition
	if err := cfg.Validate(); err == nil {
		t.Error("first_given outside the condition accepted")
	}
	cfg = V1(Packet)
	cfg.FirstGiven = "opp_count"
	if err := cfg.Validate(); err == nil {
		t.Error("first_given without the quantile transform accepted")
	}
}
