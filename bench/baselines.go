package bench

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/spatgan/spatgan/sampler"
)

// DefaultBaselines returns the baselines of the report, in column order:
// every baseline registered in the sampler package, in registration order
// (the original's Normal and Poisson generators, the i.i.d. bootstrap of
// the training rows, the burst-aware first-order Markov chain, then any
// registered by other packages).
func DefaultBaselines() []string {
	var names []string
	for _, b := range sampler.Baselines() {
		names = append(names, b.Name)
	}
	return names
}

// BaselineNames are the built-in baselines of the report, in column order.
//
// Deprecated: use DefaultBaselines, which also sees baselines registered
// later (sampler.Register). Kept for the command line.
var BaselineNames = DefaultBaselines()

// Comparator names of the report's model columns and the noise floor.
const (
	NameGAN   = "gan"
	NamePaper = "gan-paper"
	NameReal  = "real"
)

// SamplerSeed derives a comparator's sampler seed from the run's seed and
// its name, so that adding or removing a column does not change the others.
func SamplerSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return seed ^ h.Sum64()
}

// CheckBaselines checks that every name is a baseline the sampler package
// knows.
func CheckBaselines(names []string) error {
	for _, n := range names {
		if _, ok := sampler.Lookup(n); !ok {
			return fmt.Errorf("bench: unknown baseline %q (known: %s)", n, strings.Join(sampler.Names(), ", "))
		}
	}
	return nil
}

// NoiseFloor returns the noise-floor comparator of s: its real training
// part, compared with the held-out part like a generator's output.
func NoiseFloor(s *Split) Comparator {
	return Comparator{Name: NameReal, Kind: KindReal, Packets: s.Train.Packets,
		Note: fmt.Sprintf("noise floor: the real training part (%d packets) against the held-out part", len(s.Train.Packets))}
}

// FitBaselines fits the named baselines (nil: DefaultBaselines) on s's
// training part and returns one comparator each, in order, its sampler
// seeded with SamplerSeed(seed, name). Each call returns fresh samplers.
func FitBaselines(s *Split, names []string, seed uint64) ([]Comparator, error) {
	if names == nil {
		names = DefaultBaselines()
	}
	if err := CheckBaselines(names); err != nil {
		return nil, err
	}
	var comps []Comparator
	for _, name := range names {
		m, err := sampler.Fit(name, s.Train)
		if err != nil {
			return nil, fmt.Errorf("bench: baseline %s: %w", name, err)
		}
		comps = append(comps, Comparator{Name: m.Name(), Kind: KindBaseline, Fingerprint: m.Fingerprint(),
			Sampler: m.New(int64(SamplerSeed(seed, m.Name()))), Note: baselineNote(m.Name())})
	}
	return comps, nil
}

// baselineNote is a baseline's description in the report (its
// registration's Doc).
func baselineNote(name string) string {
	b, _ := sampler.Lookup(name)
	return b.Doc
}
