package graphs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// TransformQuantile is Config.Transform for the empirical-quantile transform.
const TransformQuantile = "quantile"

// Kind says which of the two model families a Config is for.
type Kind string

// Model kinds.
const (
	Packet Kind = "packet" // PSynGAN: (size, dt_us)
	Burst  Kind = "burst"  // TSynGAN: (count, gap_us)
)

// Config is one model's architecture, features and training
// hyper-parameters. It is stored in bundles as JSON.
type Config struct {
	Kind Kind `json:"kind"`
	// Cond lists the condition features by name (see features.Names).
	Cond []string `json:"cond"`
	// LogTimes models times (and counts and bytes in the condition) as
	// log1p(x) before standardising, for heavy-tailed data.
	LogTimes bool `json:"log_times"`
	// Transform is how features map to network space: "" (z-score, after
	// log1p where LogTimes says) or "quantile" (the empirical-quantile
	// transform of every target and condition feature; see Quantile).
	Transform string `json:"transform,omitempty"`
	// Joint, with the quantile transform, maps the second target (a time)
	// through its distribution given the first (a size or a count): see
	// Given.
	Joint bool `json:"joint,omitempty"`

	// JointBins, with Joint, gives the first-target values too rare for a
	// table of their own (fewer than MinGroup rows: most of a codec's
	// sizes) the second target's table of their bin, of JointBins
	// equally filled bins of those values, instead of the pooled table:
	// the time given the size's range. 0: off.
	JointBins int `json:"joint_bins,omitempty"`

	ZDim         int    `json:"z_dim"`
	GenWidths    []int  `json:"gen_widths"`    // hidden widths; a 2-wide linear layer follows
	CriticWidths []int  `json:"critic_widths"` // hidden widths; a 1-wide linear layer follows
	Activation   string `json:"activation"`    // relu or leaky_relu

	Lambda       float64 `json:"lambda"`
	GPWholeBatch bool    `json:"gp_whole_batch"` // the original's bug, for reproduction only
	LR           float64 `json:"lr"`
	// LREnd, when set, makes the learning rate fall linearly with the
	// generator step, from LR at the first step to LREnd*LR at the last
	// (both networks' optimisers), so the adversarial updates settle
	// before the last weights are averaged and kept. 0: constant.
	LREnd       float64 `json:"lr_end,omitempty"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Epsilon     float64 `json:"epsilon"`
	Batch       int     `json:"batch"`
	CriticIters int     `json:"critic_iters"`
	Pretrain    int     `json:"pretrain"` // critic steps before the first generator step
	Steps       int     `json:"steps"`    // generator steps
	// EMA is the per-step decay of an exponential moving average of the
	// generator's weights, which validation and the bundle use instead of
	// the last weights (0: off).
	EMA float64 `json:"ema,omitempty"`
	// Calibrate maps the trained generator's outputs onto the training
	// targets' distribution (see Calib), fitted once after training from
	// the kept weights; it does not change the weights.
	Calibrate bool `json:"calibrate,omitempty"`
	// InBurstDt (packet models) replaces the time target of a burst's
	// first packet, which is the reply gap, by a time drawn from the
	// side's in-burst times (seeded, the same on every run). The turn
	// model draws the gap and generation never sends the packet model's
	// draw of it, so the time's transforms, calibration and loss then
	// describe only the times generation uses.
	InBurstDt bool `json:"in_burst_dt,omitempty"`
	// InBurstBySize, with InBurstDt, draws a first packet's stand-in time
	// from the in-burst times of packets of its size (where the size has
	// MinGroup of them), so that the time's tables given the size
	// (Joint) describe the in-burst times of that size: a small frame
	// that mostly opens bursts otherwise gets a table of stand-ins drawn
	// from every size's times.
	InBurstBySize bool `json:"in_burst_by_size,omitempty"`
	// Mismatch, in [0, 1), makes the critic matching-aware (Reed et al.,
	// 2016): the critic's fake term mixes generated rows (weight
	// 1-Mismatch) with real rows paired with another row's condition
	// (weight Mismatch), so a target that ignores its condition is fake
	// even when its marginal is right. 0: off.
	Mismatch float64 `json:"mismatch,omitempty"`
	// CondNoise is the standard deviation of Gaussian noise added to every
	// training row's condition in network space (both the critic's and
	// the generator's view of the row; generation is unchanged): the
	// generator learns a smoothed dependence on its condition, which in
	// closed loop, where it is fed its own draws, amplifies less. 0: off.
	CondNoise float64 `json:"cond_noise,omitempty"`
	// FirstGiven, with the quantile transform, names condition features
	// (e.g. last_size_pair, last_size) whose values select the first
	// target's quantile table (see Scaler.Keyed), the first feature whose
	// value has a table of its own winning (a back-off): the size is
	// mapped through its distribution given the previous sizes, so a
	// protocol's size sequence (a request cycle) is in the transform and
	// the network need not learn it. Only a first target with at most
	// MaxKeyedValues distinct training values is keyed. Empty: off.
	FirstGiven []string `json:"first_given,omitempty"`
	// FirstBins, with FirstGiven, keys a first target whose vocabulary is
	// too large for exact keys (more than MaxKeyedValues values: a codec's
	// sizes) by the quantile bin, of FirstBins equally filled bins, of the
	// last FirstGiven feature (e.g. last_size): the size is mapped through
	// its distribution given the range the previous size fell in, so a
	// slowly varying size (a codec adapting its rate) keeps its memory in
	// the transform. 0: such a target is not keyed.
	FirstBins int `json:"first_bins,omitempty"`
	// FirstPos, with the quantile transform (packet models, which have
	// the "pos" feature), maps the size through its distribution given
	// whether the packet opens its burst (pos 0) or follows in it: every
	// FirstGiven table is keyed by that too, and the rows no such table
	// serves get the size's table given the position alone
	// (Scaler.PosKeyed). A protocol that opens a burst with a small
	// control frame (an acknowledgement) and follows with data keeps that
	// in the transform.
	FirstPos bool `json:"first_pos,omitempty"`
	// TimeGiven, with the quantile transform and Joint, names a condition
	// feature (e.g. own_gap_us, this side's previous reply gap) whose
	// decile, together with the first target's value, selects the time's
	// quantile table (see Scaler.TimeKeyed), backing off to the table
	// given the first target alone: the time is mapped through its
	// distribution given the previous time's decile, so how long pauses
	// follow each other is in the transform. Empty: off.
	TimeGiven string `json:"time_given,omitempty"`
	// Pair (packet models), when positive, adds a second critic that
	// judges two consecutive packets of a burst together, with the first
	// one's condition: the first drawn for its real condition, the second
	// for the condition the first draw leaves (its previous-packet
	// features rebuilt in the graph from the first draw; see Pairs), as
	// generation draws them. Pair is the weight of that critic's term in
	// the generator's loss; the single-packet critic keeps weight 1. It
	// needs the pos feature and one of the previous packet's (last_size,
	// prev_size, last_size_pair, last_dt_us); a side whose size has keyed
	// tables (FirstGiven) trains without it. 0: off.
	Pair float64 `json:"pair,omitempty"`
}

// LRScale is the factor of LR at generator step gen (0-based) under LREnd:
// 1 without a schedule.
func (c Config) LRScale(gen int64) float64 {
	if c.LREnd == 0 || c.Steps <= 1 {
		return 1
	}
	f := min(float64(gen)/float64(c.Steps-1), 1)
	return 1 - (1-c.LREnd)*f
}

// Targets returns the names of the two generated features.
func (c Config) Targets() [2]string {
	if c.Kind == Burst {
		return [2]string{"count", "gap_us"}
	}
	return [2]string{"size", "dt_us"}
}

// Paper returns the configuration of the GLOBECOM 2022 paper for a kind:
// raw (standardised) features and a one-dimensional condition, the
// opponent's mean packet spacing for PSynGAN and the opponent's burst
// length for TSynGAN.
func Paper(kind Kind) Config {
	c := Config{
		Kind: kind, ZDim: 32,
		GenWidths: []int{128, 256, 512}, CriticWidths: []int{512, 256, 128},
		Activation: "relu", Lambda: 10, LR: 1e-4, Beta1: 0.5, Beta2: 0.9, Epsilon: 1e-7,
		Batch: 64, CriticIters: 5, Pretrain: 100, Steps: 25000,
	}
	if kind == Burst {
		c.Cond = []string{"opp_count"}
	} else {
		c.Cond = []string{"opp_mean_dt_us"}
	}
	return c
}

// V1 returns the project's first default configuration, kept for
// comparison: the paper's networks and optimiser with log-transformed
// times and a richer condition (the opponent's whole preceding burst, and
// for packets whether the packet opens its burst), 8,000 steps (measured:
// 3,000 steps gave held-out C2ST 0.720 on packets and 0.911 on 8-packet
// windows, 8,000 steps 0.654 and 0.795 on the embedded call).
func V1(kind Kind) Config {
	c := Paper(kind)
	c.LogTimes = true
	c.Cond = []string{"opp_count", "opp_bytes", "opp_dur_us", "opp_mean_dt_us"}
	if kind == Packet {
		c.Cond = append(c.Cond, "first")
	}
	c.Steps = 8000
	return c
}

// Default returns the project's default configuration: the paper's
// networks, loss and optimiser, with every feature mapped through its
// empirical-quantile transform (so sizes and burst lengths come out as
// values the capture used), the time mapped through its distribution given
// the size or count (Joint), a moving average of the generator's weights
// (EMA 0.999, which smooths adversarial training's oscillation), a
// calibration of the trained generator's outputs onto the training
// marginals (Calibrate; fitted on its outputs for the training
// conditions, teacher forced; train --calib-closed-loop refits it on the
// bundle's own closed-loop draws), and a
// condition that carries the conversation's state: the opponent's
// preceding burst and reply gap, this side's own previous burst, the
// recent rhythm of both sides (means over the last bursts), and for
// packets the position in the burst and this side's previous packet (an
// autoregressive packet model); for a side whose sizes are a protocol's
// small vocabulary (at most MaxKeyedValues), the size is mapped through its
// distribution given both sides' last sizes, backing off to this side's
// last size (FirstGiven). The candidates and their measurements are in
// BENCHMARKS.md ("Model selection").
func Default(kind Kind) Config {
	c := Paper(kind)
	c.Transform = TransformQuantile
	c.Joint = true
	c.EMA = 0.999
	c.Calibrate = true
	c.InBurstDt = kind == Packet
	if kind == Burst {
		c.Cond = []string{"opp_count", "opp_bytes", "opp_dur_us", "opp_mean_dt_us", "opp_gap_us",
			"own_count", "own_bytes", "own_gap_us", "own_count_avg", "opp_count_avg", "own_gap_avg_us", "opp_gap_avg_us"}
	} else {
		c.Cond = []string{"opp_count", "opp_bytes", "opp_dur_us", "opp_mean_dt_us",
			"own_count", "own_gap_us", "pos", "count", "left", "gap_us", "last_size", "last_dt_us", "last_size_pair"}
		c.FirstGiven = []string{"last_size_pair", "last_size"}
	}
	c.Steps = 8000
	return c
}

// configs are the named configurations (spatgan train --config).
var configs = map[string]func(Kind) Config{"default": Default, "v1": V1, "paper": Paper}

// ConfigNames returns the names Named knows, sorted.
func ConfigNames() []string {
	out := make([]string, 0, len(configs))
	for n := range configs {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Named returns the named configuration for kind.
func Named(name string, kind Kind) (Config, error) {
	f, ok := configs[name]
	if !ok {
		return Config{}, fmt.Errorf("graphs: unknown configuration %q (known: %s)", name, strings.Join(ConfigNames(), ", "))
	}
	return f(kind), nil
}

// Validate checks a configuration.
func (c Config) Validate() error {
	if c.Kind != Packet && c.Kind != Burst {
		return fmt.Errorf("graphs: unknown model kind %q", c.Kind)
	}
	if len(c.Cond) == 0 {
		return errors.New("graphs: the condition needs at least one feature")
	}
	if _, err := c.FeatureSet(); err != nil {
		return err
	}
	if c.Transform != "" && c.Transform != TransformQuantile {
		return fmt.Errorf("graphs: transform %q (want %q or none)", c.Transform, TransformQuantile)
	}
	if c.Joint && c.Transform != TransformQuantile {
		return errors.New("graphs: the joint transform needs the quantile transform")
	}
	if c.TimeGiven != "" {
		if c.Transform != TransformQuantile || !c.Joint {
			return fmt.Errorf("graphs: time_given %q needs the quantile transform and joint", c.TimeGiven)
		}
		if !slices.Contains(c.Cond, c.TimeGiven) {
			return fmt.Errorf("graphs: time_given %q is not a condition feature (condition: %s)", c.TimeGiven, strings.Join(c.Cond, ","))
		}
	}
	if len(c.FirstGiven) > 0 && c.Transform != TransformQuantile {
		return errors.New("graphs: first_given needs the quantile transform")
	}
	for _, f := range c.FirstGiven {
		if !slices.Contains(c.Cond, f) {
			return fmt.Errorf("graphs: first_given %q is not a condition feature", f)
		}
	}
	switch {
	case c.FirstBins < 0 || c.FirstBins > MaxFirstBins:
		return fmt.Errorf("graphs: first_bins %d: want 0 to %d", c.FirstBins, MaxFirstBins)
	case c.FirstBins > 0 && len(c.FirstGiven) == 0:
		return fmt.Errorf("graphs: first_bins %d needs first_given", c.FirstBins)
	case c.JointBins < 0 || c.JointBins > MaxFirstBins:
		return fmt.Errorf("graphs: joint_bins %d: want 0 to %d", c.JointBins, MaxFirstBins)
	case c.JointBins > 0 && !c.Joint:
		return errors.New("graphs: joint_bins needs joint")
	case c.InBurstBySize && !c.InBurstDt:
		return errors.New("graphs: in_burst_by_size needs in_burst_dt")
	case c.FirstPos && (c.Transform != TransformQuantile || !slices.Contains(c.Cond, "pos")):
		return errors.New("graphs: first_pos needs the quantile transform and the pos condition feature")
	}
	if c.Pair != 0 {
		switch {
		case !(c.Pair > 0 && c.Pair <= 10):
			return fmt.Errorf("graphs: pair %v must be in [0, 10]", c.Pair)
		case c.Kind != Packet:
			return errors.New("graphs: the pair critic applies to packet models only")
		case !slices.Contains(c.Cond, "pos") || len(c.PairMaps()) == 0:
			return errors.New("graphs: the pair critic needs the pos condition feature and one of last_size, prev_size, last_size_pair, last_dt_us")
		case c.Mismatch > 0:
			return errors.New("graphs: the pair critic and mismatch do not combine")
		}
		for _, f := range pairUnsupported {
			if slices.Contains(c.Cond, f) {
				return fmt.Errorf("graphs: the pair critic cannot rebuild condition feature %s", f)
			}
		}
	}
	if c.InBurstDt && c.Kind != Packet {
		return errors.New("graphs: in_burst_dt applies to packet models only")
	}
	switch {
	case c.ZDim < 1, len(c.GenWidths) == 0, len(c.CriticWidths) == 0:
		return errors.New("graphs: z_dim, gen_widths and critic_widths must be set")
	case c.Batch < 2, c.CriticIters < 1, c.Steps < 0, c.Pretrain < 0:
		return errors.New("graphs: batch >= 2, critic_iters >= 1, steps >= 0 and pretrain >= 0 are required")
	case c.LR <= 0 || c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 || c.Epsilon <= 0:
		return errors.New("graphs: bad Adam hyper-parameters")
	case c.Lambda < 0:
		return errors.New("graphs: lambda must be >= 0")
	case !(c.Mismatch >= 0 && c.Mismatch < 1):
		return fmt.Errorf("graphs: mismatch %v must be in [0, 1)", c.Mismatch)
	case !(c.LREnd >= 0 && c.LREnd <= 1):
		return fmt.Errorf("graphs: lr_end %v must be in [0, 1]", c.LREnd)
	case !(c.CondNoise >= 0 && c.CondNoise <= 10):
		return fmt.Errorf("graphs: cond_noise %v must be in [0, 10]", c.CondNoise)
	case !(c.EMA >= 0 && c.EMA < 1):
		return fmt.Errorf("graphs: ema %v must be in [0, 1)", c.EMA)
	}
	for _, w := range append(append([]int{}, c.GenWidths...), c.CriticWidths...) {
		if w < 1 {
			return errors.New("graphs: layer widths must be positive")
		}
	}
	if c.Activation != "relu" && c.Activation != "leaky_relu" {
		return fmt.Errorf("graphs: activation %q (want relu or leaky_relu)", c.Activation)
	}
	return nil
}
