package bundle

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/spatgan/spatgan/graphs"
)

// TestScaleCache: the cached scaling equals Scaler.CondTo bit for bit, for
// values that repeat (hits), that collide in the table (misses replacing
// an entry) and that are new.
func TestScaleCache(t *testing.T) {
	s := &graphs.Scaler{Names: []string{"a", "b", "c"}, Log: []bool{true, false, true},
		Mean: []float64{3, 500, 1}, Std: []float64{2, 300, 0.5}}
	c := newScaleCache(s, 3)
	rng := rand.New(rand.NewPCG(7, 8))
	raw := make([]float64, 3)
	got, want := make([]float32, 3), make([]float32, 3)
	for i := 0; i < 200000; i++ {
		for j := range raw {
			switch rng.IntN(3) {
			case 0:
				raw[j] = float64(rng.IntN(50)) // repeats
			case 1:
				raw[j] = rng.Float64() * 1e6 // new
			default:
				raw[j] = float64(rng.IntN(5000)) // more keys than entries: collisions
			}
		}
		c.condTo(got, raw)
		s.CondTo(want, raw)
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("row %d feature %d (raw %v): cached %v, want %v", i, j, raw[j], got[j], want[j])
			}
		}
	}
}
