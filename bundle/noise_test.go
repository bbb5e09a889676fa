package bundle

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/sampler"
)

// TestNoiseMemory checks the noise of a bundle with a noise memory rho
// (Manifest.NoiseMemory), drawn for two conversations in alternating
// calls: each coordinate of each conversation's successive draws has unit
// variance and lag-1 correlation rho (the AR(1) the record promises),
// the two conversations' noises are uncorrelated, the packet models'
// memory does not reach the burst models, and without a memory the noise
// is the bundle's plain stream, draw for draw (a bundle without the record
// generates what it did before version 9). A conversation holding another
// sampler's state is refused.
func TestNoiseMemory(t *testing.T) {
	const zd, draws = 4, 100000
	for _, rho := range []float64{0, 0.5, 0.95} {
		b := &Bundle{rng: rand.New(rand.NewPCG(7, 0xb0d1e)), memory: [2]float64{rho, 0}}
		convs := []*sampler.Conv{sampler.NewConv(1), sampler.NewConv(2)}
		series := [2][][]float64{}
		burst := [][]float64{}
		z := make([]float32, 2*zd)
		for d := 0; d < draws; d++ {
			if err := b.noise(z, "client-packet", zd, convs, nil); err != nil {
				t.Fatal(err)
			}
			for c := range 2 {
				series[c] = append(series[c], f64(z[c*zd:(c+1)*zd]))
			}
			if err := b.noise(z[:zd], "client-burst", zd, convs, [][2]int{{0, 0}}); err != nil {
				t.Fatal(err)
			}
			burst = append(burst, f64(z[:zd]))
		}
		for c := range 2 {
			for j := 0; j < zd; j++ {
				x := column(series[c], j)
				// The sample variance of an AR(1) series has standard
				// deviation sqrt(2(1+rho^2)/((1-rho^2)n)); allow four.
				tol := 4 * math.Sqrt(2*(1+rho*rho)/((1-rho*rho)*draws))
				if v := variance(x); math.Abs(v-1) > tol {
					t.Errorf("rho %v, conversation %d, coordinate %d: variance %.3f, want 1", rho, c, j, v)
				}
				if r := corr(x[1:], x[:len(x)-1]); math.Abs(r-rho) > 0.02 {
					t.Errorf("rho %v, conversation %d, coordinate %d: lag-1 correlation %.3f, want %v", rho, c, j, r, rho)
				}
			}
		}
		if r := corr(column(series[0], 0), column(series[1], 0)); math.Abs(r) > 0.02 {
			t.Errorf("rho %v: the two conversations' noises correlate %.3f, want 0", rho, r)
		}
		if x := column(burst, 0); math.Abs(corr(x[1:], x[:len(x)-1])) > 0.02 {
			t.Errorf("rho %v on the packet models: the burst model's noise has memory %.3f, want 0", rho, corr(x[1:], x[:len(x)-1]))
		}
		if rho == 0 {
			plain := &Bundle{rng: rand.New(rand.NewPCG(7, 0xb0d1e))}
			want := make([]float32, 2*zd)
			plain.noiseTo(want)
			got := []float32{}
			for c := range 2 {
				for _, v := range series[c][0] {
					got = append(got, float32(v))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("no memory: first draw %v, want the plain stream's %v", got, want)
			}
			if convs[0].State != nil {
				t.Errorf("no memory: the conversation got a state %T", convs[0].State)
			}
		}
	}
	b := &Bundle{rng: rand.New(rand.NewPCG(7, 0)), memory: [2]float64{0.5, 0.5}}
	c := sampler.NewConv(9)
	c.State = "someone else's"
	if err := b.noise(make([]float32, zd), "server-burst", zd, []*sampler.Conv{c}, nil); err == nil || !strings.Contains(err.Error(), "conversation 9") {
		t.Errorf("foreign state: %v, want an error naming conversation 9", err)
	}
}

func f64(z []float32) []float64 {
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = float64(v)
	}
	return out
}

func column(rows [][]float64, j int) []float64 {
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = r[j]
	}
	return out
}

func variance(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return s / float64(len(x))
}

func corr(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}
