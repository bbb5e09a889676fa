package simulate

import (
	"errors"
	"math"
	"math/rand/v2"

	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// toySampler is a condition-free sampler for tests: per side, separate
// random streams for turns and packets (so drawing ahead does not change
// the draws), counts 1..4, gaps in [gap, 2*gap), sizes 40..1539 (some
// outside the valid range, to exercise clamping), times in [dt/2, 3*dt/2).
type toySampler struct {
	r        [2][2]*rand.Rand
	gap, dt  int64
	failTurn bool
}

func newToy(seed uint64, gap, dt int64) *toySampler {
	t := &toySampler{gap: gap, dt: dt}
	for s := 0; s < 2; s++ {
		for k := 0; k < 2; k++ {
			t.r[s][k] = rand.New(rand.NewPCG(seed, uint64(10*s+k)))
		}
	}
	return t
}

func (t *toySampler) Name() string        { return "toy" }
func (t *toySampler) Fingerprint() string { return "toy-v1" }
func (t *toySampler) TurnsTo(out []sampler.Turn, side trace.Side, _ []*sampler.Conv) error {
	if t.failTurn {
		return errors.New("toy: failing on purpose")
	}
	r := t.r[side][0]
	for i := range out {
		out[i] = sampler.Turn{Count: 1 + r.IntN(4), GapNS: t.gap + r.Int64N(t.gap)}
	}
	return nil
}
func (t *toySampler) BurstsTo(out [][]sampler.Pkt, side trace.Side, _ []*sampler.Conv) error {
	r := t.r[side][1]
	for _, burst := range out {
		for i := range burst {
			burst[i] = sampler.Pkt{Size: int32(40 + r.IntN(1500)), DtNS: t.dt/2 + r.Int64N(t.dt)}
		}
	}
	return nil
}

// echoSampler reacts to the conversation's history so that tests can check
// the closed loop: the client draws 1..5 packets, the first of size
// 100..1099, each following one 7 bytes larger than its predecessor; the
// server answers with as many packets as it received (the opponent's
// count), each of the mean received size (bytes / count, rounded), its
// reply gap equal to the measured duration of the client's burst. All
// inter-packet times are dt.
type echoSampler struct {
	r   *rand.Rand
	dt  int64
	gap int64 // the client's reply gap
}

func newEcho(seed uint64, gap, dt int64) *echoSampler {
	return &echoSampler{r: rand.New(rand.NewPCG(seed, 1)), dt: dt, gap: gap}
}

func (e *echoSampler) Name() string        { return "echo" }
func (e *echoSampler) Fingerprint() string { return "echo-v1" }
func (e *echoSampler) TurnsTo(out []sampler.Turn, side trace.Side, convs []*sampler.Conv) error {
	for i, c := range convs {
		if side == trace.Client {
			out[i] = sampler.Turn{Count: 1 + e.r.IntN(5), GapNS: e.gap}
		} else {
			opp, _ := c.H.Last(trace.Client, 0)
			out[i] = sampler.Turn{Count: opp.Count, GapNS: opp.DurNS}
		}
	}
	return nil
}
func (e *echoSampler) BurstsTo(out [][]sampler.Pkt, side trace.Side, convs []*sampler.Conv) error {
	for i, c := range convs {
		opp, _ := c.H.Last(trace.Client, 0)
		for j := range out[i] {
			switch {
			case side == trace.Server:
				out[i][j] = sampler.Pkt{Size: int32(math.Round(float64(opp.Bytes) / float64(opp.Count))), DtNS: e.dt}
			case j == 0:
				out[i][j] = sampler.Pkt{Size: int32(100 + e.r.IntN(1000)), DtNS: e.dt}
			default:
				out[i][j] = sampler.Pkt{Size: out[i][j-1].Size + 7, DtNS: e.dt}
			}
		}
	}
	return nil
}

var (
	_ sampler.Sampler       = (*toySampler)(nil)
	_ sampler.Fingerprinter = (*echoSampler)(nil)
)

// arSampler is a stepwise (sampler.Stepper) test sampler: turns as
// toySampler, packets drawn position by position across the
// conversations, each size its predecessor's plus 1..20 bytes (the first
// 100..1099), so a packet depends on the ones drawn before it in its
// burst; times in [dt/2, 3*dt/2).
type arSampler struct {
	toySampler
}

func newAR(seed uint64, gap, dt int64) *arSampler {
	return &arSampler{toySampler: *newToy(seed, gap, dt)}
}

func (a *arSampler) Name() string             { return "ar" }
func (a *arSampler) Fingerprint() string      { return "ar-v1" }
func (a *arSampler) Stepwise(trace.Side) bool { return true }
func (a *arSampler) BurstsTo(out [][]sampler.Pkt, side trace.Side, convs []*sampler.Conv) error {
	return a.BurstsFrom(out, nil, side, convs)
}
func (a *arSampler) BurstsFrom(out [][]sampler.Pkt, from []int, side trace.Side, convs []*sampler.Conv) error {
	if err := sampler.CheckBatch(len(out), len(convs), side); err != nil {
		return err
	}
	r := a.r[side][1]
	maxN := 0
	for _, o := range out {
		maxN = max(maxN, len(o))
	}
	for pos := 0; pos < maxN; pos++ {
		for i, o := range out {
			if pos >= len(o) || (from != nil && pos < from[i]) {
				continue
			}
			size := int32(100 + r.IntN(1000))
			if pos > 0 {
				size = o[pos-1].Size + 1 + int32(r.IntN(20))
			}
			o[pos] = sampler.Pkt{Size: size, DtNS: a.dt/2 + r.Int64N(a.dt)}
		}
	}
	return nil
}

var _ sampler.Stepper = (*arSampler)(nil)
