package bench

import (
	"math"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/metrics"
)

// ksResult makes a result whose KS is ks on every feature and direction,
// with the given overrides on client->server IAT and server->client size.
func ksResult(name string, ks, iatC2S, sizeS2C float64) Result {
	r := Result{Name: name, DependenceError: 0.1, TimelineRatio: 0.5,
		C2STPacket: &metrics.C2STResult{Accuracy: 0.6}, C2STWindow: &metrics.C2STResult{Accuracy: 0.7}}
	d := metrics.Distances{KS: ks}
	for _, side := range Sides {
		*r.Distances.Ptr(side) = metrics.SeriesDistances{Size: d, IAT: d, Delta: d, Burst: d, ReplyGap: d, ACFSize: 0.25, ACFLogIAT: 0.5}
	}
	r.Distances.ClientToServer.IAT.KS = iatC2S
	r.Distances.ServerToClient.Size.KS = sizeS2C
	return r
}

func TestWriteSummary(t *testing.T) {
	// Floor: KS 0.05 everywhere but 0.01 on size s2c. GAN: 0.1 everywhere,
	// 0.3 on IAT c2s. By hand: the floor's max KS is 0.05, first reached on
	// size c2s (features in report order, s2c first); the GAN's is 0.3 (IAT
	// c2s); its ratios are 0.1/0.05 = 2, 0.3/0.05 = 6 on IAT c2s and
	// 0.1/0.01 = 10 on size s2c: max 10 (size s2c).
	floor := ksResult(NameReal, 0.05, 0.05, 0.01)
	floor.C2STWindow = nil
	gan := ksResult(NameGAN, 0.1, 0.3, 0.1)
	gan.TimelineRatio = Float(math.NaN())
	rep := &Report{Comparators: []Result{floor, gan}}
	rep.Trace.TestPackets = 1234
	ks, ksAt, ratio, ratioAt := maxKS(&gan, &floor)
	if math.Abs(ks-0.3) > 1e-12 || ksAt != "IAT c2s" || math.Abs(ratio-10) > 1e-9 || ratioAt != "size s2c" {
		t.Errorf("maxKS = %v (%s), ratio %v (%s); want 0.3 (IAT c2s), 10 (size s2c)", ks, ksAt, ratio, ratioAt)
	}
	var b strings.Builder
	if err := WriteSummary(&b, []NamedReport{{"cap1", rep}}, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| cap1 | 1234 | real | 0.600 | – | 0.050 (size c2s) | 1.00 (size s2c) | 0.250 / 0.250 | 0.500 / 0.500 | 0.100 | 0.500 |",
		"| cap1 | 1234 | gan | 0.600 | 0.700 | 0.300 (IAT c2s) | 10.0 (size s2c) | 0.250 / 0.250 | 0.500 / 0.500 | 0.100 | – |",
		"Not in the reports: cap1/markov, cap1/bootstrap.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks\n%s\ngot:\n%s", want, out)
		}
	}
}
