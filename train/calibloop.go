package train

import (
	"context"
	"fmt"
	"slices"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/internal/progress"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
)

// Closed-loop calibration modes (Options.CalibLoop).
const (
	CalibLoopNone   = "none"
	CalibLoopPooled = "pooled"
	CalibLoopPos    = "pos"
)

// Defaults of Options.CalibLoopRounds and CalibLoopStep: how many times a
// closed-loop calibration is refitted (each round generating with the
// previous round's maps), and the share of the way each round moves the
// maps' generated quantiles (graphs.Calib.Toward). One full round (1, 1)
// overshoots where the draws feed back strongly (BENCHMARKS.md, "Twelfth
// round").
const (
	DefaultCalibLoopRounds = 4
	DefaultCalibLoopStep   = 0.5
)

// calibLoopSchedule returns the rounds and step asked for, checked.
func (o *Options) calibLoopSchedule() (int, float64, error) {
	r, s := o.CalibLoopRounds, o.CalibLoopStep
	if r == 0 {
		r = DefaultCalibLoopRounds
	}
	if s == 0 {
		s = DefaultCalibLoopStep
	}
	if r < 1 || r > bundle.MaxCalibRounds || !(s > 0 && s <= 1) {
		return 0, 0, fmt.Errorf("train: closed-loop calibration: %d rounds (want 1 to %d), step %v (want (0, 1])", r, bundle.MaxCalibRounds, s)
	}
	return r, s, nil
}

// calibLoopMode returns Options.CalibLoop checked, "" for none.
func (o *Options) calibLoopMode() (string, error) {
	switch o.CalibLoop {
	case "", CalibLoopNone:
		return "", nil
	case CalibLoopPooled, CalibLoopPos:
		return o.CalibLoop, nil
	}
	return "", fmt.Errorf("train: closed-loop calibration %q (want %s, %s or %s)", o.CalibLoop, CalibLoopNone, CalibLoopPooled, CalibLoopPos)
}

// calibLoop refits the calibration of every calibrated model in man (whose
// weights are files) closed loop, and returns its record (nil when
// Options.CalibLoop is none).
//
// Why: the calibration is fitted on the generator's outputs for the
// training conditions (teacher forcing). In generation the conditions are
// the generator's own earlier draws, whose distribution differs (a long
// pause feeds the next, a burst's later packets follow drawn ones), so the
// outputs the map sees differ from those it was fitted on, and the
// generated marginals drift from the training ones (BENCHMARKS.md, "Sixth
// round" and "Eleventh round"). Here the bundle continues the fit part's
// conversation closed loop, and each model's map is refitted from the
// outputs it drew there onto the same training rows, its generated
// quantiles moved the share step of the way from the previous round's,
// for the rounds asked (each generating with the previous round's maps). Mode pos
// refits the packet models only, a packet model's draws after the first
// of their burst and its burst openers each onto their own training rows
// (graphs.Calib.Later); the burst models keep their calibration.
// Only the training part is read; the closed-loop scores on the
// validation part, before and after each round, go into the record.
func calibLoop(ctx context.Context, o Options, models []*model, man *bundle.Manifest, files map[string]*tf.File, fitConv, valConv *trace.Conversation) (*bundle.CalibLoop, error) {
	mode, err := o.calibLoopMode()
	if err != nil || mode == "" {
		return nil, err
	}
	posCol := map[string]int{}
	for _, m := range models {
		if !m.cfg.Calibrate || (mode == CalibLoopPos && m.cfg.Kind != graphs.Packet) {
			continue
		}
		posCol[m.id] = -1
		if mode == CalibLoopPos && m.cfg.Kind == graphs.Packet {
			if posCol[m.id] = slices.Index(m.cfg.Cond, "pos"); posCol[m.id] < 0 {
				return nil, fmt.Errorf("train: closed-loop calibration by position: model %s has no pos condition feature", m.id)
			}
		}
	}
	if len(posCol) == 0 {
		return nil, fmt.Errorf("train: closed-loop calibration: no model is calibrated (--calibrate false)")
	}
	rounds, step, err := o.calibLoopSchedule()
	if err != nil {
		return nil, err
	}
	prime := features.Prime(fitConv)
	fr := offlineFraming(fitConv)
	packets := max(len(fitConv.Packets)+len(valConv.Packets), CalibRows)
	rec := &bundle.CalibLoop{Mode: mode, Rounds: rounds, Step: step, Packets: packets}
	var bar *progress.Bar
	if o.Progress != nil {
		bar = progress.New(o.Progress, "closed-loop calibration", int64(2*rounds+1), "runs")
	}
	score := func(what string) error {
		sc, err := scoreManifest(ctx, man, files, o.Seed, &prime, valConv)
		if err != nil {
			return fmt.Errorf("train: closed-loop calibration, %s: %w", what, err)
		}
		rec.Scores = append(rec.Scores, bundle.LoopScore{Score: sc.Score, C2STPacket: sc.C2STPacket,
			C2STWindow: sc.C2STWindow, KSMean: sc.KSMean, TimelineRatio: finiteOr0(sc.TimelineRatio)})
		if bar != nil {
			bar.Add(1, fmt.Sprintf("%s: score %.3f timeline %.2f", what, sc.Score, sc.TimelineRatio))
		}
		return nil
	}
	if err := score("teacher-forced"); err != nil {
		return nil, err
	}
	for r := 1; r <= rounds; r++ {
		gen, later, err := drawClosedLoop(ctx, man, files, o.Seed*1000+uint64(r), &prime, fr, packets, posCol)
		if err != nil {
			return nil, fmt.Errorf("train: closed-loop calibration, round %d: %w", r, err)
		}
		if bar != nil {
			bar.Add(1, fmt.Sprintf("round %d drawn", r))
		}
		for _, m := range models {
			pc, ok := posCol[m.id]
			if !ok {
				continue
			}
			target, err := m.calibTargets()
			if err != nil {
				return nil, err
			}
			var c *graphs.Calib
			if pc >= 0 {
				tl, err := m.targetsLater()
				if err != nil {
					return nil, err
				}
				c, err = graphs.FitCalibByPos(gen[m.id], later[m.id], target, tl, pc)
			} else {
				c, err = graphs.FitCalib(gen[m.id], target)
			}
			mm := man.Models[m.id]
			if err == nil {
				c, err = c.Toward(mm.Target.Calib, step)
			}
			if err != nil {
				return nil, fmt.Errorf("train: closed-loop calibration, round %d, model %s: %w", r, m.id, err)
			}
			mm.Target.Calib = c
			man.Models[m.id] = mm
		}
		if err := score(fmt.Sprintf("round %d", r)); err != nil {
			return nil, err
		}
	}
	if bar != nil {
		bar.Finish()
	}
	return rec, nil
}

// drawClosedLoop builds man's bundle and continues prime's conversation
// for packets packets framed by fr, returning every draw's network-space outputs per
// model and, for the models with a pos column in posCol (>= 0), whether
// each row is after the first packet of its burst.
func drawClosedLoop(ctx context.Context, man *bundle.Manifest, files map[string]*tf.File, seed uint64, prime *features.History, fr simulate.Framing, packets int, posCol map[string]int) (map[string][]float32, map[string][]bool, error) {
	b, err := bundle.FromFiles(man, files, seed, tf.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		return nil, nil, err
	}
	defer b.Close()
	gen, later := map[string][]float32{}, map[string][]bool{}
	b.SetTap(func(id string, g []float32, raw []float64, k int) {
		gen[id] = append(gen[id], g...)
		if pc, ok := posCol[id]; ok && pc >= 0 {
			for i := 0; i < len(g)/2; i++ {
				later[id] = append(later[id], graphs.PosKey(raw[i*k+pc]) == 1)
			}
		}
	})
	if _, _, err := simulate.GenerateAll(ctx, b, simulate.GenOptions{Packets: int64(packets), Prime: prime, Framing: fr}); err != nil {
		return nil, nil, err
	}
	return gen, later, nil
}

// targetsLater says, for each row of calibTargets (the fit part's, then
// the validation part's), whether it is a packet after the first of its
// burst.
func (m *model) targetsLater() ([]bool, error) {
	col := slices.Index(m.cfg.Cond, "pos")
	if col < 0 || m.fitPos == nil {
		return nil, fmt.Errorf("train: model %s has no pos condition feature", m.id)
	}
	if len(m.fitPos) != m.train.N {
		return nil, fmt.Errorf("train: model %s: %d pos values for %d training rows", m.id, len(m.fitPos), m.train.N)
	}
	out := make([]bool, 0, m.train.N+len(m.valRaw.Cond[col]))
	for _, p := range m.fitPos {
		out = append(out, graphs.PosKey(p) == 1)
	}
	for _, p := range m.valRaw.Cond[col] {
		out = append(out, graphs.PosKey(p) == 1)
	}
	return out, nil
}
