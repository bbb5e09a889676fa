package cli

import (
	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/tf"
)

// The GAN enters the simulation and generation commands here: a bundle is a
// sampler.Sampler (and an io.Closer, which the commands close).
func init() {
	openBundleSampler = func(dir string, seed uint64) (sampler.Sampler, string, error) {
		// One bundle serves every conversation of a process (simulate's
		// Dispatcher batches their decisions): intra-op threads on all
		// cores pay off from batches of 64 rows (bundle's BenchmarkStages:
		// 5.8 against 11.0 us per row with one thread, 2 cores), and are
		// no slower for one row; one inter-op thread, as the graph is a
		// chain.
		b, err := bundle.Open(dir, seed, tf.SessionOptions{InterOpThreads: 1})
		if err != nil {
			return nil, "", err
		}
		return b, b.Fingerprint(), nil
	}
}
