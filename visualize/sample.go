package visualize

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Sample returns min(k, n) distinct indices of [0, n) in increasing order,
// chosen uniformly at random without replacement: a partial Fisher-Yates
// shuffle driven by a PCG generator seeded with (seed, stream), followed by
// a sort. The same (n, k, seed, stream) always gives the same indices; use
// different streams for independent samples under one seed. k <= 0 or
// k >= n returns every index.
func Sample(n, k int, seed, stream uint64) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if k <= 0 || k >= n {
		return idx
	}
	rng := rand.New(rand.NewPCG(seed, stream))
	for i := range k {
		j := i + rng.IntN(n-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	idx = idx[:k]
	slices.Sort(idx)
	return idx
}

// Sampler streams: the real and the synthetic set are sampled
// independently under the same seed.
const (
	streamReal uint64 = 1
	streamSyn  uint64 = 2
)

// sampleNote describes a sample for printing on a figure.
func sampleNote(name string, k, n int) string {
	if k >= n {
		return fmt.Sprintf("%s: all %d rows", name, n)
	}
	return fmt.Sprintf("%s: %d of %d rows", name, k, n)
}
