package graphs

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/spatgan/spatgan/tf"
)

func (c Config) act() tf.Activation {
	if c.Activation == "leaky_relu" {
		return tf.LeakyReLU
	}
	return tf.ReLU
}

// buildGenerator adds the generator network under the scope "generator".
func buildGenerator(g *tf.Graph, cfg Config, condDim int, rng *rand.Rand) *tf.MLP {
	widths := append(append([]int{}, cfg.GenWidths...), 2)
	return g.MLP("generator", cfg.ZDim+condDim, widths, cfg.act(), rng)
}

// WGAN is one conditional WGAN-GP in training: generator, critic, losses
// and two Adam optimisers in one graph with one session. It owns the
// session: Close it.
type WGAN struct {
	Cfg     Config
	CondDim int

	g       *tf.Graph
	sess    *tf.Session
	gen     *tf.MLP
	critic  *tf.MLP
	genOpt  *tf.Adam
	critOpt *tf.Adam

	xReal, cond, z, eps tf.Node
	xMis, mask          tf.Node // Config.Mismatch: another row's real target, and where it replaces the generated one
	mis, maskBuf        []float32
	fake                tf.Node
	dRealFake           tf.Node // [2]: the critic's means on the real and the fake rows
	penalty             tf.Node
	genLoss             tf.Node
	buf                 [][]float32
	pair                *pairGraph // Config.Pair: nil without
}

// pairGraph is the pair critic's part of a training graph (Config.Pair).
type pairGraph struct {
	maps                      []PairMap
	critic                    *tf.MLP
	c1, x1, x2, c2, z1, z2, e tf.Node
	v0, d                     []tf.Node // per map: value at the first knot, increments between knots
	realFake                  tf.Node   // [2]: the pair critic's means on the real and the fake pairs
	penalty                   tf.Node
}

// PairBatch is one batch of the pair critic (Config.Pair): Rows pairs of
// consecutive packets, row-major: the first packet's condition C1 and
// real targets X1, the second's X2 and real condition C2, noise Z1 and Z2
// for the two draws, interpolation weights Eps, and per PairMap the map
// of the second packet's column from the first packet's draw (V0: Rows
// values; D: Rows x (PairKnotN-1) increments; see Pairs).
type PairBatch struct {
	Rows                      int
	C1, X1, X2, C2, Z1, Z2, E []float32
	V0, D                     [][]float32
}

// PairMaps returns the condition columns a pair's second packet takes from
// the first packet's draw under cfg (see PairSupported).
func (c Config) PairMaps() []PairMap {
	var out []PairMap
	for j, name := range c.Cond {
		if src, ok := PairSupported[name]; ok {
			out = append(out, PairMap{Src: src, Col: j})
		}
	}
	return out
}

// buildPair adds the pair critic: the generator drawn twice, the second
// time for the condition the first draw leaves, and a critic of the two
// draws together with the first condition. It returns the critic's loss
// (Wasserstein term and gradient penalty) and the generator's loss term.
func (m *WGAN) buildPair(g *tf.Graph, rng *rand.Rand) (critLoss, genTerm tf.Node) {
	cfg, k := m.Cfg, m.CondDim
	p := &pairGraph{maps: cfg.PairMaps()}
	m.pair = p
	p.c1, p.x1 = g.Placeholder("pair_cond1", k), g.Placeholder("pair_x1", 2)
	p.x2, p.c2 = g.Placeholder("pair_x2", 2), g.Placeholder("pair_cond2", k)
	p.z1, p.z2 = g.Placeholder("pair_z1", cfg.ZDim), g.Placeholder("pair_z2", cfg.ZDim)
	p.e = g.Placeholder("pair_eps", 1)
	critWidths := append(append([]int{}, cfg.CriticWidths...), 1)
	p.critic = g.MLP("pair_critic", 4+k, critWidths, cfg.act(), rng)

	f1 := g.ApplyMLP(m.gen, g.Concat(p.z1, p.c1))
	keep := make([]float32, k)
	for j := range keep {
		keep[j] = 1
	}
	for _, pm := range p.maps {
		keep[pm.Col] = 0
	}
	c2 := g.Mul(p.c2, g.Vector(keep))
	one := g.Scalar(1)
	for i, pm := range p.maps {
		v0 := g.Placeholder(fmt.Sprintf("pair_v0_%d", i), 1)
		d := g.Placeholder(fmt.Sprintf("pair_d_%d", i), PairKnotN-1)
		p.v0, p.d = append(p.v0, v0), append(p.d, d)
		sel := []float32{0, 0}
		sel[pm.Src] = 1
		val := pairInterp(g, g.SumCols(g.Mul(f1, g.Vector(sel))), v0, d)
		col := make([]float32, k)
		col[pm.Col] = 1
		c2 = g.Add(c2, g.Mul(val, g.Vector(col)))
	}
	f2 := g.ApplyMLP(m.gen, g.Concat(p.z2, c2))
	fake := g.Concat(f1, f2)
	real := g.Concat(p.x1, p.x2)
	both := g.ApplyMLP(p.critic, g.Concat(g.ConcatRows(real, fake), g.ConcatRows(p.c1, p.c1)))
	p.realFake = g.GroupMeans(both, 2)
	wTerm := g.Sum(g.Mul(p.realFake, g.Vector([]float32{-1, 1})))
	xHat := g.Add(g.Mul(p.e, real), g.Mul(g.Sub(one, p.e), fake))
	grad := g.Gradients(g.ApplyMLP(p.critic, g.Concat(xHat, p.c1)), xHat)[0]
	norm := g.Sqrt(g.Add(g.SumCols(g.Square(grad)), g.Scalar(1e-12)))
	p.penalty = g.Mean(g.Square(g.Sub(norm, one)))
	critLoss = g.Add(wTerm, g.Mul(g.Scalar(float32(cfg.Lambda)), p.penalty))
	genTerm = g.Mul(g.Scalar(float32(-cfg.Pair)), g.Mean(g.ApplyMLP(p.critic, g.Concat(fake, p.c1))))
	return critLoss, genTerm
}

// pairInterp is the graph's form of Pairs.At: the map tabulated by v0
// ([rows, 1], its value at the first knot) and d ([rows, PairKnotN-1], its
// increments between knots) at src ([rows, 1]), linear between knots and
// constant outside them.
func pairInterp(g *tf.Graph, src, v0, d tf.Node) tf.Node {
	lo := make([]float32, PairKnotN-1)
	for i := range lo {
		lo[i] = float32(PairKnot(i))
	}
	// The share of each knot interval below src, clamped to [0, 1]:
	// relu(u) - relu(u - 1).
	u := g.Mul(g.Sub(src, g.Vector(lo)), g.Scalar(1/PairKnotStep))
	w := g.Sub(g.Relu(u), g.Relu(g.Sub(u, g.Scalar(1))))
	return g.Add(g.SumCols(g.Mul(w, d)), v0)
}

// pairFeeds appends the feeds of a pair batch.
func (m *WGAN) pairFeeds(feeds []tf.Feed, b *PairBatch, critic bool) []tf.Feed {
	p, n := m.pair, b.Rows
	feeds = append(feeds, tf.Feed{Node: p.c1, Data: b.C1, Rows: n}, tf.Feed{Node: p.c2, Data: b.C2, Rows: n},
		tf.Feed{Node: p.z1, Data: b.Z1, Rows: n}, tf.Feed{Node: p.z2, Data: b.Z2, Rows: n})
	for i := range p.maps {
		feeds = append(feeds, tf.Feed{Node: p.v0[i], Data: b.V0[i], Rows: n}, tf.Feed{Node: p.d[i], Data: b.D[i], Rows: n})
	}
	if critic {
		feeds = append(feeds, tf.Feed{Node: p.x1, Data: b.X1, Rows: n}, tf.Feed{Node: p.x2, Data: b.X2, Rows: n},
			tf.Feed{Node: p.e, Data: b.E, Rows: n})
	}
	return feeds
}

// HasPair reports whether the graph has the pair critic (Config.Pair).
func (m *WGAN) HasPair() bool { return m.pair != nil }

// CriticStats are the values of one critic step, before its update (with
// Config.Mismatch, Fake includes the mismatched real rows).
type CriticStats struct {
	Real, Fake  float32 // mean critic output on real and generated rows
	Wasserstein float32 // Real - Fake, the critic's estimate of W1
	Penalty     float32 // gradient penalty (before lambda)
}

// NewWGAN builds the training graph for cfg with a condition of condDim
// features, initialising weights from seed.
func NewWGAN(cfg Config, condDim int, seed uint64, opt tf.SessionOptions) (*WGAN, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if condDim != len(cfg.Cond) {
		return nil, fmt.Errorf("graphs: condition width %d, config names %d features", condDim, len(cfg.Cond))
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	g := tf.NewGraph()
	m := &WGAN{Cfg: cfg, CondDim: condDim, g: g}
	m.xReal = g.Placeholder("x_real", 2)
	m.cond = g.Placeholder("cond", condDim)
	m.z = g.Placeholder("z", cfg.ZDim)
	m.eps = g.Placeholder("eps", 1)
	m.gen = buildGenerator(g, cfg, condDim, rng)
	critWidths := append(append([]int{}, cfg.CriticWidths...), 1)
	m.critic = g.MLP("critic", 2+condDim, critWidths, cfg.act(), rng)

	m.fake = g.ApplyMLP(m.gen, g.Concat(m.z, m.cond))
	critic := func(x tf.Node) tf.Node { return g.ApplyMLP(m.critic, g.Concat(x, m.cond)) }
	fake := m.fake // what the critic's fake term and the interpolates see
	if cfg.Mismatch > 0 {
		// A matching-aware critic (after Reed et al., 2016): in a share
		// Mismatch of the rows the fake target is another row's real
		// target under this row's condition, so a target that ignores its
		// condition is fake even when its marginal is right. The
		// interpolates use the same mixture, so the gradient penalty
		// bounds the critic around the mismatched rows too.
		m.xMis = g.Placeholder("x_mismatched", 2)
		m.mask = g.Placeholder("mismatch_mask", 1)
		fake = g.Add(g.Mul(m.mask, m.xMis), g.Mul(g.Sub(g.Scalar(1), m.mask), m.fake))
	}
	// The real and the fake rows go through the critic as one batch of
	// twice the rows, for larger matrix products (the critic treats rows
	// independently, so the values are those of two batches): dRealFake
	// holds the two means, and the Wasserstein term is fake - real.
	both := g.ApplyMLP(m.critic, g.Concat(g.ConcatRows(m.xReal, fake), g.ConcatRows(m.cond, m.cond)))
	m.dRealFake = g.GroupMeans(both, 2)
	wTerm := g.Sum(g.Mul(m.dRealFake, g.Vector([]float32{-1, 1})))

	// Interpolates e*x + (1-e)*g, gradient with respect to the data part.
	one := g.Scalar(1)
	xHat := g.Add(g.Mul(m.eps, m.xReal), g.Mul(g.Sub(one, m.eps), fake))
	dHat := critic(xHat)
	grad := g.Gradients(dHat, xHat)[0]
	if cfg.GPWholeBatch {
		// The original: one norm over the whole batch's gradient.
		norm := g.Sqrt(g.Add(g.Mean(g.SumCols(g.Square(grad))), g.Scalar(1e-12)))
		m.penalty = g.Square(g.Sub(norm, one))
	} else {
		norm := g.Sqrt(g.Add(g.SumCols(g.Square(grad)), g.Scalar(1e-12)))
		m.penalty = g.Mean(g.Square(g.Sub(norm, one)))
	}
	critLoss := g.Add(wTerm, g.Mul(g.Scalar(float32(cfg.Lambda)), m.penalty))
	// The generator's step runs the critic on its own rows only (no real
	// rows to feed); with Mismatch, on the generated rows, not the mixture.
	m.genLoss = g.Neg(g.Mean(critic(m.fake)))
	critVars := m.critic.Variables()
	if cfg.Pair > 0 {
		pc, pg := m.buildPair(g, rng)
		critLoss = g.Add(critLoss, pc)
		m.genLoss = g.Add(m.genLoss, pg)
		critVars = append(critVars, m.pair.critic.Variables()...)
	}
	adam := tf.AdamConfig{LR: cfg.LR, Beta1: cfg.Beta1, Beta2: cfg.Beta2, Epsilon: cfg.Epsilon}
	m.critOpt = g.Adam("critic_adam", critLoss, critVars, adam)
	m.genOpt = g.Adam("generator_adam", m.genLoss, m.gen.Variables(), adam)
	sess, err := tf.NewSession(g, opt)
	if err != nil {
		return nil, fmt.Errorf("graphs: %s model: %w", cfg.Kind, err)
	}
	m.sess = sess
	if err := sess.Init(); err != nil {
		sess.Close()
		return nil, err
	}
	return m, nil
}

// Close releases the session.
func (m *WGAN) Close() error { return m.sess.Close() }

// CriticStep runs one critic update on a batch: real rows x (rows x 2),
// their conditions c, noise z (rows x ZDim) and interpolation weights eps
// (rows).
func (m *WGAN) CriticStep(x, c, z, eps []float32) (CriticStats, error) {
	return m.CriticStepPair(x, c, z, eps, nil)
}

// CriticStepPair is CriticStep with the pair critic's batch pb, which a
// model with Config.Pair needs (and one without ignores). Its stats are
// the single-packet critic's.
func (m *WGAN) CriticStepPair(x, c, z, eps []float32, pb *PairBatch) (CriticStats, error) {
	rows := len(eps)
	feeds := []tf.Feed{
		{Node: m.xReal, Data: x, Rows: rows}, {Node: m.cond, Data: c, Rows: rows},
		{Node: m.z, Data: z, Rows: rows}, {Node: m.eps, Data: eps, Rows: rows},
	}
	if m.xMis.Valid() {
		// The first Mismatch share of the rows takes the next row's real
		// target (the batch is a random sample, so the pairing is random,
		// and deterministic).
		k := int(m.Cfg.Mismatch*float64(rows) + 0.5)
		m.mis = append(append(m.mis[:0], x[2:]...), x[:2]...)
		m.maskBuf = slices.Grow(m.maskBuf[:0], rows)[:rows]
		for i := range m.maskBuf {
			m.maskBuf[i] = 0
			if i < k {
				m.maskBuf[i] = 1
			}
		}
		feeds = append(feeds, tf.Feed{Node: m.xMis, Data: m.mis, Rows: rows}, tf.Feed{Node: m.mask, Data: m.maskBuf, Rows: rows})
	}
	if m.pair != nil {
		if pb == nil {
			return CriticStats{}, errors.New("graphs: critic step: the pair critic needs a pair batch")
		}
		feeds = m.pairFeeds(feeds, pb, true)
	}
	out, err := m.critOpt.Run(m.sess, feeds, []tf.Node{m.dRealFake, m.penalty}, m.buf)
	if err != nil {
		return CriticStats{}, fmt.Errorf("graphs: critic step: %w", err)
	}
	m.buf = out
	return CriticStats{Real: out[0][0], Fake: out[0][1], Wasserstein: out[0][0] - out[0][1], Penalty: out[1][0]}, nil
}

// GenStep runs one generator update and returns the generator loss.
func (m *WGAN) GenStep(c, z []float32) (float32, error) { return m.GenStepPair(c, z, nil) }

// GenStepPair is GenStep with the pair critic's batch pb (see
// CriticStepPair); the loss includes the pair term.
func (m *WGAN) GenStepPair(c, z []float32, pb *PairBatch) (float32, error) {
	rows := len(z) / m.Cfg.ZDim
	feeds := []tf.Feed{{Node: m.cond, Data: c, Rows: rows}, {Node: m.z, Data: z, Rows: rows}}
	if m.pair != nil {
		if pb == nil {
			return 0, errors.New("graphs: generator step: the pair critic needs a pair batch")
		}
		feeds = m.pairFeeds(feeds, pb, false)
	}
	out, err := m.genOpt.Run(m.sess, feeds, []tf.Node{m.genLoss}, m.buf)
	if err != nil {
		return 0, fmt.Errorf("graphs: generator step: %w", err)
	}
	m.buf = out
	return out[0][0], nil
}

// Generate runs the generator on conditions c and noise z, writing rows x 2
// network-space outputs into dst (grown if needed).
func (m *WGAN) Generate(dst, c, z []float32) ([]float32, error) {
	rows := len(z) / m.Cfg.ZDim
	out, err := m.sess.Run([]tf.Feed{{Node: m.cond, Data: c, Rows: rows}, {Node: m.z, Data: z, Rows: rows}},
		[]tf.Node{m.fake}, [][]float32{dst})
	if err != nil {
		return nil, fmt.Errorf("graphs: generate: %w", err)
	}
	return out[0], nil
}

// SetLRScale multiplies both optimisers' learning rate by f from the next
// step on (Config.LRScale).
func (m *WGAN) SetLRScale(f float64) {
	m.genOpt.SetLRScale(f)
	m.critOpt.SetLRScale(f)
}

// Steps returns the number of generator and critic updates applied.
func (m *WGAN) Steps() (gen, critic int64) { return m.genOpt.Step(), m.critOpt.Step() }

// SetSteps restores the update counts (with a checkpoint).
func (m *WGAN) SetSteps(gen, critic int64) {
	m.genOpt.SetStep(gen)
	m.critOpt.SetStep(critic)
}

// GeneratorVariables are the variables an inference bundle needs.
func (m *WGAN) GeneratorVariables() []*tf.Variable { return m.gen.Variables() }

// AllVariables are every variable of the training state (networks and
// optimiser slots), for checkpoints.
func (m *WGAN) AllVariables() []*tf.Variable { return m.g.Variables() }

// Session returns the model's session (for saving and restoring).
func (m *WGAN) Session() *tf.Session { return m.sess }

// FLOPs estimates the floating-point operations of one generator step and
// one critic step per row: forward 2*in*out per layer, backward twice that.
func (m *WGAN) FLOPs() (genStep, criticStep float64) {
	gf, cf := m.gen.FLOPs(), m.critic.FLOPs()
	// generator step: G forward+backward, critic forward+backward on fakes
	genStep = 3 * (gf + cf)
	// critic step: G forward, critic on real, fake and interpolates with the
	// penalty's double backward (about 3x forward per use) and the update
	criticStep = gf + 3*cf + 3*cf + 5*cf
	return genStep, criticStep
}

// Generator is an inference-only generator (no critic, no optimiser),
// loaded from a bundle. It owns its session: Close it.
type Generator struct {
	Cfg     Config
	CondDim int
	g       *tf.Graph
	sess    *tf.Session
	gen     *tf.MLP
	cond, z tf.Node
	out     tf.Node
	buf     [][]float32
}

// NewGenerator builds the generator of cfg and restores its weights from f.
// Its session runs every op in the calling thread (opt.CallerThread is
// set): at the small batches of live decisions that is 2-3x faster than
// handing ops to TensorFlow's inter-op pool, whose threads have gone to
// sleep between decisions, and large batches keep opt's intra-op threads
// (BENCHMARKS.md, "Scale").
func NewGenerator(cfg Config, condDim int, f *tf.File, opt tf.SessionOptions) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opt.CallerThread = true
	g := tf.NewGraph()
	m := &Generator{Cfg: cfg, CondDim: condDim, g: g}
	m.cond = g.Placeholder("cond", condDim)
	m.z = g.Placeholder("z", cfg.ZDim)
	m.gen = buildGenerator(g, cfg, condDim, rand.New(rand.NewPCG(0, 0)))
	m.out = g.InferMLP(m.gen, g.Concat(m.z, m.cond))
	sess, err := tf.NewSession(g, opt)
	if err != nil {
		return nil, fmt.Errorf("graphs: generator: %w", err)
	}
	m.sess = sess
	if err := sess.Restore(f, m.gen.Variables()); err != nil {
		sess.Close()
		return nil, fmt.Errorf("graphs: generator weights: %w", err)
	}
	return m, nil
}

// Close releases the session.
func (m *Generator) Close() error { return m.sess.Close() }

// Generate writes rows x 2 network-space outputs for conditions c and noise
// z into dst (grown if needed).
func (m *Generator) Generate(dst, c, z []float32) ([]float32, error) {
	rows := len(z) / m.Cfg.ZDim
	m.buf = append(m.buf[:0], dst)
	out, err := m.sess.Run([]tf.Feed{{Node: m.cond, Data: c, Rows: rows}, {Node: m.z, Data: z, Rows: rows}},
		[]tf.Node{m.out}, m.buf)
	if err != nil {
		return nil, fmt.Errorf("graphs: generate: %w", err)
	}
	return out[0], nil
}

// FLOPs returns the forward FLOPs of one generated row.
func (m *Generator) FLOPs() float64 { return m.gen.FLOPs() }
