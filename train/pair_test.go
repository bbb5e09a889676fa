package train

import (
	"context"
	"testing"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/graphs"
)

// TestPairCritic: with Config.Pair on the packet models, the bundle
// records the pair critic in their configurations and their weights differ
// from a run without it, while the burst models train as before; a side
// whose sizes are keyed (here by the bins of the last size) trains
// without the pair term, and its configuration says so.
func TestPairCritic(t *testing.T) {
	conv := synthConv(11, 1200)
	run := func(pair float64, bins int) *bundle.Manifest {
		cfgs := smallConfigs(30)
		for id, c := range cfgs {
			if c.Kind == graphs.Packet {
				c.Pair, c.FirstBins = pair, bins
			}
			cfgs[id] = c
		}
		res, err := Run(context.Background(), Options{Conv: conv, Configs: cfgs, Seed: 4, Out: t.TempDir(),
			EvalEvery: 10, CheckpointEvery: 30, EvalRows: 100})
		if err != nil {
			t.Fatal(err)
		}
		return res.Manifest
	}
	plain, pair := run(0, 0), run(1, 0)
	for id, mm := range pair.Models {
		p := plain.Models[id]
		if mm.Config.Kind == graphs.Packet {
			if mm.Config.Pair != 1 {
				t.Errorf("%s: pair %v in the bundle, want 1", id, mm.Config.Pair)
			}
			if mm.WeightsSHA256 == p.WeightsSHA256 {
				t.Errorf("%s: the pair critic changed nothing", id)
			}
			continue
		}
		if mm.Config.Pair != 0 || mm.WeightsSHA256 != p.WeightsSHA256 {
			t.Errorf("%s: a burst model has pair %v and weights %s (without the option %s)", id, mm.Config.Pair, mm.WeightsSHA256[:8], p.WeightsSHA256[:8])
		}
	}
	keyedPlain, keyedPair := run(0, 8), run(1, 8)
	for id, mm := range keyedPair.Models {
		if mm.Config.Kind != graphs.Packet {
			continue
		}
		if mm.Target.Keyed == nil {
			t.Fatalf("%s: first_bins 8 did not key the sizes", id)
		}
		if mm.Config.Pair != 0 || mm.WeightsSHA256 != keyedPlain.Models[id].WeightsSHA256 {
			t.Errorf("%s: keyed sizes with pair 1: bundle pair %v, weights %s against %s without", id, mm.Config.Pair, mm.WeightsSHA256[:8], keyedPlain.Models[id].WeightsSHA256[:8])
		}
	}
}
