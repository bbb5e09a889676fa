package simulate

import (
	"fmt"
	"math/bits"
	"time"
)

// Histogram records non-negative durations in nanoseconds in log-linear
// buckets (values below 128 ns exactly, above that 64 buckets per power of
// two, so a reported quantile is within 1/128 of the true value), in fixed
// memory however many values it sees. Count, Min and Max are exact.
// Buckets are allocated 64 at a time (one power of two, 512 bytes) when a
// value first falls among them, so a histogram of values spanning a few
// decades takes a few kilobytes (a live agent keeps three per
// conversation). The zero value is ready to use. It is not safe for
// concurrent use.
type Histogram struct {
	chunks   [histChunks]*[histSub]uint64
	n        uint64
	min, max int64
	sum      float64
}

const (
	histExact  = 128 // values below are stored exactly
	histSub    = 64  // buckets per power of two above histExact
	histLen    = histExact + 57*histSub
	histChunks = histLen / histSub
)

// bucket returns a pointer to bucket i's count, allocating its chunk.
func (h *Histogram) bucket(i int) *uint64 {
	c := h.chunks[i/histSub]
	if c == nil {
		c = new([histSub]uint64)
		h.chunks[i/histSub] = c
	}
	return &c[i%histSub]
}

func histIndex(v int64) int {
	if v < histExact {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - 7 // v>>e lies in [64, 128)
	return histExact + (e-1)*histSub + int(v>>e) - histSub
}

// histValue returns the middle of bucket i.
func histValue(i int) int64 {
	if i < histExact {
		return int64(i)
	}
	j := i - histExact
	e := j/histSub + 1
	lo := int64(j%histSub+histSub) << e
	return lo + (int64(1)<<e)/2
}

// Add records v; negative values are recorded as 0.
func (h *Histogram) Add(v int64) {
	if v < 0 {
		v = 0
	}
	*h.bucket(histIndex(v)) += 1
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds the values of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for ci, c := range o.chunks {
		if c == nil {
			continue
		}
		for j, v := range c {
			if v != 0 {
				*h.bucket(ci*histSub + j) += v
			}
		}
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if h.n == 0 || o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest value recorded (0 if none).
func (h *Histogram) Max() int64 { return h.max }

// Min returns the smallest value recorded (0 if none).
func (h *Histogram) Min() int64 { return h.min }

// Mean returns the mean of the values recorded (0 if none).
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the nearest-rank q-quantile (the value of rank
// ceil(q*n)), to bucket precision and clamped into [Min, Max]; 0 if empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if float64(rank) < q*float64(h.n) {
		rank++
	}
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var seen uint64
	for ci, c := range h.chunks {
		if c == nil {
			continue
		}
		for j, cnt := range c {
			seen += cnt
			if seen < rank {
				continue
			}
			v := histValue(ci*histSub + j)
			if v < h.min {
				v = h.min
			}
			if v > h.max {
				v = h.max
			}
			return v
		}
	}
	return h.max
}

// Summary is a distribution summary in nanoseconds.
type Summary struct {
	N                   uint64
	P50, P99, P999, Max time.Duration
	Mean                time.Duration
}

// Summary returns p50, p99, p99.9, max and mean.
func (h *Histogram) Summary() Summary {
	return Summary{N: h.n, P50: time.Duration(h.Quantile(0.5)), P99: time.Duration(h.Quantile(0.99)),
		P999: time.Duration(h.Quantile(0.999)), Max: time.Duration(h.max), Mean: time.Duration(h.Mean())}
}

func (s Summary) String() string {
	return fmt.Sprintf("n=%d p50=%v p99=%v p99.9=%v max=%v mean=%v", s.N, s.P50, s.P99, s.P999, s.Max, s.Mean)
}
