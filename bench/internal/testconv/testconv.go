package testconv

import (
	"math"
	"math/rand/v2"
	"net/netip"

	"github.com/spatgan/spatgan/trace"
)

// Parameters of the synthetic conversation of the tests, used by the
// hand-derived expectations.
const (
	LoMean, LoStd = 200.0, 20.0 // size mixture component 1, weight 2/3
	HiMean, HiStd = 900.0, 50.0 // component 2, weight 1/3
)

// Synth makes a seeded, stationary two-party conversation: the client
// sends bursts of 1..4 packets (uniform), the server answers each with
// exactly as many packets as the client's burst had; every size, on both
// sides, comes i.i.d. from the mixture 2/3 N(200, 20) + 1/3 N(900, 50);
// reply gaps are 1 ms + Exp(mean 20 ms), in-burst times 0.1 ms + Exp(mean
// 2 ms). Timestamps are whole microseconds (they survive a CSV round trip).
func Synth(seed uint64, rounds int) *trace.Conversation {
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
			size := LoMean + LoStd*rng.NormFloat64()
			if rng.IntN(3) == 0 {
				size = HiMean + HiStd*rng.NormFloat64()
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
