package metrics

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// checkInvariants fails t if a pair of samples breaks an invariant of the
// two-sample distances.
func checkInvariants(t *testing.T, x, y []float64) {
	t.Helper()
	ks, ksr := KS(x, y), KS(y, x)
	if !(ks >= 0 && ks <= 1) || ks != ksr {
		t.Fatalf("KS = %v (reversed %v), want equal and in [0,1]", ks, ksr)
	}
	if b := bruteKS(x, y); math.Abs(ks-b) > 1e-12 {
		t.Fatalf("KS = %v, definition %v", ks, b)
	}
	w, wr := W1(x, y), W1(y, x)
	if !(w >= 0) || math.Abs(w-wr) > 1e-9*math.Max(1, w) {
		t.Fatalf("W1 = %v (reversed %v), want equal and >= 0", w, wr)
	}
	for _, bins := range []Bins{SizeBins, TimeBins, BurstBins} {
		j, jr := JSD(x, y, bins), JSD(y, x, bins)
		if !(j >= 0 && j <= 1) || math.Abs(j-jr) > 1e-12 {
			t.Fatalf("JSD(%s) = %v (reversed %v), want equal and in [0,1]", bins.Name(), j, jr)
		}
		if JSD(x, x, bins) != 0 {
			t.Fatalf("JSD(%s) of a sample with itself = %v", bins.Name(), JSD(x, x, bins))
		}
		h := bins.Histogram(y)
		var n float64
		for _, c := range h {
			n += c
		}
		if n != float64(len(y)) {
			t.Fatalf("%s histogram holds %v of %d values: values were dropped", bins.Name(), n, len(y))
		}
	}
	if KS(x, x) != 0 || W1(x, x) != 0 {
		t.Fatalf("KS/W1 of a sample with itself = %v/%v", KS(x, x), W1(x, x))
	}
	// Shifting one sample by c moves W1 by exactly |c| when it is the same sample.
	c := 3.25
	xs := make([]float64, len(x))
	for i, v := range x {
		xs[i] = v + c
	}
	if got := W1(x, xs); math.Abs(got-c) > 1e-9*math.Max(1, c) {
		t.Fatalf("W1(x, x+%v) = %v", c, got)
	}
}

// decodeSamples turns fuzz bytes into two samples of int16-valued floats
// (finite, with ties), split at the first byte.
func decodeSamples(data []byte) (x, y []float64) {
	if len(data) < 1 {
		return nil, nil
	}
	split := int(data[0])
	data = data[1:]
	for i := 0; i+1 < len(data); i += 2 {
		v := float64(int16(binary.LittleEndian.Uint16(data[i:])))
		if i/2 < split {
			x = append(x, v)
		} else {
			y = append(y, v)
		}
	}
	return x, y
}

func FuzzDistances(f *testing.F) {
	f.Add([]byte{2, 1, 0, 2, 0, 3, 0, 2, 0, 3, 0, 4, 0})
	f.Add([]byte{1, 0xff, 0xff, 0x10, 0x00, 0x10, 0x00})
	f.Add([]byte{3, 0xe0, 0x05, 0x00, 0x00, 0x01, 0x00, 0x00, 0x80, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, data []byte) {
		x, y := decodeSamples(data)
		if len(x) == 0 || len(y) == 0 {
			if !math.IsNaN(KS(x, y)) || !math.IsNaN(W1(x, y)) || !math.IsNaN(JSD(x, y, SizeBins)) {
				t.Fatal("empty sample did not give NaN")
			}
			return
		}
		checkInvariants(t, x, y)
	})
}

func FuzzBinsIndex(f *testing.F) {
	for _, v := range []float64{0, -1, 1, 9.99, 10, 1519.5, 1520, 1e7, 31, math.Inf(1), math.Inf(-1)} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		for _, b := range []Bins{SizeBins, TimeBins, BurstBins} {
			i := b.Index(v)
			if math.IsNaN(v) {
				if i != -1 {
					t.Fatalf("%s.Index(NaN) = %d", b.Name(), i)
				}
				continue
			}
			l := b.Lower()
			if i < 0 || i >= len(l) {
				t.Fatalf("%s.Index(%v) = %d out of range", b.Name(), v, i)
			}
			// v is in [l[i], l[i+1]), or clamped to an edge bin.
			if v >= l[0] && v < l[i] || i+1 < len(l) && v >= l[i+1] || v < l[0] && i != 0 {
				t.Fatalf("%s.Index(%v) = %d, bin [%v, next)", b.Name(), v, i, l[i])
			}
		}
	})
}

// TestPropertiesRandom runs the invariants on seeded random samples of
// several shapes (a property test that runs in every go test).
func TestPropertiesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 100 {
		n, m := 1+rng.IntN(60), 1+rng.IntN(60)
		x, y := make([]float64, n), make([]float64, m)
		scale := math.Pow(10, float64(rng.IntN(8)))
		for i := range x {
			x[i] = math.Round(rng.ExpFloat64() * scale)
		}
		for i := range y {
			y[i] = math.Round(rng.NormFloat64()*scale) + 5
		}
		checkInvariants(t, x, y)
		if r, err := Spearman(x[:min(n, m)], y[:min(n, m)]); err == nil && !math.IsNaN(r) && (r < -1-1e-12 || r > 1+1e-12) {
			t.Fatalf("Spearman = %v out of [-1,1]", r)
		}
		if a, err := ACF(x, min(10, n-1)); err == nil {
			for k, r := range a {
				if math.Abs(r) > 1+1e-12 {
					t.Fatalf("ACF lag %d = %v out of [-1,1]", k+1, r)
				}
			}
		}
	}
}
