package bundle

import (
	"math"

	"github.com/spatgan/spatgan/graphs"
)

// scaleCacheSize is the number of entries per condition feature of a
// scaleCache (a power of two).
const scaleCacheSize = 1024

// scaleCache memoises a condition Scaler's Forward per feature in a
// direct-mapped table keyed by the raw value's bits, so that a value seen
// before (counts, sizes, flags, the same opponent burst at every packet
// position) costs a table lookup instead of a quantile search and an
// inverse normal CDF (about 130 ns per feature). Results are bit for bit
// those of Scaler.CondTo. 13 KB per feature.
type scaleCache struct {
	s     *graphs.Scaler
	keys  [][scaleCacheSize]uint64
	vals  [][scaleCacheSize]float32
	valid [][scaleCacheSize]bool
}

func newScaleCache(s *graphs.Scaler, k int) *scaleCache {
	return &scaleCache{s: s, keys: make([][scaleCacheSize]uint64, k), vals: make([][scaleCacheSize]float32, k),
		valid: make([][scaleCacheSize]bool, k)}
}

// condTo writes the scaled condition of raw feature values into dst, as
// Scaler.CondTo.
func (c *scaleCache) condTo(dst []float32, raw []float64) {
	for j, v := range raw {
		bits := math.Float64bits(v)
		h := (bits * 0x9e3779b97f4a7c15) >> (64 - 10)
		if c.valid[j][h] && c.keys[j][h] == bits {
			dst[j] = c.vals[j][h]
			continue
		}
		f := float32(c.s.Forward(j, v))
		c.keys[j][h], c.vals[j][h], c.valid[j][h] = bits, f, true
		dst[j] = f
	}
}
