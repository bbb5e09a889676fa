package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
)

// Bundle is a loaded bundle: four inference generators. It implements
// sampler.Sampler and owns the generators' sessions: Close it.
type Bundle struct {
	Dir      string
	Manifest *Manifest
	gens     map[string]*graphs.Generator
	scalers  map[string]*Model
	conds    map[string]*scaleCache
	rng      *rand.Rand
	fp       string
	sets     map[string]*features.Set
	cbuf, z  []float32
	out      []float32
	raw      []float64
	rows     [][2]int
	// memory is the noise memory of the packet models ([0]) and of the
	// burst models ([1]) (Manifest.NoiseMemory); 0: fresh noise per draw.
	memory [2]float64
	tap    func(id string, gen []float32, raw []float64, k int) // SetTap
}

// convNoise is a conversation's State in a bundle with a noise memory: the
// noise of each model's last draw for it (index in ModelIDs).
type convNoise struct {
	z [4][]float32
}

var _ sampler.Sampler = (*Bundle)(nil)

// Open loads and checks a bundle; seed seeds the generators' noise.
func Open(dir string, seed uint64, opt tf.SessionOptions) (*Bundle, error) {
	m, raw, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	files := map[string]*tf.File{}
	for _, id := range ModelIDs {
		mm := m.Models[id]
		path := filepath.Join(dir, mm.Weights)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("bundle: model %s: %w", id, err)
		}
		if s := sha256.Sum256(data); hex.EncodeToString(s[:]) != mm.WeightsSHA256 {
			return nil, fmt.Errorf("bundle: %s: checksum does not match the manifest (corrupt or replaced file)", path)
		}
		if files[id], err = tf.Decode(path, data); err != nil {
			return nil, fmt.Errorf("bundle: model %s: %w", id, err)
		}
	}
	sum := sha256.Sum256(raw)
	b, err := FromFiles(m, files, seed, opt)
	if err != nil {
		return nil, fmt.Errorf("%w (bundle %s)", err, dir)
	}
	b.Dir, b.fp = dir, hex.EncodeToString(sum[:])
	return b, nil
}

// FromFiles builds a bundle in memory from a manifest's models and their
// weights, one file per model ID (training uses it to score candidate
// weights before it writes anything). The manifest is not checked and the
// bundle has no directory or fingerprint.
func FromFiles(m *Manifest, files map[string]*tf.File, seed uint64, opt tf.SessionOptions) (*Bundle, error) {
	b := &Bundle{Manifest: m, gens: map[string]*graphs.Generator{}, scalers: map[string]*Model{}, conds: map[string]*scaleCache{}, sets: map[string]*features.Set{},
		rng: rand.New(rand.NewPCG(seed, 0xb0d1e))}
	for _, id := range ModelIDs {
		mm, ok := m.Models[id]
		f := files[id]
		if !ok || f == nil {
			b.Close()
			return nil, fmt.Errorf("bundle: model %s missing", id)
		}
		set, err := mm.Config.FeatureSet()
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("bundle: model %s: %w", id, err)
		}
		g, err := graphs.NewGenerator(mm.Config, len(mm.Config.Cond), f, opt)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("bundle: model %s (%s): %w", id, mm.Weights, err)
		}
		b.gens[id] = g
		b.sets[id] = set
		mc := mm
		b.scalers[id] = &mc
		b.conds[id] = newScaleCache(&mc.Cond, len(mm.Config.Cond))
	}
	if nm := m.NoiseMemory; nm != nil {
		b.memory = [2]float64{nm.Packet, nm.Burst}
	}
	return b, nil
}

// NoiseMemory returns the noise memory of the packet and burst models
// (Manifest.NoiseMemory): 0, 0 without one.
func (b *Bundle) NoiseMemory() (packet, burst float64) { return b.memory[0], b.memory[1] }

// Close releases every generator. It is safe to call twice.
func (b *Bundle) Close() error {
	var first error
	for id, g := range b.gens {
		if err := g.Close(); err != nil && first == nil {
			first = err
		}
		delete(b.gens, id)
	}
	return first
}

// Fingerprint identifies the bundle (SHA-256 of its manifest, which holds
// every weights file's checksum).
func (b *Bundle) Fingerprint() string { return b.fp }

// Name implements sampler.Sampler.
func (b *Bundle) Name() string { return "gan" }

// generate runs model id on n rows of raw condition features (n x k,
// row-major, in raw units) and returns n x 2 network-space outputs. Row r
// is drawn for convs[rows[r][0]], or for convs[r] when rows is nil; a
// conversation's rows come in the order it draws them (its noise memory
// runs through them in that order).
func (b *Bundle) generate(id string, raw []float64, n int, convs []*sampler.Conv, rows [][2]int) ([]float32, *Model, error) {
	g, ok := b.gens[id]
	if !ok {
		return nil, nil, fmt.Errorf("bundle: model %s is not loaded (bundle closed?)", id)
	}
	m := b.scalers[id]
	k, zd := g.CondDim, g.Cfg.ZDim
	if cap(b.cbuf) < n*k {
		b.cbuf = make([]float32, n*k)
	}
	if cap(b.z) < n*zd {
		b.z = make([]float32, n*zd)
	}
	c, z := b.cbuf[:n*k], b.z[:n*zd]
	sc := b.conds[id]
	for i := 0; i < n; i++ {
		sc.condTo(c[i*k:(i+1)*k], raw[i*k:(i+1)*k])
	}
	if err := b.noise(z, id, zd, convs, rows); err != nil {
		return nil, nil, err
	}
	out, err := g.Generate(b.out, c, z)
	if err != nil {
		return nil, nil, fmt.Errorf("bundle: model %s: %w", id, err)
	}
	b.out = out
	if b.tap != nil {
		b.tap(id, out[:2*n], raw[:n*k], k)
	}
	return out, m, nil
}

// TurnsTo implements sampler.Sampler with side's TSynGAN.
func (b *Bundle) TurnsTo(out []sampler.Turn, side trace.Side, convs []*sampler.Conv) error {
	if err := sampler.CheckBatch(len(out), len(convs), side); err != nil {
		return err
	}
	if len(convs) == 0 {
		return nil
	}
	id := ModelID(side, graphs.Burst)
	set := b.sets[id]
	k := set.Len()
	b.raw = grow(b.raw, len(convs)*k)
	for i, c := range convs {
		set.To(b.raw[i*k:(i+1)*k], &features.Ctx{H: &c.H, Side: side})
	}
	gen, m, err := b.generate(id, b.raw, len(convs), convs, nil)
	if err != nil {
		return err
	}
	for i := range out {
		cnt, gap := m.Target.ValidCond(graphs.Burst, gen[2*i], gen[2*i+1], b.raw[i*k:(i+1)*k])
		out[i] = sampler.Turn{Count: int(cnt), GapNS: int64(gap * 1000)}
	}
	return nil
}

// BurstsTo implements sampler.Sampler with side's PSynGAN: one generator
// call for every packet of every burst when the packet model's condition
// does not read earlier packets of the burst, else one call per packet
// position (batched across the conversations).
func (b *Bundle) BurstsTo(out [][]sampler.Pkt, side trace.Side, convs []*sampler.Conv) error {
	return b.BurstsFrom(out, nil, side, convs)
}

// Stepwise implements sampler.Stepper: side's packet model reads the
// earlier packets of its burst.
func (b *Bundle) Stepwise(side trace.Side) bool {
	set := b.sets[ModelID(side, graphs.Packet)]
	return set != nil && set.Sequential()
}

// BurstsFrom implements sampler.Stepper: as BurstsTo, for the positions
// from[i] on of out[i] (from nil: all of them).
func (b *Bundle) BurstsFrom(out [][]sampler.Pkt, from []int, side trace.Side, convs []*sampler.Conv) error {
	if err := sampler.CheckBatch(len(out), len(convs), side); err != nil {
		return err
	}
	if from != nil && len(from) != len(out) {
		return fmt.Errorf("bundle: %d starting positions for %d bursts", len(from), len(out))
	}
	first := func(i int) int {
		if from == nil {
			return 0
		}
		return from[i]
	}
	id := ModelID(side, graphs.Packet)
	set := b.sets[id]
	k := set.Len()
	minPos, maxN, total := math.MaxInt, 0, 0
	for i, o := range out {
		f := first(i)
		if f < 0 || f > len(o) {
			return fmt.Errorf("bundle: conversation %d: starting position %d outside its %d packets", convs[i].ID, f, len(o))
		}
		maxN = max(maxN, len(o))
		total += len(o) - f
		if f < len(o) {
			minPos = min(minPos, f)
		}
	}
	if total == 0 {
		return nil
	}
	// rows collects (conversation, position) pairs drawn in one call.
	draw := func(rows [][2]int) error {
		b.raw = grow(b.raw, len(rows)*k)
		for r, cp := range rows {
			c, pos := convs[cp[0]], cp[1]
			_, turn, _ := c.H.Open()
			ctx := features.Ctx{H: &c.H, Side: side, Turn: turn, Drawn: out[cp[0]][:pos]}
			set.To(b.raw[r*k:(r+1)*k], &ctx)
		}
		gen, m, err := b.generate(id, b.raw, len(rows), convs, rows)
		if err != nil {
			return err
		}
		for r, cp := range rows {
			size, dt := m.Target.ValidCond(graphs.Packet, gen[2*r], gen[2*r+1], b.raw[r*k:(r+1)*k])
			dtNS := int64(dt * 1000)
			if cp[1] == 0 {
				// A burst's first packet comes after the reply gap the
				// turn drew (sampler.Pkt), 0 for the opening burst; the
				// packet model's own draw of that time is never sent,
				// and the next packet's condition (last_dt_us) must read
				// the gap, as in training.
				h := &convs[cp[0]].H
				_, turn, _ := h.Open()
				dtNS = max(turn.GapNS, 0)
				if h.Empty() {
					dtNS = 0
				}
			}
			out[cp[0]][cp[1]] = sampler.Pkt{Size: int32(size), DtNS: dtNS}
		}
		return nil
	}
	b.rows = b.rows[:0]
	if !set.Sequential() {
		for i, o := range out {
			for pos := first(i); pos < len(o); pos++ {
				b.rows = append(b.rows, [2]int{i, pos})
			}
		}
		return draw(b.rows)
	}
	for pos := minPos; pos < maxN; pos++ {
		b.rows = b.rows[:0]
		for i, o := range out {
			if pos >= first(i) && pos < len(o) {
				b.rows = append(b.rows, [2]int{i, pos})
			}
		}
		if len(b.rows) == 0 {
			continue // between the ranges of the batch's conversations
		}
		if err := draw(b.rows); err != nil {
			return err
		}
	}
	return nil
}

// SetTap makes every draw hand model id's network-space outputs (n x 2,
// before calibration) and raw conditions (n x k) to f, which must not keep
// the slices: training refits calibrations from what the bundle draws
// closed loop (train --calib-closed-loop). nil removes it.
func (b *Bundle) SetTap(f func(id string, gen []float32, raw []float64, k int)) { b.tap = f }

// noiseTo fills z with standard normal noise from the bundle's seeded
// generator.
func (b *Bundle) noiseTo(z []float32) {
	for i := range z {
		z[i] = float32(b.rng.NormFloat64())
	}
}

// noise fills z (rows of zd; row r for convs[rows[r][0]], or convs[r]
// when rows is nil) with model id's noise: fresh, or, under a
// noise memory rho, rho times the noise of the conversation's previous
// draw of the model plus sqrt(1-rho^2) times fresh noise (the first draw
// of a conversation is fresh). Without a memory it is noiseTo, draw for
// draw, so a bundle without one generates what it did before.
func (b *Bundle) noise(z []float32, id string, zd int, convs []*sampler.Conv, rows [][2]int) error {
	_, kind, err := ModelKind(id)
	if err != nil {
		return err
	}
	rho := b.memory[0]
	if kind == graphs.Burst {
		rho = b.memory[1]
	}
	if rho == 0 {
		b.noiseTo(z)
		return nil
	}
	mi := slices.Index(ModelIDs, id)
	fresh := math.Sqrt(1 - rho*rho)
	for r := 0; r*zd < len(z); r++ {
		c := convs[r]
		if rows != nil {
			c = convs[rows[r][0]]
		}
		st, ok := c.State.(*convNoise)
		if !ok {
			if c.State != nil {
				return fmt.Errorf("bundle: conversation %d holds another sampler's state (%T)", c.ID, c.State)
			}
			st = &convNoise{}
			c.State = st
		}
		zr := z[r*zd : (r+1)*zd]
		prev := st.z[mi]
		if prev == nil {
			b.noiseTo(zr)
			st.z[mi] = slices.Clone(zr)
			continue
		}
		for j := range zr {
			v := rho*float64(prev[j]) + fresh*b.rng.NormFloat64()
			zr[j], prev[j] = float32(v), float32(v)
		}
	}
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// FLOPs returns the forward FLOPs per generated row of model id.
func (b *Bundle) FLOPs(id string) float64 {
	if g, ok := b.gens[id]; ok {
		return g.FLOPs()
	}
	return 0
}

var _ sampler.Fingerprinter = (*Bundle)(nil)
