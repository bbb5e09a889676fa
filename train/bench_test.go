package train

import (
	"context"
	"fmt"
	"testing"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/trace"
)

// BenchmarkTrainParallel measures whole-run training throughput (generator
// steps per second, all four models, each step with its 5 critic steps) on
// the embedded trace with the default networks, training the four models
// one at a time with all cores per session, two at a time, or all four at
// once with one TensorFlow thread each.
func BenchmarkTrainParallel(b *testing.B) {
	conv, err := trace.Default()
	if err != nil {
		b.Fatal(err)
	}
	const steps = 200
	cfgs := map[string]graphs.Config{}
	for _, id := range bundle.ModelIDs {
		_, kind, _ := bundle.ModelKind(id)
		c := graphs.Default(kind)
		c.Steps = steps
		cfgs[id] = c
	}
	for _, par := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("parallel=%d", par), func(b *testing.B) {
			var total float64
			for i := 0; i < b.N; i++ {
				res, err := Run(context.Background(), Options{Conv: conv, Configs: cfgs, Seed: 1, Out: b.TempDir(),
					Parallel: par, EvalEvery: steps, CheckpointEvery: steps, EvalRows: 500})
				if err != nil {
					b.Fatal(err)
				}
				total += float64(res.GenSteps)
			}
			b.ReportMetric(total/b.Elapsed().Seconds(), "gen-steps/s")
		})
	}
}
