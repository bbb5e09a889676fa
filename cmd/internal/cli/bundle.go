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
		// One TensorFlow thread per session: agents and pairs run
		// concurrently and each decision is a small batch.
		b, err := bundle.Open(dir, seed, tf.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
		if err != nil {
			return nil, "", err
		}
		return b, b.Fingerprint(), nil
	}
}
