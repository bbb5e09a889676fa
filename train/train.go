package train

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/bundle/layout"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/internal/progress"
	"github.com/spatgan/spatgan/metrics"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
)

// Options configure a training run.
type Options struct {
	Conv      *trace.Conversation
	TrainFrac float64                  // time fraction of the training part; the rest is the test part (default trace.DefaultTrainFrac)
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
	// Select is how the kept weights are chosen among the validation
	// steps: SelectOpenLoop or SelectClosedLoop (default SelectOpenLoop).
	Select string
	// CandidatesDir, with SelectClosedLoop, also receives every candidate
	// as a bundle (CandidatesDir/open-loop, CandidatesDir/step-N), to study
	// the selection; empty for none.
	CandidatesDir string
	// CalibDamp is the damping of the time's calibration
	// (graphs.Calib.Damp) of every calibrated model: a number in [0, 1]
	// fixes it ("" is 0: the full calibration, what bundles before version
	// 7 apply); DampAuto chooses it closed loop among DampGrid on the
	// validation part (tried as the default and rejected: BENCHMARKS.md,
	// "Sixth round").
	CalibDamp string
	// NoiseMemory is the generators' noise memory (bundle.NoiseMemory):
	// "" or "0" for none (fresh noise for every draw), a number for the
	// packet models' memory ("P") or the packet and burst models' ("P,B"),
	// each in [0, bundle.MaxNoiseMemory], or MemoryAuto to choose it
	// closed loop among MemoryGrid on the validation part.
	NoiseMemory string
	// CalibLoop refits the calibrations closed loop after training
	// (calibLoop): CalibLoopNone ("" too), CalibLoopPooled or
	// CalibLoopPos. Not with a calibration damping. CalibLoopRounds and
	// CalibLoopStep are its schedule (0: DefaultCalibLoopRounds,
	// DefaultCalibLoopStep).
	CalibLoop       string
	CalibLoopRounds int
	CalibLoopStep   float64

	Progress io.Writer // progress bar; nil for none

	// afterStep, if set, is called after every generator step (tests).
	afterStep func(id string, gen int64)
}

func (o *Options) defaults() {
	if o.TrainFrac == 0 {
		o.TrainFrac = trace.DefaultTrainFrac
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
	if o.Select == "" {
		o.Select = SelectOpenLoop
	}
}

// Result summarises a run.
type Result struct {
	Manifest *bundle.Manifest
	Train    *trace.Conversation
	Test     *trace.Conversation
	Elapsed  time.Duration
	GenSteps int64 // generator steps run in this invocation, all models
	// UpToDate is true when a resume found nothing left to train and the
	// bundle in Out already matched the checkpoints: nothing was written.
	UpToDate bool
	// Selection is the closed-loop selection's candidates (nil with
	// SelectOpenLoop), as in the manifest.
	Selection *bundle.Selection
}

// CheckpointFormat is the version of the checkpoint metadata; version 2
// added the identity (training data, configuration, seed) and the kept
// weights with their validation scores.
const CheckpointFormat = "2"

// identity is what a checkpoint must match to be resumed.
type identity struct {
	trainSHA  string // bundle.Fingerprint of the training part
	configSHA string // ConfigHash
	seed      uint64
	source    string // the conversation's source, for messages only
}

// ConfigHash returns the SHA-256 (hex) of everything besides the data and
// the seed that determines the trained weights: the four configurations
// (except Steps, so that a resume may extend training, and Calibrate,
// which is fitted after training and does not change the weights), the split
// fractions and the validation settings. o's zero fields count as their
// defaults.
func ConfigHash(o Options) string {
	o.defaults()
	var v struct {
		Models              []graphs.Config
		TrainFrac, ValFrac  float64
		EvalEvery, EvalRows int
		Select              string `json:",omitempty"`
	}
	for _, id := range bundle.ModelIDs {
		c := o.Configs[id]
		c.Steps, c.Calibrate = 0, false
		v.Models = append(v.Models, c)
	}
	v.TrainFrac, v.ValFrac, v.EvalEvery, v.EvalRows = o.TrainFrac, o.ValFrac, o.EvalEvery, o.EvalRows
	if o.Select != SelectOpenLoop {
		// The closed-loop selection keeps every validation step's weights
		// in the checkpoints; an open-loop run's hash is unchanged.
		v.Select = o.Select
	}
	b, _ := json.Marshal(v) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// InterruptedError is returned when the context is cancelled (Ctrl-C):
// every model has checkpointed the step it reached.
type InterruptedError struct {
	Dir   string           // checkpoint directory
	Steps map[string]int64 // generator step checkpointed, by model (absent: not started)
	Err   error            // the context's error
}

func (e *InterruptedError) Error() string {
	ids := append([]string(nil), bundle.ModelIDs...)
	sort.Strings(ids)
	var at, idle []string
	for _, id := range ids {
		if s, ok := e.Steps[id]; ok {
			at = append(at, fmt.Sprintf("%s at step %d", id, s))
		} else {
			idle = append(idle, id)
		}
	}
	held := "no model"
	if len(at) > 0 {
		held = strings.Join(at, ", ")
	}
	if len(idle) > 0 {
		held += " (not started: " + strings.Join(idle, ", ") + ")"
	}
	return fmt.Sprintf("train: interrupted; checkpoints in %s hold %s: run the same command with --resume to continue", e.Dir, held)
}

// Unwrap returns the context's error.
func (e *InterruptedError) Unwrap() error { return e.Err }

// ExitCode is the status a command should exit with (128 + SIGINT).
func (e *InterruptedError) ExitCode() int { return 130 }

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
	lastEval *bundle.Validation
	id0      identity
	saved    [2]int64         // generator and critic steps of the last checkpoint
	ema      *ema             // nil unless the configuration averages the generator's weights
	cands    []cand           // every validation step's weights (closed-loop selection only)
	keepAll  bool             // keep cands
	fitPos   []float64        // the fit part's rows' raw pos feature (nil without it)
	pairs    *graphs.Pairs    // the pair critic's table (Config.Pair; nil without)
	pb       graphs.PairBatch // its batch buffers
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
	if !slices.Contains(SelectModes, o.Select) {
		return nil, fmt.Errorf("train: unknown weight selection %q (known: %s)", o.Select, strings.Join(SelectModes, ", "))
	}
	if o.CandidatesDir != "" && o.Select != SelectClosedLoop {
		return nil, fmt.Errorf("train: candidate bundles come from the closed-loop selection (select %q)", o.Select)
	}
	if _, _, err := o.damping(); err != nil {
		return nil, err
	}
	if mode, err := o.calibLoopMode(); err != nil {
		return nil, err
	} else if _, _, err := o.calibLoopSchedule(); err != nil {
		return nil, err
	} else if auto, fixed, _ := o.damping(); mode != "" && (auto || fixed != 0) {
		return nil, errors.New("train: a closed-loop calibration has no damping (--calib-damp 0 with --calib-closed-loop)")
	}
	if _, _, err := ParseNoiseMemory(o.NoiseMemory); err != nil {
		return nil, err
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
	// Temporary files of atomic writes cut short by a hard kill are
	// garbage: nothing reads them. A run without Resume starts afresh: the
	// checkpoints of an earlier run would only be refused by a later
	// resume of this one.
	for _, pat := range []string{filepath.Join(o.Out, ".*.tmp*"), filepath.Join(ckdir, ".*.tmp*")} {
		stale, _ := filepath.Glob(pat)
		if !o.Resume {
			old, _ := filepath.Glob(filepath.Join(ckdir, "*.ckpt"))
			stale = append(stale, old...)
		}
		for _, p := range stale {
			os.Remove(p)
		}
	}
	id := identity{trainSHA: bundle.Fingerprint(trainConv.Packets), configSHA: ConfigHash(o), seed: o.Seed, source: o.Conv.Source}
	threads := max(1, runtime.NumCPU()/o.Parallel)
	models := make([]*model, 0, len(bundle.ModelIDs))
	defer func() {
		for _, m := range models {
			if m.wgan != nil {
				m.wgan.Close()
			}
		}
	}()
	for i, mid := range bundle.ModelIDs {
		if err := ctx.Err(); err != nil {
			return nil, &InterruptedError{Dir: ckdir, Err: err}
		}
		side, kind, _ := bundle.ModelKind(mid)
		cfg, ok := o.Configs[mid]
		if !ok {
			return nil, fmt.Errorf("train: no configuration for model %s", mid)
		}
		if cfg.Kind != kind {
			return nil, fmt.Errorf("train: model %s configured as kind %q", mid, cfg.Kind)
		}
		m, err := newModel(mid, side, cfg, fitConv, valConv, o.Seed, uint64(i), threads)
		if err != nil {
			return nil, err
		}
		m.id0 = id
		m.keepAll = o.Select == SelectClosedLoop
		models = append(models, m)
	}
	logPath := filepath.Join(o.Out, layout.LossLogName)
	var total, done int64
	finished := true
	for _, m := range models {
		if o.Resume {
			if err := m.restore(ckdir); err != nil {
				return nil, err
			}
			g, _ := m.wgan.Steps()
			done += g
			// A resume may ask for more steps, never for fewer than done.
			m.cfg.Steps = max(m.cfg.Steps, int(g))
			finished = finished && g >= int64(m.cfg.Steps)
		}
		total += int64(m.cfg.Steps)
	}
	if o.Resume && finished {
		if man, ok := upToDate(o, models, id); ok {
			return &Result{Manifest: man, Train: trainConv, Test: testConv, Elapsed: time.Since(start), UpToDate: true}, nil
		}
	}
	upto := map[string]int64{}
	for _, m := range models {
		upto[m.id], _ = m.wgan.Steps()
	}
	lg, err := openLossLog(logPath, o.Resume, upto)
	if err != nil {
		return nil, err
	}
	defer lg.Close()
	var bar *progress.Bar
	if o.Progress != nil {
		bar = progress.New(o.Progress, "train", total, "steps")
		bar.SetDone(done)
	}
	ran, err := runModels(ctx, models, o.Parallel, func(ctx context.Context, m *model) (int64, error) {
		return m.run(ctx, o, ckdir, lg, bar)
	})
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			steps := map[string]int64{}
			for _, m := range models {
				if m.saved != [2]int64{} {
					steps[m.id] = m.saved[0]
				}
			}
			return nil, &InterruptedError{Dir: ckdir, Steps: steps, Err: err}
		}
		return nil, err
	}
	if bar != nil {
		bar.Finish()
	}
	var sel *bundle.Selection
	if o.Select == SelectClosedLoop {
		var dump func(string) error
		if o.CandidatesDir != "" {
			dump = func(name string) error {
				oc := o
				oc.Out = filepath.Join(o.CandidatesDir, name)
				if err := os.MkdirAll(oc.Out, 0o755); err != nil {
					return fmt.Errorf("train: %w", err)
				}
				_, err := writeBundle(ctx, oc, models, trainConv, fitConv, valConv, id, nil)
				return err
			}
		}
		cands, best, err := selectClosedLoop(ctx, o, models, fitConv, valConv, dump)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return nil, &InterruptedError{Dir: ckdir, Err: err}
			}
			return nil, err
		}
		sel = &bundle.Selection{Mode: o.Select, Kept: best}
		for _, c := range cands {
			sel.Candidates = append(sel.Candidates, bundle.SelectionCandidate{Step: c.Step, Score: c.Score,
				C2STPacket: c.C2STPacket, C2STWindow: c.C2STWindow, KSMean: c.KSMean, TimelineRatio: finiteOr0(c.TimelineRatio)})
		}
	}
	man, err := writeBundle(ctx, o, models, trainConv, fitConv, valConv, id, sel)
	if err != nil {
		return nil, err
	}
	return &Result{Manifest: man, Train: trainConv, Test: testConv, Elapsed: time.Since(start), GenSteps: ran, Selection: sel}, nil
}

// runModels runs every model through run, at most parallel at once. The
// first error cancels the others' context and is returned; the generator
// steps of all runs are summed.
func runModels[M interface{ name() string }](ctx context.Context, models []M, parallel int, run func(context.Context, M) (int64, error)) (int64, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(parallel, 1))
	var ran atomic.Int64
	for _, m := range models {
		g.Go(func() error {
			n, err := run(gctx, m)
			ran.Add(n)
			if err != nil {
				return fmt.Errorf("train: model %s: %w", m.name(), err)
			}
			return nil
		})
	}
	err := g.Wait()
	return ran.Load(), err
}

func (m *model) name() string { return m.id }

// upToDate reports whether the bundle in dir is the one the finished,
// restored models would write: same identity, same steps, same kept step.
func upToDate(o Options, models []*model, id identity) (*bundle.Manifest, bool) {
	man, _, err := bundle.ReadManifest(o.Out)
	if err != nil || man.ConfigSHA256 != id.configSHA || man.Trace.TrainSHA256 != id.trainSHA || man.Seed != id.seed {
		return nil, false
	}
	// The calibration's damping as asked: none (damping 0) is a bundle
	// without a damping record.
	auto, fixed, _ := o.damping()
	calibrated := slices.ContainsFunc(models, func(m *model) bool { return m.cfg.Calibrate })
	switch d := man.Damping; {
	case !calibrated:
	case !auto && fixed == 0:
		if d != nil {
			return nil, false
		}
	case d == nil:
		return nil, false
	case auto && d.Mode != DampAuto, !auto && (d.Mode != "fixed" || d.Damp != fixed):
		return nil, false
	}
	// The closed-loop calibration as asked: none is a bundle without a
	// record.
	mode, _ := o.calibLoopMode()
	rounds, step, _ := o.calibLoopSchedule()
	if cl := man.CalibLoop; (cl == nil) != (mode == "") || (cl != nil && (cl.Mode != mode || cl.Rounds != rounds || cl.Step != step)) {
		return nil, false
	}
	// The noise memory as asked: none is a bundle without a record.
	mauto, mfixed, _ := ParseNoiseMemory(o.NoiseMemory)
	switch nm := man.NoiseMemory; {
	case !mauto && mfixed == [2]float64{}:
		if nm != nil {
			return nil, false
		}
	case nm == nil:
		return nil, false
	case mauto && nm.Mode != MemoryAuto, !mauto && (nm.Mode != "fixed" || [2]float64{nm.Packet, nm.Burst} != mfixed):
		return nil, false
	}
	for _, m := range models {
		mm, ok := man.Models[m.id]
		gen, _ := m.wgan.Steps()
		if !ok || mm.Steps != gen || (m.bestFile != nil && man.Selection == nil && mm.SelectedStep != m.bestStep) || mm.Config.Calibrate != m.cfg.Calibrate {
			return nil, false
		}
	}
	return man, true
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
	var pairs *graphs.Pairs
	if cfg.Pair > 0 {
		// A side the pair critic cannot serve (keyed sizes, or fewer
		// pairs than a batch) trains without it, and its configuration in
		// the bundle says so.
		p, err := ds.Pairs(cfg, raw)
		switch {
		case errors.Is(err, graphs.ErrPairKeyed):
			cfg.Pair = 0
		case err != nil:
			return nil, fmt.Errorf("train: model %s: %w", id, err)
		case p.N < cfg.Batch:
			cfg.Pair = 0
		default:
			pairs = p
		}
	}
	w, err := graphs.NewWGAN(cfg, ds.CondDim(), seed*4+index, tf.SessionOptions{IntraOpThreads: threads, InterOpThreads: 1})
	if err != nil {
		return nil, fmt.Errorf("train: model %s: %w", id, err)
	}
	pcg := rand.NewPCG(seed, 1000+index)
	m := &model{id: id, side: side, cfg: cfg, train: ds, val: val, valRaw: valRaw, wgan: w,
		pcg: pcg, rng: rand.New(pcg), best: math.Inf(1), pairs: pairs}
	if c := slices.Index(cfg.Cond, "pos"); c >= 0 {
		m.fitPos = raw.Cond[c]
	}
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
	if sd := m.cfg.CondNoise; sd > 0 {
		for i := range c {
			c[i] += float32(sd * m.rng.NormFloat64())
		}
	}
	for i := range z {
		z[i] = float32(m.rng.NormFloat64())
	}
}

// pairBatch fills m.pb with a random batch of the pair critic's table (nil
// without the pair critic).
func (m *model) pairBatch() *graphs.PairBatch {
	p := m.pairs
	if p == nil {
		return nil
	}
	b, k, n, kn := &m.pb, m.train.CondDim(), m.cfg.Batch, graphs.PairKnotN-1
	if b.Rows != n {
		*b = graphs.PairBatch{Rows: n, C1: make([]float32, k*n), C2: make([]float32, k*n), X1: make([]float32, 2*n), X2: make([]float32, 2*n),
			Z1: make([]float32, m.cfg.ZDim*n), Z2: make([]float32, m.cfg.ZDim*n), E: make([]float32, n),
			V0: make([][]float32, len(p.Maps)), D: make([][]float32, len(p.Maps))}
		for i := range p.Maps {
			b.V0[i], b.D[i] = make([]float32, n), make([]float32, kn*n)
		}
	}
	for i := 0; i < n; i++ {
		j := m.rng.IntN(p.N)
		r := p.First[j]
		copy(b.C1[k*i:k*i+k], m.train.C[k*r:k*r+k])
		copy(b.C2[k*i:k*i+k], m.train.C[k*(r+1):k*(r+1)+k])
		copy(b.X1[2*i:2*i+2], m.train.X[2*r:2*r+2])
		copy(b.X2[2*i:2*i+2], m.train.X[2*(r+1):2*(r+1)+2])
		b.E[i] = float32(m.rng.Float64())
		for q := range p.Maps {
			b.V0[q][i] = p.V0[q][j]
			copy(b.D[q][kn*i:kn*i+kn], p.D[q][kn*j:kn*j+kn])
		}
	}
	if sd := m.cfg.CondNoise; sd > 0 {
		for i := range b.C1 {
			b.C1[i] += float32(sd * m.rng.NormFloat64())
			b.C2[i] += float32(sd * m.rng.NormFloat64())
		}
	}
	for i := range b.Z1 {
		b.Z1[i] = float32(m.rng.NormFloat64())
		b.Z2[i] = float32(m.rng.NormFloat64())
	}
	return b
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
	// stop checkpoints the state reached, if it moved since the last
	// checkpoint, and returns the context's error.
	stop := func(ran int64, cause error) (int64, error) {
		if g, c := m.wgan.Steps(); g != m.saved[0] || c != m.saved[1] {
			if err := m.checkpoint(ckdir); err != nil {
				return ran, fmt.Errorf("%w (and the checkpoint failed: %v)", cause, err)
			}
		}
		return ran, cause
	}
	for crit < int64(cfg.Pretrain) && gen == 0 {
		if err := ctx.Err(); err != nil {
			return stop(0, err)
		}
		m.batch(x, c, z, eps)
		if st, err = m.wgan.CriticStepPair(x, c, z, eps, m.pairBatch()); err != nil {
			return 0, err
		}
		crit++
	}
	var ran int64
	for gen < int64(cfg.Steps) {
		m.wgan.SetLRScale(cfg.LRScale(gen))
		if err := ctx.Err(); err != nil {
			return stop(ran, err)
		}
		for i := 0; i < cfg.CriticIters; i++ {
			m.batch(x, c, z, eps)
			if st, err = m.wgan.CriticStepPair(x, c, z, eps, m.pairBatch()); err != nil {
				return ran, err
			}
		}
		m.batch(x, c, z, eps)
		gl, err := m.wgan.GenStepPair(c, z, m.pairBatch())
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
			var f *tf.File
			if score < m.best || m.keepAll {
				if f, err = m.finalWeights(); err != nil {
					return ran, err
				}
				f.Meta = map[string]string{"step": strconv.FormatInt(gen, 10)}
			}
			if m.keepAll {
				m.cands = append(m.cands, cand{step: gen, f: f, eval: bundle.Validation{Step: gen, KSMean: ks, C2STAccuracy: acc, Score: score}})
			}
			if score < m.best {
				// Kept in memory; the next checkpoint stores it.
				m.best, m.bestStep, m.bestFile = score, gen, f
				m.lastEval = &bundle.Validation{Step: gen, KSMean: ks, C2STAccuracy: acc, Score: score}
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
		if o.afterStep != nil {
			o.afterStep(m.id, gen)
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
		var row []float64
		if m.val.Target.Keyed != nil || m.val.Target.TimeKeyed != nil || m.val.Target.PosKeyed != nil {
			row = make([]float64, len(m.valRaw.Cond))
			for j := range row {
				row[j] = m.valRaw.Cond[j][i]
			}
		}
		a, b := m.val.Target.ValidCond(m.cfg.Kind, out[2*i], out[2*i+1], row)
		syn[0] = append(syn[0], a)
		syn[1] = append(syn[1], b)
		// Both classes in float64 from raw values: the float32 network inputs
		// differ from float64 in the low bits, which a tree can split on
		// when a feature has few distinct values (burst counts).
		r0, r1 := m.val.Target.ForwardTargetsCond(m.valRaw.X[0][i], m.valRaw.X[1][i], row)
		s0, s1 := m.val.Target.ForwardTargetsCond(a, b, row)
		rr, sr := []float64{r0, r1}, []float64{s0, s1}
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

// bestPrefix prefixes the kept generator weights' entries in a checkpoint.
const bestPrefix = "best/"

// checkpoint saves the whole training state atomically, in one file: all
// variables, the random source, the steps, the kept weights and their
// validation scores, and the run's identity.
func (m *model) checkpoint(dir string) error {
	gen, crit := m.wgan.Steps()
	state, err := m.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	eval := ""
	if m.lastEval != nil {
		b, err := json.Marshal(m.lastEval)
		if err != nil {
			return err
		}
		eval = string(b)
	}
	meta := map[string]string{
		"format": CheckpointFormat,
		"model":  m.id, "gen_step": strconv.FormatInt(gen, 10), "critic_step": strconv.FormatInt(crit, 10),
		"rng":  base64.StdEncoding.EncodeToString(state),
		"best": strconv.FormatFloat(m.best, 'g', -1, 64), "best_step": strconv.FormatInt(m.bestStep, 10), "best_eval": eval,
		"train_sha256": m.id0.trainSHA, "config_sha256": m.id0.configSHA, "seed": strconv.FormatUint(m.id0.seed, 10),
		"source": m.id0.source,
	}
	f, err := m.wgan.Session().Snapshot(m.wgan.AllVariables(), meta)
	if err != nil {
		return err
	}
	if m.bestFile != nil {
		for _, e := range m.bestFile.Entries {
			e.Name = bestPrefix + e.Name
			f.Entries = append(f.Entries, e)
		}
	}
	m.saveEMA(f)
	if m.keepAll {
		if err := m.saveCands(f); err != nil {
			return err
		}
	}
	if err := tf.WriteFile(filepath.Join(dir, m.id+".ckpt"), f); err != nil {
		return err
	}
	m.saved = [2]int64{gen, crit}
	return nil
}

// short abbreviates a hash for messages.
func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "..."
	}
	return h
}

// restore loads the model's checkpoint, if there is one, after checking
// that it belongs to this run (format, training data, configuration, seed).
func (m *model) restore(dir string) error {
	path := filepath.Join(dir, m.id+".ckpt")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil // nothing to resume: start from scratch
	}
	f, err := tf.ReadFile(path)
	if err != nil {
		return fmt.Errorf("train: resume %s: %w", m.id, err)
	}
	meta := f.Meta
	if meta["format"] != CheckpointFormat {
		return fmt.Errorf("train: resume: %s has checkpoint format %q, this program writes %q and cannot check that it belongs to this run: train without --resume (or into a new --out)", path, meta["format"], CheckpointFormat)
	}
	var diffs []string
	if meta["model"] != m.id {
		diffs = append(diffs, fmt.Sprintf("model (checkpoint %q, expected %q)", meta["model"], m.id))
	}
	if meta["train_sha256"] != m.id0.trainSHA {
		diffs = append(diffs, fmt.Sprintf("training data (checkpoint: %s, fingerprint %s; this run: %s, fingerprint %s)",
			meta["source"], short(meta["train_sha256"]), m.id0.source, short(m.id0.trainSHA)))
	}
	if meta["config_sha256"] != m.id0.configSHA {
		diffs = append(diffs, fmt.Sprintf("configuration (checkpoint hash %s, this run %s: model flags, --train-frac, --val-frac or --eval-every changed)",
			short(meta["config_sha256"]), short(m.id0.configSHA)))
	}
	if seed := strconv.FormatUint(m.id0.seed, 10); meta["seed"] != seed {
		diffs = append(diffs, fmt.Sprintf("seed (checkpoint %s, this run %s)", meta["seed"], seed))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("train: resume: %s is from another run: %s differ; use the original flags, or train without --resume into a new --out", path, strings.Join(diffs, ", "))
	}
	if err := m.wgan.Session().Restore(f, m.wgan.AllVariables()); err != nil {
		return fmt.Errorf("train: resume %s: %w (file %s)", m.id, err, path)
	}
	bad := func(field string) error {
		return fmt.Errorf("train: resume: %s: bad %s in checkpoint metadata", path, field)
	}
	gen, err := strconv.ParseInt(meta["gen_step"], 10, 64)
	if err != nil || gen < 0 {
		return bad("gen_step")
	}
	crit, err := strconv.ParseInt(meta["critic_step"], 10, 64)
	if err != nil || crit < 0 {
		return bad("critic_step")
	}
	state, err := base64.StdEncoding.DecodeString(meta["rng"])
	if err != nil || m.pcg.UnmarshalBinary(state) != nil {
		return bad("rng")
	}
	if m.best, err = strconv.ParseFloat(meta["best"], 64); err != nil {
		return bad("best")
	}
	if m.bestStep, err = strconv.ParseInt(meta["best_step"], 10, 64); err != nil || m.bestStep < 0 || m.bestStep > gen {
		return bad("best_step")
	}
	if m.bestStep > 0 {
		var v bundle.Validation
		if err := json.Unmarshal([]byte(meta["best_eval"]), &v); err != nil || v.Step != m.bestStep {
			return bad("best_eval")
		}
		m.lastEval = &v
		best := &tf.File{Meta: map[string]string{"step": strconv.FormatInt(m.bestStep, 10)}}
		for _, v := range m.wgan.GeneratorVariables() {
			e, ok := f.Lookup(bestPrefix + v.Name())
			if !ok {
				return bad("kept weights (" + bestPrefix + v.Name() + ")")
			}
			best.Entries = append(best.Entries, tf.Entry{Name: v.Name(), Shape: e.Shape, Data: e.Data})
		}
		m.bestFile = best
	}
	m.wgan.SetSteps(gen, crit)
	m.saved = [2]int64{gen, crit}
	if m.keepAll {
		if err := m.restoreCands(f, path, gen); err != nil {
			return err
		}
	}
	return m.restoreEMA(f, path)
}

func writeBundle(ctx context.Context, o Options, models []*model, trainConv, fitConv, valConv *trace.Conversation, id identity, sel *bundle.Selection) (*bundle.Manifest, error) {
	minSize, maxSize := int32(math.MaxInt32), int32(0)
	for _, p := range trainConv.Packets {
		minSize, maxSize = min(minSize, p.Size), max(maxSize, p.Size)
	}
	first := ""
	if len(o.Conv.Packets) > 0 {
		first = o.Conv.Packets[0].From.String()
	}
	man := &bundle.Manifest{
		TFVersion: tf.Version(), Created: time.Now().UTC().Format(time.RFC3339), Seed: o.Seed, ConfigSHA256: id.configSHA,
		Trace: bundle.TraceInfo{
			Source: o.Conv.Source, Server: o.Conv.Server.String(), Client: o.Conv.Client.String(), Proto: o.Conv.Proto,
			Packets: len(o.Conv.Packets), TrainFrac: o.TrainFrac, ValFrac: o.ValFrac, TrainSHA256: id.trainSHA,
			MinSize: minSize, MaxSize: maxSize, FirstSide: first,
		},
		Models:    map[string]bundle.Model{},
		Selection: sel,
	}
	files := map[string]*tf.File{}
	for i, m := range models {
		f := m.bestFile
		kept := m.bestStep
		gen, _ := m.wgan.Steps()
		if f == nil {
			var err error
			if f, err = m.finalWeights(); err != nil {
				return nil, err
			}
			kept = gen
		}
		name, sum, err := bundle.WriteModel(o.Out, m.id, f)
		if err != nil {
			return nil, err
		}
		target := m.train.Target
		if m.cfg.Calibrate {
			if target.Calib, err = m.calibrate(f, o.Seed, uint64(i)); err != nil {
				return nil, fmt.Errorf("train: model %s: %w", m.id, err)
			}
		}
		man.Models[m.id] = bundle.Model{Config: m.cfg, Target: target, Cond: m.train.Cond,
			Weights: name, WeightsSHA256: sum, Steps: gen, SelectedStep: kept, Validation: m.lastEval}
		files[m.id] = f
	}
	var err error
	if man.Damping, err = selectDamp(ctx, o, man, files, fitConv, valConv); err != nil {
		return nil, err
	}
	if man.NoiseMemory, err = selectMemory(ctx, o, man, files, fitConv, valConv); err != nil {
		return nil, err
	}
	if man.CalibLoop, err = calibLoop(ctx, o, models, man, files, fitConv, valConv); err != nil {
		return nil, err
	}
	if err := bundle.WriteManifest(o.Out, man); err != nil {
		return nil, err
	}
	return man, nil
}

// CalibRows is the least number of generated rows a calibration is fitted
// on: the training conditions are repeated until they reach it.
const CalibRows = 20000

// calibrate fits the kept weights' calibration (graphs.Calib): the
// generator, restored from f, draws for every training condition (repeated
// up to CalibRows) with noise seeded by the run's seed and the model's
// index, and its outputs are matched to the training targets
// (calibTargets). The conditions are the real ones (teacher forcing);
// refits on the bundle's own closed-loop draws, and a closed-loop check
// that drops the calibration when it does not help, were tried and
// rejected (BENCHMARKS.md, "Model selection").
func (m *model) calibrate(f *tf.File, seed, index uint64) (*graphs.Calib, error) {
	k := m.train.CondDim()
	g, err := graphs.NewGenerator(m.cfg, k, f, tf.SessionOptions{IntraOpThreads: max(1, runtime.NumCPU()), InterOpThreads: 1})
	if err != nil {
		return nil, err
	}
	defer g.Close()
	reps := (CalibRows + m.train.N - 1) / m.train.N
	rng := rand.New(rand.NewPCG(seed, 3000+index))
	const chunk = 4096
	out := make([]float32, 0, 2*reps*m.train.N)
	c := make([]float32, 0, chunk*k)
	z := make([]float32, 0, chunk*m.cfg.ZDim)
	var buf []float32
	flush := func() error {
		if len(z) == 0 {
			return nil
		}
		var err error
		if buf, err = g.Generate(buf, c, z); err != nil {
			return err
		}
		out = append(out, buf...)
		c, z = c[:0], z[:0]
		return nil
	}
	for r := 0; r < reps; r++ {
		for i := 0; i < m.train.N; i++ {
			c = append(c, m.train.C[i*k:i*k+k]...)
			for j := 0; j < m.cfg.ZDim; j++ {
				z = append(z, float32(rng.NormFloat64()))
			}
			if len(z) == chunk*m.cfg.ZDim {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	target, err := m.calibTargets()
	if err != nil {
		return nil, err
	}
	return graphs.FitCalib(out, target)
}

// calibTargets returns the training targets a calibration matches, in
// network space: the fit part's rows and the validation part's (both in
// the training part; the validation rows are its most recent data), with
// discrete targets spread over their steps as in the training table.
func (m *model) calibTargets() ([]float32, error) {
	v, err := m.train.ApplyJitter(m.valRaw)
	if err != nil {
		return nil, err
	}
	return append(slices.Clone(m.train.X), v.X...), nil
}

// finiteOr0 returns v, or 0 when v is NaN or infinite (JSON has neither).
func finiteOr0(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
