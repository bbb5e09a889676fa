package visualize

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/spatgan/spatgan/trace"
)

// realPackets returns the first n packets of the embedded skype_eth_5
// conversation (all of them for n <= 0).
func realPackets(t testing.TB, n int) []trace.Packet {
	t.Helper()
	c, err := trace.Default()
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 && n < len(c.Packets) {
		return c.Packets[:n]
	}
	return c.Packets
}

// synthPackets returns n seeded packets of a crude two-sided generator:
// bursts alternate between the sides with geometric lengths (mean 3 for
// the client, 2 for the server), reply gaps and inter-packet times are
// log-normal, sizes normal around 110 B (client) and 250 B (server).
func synthPackets(n int, seed uint64) []trace.Packet {
	rng := rand.New(rand.NewPCG(seed, 77))
	out := make([]trace.Packet, 0, n)
	ts := int64(1_400_000_000) * 1e9
	side := trace.Client
	for len(out) < n {
		p := 1 / 3.0
		mean, sd := 110.0, 25.0
		if side == trace.Server {
			p, mean, sd = 1/2.0, 250.0, 90.0
		}
		count := 1
		for rng.Float64() > p {
			count++
		}
		ts += int64(math.Exp(8.5+1.2*rng.NormFloat64()) * 1e3) // reply gap
		for k := 0; k < count && len(out) < n; k++ {
			if k > 0 {
				ts += int64(math.Exp(6+1.5*rng.NormFloat64()) * 1e3)
			}
			size := int32(math.Round(math.Max(60, math.Min(1440, mean+sd*rng.NormFloat64()))))
			out = append(out, trace.Packet{TS: ts, Size: size, From: side, Proto: 17})
		}
		side = side.Other()
	}
	return out
}
