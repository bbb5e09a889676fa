package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/train"
)

// Parameters of the synthetic conversation of the tests, used by the
// hand-derived expectations.
const (
	synLoMean, synLoStd = 200.0, 20.0 // size mixture component 1, weight 2/3
	synHiMean, synHiStd = 900.0, 50.0 // component 2, weight 1/3
)

// synthConv makes a seeded, stationary two-party conversation: the client
// sends bursts of 1..4 packets (uniform), the server answers each with
// exactly as many packets as the client's burst had; every size, on both
// sides, comes i.i.d. from the mixture 2/3 N(200, 20) + 1/3 N(900, 50);
// reply gaps are 1 ms + Exp(mean 20 ms), in-burst times 0.1 ms + Exp(mean
// 2 ms). Timestamps are whole microseconds (they survive a CSV round trip).
func synthConv(seed uint64, rounds int) *trace.Conversation {
	rng := rand.New(rand.NewPCG(seed, 42))
	c := &trace.Conversation{Proto: "udp", Source: "synthetic"}
	c.Server.Addr = netip.MustParseAddr("10.0.0.1")
	c.Client.Addr = netip.MustParseAddr("10.0.0.2")
	us := int64(1_600_000_000_000_000) // microseconds
	burst := func(side trace.Side, n int) {
		us += 1000 + int64(rng.ExpFloat64()*20000)
		for i := 0; i < n; i++ {
			if i > 0 {
				us += 100 + int64(rng.ExpFloat64()*2000)
			}
			size := synLoMean + synLoStd*rng.NormFloat64()
			if rng.IntN(3) == 0 {
				size = synHiMean + synHiStd*rng.NormFloat64()
			}
			c.Packets = append(c.Packets, trace.Packet{TS: us * 1000, Size: int32(math.Round(size)), From: side, Proto: 17})
		}
	}
	for r := 0; r < rounds; r++ {
		n := 1 + rng.IntN(4)
		burst(trace.Client, n)
		burst(trace.Server, n)
	}
	return c
}

// tinyConfigs are small, fast versions of a configuration family.
func tinyConfigs(base func(graphs.Kind) graphs.Config, steps int) map[string]graphs.Config {
	m := map[string]graphs.Config{}
	for _, id := range bundle.ModelIDs {
		_, kind, _ := bundle.ModelKind(id)
		c := base(kind)
		c.GenWidths, c.CriticWidths = []int{16, 16}, []int{16, 16}
		c.Steps, c.Pretrain, c.CriticIters, c.Batch = steps, 5, 1, 32
		m[id] = c
	}
	return m
}

// trainTiny trains a tiny bundle on conv at frac into dir.
func trainTiny(tb testing.TB, conv *trace.Conversation, frac float64, base func(graphs.Kind) graphs.Config, dir string) {
	tb.Helper()
	_, err := train.Run(context.Background(), train.Options{Conv: conv, TrainFrac: frac, Configs: tinyConfigs(base, 20),
		Seed: 5, Out: dir, EvalEvery: 20, CheckpointEvery: 20, EvalRows: 200})
	if err != nil {
		tb.Fatal(err)
	}
}

// fixture holds bundles shared by the tests, trained once.
var fixture struct {
	once       sync.Once
	dir        string
	conv       *trace.Conversation
	gan, paper string
	err        error
}

// bundles returns the shared synthetic conversation and two tiny bundles
// trained on its first 0.8 (default and paper configurations).
func bundles(t *testing.T) (conv *trace.Conversation, gan, paper string) {
	t.Helper()
	fixture.once.Do(func() {
		fixture.dir, fixture.err = os.MkdirTemp("", "spatgan-bench-test-*")
		if fixture.err != nil {
			return
		}
		conv := synthConv(1, 4000)
		gan, paper := filepath.Join(fixture.dir, "gan"), filepath.Join(fixture.dir, "paper")
		trainTiny(t, conv, 0.8, graphs.Default, gan)
		trainTiny(t, conv, 0.8, graphs.Paper, paper)
		fixture.conv, fixture.gan, fixture.paper = conv, gan, paper
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	if fixture.gan == "" {
		t.Fatal("fixture bundles failed in an earlier test")
	}
	return fixture.conv, fixture.gan, fixture.paper
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range []string{fixture.dir, benchFixture.dir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}
