package bench

import (
	"os"
	"testing"

	"github.com/spatgan/spatgan/bench/internal/testconv"
	"github.com/spatgan/spatgan/trace"
)

// synthConv is testconv.Synth: a seeded, stationary two-party conversation
// whose sizes come from 2/3 N(200, 20) + 1/3 N(900, 50) on both sides.
func synthConv(seed uint64, rounds int) *trace.Conversation { return testconv.Synth(seed, rounds) }

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFixture.dir != "" {
		os.RemoveAll(benchFixture.dir)
	}
	os.Exit(code)
}
