package tsne

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// Config holds the t-SNE parameters. The zero value of every field selects
// the default written next to it, so Config{Seed: 1} is a complete
// configuration.
type Config struct {
	// Perplexity is the effective number of neighbours each point's input
	// affinities spread over. Default 30. When n-1 < 3·Perplexity it is
	// lowered to (n-1)/3 (as openTSNE does); Result.Perplexity reports
	// the value used.
	Perplexity float64
	// Theta is the Barnes-Hut opening angle: a quadtree cell of width w at
	// distance d from a point is summarised when w/d < Theta. Default 0.5.
	// Values above about 0.7 let a cell containing the point itself be
	// summarised and are not recommended. Ignored by EmbedExact.
	Theta float64
	// Iterations is the total number of gradient steps, including the
	// early-exaggeration phase. Default 1000.
	Iterations int
	// ExaggerationIterations is the length of the early-exaggeration phase.
	// Default 250. Set Exaggeration to 1 to disable exaggeration.
	ExaggerationIterations int
	// Exaggeration multiplies the input affinities during the first phase.
	// Default 12.
	Exaggeration float64
	// LearningRate is the gradient step size. Default ("auto", as
	// scikit-learn): max(n/Exaggeration/4, 50).
	LearningRate float64
	// EarlyMomentum and FinalMomentum are the momentum during and after
	// the exaggeration phase. Defaults 0.5 and 0.8.
	EarlyMomentum, FinalMomentum float64
	// Seed seeds the vantage-point tree and, with RandomInit, the initial
	// layout.
	Seed uint64
	// RandomInit starts from N(0, 1e-4²) points instead of the PCA layout.
	RandomInit bool
	// Progress, if not nil, is called after each gradient step with the
	// steps done and the total (for a progress bar).
	Progress func(done, total int)
	// Workers is the number of goroutines. Default runtime.GOMAXPROCS(0).
	// The result does not depend on it.
	Workers int
}

// Result is a t-SNE embedding.
type Result struct {
	// Y is the n×2 embedding, centred on the origin.
	Y *mat.Dense
	// KL is the Kullback-Leibler divergence KL(P‖Q) of the final layout
	// against the affinities the method optimised: the sparse P and the
	// Barnes-Hut normalisation for Embed, the full P for EmbedExact.
	// Use KLDivergence to compare layouts on equal terms.
	KL float64
	// Perplexity is the perplexity actually used.
	Perplexity float64
	// Neighbours is the number of nearest neighbours per point in the
	// sparse input affinities (n-1 for EmbedExact).
	Neighbours int
}

// DefaultPerplexity is the perplexity used when Config.Perplexity is zero.
const DefaultPerplexity = 30

// filled returns cfg with defaults applied, or an error naming a bad field.
func (cfg Config) filled(n int) (Config, error) {
	def := func(v *float64, d float64, name string) error {
		switch {
		case math.IsNaN(*v) || *v < 0:
			return fmt.Errorf("tsne: Config.%s must be positive, got %v", name, *v)
		case *v == 0:
			*v = d
		}
		return nil
	}
	for _, f := range []struct {
		v    *float64
		d    float64
		name string
	}{
		{&cfg.Perplexity, DefaultPerplexity, "Perplexity"},
		{&cfg.Theta, 0.5, "Theta"},
		{&cfg.Exaggeration, 12, "Exaggeration"},
		{&cfg.EarlyMomentum, 0.5, "EarlyMomentum"},
		{&cfg.FinalMomentum, 0.8, "FinalMomentum"},
		{&cfg.LearningRate, math.Max(float64(n)/nz(cfg.Exaggeration, 12)/4, 50), "LearningRate"},
	} {
		if err := def(f.v, f.d, f.name); err != nil {
			return cfg, err
		}
	}
	if math.IsInf(cfg.Perplexity, 0) || math.IsInf(cfg.LearningRate, 0) {
		return cfg, errors.New("tsne: Config.Perplexity and Config.LearningRate must be finite")
	}
	if cfg.EarlyMomentum >= 1 || cfg.FinalMomentum >= 1 {
		return cfg, fmt.Errorf("tsne: momentum must be below 1, got %v and %v", cfg.EarlyMomentum, cfg.FinalMomentum)
	}
	if cfg.Iterations < 0 || cfg.ExaggerationIterations < 0 || cfg.Workers < 0 {
		return cfg, errors.New("tsne: Config.Iterations, ExaggerationIterations and Workers must not be negative")
	}
	if cfg.Iterations == 0 {
		cfg.Iterations = 1000
	}
	if cfg.ExaggerationIterations == 0 {
		cfg.ExaggerationIterations = 250
	}
	cfg.ExaggerationIterations = min(cfg.ExaggerationIterations, cfg.Iterations)
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if maxP := float64(n-1) / 3; cfg.Perplexity > maxP {
		cfg.Perplexity = math.Max(maxP, 1)
	}
	return cfg, nil
}

func nz(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

// points copies x into a row-major slice, rejecting non-finite values.
func points(x mat.Matrix) ([]float64, int, int, error) {
	if x == nil {
		return nil, 0, 0, errors.New("tsne: nil input matrix")
	}
	n, d := x.Dims()
	if n < 2 {
		return nil, 0, 0, fmt.Errorf("tsne: need at least 2 points, have %d", n)
	}
	if d < 1 {
		return nil, 0, 0, errors.New("tsne: input has no columns")
	}
	p := make([]float64, n*d)
	for i := range n {
		for j := range d {
			v := x.At(i, j)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, 0, 0, fmt.Errorf("tsne: row %d column %d is %v", i, j, v)
			}
			p[i*d+j] = v
		}
	}
	return p, n, d, nil
}

// Embed computes the Barnes-Hut t-SNE embedding of the rows of x.
// It returns ctx.Err() if ctx is cancelled while it runs.
func Embed(ctx context.Context, x mat.Matrix, cfg Config) (*Result, error) {
	pts, n, d, err := points(x)
	if err != nil {
		return nil, err
	}
	cfg, err = cfg.filled(n)
	if err != nil {
		return nil, err
	}
	k := min(n-1, int(3*cfg.Perplexity))
	idx, dist := knn(pts, n, d, k, cfg.Seed, cfg.Workers)
	cond := conditionalP(dist, n, k, cfg.Perplexity, cfg.Workers)
	p := symmetrise(idx, cond, n, k)

	y := initLayout(pts, n, d, cfg)
	bh := newBHGradient(p, n, cfg.Theta, cfg.Workers)
	if err := optimise(ctx, y, cfg, bh.gradient); err != nil {
		return nil, err
	}
	return &Result{
		Y:          mat.NewDense(n, 2, y),
		KL:         bh.kl(y),
		Perplexity: cfg.Perplexity,
		Neighbours: k,
	}, nil
}

// EmbedExact computes the exact O(n²) t-SNE embedding of the rows of x.
// It needs O(n²) memory and time per iteration; use it for n up to a few
// thousand. It returns ctx.Err() if ctx is cancelled while it runs.
func EmbedExact(ctx context.Context, x mat.Matrix, cfg Config) (*Result, error) {
	pts, n, d, err := points(x)
	if err != nil {
		return nil, err
	}
	cfg, err = cfg.filled(n)
	if err != nil {
		return nil, err
	}
	p := jointP(pts, n, d, cfg.Perplexity, cfg.Workers)
	y := initLayout(pts, n, d, cfg)
	ex := &exactGradient{p: p, n: n, workers: cfg.Workers}
	if err := optimise(ctx, y, cfg, ex.gradient); err != nil {
		return nil, err
	}
	return &Result{
		Y:          mat.NewDense(n, 2, y),
		KL:         klFull(p, y, n),
		Perplexity: cfg.Perplexity,
		Neighbours: n - 1,
	}, nil
}

// initLayout returns the starting n×2 layout (row-major): the first two
// principal components of the input scaled so that the first has standard
// deviation 1e-4 (scikit-learn's init="pca"), or N(0, 1e-4²) points with
// RandomInit or when the PCA is degenerate.
func initLayout(pts []float64, n, d int, cfg Config) []float64 {
	y := make([]float64, 2*n)
	if !cfg.RandomInit && d >= 2 && pcaInit(pts, n, d, y) {
		return y
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x74736e65))
	for i := range y {
		y[i] = 1e-4 * rng.NormFloat64()
	}
	return y
}

func pcaInit(pts []float64, n, d int, y []float64) bool {
	x := mat.NewDense(n, d, pts)
	var pc stat.PC
	if !pc.PrincipalComponents(x, nil) {
		return false
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	if _, c := vecs.Dims(); c < 2 {
		return false
	}
	mean := make([]float64, d)
	for i := range n {
		for j := range d {
			mean[j] += pts[i*d+j]
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for c := range 2 {
		// Fix the sign so that the largest loading is positive: the SVD
		// sign is arbitrary and the layout should not depend on it.
		var big, sign float64 = 0, 1
		for j := range d {
			if v := vecs.At(j, c); math.Abs(v) > big {
				big, sign = math.Abs(v), math.Copysign(1, v)
			}
		}
		for i := range n {
			var s float64
			for j := range d {
				s += (pts[i*d+j] - mean[j]) * vecs.At(j, c)
			}
			y[2*i+c] = sign * s
		}
	}
	var m, ss float64
	for i := range n {
		m += y[2*i]
	}
	m /= float64(n)
	for i := range n {
		ss += (y[2*i] - m) * (y[2*i] - m)
	}
	sd := math.Sqrt(ss / float64(n))
	if sd == 0 || math.IsNaN(sd) {
		return false
	}
	for i := range y {
		y[i] *= 1e-4 / sd
	}
	return true
}

// gradFunc writes the KL gradient at y into grad with the input affinities
// multiplied by exaggeration.
type gradFunc func(y, grad []float64, exaggeration float64)

// optimise runs gradient descent with momentum and gains in place on y, as
// scikit-learn's _gradient_descent: each phase starts with zero update and
// unit gains; gains grow by 0.2 where the gradient changes sign against the
// last update and shrink by a factor 0.8 elsewhere, with a floor of 0.01.
func optimise(ctx context.Context, y []float64, cfg Config, grad gradFunc) error {
	g := make([]float64, len(y))
	update := make([]float64, len(y))
	gains := make([]float64, len(y))
	for it := range cfg.Iterations {
		if it%25 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		exag, momentum := 1.0, cfg.FinalMomentum
		if it < cfg.ExaggerationIterations {
			exag, momentum = cfg.Exaggeration, cfg.EarlyMomentum
		}
		if it == 0 || it == cfg.ExaggerationIterations {
			for i := range update {
				update[i], gains[i] = 0, 1
			}
		}
		grad(y, g, exag)
		for i, gi := range g {
			if update[i]*gi < 0 {
				gains[i] += 0.2
			} else {
				gains[i] = math.Max(gains[i]*0.8, 0.01)
			}
			update[i] = momentum*update[i] - cfg.LearningRate*gains[i]*gi
			y[i] += update[i]
		}
		centre(y)
		if cfg.Progress != nil {
			cfg.Progress(it+1, cfg.Iterations)
		}
	}
	return nil
}

// centre moves the centroid of the layout to the origin.
func centre(y []float64) {
	n := len(y) / 2
	var mx, my float64
	for i := range n {
		mx += y[2*i]
		my += y[2*i+1]
	}
	mx /= float64(n)
	my /= float64(n)
	for i := range n {
		y[2*i] -= mx
		y[2*i+1] -= my
	}
}
