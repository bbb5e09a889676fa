package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/internal/progress"
	"github.com/spatgan/spatgan/metrics"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
)

// Weight selection modes (Options.Select).
const (
	// SelectOpenLoop keeps, per model, the weights with the best
	// validation score of that model alone: its draws for the validation
	// part's real conditions (teacher forcing).
	SelectOpenLoop = "open-loop"
	// SelectClosedLoop keeps the four models' weights of one validation
	// step, chosen jointly: each step's four generators (and the open-loop
	// choice) continue the fit part's conversation closed loop for as many
	// packets as the validation part holds, and the candidate whose
	// conversation is closest to the validation part (ClosedLoopScore) is
	// kept.
	SelectClosedLoop = "closed-loop"
)

// SelectModes lists the weight selection modes.
var SelectModes = []string{SelectOpenLoop, SelectClosedLoop}

// cand is a model's weights at one validation step, kept for the
// closed-loop selection.
type cand struct {
	step int64
	f    *tf.File
	eval bundle.Validation // the open-loop check of these weights
}

// candPrefix names a candidate's entries in a checkpoint: cand/<step>/.
func candPrefix(step int64) string { return "cand/" + strconv.FormatInt(step, 10) + "/" }

// saveCands adds the candidates to a checkpoint file: their weights, and
// their open-loop checks as a JSON list in the metadata's cand_evals.
func (m *model) saveCands(f *tf.File) error {
	evals := make([]bundle.Validation, 0, len(m.cands))
	for _, c := range m.cands {
		evals = append(evals, c.eval)
		for _, e := range c.f.Entries {
			e.Name = candPrefix(c.step) + e.Name
			f.Entries = append(f.Entries, e)
		}
	}
	b, err := json.Marshal(evals)
	if err != nil {
		return err
	}
	f.Meta["cand_evals"] = string(b)
	return nil
}

// restoreCands reads the candidates from a checkpoint file (path names it in
// errors).
func (m *model) restoreCands(f *tf.File, path string, gen int64) error {
	m.cands = nil
	var evals []bundle.Validation
	if err := json.Unmarshal([]byte(f.Meta["cand_evals"]), &evals); err != nil {
		return fmt.Errorf("train: resume: %s: bad cand_evals in checkpoint metadata: %v", path, err)
	}
	for _, ev := range evals {
		step := ev.Step
		if step <= 0 || step > gen || (len(m.cands) > 0 && step <= m.cands[len(m.cands)-1].step) {
			return fmt.Errorf("train: resume: %s: bad step %d in cand_evals in checkpoint metadata", path, step)
		}
		c := cand{step: step, eval: ev, f: &tf.File{Meta: map[string]string{"step": strconv.FormatInt(step, 10)}}}
		for _, v := range m.wgan.GeneratorVariables() {
			e, ok := f.Lookup(candPrefix(step) + v.Name())
			if !ok {
				return fmt.Errorf("train: resume: %s: candidate weights of step %d lack %s", path, step, v.Name())
			}
			c.f.Entries = append(c.f.Entries, tf.Entry{Name: v.Name(), Shape: e.Shape, Data: e.Data})
		}
		m.cands = append(m.cands, c)
	}
	return nil
}

// Candidate is one set of four generators scored by the closed-loop
// selection.
type Candidate struct {
	// Step is the validation step of all four models' weights; 0 is the
	// open-loop choice (each model's own best step).
	Step int64 `json:"step"`
	ClosedLoopScore
}

// ClosedLoopScore compares a conversation generated closed loop with the
// real one it should continue. Score is what the selection minimises:
// max(0, C2STPacket - 0.5) + max(0, C2STWindow - 0.5) + KSMean +
// |ln TimelineRatio| (a classifier below chance is at chance: it happens
// when the two sides share rows, which it learns with the wrong label).
type ClosedLoopScore struct {
	Score      float64 `json:"score"`
	C2STPacket float64 `json:"c2st_packet"`
	C2STWindow float64 `json:"c2st_window"`
	// KSMean is the mean KS distance of size, inter-arrival time, burst
	// length and reply gap over both directions.
	KSMean float64 `json:"ks_mean"`
	// TimelineRatio is the generated span over the real span of the
	// same number of packets.
	TimelineRatio float64 `json:"timeline_ratio"`
}

// selectWindowK is the window length of the selection's windowed
// classifier test (the fidelity bench's default).
const selectWindowK = 8

// offlineFraming frames offline generation like conversation c's packets
// (its transport and address family).
func offlineFraming(c *trace.Conversation) simulate.Framing {
	tr := simulate.UDP
	if c.Proto == "tcp" {
		tr = simulate.TCP
	}
	fr := simulate.NewFraming(tr, c.Server.Addr.Is6())
	fr.Offline = true
	return fr
}

// scoreClosedLoop generates, with s continuing prime's conversation, as
// many packets as real holds and scores them against real.
func scoreClosedLoop(ctx context.Context, s sampler.Sampler, prime *features.History, real *trace.Conversation) (ClosedLoopScore, error) {
	var sc ClosedLoopScore
	pkts, _, err := simulate.GenerateAll(ctx, s, simulate.GenOptions{Packets: int64(len(real.Packets)), Prime: prime, Framing: offlineFraming(real)})
	if err != nil {
		return sc, err
	}
	rs, err := metrics.Extract(real.Packets)
	if err != nil {
		return sc, err
	}
	ss, err := metrics.Extract(pkts)
	if err != nil {
		return sc, err
	}
	n := 0
	for _, side := range []trace.Side{trace.Server, trace.Client} {
		d := metrics.CompareSeries(rs[side], ss[side])
		for _, ks := range []float64{d.Size.KS, d.IAT.KS, d.Burst.KS, d.ReplyGap.KS} {
			if math.IsNaN(ks) {
				ks = 1 // a series the candidate never produces
			}
			sc.KSMean += ks
			n++
		}
	}
	sc.KSMean /= float64(n)
	for _, k := range []int{1, selectWindowK} {
		acc := 1.0 // too few rows to test: the candidate is degenerate
		if r, err := metrics.C2STWindows(real.Packets, pkts, k, metrics.C2STConfig{Seed: 1}); err == nil {
			acc = r.Accuracy
		}
		if k == 1 {
			sc.C2STPacket = acc
		} else {
			sc.C2STWindow = acc
		}
	}
	sc.TimelineRatio, _ = metrics.TimelineRatio(pkts, real.Packets)
	tl := math.Abs(math.Log(sc.TimelineRatio))
	if math.IsNaN(tl) || math.IsInf(tl, 0) {
		tl = 10
	}
	sc.Score = max(0, sc.C2STPacket-0.5) + max(0, sc.C2STWindow-0.5) + sc.KSMean + tl
	return sc, nil
}

// scoreManifest builds the bundle of man and files in memory (the
// generators' sessions on one thread each) and scores it closed loop
// (scoreClosedLoop).
func scoreManifest(ctx context.Context, man *bundle.Manifest, files map[string]*tf.File, seed uint64, prime *features.History, real *trace.Conversation) (ClosedLoopScore, error) {
	b, err := bundle.FromFiles(man, files, seed, tf.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		return ClosedLoopScore{}, err
	}
	defer b.Close()
	return scoreClosedLoop(ctx, b, prime, real)
}

// selectClosedLoop scores the open-loop choice and every validation step
// all four models share, each continuing fitConv for valConv's packets,
// and sets every model's kept weights to the best candidate's. It returns
// the candidates in the order scored (the open-loop choice first).
//
// With dump set, every candidate is also handed to it once scored, with the
// models' kept weights set to the candidate's (Options.CandidatesDir).
func selectClosedLoop(ctx context.Context, o Options, models []*model, fitConv, valConv *trace.Conversation, dump func(name string) error) ([]Candidate, int, error) {
	type choice struct {
		step  int64
		files []*tf.File
		steps []int64
		evals []*bundle.Validation
	}
	var choices []choice
	open := choice{}
	for _, m := range models {
		f, step := m.bestFile, m.bestStep
		if f == nil { // never validated: the final weights
			var err error
			if f, err = m.finalWeights(); err != nil {
				return nil, 0, err
			}
			step, _ = m.wgan.Steps()
		}
		open.files = append(open.files, f)
		open.steps = append(open.steps, step)
		open.evals = append(open.evals, m.lastEval)
	}
	choices = append(choices, open)
	var common []int64
	for i, m := range models {
		var steps []int64
		for _, c := range m.cands {
			steps = append(steps, c.step)
		}
		if i == 0 {
			common = steps
			continue
		}
		common = slices.DeleteFunc(common, func(s int64) bool { return !slices.Contains(steps, s) })
	}
	for _, s := range common {
		c := choice{step: s}
		for _, m := range models {
			i := slices.IndexFunc(m.cands, func(c cand) bool { return c.step == s })
			c.files = append(c.files, m.cands[i].f)
			c.steps = append(c.steps, s)
			c.evals = append(c.evals, &m.cands[i].eval)
		}
		choices = append(choices, c)
	}
	prime := features.Prime(fitConv)
	var bar *progress.Bar
	if o.Progress != nil {
		bar = progress.New(o.Progress, "select", int64(len(choices)), "candidates")
	}
	out := make([]Candidate, 0, len(choices))
	best := 0
	for ci, c := range choices {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		man := &bundle.Manifest{Models: map[string]bundle.Model{}}
		files := map[string]*tf.File{}
		for i, m := range models {
			target := m.train.Target
			if m.cfg.Calibrate {
				var err error
				if target.Calib, err = m.calibrate(c.files[i], o.Seed, uint64(i)); err != nil {
					return nil, 0, fmt.Errorf("train: model %s: %w", m.id, err)
				}
			}
			man.Models[m.id] = bundle.Model{Config: m.cfg, Target: target, Cond: m.train.Cond}
			files[m.id] = c.files[i]
		}
		sc, err := scoreManifest(ctx, man, files, o.Seed, &prime, valConv)
		if err != nil {
			return nil, 0, fmt.Errorf("train: closed-loop selection, step %d: %w", c.step, err)
		}
		out = append(out, Candidate{Step: c.step, ClosedLoopScore: sc})
		if dump != nil {
			for i, m := range models {
				m.bestFile, m.bestStep, m.lastEval = c.files[i], c.steps[i], c.evals[i]
			}
			name := "open-loop"
			if c.step > 0 {
				name = "step-" + strconv.FormatInt(c.step, 10)
			}
			if err := dump(name); err != nil {
				return nil, 0, err
			}
		}
		if sc.Score < out[best].Score {
			best = ci
		}
		if bar != nil {
			bar.Add(1, fmt.Sprintf("step %d score %.3f (best %.3f)", c.step, sc.Score, out[best].Score))
		}
	}
	if bar != nil {
		bar.Finish()
	}
	c := choices[best]
	for i, m := range models {
		m.bestFile, m.bestStep, m.lastEval = c.files[i], c.steps[i], c.evals[i]
	}
	return out, best, nil
}

// finalWeights returns the generator's current weights (their moving
// average when the configuration keeps one).
func (m *model) finalWeights() (*tf.File, error) {
	if m.ema != nil && m.ema.avg != nil {
		return m.ema.snapshot(nil), nil
	}
	return m.wgan.Session().Snapshot(m.wgan.GeneratorVariables(), nil)
}

// DampAuto is Options.CalibDamp for the damping chosen closed loop.
const DampAuto = "auto"

// DampGrid is the time calibration's damping values the automatic choice
// scores (graphs.Calib.Damp: 0 is the full calibration, 1 none).
var DampGrid = []float64{0, 0.25, 0.5, 0.75, 1}

// ParseCalibDamp parses a calibration damping (Options.CalibDamp): DampAuto,
// "" (0) or a number in [0, 1].
func ParseCalibDamp(s string) (auto bool, fixed float64, err error) {
	switch s {
	case DampAuto:
		return true, 0, nil
	case "":
		return false, 0, nil
	}
	d, err := strconv.ParseFloat(s, 64)
	if err != nil || !(d >= 0 && d <= 1) {
		return false, 0, fmt.Errorf("train: calibration damping %q: want %s or a number in [0, 1]", s, DampAuto)
	}
	return false, d, nil
}

// damping parses Options.CalibDamp.
func (o *Options) damping() (auto bool, fixed float64, err error) { return ParseCalibDamp(o.CalibDamp) }

// selectDamp sets the damping of the time's calibration of every
// calibrated model in man (whose weights are files) and returns its
// record; nil when no model calibrates or the damping is fixed at 0 (the
// calibrations then have no damp, as before bundle version 7). With DampAuto, each value of
// DampGrid is scored as the closed-loop selection scores weights: the
// bundle continues fitConv's conversation for valConv's packets and is
// compared with valConv (ClosedLoopScore; the lowest wins, ties to the
// smaller damping). Only the training part is read.
//
// Why: the calibration is fitted on the training conditions (teacher
// forcing). Closed loop, a generator conditions on its own earlier draws,
// and a fully calibrated time can feed on itself: on pgbench's selection
// split the full calibration made the conversation 1.55 times too slow
// (the server's reply gaps above the real 99th percentile 3.6 times too
// often, in runs), none 0.44 times (BENCHMARKS.md, "Sixth round").
func selectDamp(ctx context.Context, o Options, man *bundle.Manifest, files map[string]*tf.File, fitConv, valConv *trace.Conversation) (*bundle.Damping, error) {
	calibrated := false
	for _, mm := range man.Models {
		calibrated = calibrated || mm.Target.Calib != nil
	}
	if !calibrated {
		return nil, nil
	}
	set := func(d float64) {
		for id, mm := range man.Models {
			if mm.Target.Calib != nil {
				c := *mm.Target.Calib
				c.Damp = []float64{0, d}
				mm.Target.Calib = &c
				man.Models[id] = mm
			}
		}
	}
	auto, fixed, err := o.damping()
	if err != nil {
		return nil, err
	}
	if !auto && fixed == 0 {
		return nil, nil
	}
	if !auto {
		set(fixed)
		return &bundle.Damping{Mode: "fixed", Damp: fixed}, nil
	}
	prime := features.Prime(fitConv)
	var bar *progress.Bar
	if o.Progress != nil {
		bar = progress.New(o.Progress, "damping", int64(len(DampGrid)), "values")
	}
	rec := &bundle.Damping{Mode: DampAuto}
	best := -1
	for _, d := range DampGrid {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		set(d)
		sc, err := scoreManifest(ctx, man, files, o.Seed, &prime, valConv)
		if err != nil {
			return nil, fmt.Errorf("train: calibration damping %v: %w", d, err)
		}
		rec.Candidates = append(rec.Candidates, bundle.DampCandidate{Damp: d, Score: sc.Score, C2STPacket: sc.C2STPacket,
			C2STWindow: sc.C2STWindow, KSMean: sc.KSMean, TimelineRatio: finiteOr0(sc.TimelineRatio)})
		if best < 0 || sc.Score < rec.Candidates[best].Score {
			best = len(rec.Candidates) - 1
		}
		if bar != nil {
			bar.Add(1, fmt.Sprintf("damp %.2f score %.3f timeline %.2f (best %.2f)", d, sc.Score, sc.TimelineRatio, rec.Candidates[best].Damp))
		}
	}
	if bar != nil {
		bar.Finish()
	}
	rec.Damp = rec.Candidates[best].Damp
	set(rec.Damp)
	return rec, nil
}

// MemoryAuto is Options.NoiseMemory for the noise memory chosen closed loop.
const MemoryAuto = "auto"

// MemoryGrid is the noise memories (bundle.NoiseMemory) the automatic
// choice scores, for the packet models and for the burst models: every
// pair of the two lists.
var MemoryGrid = [2][]float64{{0, 0.5, 0.8, 0.95}, {0, 0.5, 0.8}}

// ParseNoiseMemory parses a noise memory (Options.NoiseMemory): MemoryAuto,
// "" (none), "P" (the packet models' memory) or "P,B" (the packet and the
// burst models'), each a number in [0, bundle.MaxNoiseMemory].
func ParseNoiseMemory(s string) (auto bool, fixed [2]float64, err error) {
	switch s {
	case MemoryAuto:
		return true, fixed, nil
	case "":
		return false, fixed, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > 2 {
		return false, fixed, fmt.Errorf("train: noise memory %q: want %s, P or P,B", s, MemoryAuto)
	}
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(v >= 0 && v <= bundle.MaxNoiseMemory) {
			return false, fixed, fmt.Errorf("train: noise memory %q: want %s, P or P,B with each in [0, %v]", s, MemoryAuto, bundle.MaxNoiseMemory)
		}
		fixed[i] = v
	}
	return false, fixed, nil
}

// selectMemory sets the noise memory of the bundle in man (whose weights
// are files) and returns its record; nil when there is none. With
// MemoryAuto, each pair of MemoryGrid is scored as the closed-loop
// selection scores weights (the bundle continues fitConv's conversation for
// valConv's packets and is compared with valConv; the lowest score wins,
// ties to the earlier pair, so to less memory). Only the training part is
// read.
//
// Why: each draw's noise is fresh in training, so a generator's packets
// have no memory beyond what its condition holds (the previous packet),
// and a size that drifts slowly (a codec's rate) or a conversation's phase
// comes out with too little autocorrelation. Correlated noise keeps every
// draw's noise standard normal while successive draws of a conversation
// share part of it.
func selectMemory(ctx context.Context, o Options, man *bundle.Manifest, files map[string]*tf.File, fitConv, valConv *trace.Conversation) (*bundle.NoiseMemory, error) {
	auto, fixed, err := ParseNoiseMemory(o.NoiseMemory)
	if err != nil {
		return nil, err
	}
	if !auto {
		if fixed == [2]float64{} {
			return nil, nil
		}
		return &bundle.NoiseMemory{Mode: "fixed", Packet: fixed[0], Burst: fixed[1]}, nil
	}
	prime := features.Prime(fitConv)
	n := len(MemoryGrid[0]) * len(MemoryGrid[1])
	var bar *progress.Bar
	if o.Progress != nil {
		bar = progress.New(o.Progress, "noise memory", int64(n), "pairs")
	}
	rec := &bundle.NoiseMemory{Mode: MemoryAuto}
	best := -1
	for _, p := range MemoryGrid[0] {
		for _, q := range MemoryGrid[1] {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			man.NoiseMemory = &bundle.NoiseMemory{Mode: MemoryAuto, Packet: p, Burst: q}
			sc, err := scoreManifest(ctx, man, files, o.Seed, &prime, valConv)
			if err != nil {
				return nil, fmt.Errorf("train: noise memory %v, %v: %w", p, q, err)
			}
			rec.Candidates = append(rec.Candidates, bundle.MemoryCandidate{Packet: p, Burst: q, Score: sc.Score, C2STPacket: sc.C2STPacket,
				C2STWindow: sc.C2STWindow, KSMean: sc.KSMean, TimelineRatio: finiteOr0(sc.TimelineRatio)})
			if best < 0 || sc.Score < rec.Candidates[best].Score {
				best = len(rec.Candidates) - 1
			}
			if bar != nil {
				c := rec.Candidates[best]
				bar.Add(1, fmt.Sprintf("memory %.2f/%.2f score %.3f timeline %.2f (best %.2f/%.2f)", p, q, sc.Score, sc.TimelineRatio, c.Packet, c.Burst))
			}
		}
	}
	if bar != nil {
		bar.Finish()
	}
	rec.Packet, rec.Burst = rec.Candidates[best].Packet, rec.Candidates[best].Burst
	return rec, nil
}
