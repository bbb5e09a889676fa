// Package train trains SPATGAN's four conditional WGAN-GP models (server and
// client, packet and burst) on a conversation from the trace package and
// writes a model bundle.
//
// Protocol: the conversation is split in time (trace.SplitAt at TrainFrac)
// into a training part and a held-out test part that training never reads.
// The training part is split again: its last ValFrac of the whole duration
// is the validation part, the rest fits the networks and the normalisation
// statistics. Every EvalEvery generator steps each model generates rows for
// the validation part's conditions and is scored against its rows (KS per
// target, classifier two-sample test); the weights with the best validation
// score are the ones the bundle keeps. Evaluating the bundle on the test part
// (spatgan bench fidelity) is then free of selection bias.
//
// Reproducibility: each model has its own PCG random source derived from the
// seed, which draws the batch indices, the noise and the interpolation
// weights; its state is saved in checkpoints, so a resumed run draws what an
// uninterrupted one would have.
package train

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/internal/progress"
	"github.com/spatgan/spatgan/metrics"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
)

// Options configure a training run.
type Options struct {
	Conv      *trace.Conversation
	TrainFrac float64                  // time fraction of the training part; the rest is the test part (default 0.8)
	ValFrac   float64                  // time fraction, of the whole, at the end of the training part used for validation (default 0.1)
	Configs   map[string]graphs.Config // by bundle.ModelIDs
	Seed      uint64
	Out       string // bundle directory; checkpoints go to Out/checkpoints

	LogEvery        int // generator steps between loss-log rows (default 100)
	EvalEvery       int // generator steps between validation checks (default 500)
	CheckpointEvery int // generator steps between checkpoints (default 500)
	EvalRows        int // validation rows per check (default 2000)
	Resume          bool
	Parallel        int // models trained at once (default: number of CPUs, at most 4)

	Progress io.Writer // progress bar; nil for none
}

func (o *Options) defaults() {
	if o.TrainFrac == 0 {
		o.TrainFrac = 0.8
	}
	if o.ValFrac == 0 {
		o.ValFrac = 0.1
	}
	if o.LogEvery <= 0 {
		o.LogEvery = 100
	}
	if o.EvalEvery <= 0 {
		o.EvalEvery = 500
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 500
	}
	if o.EvalRows <= 0 {
		o.EvalRows = 2000
	}
	if o.Parallel <= 0 {
		o.Parallel = min(runtime.NumCPU(), len(bundle.ModelIDs))
	}
}

// Result summarises a run.
type Result struct {
	Manifest *bundle.Manifest
	Train    *trace.Conversation
	Test     *trace.Conversation
	Elapsed  time.Duration
	GenSteps int64 // generator steps run in this invocation, all models
}

// model is one model's training state.
type model struct {
	id       string
	side     trace.Side
	cfg      graphs.Config
	train    *graphs.Dataset
	val      *graphs.Dataset // validation rows, scaled with the fit part's statistics
	valRaw   *graphs.Raw
	wgan     *graphs.WGAN
	pcg      *rand.PCG
	rng      *rand.Rand
	best     float64
	bestStep int64
	bestFile *tf.File
	lastEval map[string]any
	ema      *ema // nil unless the configuration averages the generator's weights
}

// Run trains the four models and writes the bundle.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	start := time.Now()
	if o.Conv == nil {
		return nil, errors.New("train: no conversation")
	}
	if o.Out == "" {
		return nil, errors.New("train: no output directory")
	}
	trainConv, testConv, err := o.Conv.SplitAt(o.TrainFrac)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if !(o.ValFrac > 0 && o.ValFrac < o.TrainFrac) {
		return nil, fmt.Errorf("train: validation fraction %v must be in (0, %v)", o.ValFrac, o.TrainFrac)
	}
	fitConv, valConv, err := trainConv.SplitAt(1 - o.ValFrac/o.TrainFrac)
	if err != nil {
		return nil, fmt.Errorf("train: validation split: %w", err)
	}
	ckdir := filepath.Join(o.Out, "checkpoints")
	if err := os.MkdirAll(ckdir, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	threads := max(1, runtime.NumCPU()/o.Parallel)
	models := make([]*model, 0, len(bundle.ModelIDs))
	defer func() {
		for _, m := range models {
			if m.wgan != nil {
				m.wgan.Close()
			}
		}
	}()
	for i, id := range bundle.ModelIDs {
		side, kind, _ := bundle.ModelKind(id)
		cfg, ok := o.Configs[id]
		if !ok {
			return nil, fmt.Errorf("train: no configuration for model %s", id)
		}
		if cfg.Kind != kind {
			return nil, fmt.Errorf("train: model %s configured as kind %q", id, cfg.Kind)
		}
		m, err := newModel(id, side, cfg, fitConv, valConv, o.Seed, uint64(i), threads)
		if err != nil {
			return nil, err
		}
		models = append(models, m)
	}
	logPath := filepath.Join(o.Out, "loss.csv")
	var total, done int64
	for _, m := range models {
		total += int64(m.cfg.Steps)
		if o.Resume {
			if err := m.restore(ckdir); err != nil {
				return nil, err
			}
			g, _ := m.wgan.Steps()
			done += g
		}
	}
	lg, err := openLossLog(logPath, o.Resume, models)
	if err != nil {
		return nil, err
	}
	defer lg.Close()
	var bar *progress.Bar
	if o.Progress != nil {
		bar = progress.New(o.Progress, "train", total, "steps")
		bar.SetDone(done)
	}
	var ran int64
	var mu sync.Mutex
	errs := make(chan error, len(models))
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for _, m := range models {
		wg.Add(1)
		go func(m *model) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			n, err := m.run(ctx, o, ckdir, lg, bar)
			mu.Lock()
			ran += n
			mu.Unlock()
			if err != nil {
				errs <- fmt.Errorf("train: model %s: %w", m.id, err)
			}
		}(m)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if bar != nil {
		bar.Finish()
	}
	man, err := writeBundle(o, models, trainConv)
	if err != nil {
		return nil, err
	}
	return &Result{Manifest: man, Train: trainConv, Test: testConv, Elapsed: time.Since(start), GenSteps: ran}, nil
}

func newModel(id string, side trace.Side, cfg graphs.Config, fitConv, valConv *trace.Conversation, seed, index uint64, threads int) (*model, error) {
	raw, err := graphs.RawRows(cfg, fitConv, side)
	if err != nil {
		return nil, err
	}
	ds, err := graphs.NewDataset(cfg, raw)
	if err != nil {
		return nil, fmt.Errorf("train: model %s: %w", id, err)
	}
	valRaw, err := graphs.RawRows(cfg, valConv, side)
	if err != nil {
		return nil, err
	}
	if len(valRaw.X[0]) < 10 {
		return nil, fmt.Errorf("train: model %s: only %d validation rows; give a longer conversation or a larger --val-frac", id, len(valRaw.X[0]))
	}
	val, err := ds.Apply(valRaw)
	if err != nil {
		return nil, fmt.Errorf("train: model %s validation rows: %w", id, err)
	}
	w, err := graphs.NewWGAN(cfg, ds.CondDim(), seed*4+index, tf.SessionOptions{IntraOpThreads: threads, InterOpThreads: 1})
	if err != nil {
		return nil, fmt.Errorf("train: model %s: %w", id, err)
	}
	pcg := rand.NewPCG(seed, 1000+index)
	m := &model{id: id, side: side, cfg: cfg, train: ds, val: val, valRaw: valRaw, wgan: w,
		pcg: pcg, rng: rand.New(pcg), best: math.Inf(1)}
	if cfg.EMA > 0 {
		m.ema = &ema{decay: cfg.EMA}
	}
	return m, nil
}

// batch fills x, c, z and eps with a random batch.
func (m *model) batch(x, c, z, eps []float32) {
	k := m.train.CondDim()
	n := len(eps)
	for i := 0; i < n; i++ {
		r := m.rng.IntN(m.train.N)
		copy(x[2*i:2*i+2], m.train.X[2*r:2*r+2])
		copy(c[k*i:k*i+k], m.train.C[k*r:k*r+k])
		eps[i] = float32(m.rng.Float64())
	}
	for i := range z {
		z[i] = float32(m.rng.NormFloat64())
	}
}

// run trains the model to its configured number of steps and returns the
// generator steps run.
func (m *model) run(ctx context.Context, o Options, ckdir string, lg *lossLog, bar *progress.Bar) (int64, error) {
	cfg := m.cfg
	k := m.train.CondDim()
	x := make([]float32, 2*cfg.Batch)
	c := make([]float32, k*cfg.Batch)
	z := make([]float32, cfg.ZDim*cfg.Batch)
	eps := make([]float32, cfg.Batch)
	gen, crit := m.wgan.Steps()
	var st graphs.CriticStats
	var err error
	for crit < int64(cfg.Pretrain) && gen == 0 {
		m.batch(x, c, z, eps)
		if st, err = m.wgan.CriticStep(x, c, z, eps); err != nil {
			return 0, err
		}
		crit++
	}
	var ran int64
	for gen < int64(cfg.Steps) {
		if err := ctx.Err(); err != nil {
			return ran, err
		}
		for i := 0; i < cfg.CriticIters; i++ {
			m.batch(x, c, z, eps)
			if st, err = m.wgan.CriticStep(x, c, z, eps); err != nil {
				return ran, err
			}
		}
		m.batch(x, c, z, eps)
		gl, err := m.wgan.GenStep(c, z)
		if err != nil {
			return ran, err
		}
		gen++
		ran++
		if math.IsNaN(float64(gl)) || math.IsNaN(float64(st.Wasserstein)) {
			return ran, fmt.Errorf("losses became NaN at generator step %d", gen)
		}
		if m.ema != nil && gen%emaEvery == 0 {
			if err := m.ema.update(m); err != nil {
				return ran, err
			}
		}
		row := lossRow{model: m.id, step: gen, g: gl, st: st}
		if gen%int64(o.EvalEvery) == 0 || gen == int64(cfg.Steps) {
			var ks, acc float64
			eval := func() (err error) { ks, acc, err = m.evaluate(o.EvalRows); return err }
			if m.ema != nil {
				err = m.ema.with(m, eval)
			} else {
				err = eval()
			}
			if err != nil {
				return ran, err
			}
			row.ks, row.c2st, row.evaluated = ks, acc, true
			score := ks + math.Max(0, acc-0.5)
			if score < m.best {
				meta := map[string]string{"step": strconv.FormatInt(gen, 10)}
				var f *tf.File
				if m.ema != nil && m.ema.avg != nil {
					f = m.ema.snapshot(meta)
				} else if f, err = m.wgan.Session().Snapshot(m.wgan.GeneratorVariables(), meta); err != nil {
					return ran, err
				}
				m.best, m.bestStep, m.bestFile = score, gen, f
				m.lastEval = map[string]any{"step": gen, "ks_mean": ks, "c2st_accuracy": acc, "score": score}
				if err := tf.WriteFile(filepath.Join(ckdir, m.id+".best"), f); err != nil {
					return ran, err
				}
			}
		}
		if gen%int64(o.LogEvery) == 0 || row.evaluated || gen == int64(cfg.Steps) {
			if err := lg.write(row); err != nil {
				return ran, err
			}
		}
		if gen%int64(o.CheckpointEvery) == 0 || gen == int64(cfg.Steps) {
			if err := m.checkpoint(ckdir); err != nil {
				return ran, err
			}
		}
		if bar != nil {
			bar.Add(1, fmt.Sprintf("%s G %.3f W %.3f GP %.3f", m.id, gl, st.Wasserstein, st.Penalty))
		}
	}
	return ran, nil
}

// evaluate generates rows for up to n validation conditions and returns the
// mean KS of the two targets (raw units, valid range) and the accuracy of a
// classifier two-sample test on (targets, condition) rows in network space.
func (m *model) evaluate(n int) (ks, acc float64, err error) {
	n = min(n, m.val.N)
	k := m.val.CondDim()
	// Evaluate on the first n validation rows in time: deterministic.
	c := m.val.C[:n*k]
	z := make([]float32, n*m.cfg.ZDim)
	erng := rand.New(rand.NewPCG(7, 7)) // fixed noise: scores comparable across steps
	for i := range z {
		z[i] = float32(erng.NormFloat64())
	}
	out, err := m.wgan.Generate(nil, c, z)
	if err != nil {
		return 0, 0, err
	}
	var syn [2][]float64
	realRows := make([][]float64, n)
	synRows := make([][]float64, n)
	for i := 0; i < n; i++ {
		a, b := m.val.Target.Valid(m.cfg.Kind, out[2*i], out[2*i+1])
		syn[0] = append(syn[0], a)
		syn[1] = append(syn[1], b)
		// Both classes in float64 from raw values: the float32 network inputs
		// differ from float64 in the low bits, which a tree can split on
		// when a feature has few distinct values (burst counts).
		rr := []float64{m.val.Target.Forward(0, m.valRaw.X[0][i]), m.val.Target.Forward(1, m.valRaw.X[1][i])}
		sr := []float64{m.val.Target.Forward(0, a), m.val.Target.Forward(1, b)}
		for j := 0; j < k; j++ {
			rr = append(rr, float64(c[i*k+j]))
			sr = append(sr, float64(c[i*k+j]))
		}
		realRows[i], synRows[i] = rr, sr
	}
	ks = (metrics.KS(m.valRaw.X[0][:n], syn[0]) + metrics.KS(m.valRaw.X[1][:n], syn[1])) / 2
	res, err := metrics.C2ST(realRows, synRows, metrics.C2STConfig{Seed: 1})
	if err != nil {
		return 0, 0, err
	}
	return ks, res.Accuracy, nil
}

// checkpoint saves the whole training state atomically.
func (m *model) checkpoint(dir string) error {
	gen, crit := m.wgan.Steps()
	state, err := m.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	meta := map[string]string{
		"model": m.id, "gen_step": strconv.FormatInt(gen, 10), "critic_step": strconv.FormatInt(crit, 10),
		"rng":  base64.StdEncoding.EncodeToString(state),
		"best": strconv.FormatFloat(m.best, 'g', -1, 64), "best_step": strconv.FormatInt(m.bestStep, 10),
	}
	if err := m.saveEMA(dir); err != nil {
		return err
	}
	return m.wgan.Session().Save(filepath.Join(dir, m.id+".ckpt"), m.wgan.AllVariables(), meta)
}

// restore loads the model's checkpoint, if there is one.
func (m *model) restore(dir string) error {
	path := filepath.Join(dir, m.id+".ckpt")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil // nothing to resume: start from scratch
	}
	meta, err := m.wgan.Session().Load(path, m.wgan.AllVariables())
	if err != nil {
		return fmt.Errorf("train: resume %s: %w", m.id, err)
	}
	bad := func(field string) error {
		return fmt.Errorf("train: resume: %s: bad %s in checkpoint metadata", path, field)
	}
	gen, err := strconv.ParseInt(meta["gen_step"], 10, 64)
	if err != nil {
		return bad("gen_step")
	}
	crit, err := strconv.ParseInt(meta["critic_step"], 10, 64)
	if err != nil {
		return bad("critic_step")
	}
	state, err := base64.StdEncoding.DecodeString(meta["rng"])
	if err != nil || m.pcg.UnmarshalBinary(state) != nil {
		return bad("rng")
	}
	if m.best, err = strconv.ParseFloat(meta["best"], 64); err != nil {
		return bad("best")
	}
	if m.bestStep, err = strconv.ParseInt(meta["best_step"], 10, 64); err != nil {
		return bad("best_step")
	}
	if m.bestStep > 0 {
		f, err := tf.ReadFile(filepath.Join(dir, m.id+".best"))
		if err != nil {
			return fmt.Errorf("train: resume %s: %w", m.id, err)
		}
		m.bestFile = f
	}
	m.wgan.SetSteps(gen, crit)
	return m.restoreEMA(dir)
}

func writeBundle(o Options, models []*model, trainConv *trace.Conversation) (*bundle.Manifest, error) {
	minSize, maxSize := int32(math.MaxInt32), int32(0)
	for _, p := range trainConv.Packets {
		minSize, maxSize = min(minSize, p.Size), max(maxSize, p.Size)
	}
	first := ""
	if len(o.Conv.Packets) > 0 {
		first = o.Conv.Packets[0].From.String()
	}
	man := &bundle.Manifest{
		TFVersion: tf.Version(), Created: time.Now().UTC().Format(time.RFC3339), Seed: o.Seed,
		Trace: bundle.TraceInfo{
			Source: o.Conv.Source, Server: o.Conv.Server.String(), Client: o.Conv.Client.String(), Proto: o.Conv.Proto,
			Packets: len(o.Conv.Packets), TrainFrac: o.TrainFrac, ValFrac: o.ValFrac, TrainSHA256: bundle.Fingerprint(trainConv.Packets),
			MinSize: minSize, MaxSize: maxSize, FirstSide: first,
		},
		Models: map[string]bundle.Model{},
	}
	for _, m := range models {
		f := m.bestFile
		sel := m.bestStep
		gen, _ := m.wgan.Steps()
		if f == nil {
			var err error
			if m.ema != nil && m.ema.avg != nil {
				f = m.ema.snapshot(nil)
			} else if f, err = m.wgan.Session().Snapshot(m.wgan.GeneratorVariables(), nil); err != nil {
				return nil, err
			}
			sel = gen
		}
		name, sum, err := bundle.WriteModel(o.Out, m.id, f)
		if err != nil {
			return nil, err
		}
		man.Models[m.id] = bundle.Model{Config: m.cfg, Target: m.train.Target, Cond: m.train.Cond,
			Weights: name, WeightsSHA256: sum, Steps: gen, SelectedStep: sel, Validation: m.lastEval}
	}
	if err := bundle.WriteManifest(o.Out, man); err != nil {
		return nil, err
	}
	return man, nil
}
