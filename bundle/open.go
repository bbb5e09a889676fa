package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

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
	rng      *rand.Rand
	fp       string
	cbuf, z  []float32
	out      []float32
}

var _ sampler.Sampler = (*Bundle)(nil)

// Open loads and checks a bundle; seed seeds the generators' noise.
func Open(dir string, seed uint64, opt tf.SessionOptions) (*Bundle, error) {
	m, raw, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	b := &Bundle{Dir: dir, Manifest: m, gens: map[string]*graphs.Generator{}, scalers: map[string]*Model{},
		rng: rand.New(rand.NewPCG(seed, 0xb0d1e)), fp: hex.EncodeToString(sum[:])}
	for _, id := range ModelIDs {
		mm := m.Models[id]
		path := filepath.Join(dir, mm.Weights)
		data, err := os.ReadFile(path)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("bundle: model %s: %w", id, err)
		}
		if s := sha256.Sum256(data); hex.EncodeToString(s[:]) != mm.WeightsSHA256 {
			b.Close()
			return nil, fmt.Errorf("bundle: %s: checksum does not match the manifest (corrupt or replaced file)", path)
		}
		f, err := tf.Decode(path, data)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("bundle: model %s: %w", id, err)
		}
		g, err := graphs.NewGenerator(mm.Config, len(mm.Config.Cond), f, opt)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("bundle: model %s (%s): %w", id, path, err)
		}
		b.gens[id] = g
		mc := mm
		b.scalers[id] = &mc
	}
	return b, nil
}

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

// generate runs model id for conds and returns rows x 2 valid raw values.
func (b *Bundle) generate(id string, conds []trace.Cond) ([]float32, *Model, error) {
	g, ok := b.gens[id]
	if !ok {
		return nil, nil, fmt.Errorf("bundle: model %s is not loaded (bundle closed?)", id)
	}
	m := b.scalers[id]
	k, zd, n := g.CondDim, g.Cfg.ZDim, len(conds)
	if cap(b.cbuf) < n*k {
		b.cbuf = make([]float32, n*k)
	}
	if cap(b.z) < n*zd {
		b.z = make([]float32, n*zd)
	}
	c, z := b.cbuf[:n*k], b.z[:n*zd]
	for i, cd := range conds {
		m.Cond.CondVector(c[i*k:(i+1)*k], cd)
	}
	for i := range z {
		z[i] = float32(b.rng.NormFloat64())
	}
	out, err := g.Generate(b.out, c, z)
	if err != nil {
		return nil, nil, fmt.Errorf("bundle: model %s: %w", id, err)
	}
	b.out = out
	return out, m, nil
}

// TurnsTo implements sampler.Sampler with side's TSynGAN.
func (b *Bundle) TurnsTo(out []sampler.Turn, side trace.Side, conds []trace.Cond) error {
	if len(out) != len(conds) {
		return fmt.Errorf("bundle: %d outputs for %d conditions", len(out), len(conds))
	}
	if len(conds) == 0 {
		return nil
	}
	raw, m, err := b.generate(ModelID(side, graphs.Burst), conds)
	if err != nil {
		return err
	}
	for i := range out {
		cnt, gap := m.Target.Valid(graphs.Burst, raw[2*i], raw[2*i+1])
		out[i] = sampler.Turn{Count: int(cnt), GapNS: int64(gap * 1000)}
	}
	return nil
}

// PacketsTo implements sampler.Sampler with side's PSynGAN.
func (b *Bundle) PacketsTo(out []sampler.Pkt, side trace.Side, conds []trace.Cond) error {
	if len(out) != len(conds) {
		return fmt.Errorf("bundle: %d outputs for %d conditions", len(out), len(conds))
	}
	if len(conds) == 0 {
		return nil
	}
	raw, m, err := b.generate(ModelID(side, graphs.Packet), conds)
	if err != nil {
		return err
	}
	for i := range out {
		size, dt := m.Target.Valid(graphs.Packet, raw[2*i], raw[2*i+1])
		out[i] = sampler.Pkt{Size: int32(size), DtNS: int64(dt * 1000)}
	}
	return nil
}

// FLOPs returns the forward FLOPs per generated row of model id.
func (b *Bundle) FLOPs(id string) float64 {
	if g, ok := b.gens[id]; ok {
		return g.FLOPs()
	}
	return 0
}

var _ sampler.CondUser = (*Bundle)(nil)
var _ sampler.Fingerprinter = (*Bundle)(nil)

// CondUse reports which condition features the burst and packet models read,
// so callers can batch a whole burst's packets in one call when PrevSize is
// not among them.
func (b *Bundle) CondUse() (turns, packets sampler.CondUse) {
	use := func(names []string) sampler.CondUse {
		var u sampler.CondUse
		for _, n := range names {
			for i, cn := range trace.CondNames {
				if cn == n {
					u |= 1 << i
				}
			}
		}
		return u
	}
	for _, id := range ModelIDs {
		_, kind, _ := ModelKind(id)
		u := use(b.Manifest.Models[id].Config.Cond)
		if kind == graphs.Burst {
			turns |= u
		} else {
			packets |= u
		}
	}
	return turns, packets
}
