package bench

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/spatgan/spatgan/sampler"
)

// BaselineNames are the baselines of the report, in column order: the
// original's Normal and Poisson generators, the i.i.d. bootstrap of the
// training rows and the burst-aware first-order Markov chain (see the
// sampler package).
var BaselineNames = []string{"normal", "poisson", "bootstrap", "markov"}

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
	known := map[string]bool{}
	for _, n := range sampler.Names() {
		known[n] = true
	}
	for _, n := range names {
		if !known[n] {
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

// FitBaselines fits the named baselines (nil: BaselineNames) on s's
// training part and returns one comparator each, in order, its sampler
// seeded with SamplerSeed(seed, name). Each call returns fresh samplers.
func FitBaselines(s *Split, names []string, seed uint64) ([]Comparator, error) {
	if names == nil {
		names = BaselineNames
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
			Sampler: m.New(int64(SamplerSeed(seed, m.Name()))), Note: baselineNotes[m.Name()]})
	}
	return comps, nil
}

// baselineNotes describe the baselines in the report.
var baselineNotes = map[string]string{
	"normal":    "the original's Normal baseline: every quantity i.i.d. Normal with the training part's per-side mean and std, clamped to the training range",
	"poisson":   "the original's Poisson baseline: every quantity i.i.d. Poisson with the training part's per-side mean, clamped to the training range",
	"bootstrap": "i.i.d. resampling of the training part's burst rows (length, reply gap) and packet rows (size; in-burst time): its marginals, none of its structure",
	"markov":    "burst-aware empirical baseline: first-order Markov chain over bursts (reply resampled given the opponent's burst length bin, sizes given the previous size bin)",
}
