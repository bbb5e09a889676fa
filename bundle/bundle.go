package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/spatgan/spatgan/bundle/layout"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
)

// Format identifies bundles; FormatVersion changes whenever the manifest
// schema or the layout does (a test pins the schema to the version).
//
// Version history:
//
//	1  first layout
//	2  config_sha256 (the training configuration's hash), a typed
//	   validation object; decoding is strict (unknown fields are errors)
//	3  the configuration's transform and ema, the scalers' quantile
//	   transforms; condition features from the features package
//	   (conversation state)
//	4  the configuration's calibrate, the target scaler's calibration
//	   (graphs.Calib); version 3 bundles are read as they are (no
//	   calibration)
//	5  the optional selection record (weights chosen closed loop), the
//	   configuration's in_burst_dt
//	6  the configuration's first_given and mismatch, the target scaler's
//	   keyed tables and key_col (graphs.Scaler.Keyed);
//	   versions 3 to 5 are read as they are
//	7  the calibration's damp (graphs.Calib.Damp), the configuration's
//	   time_given and the target scaler's time keyed tables, the optional
//	   damping record (the damp chosen closed loop);
//	   versions 3 to 6 are read as they are (no damping)
//	8  the configuration's lr_end, cond_noise and first_bins, the target
//	   scaler's key_edges (the first target keyed by a feature's quantile
//	   bin);
//	   versions 3 to 7 are read as they are (no bins)
//	9  the optional noise_memory record (the generators' noise carried
//	   from one draw of a conversation to the next, chosen closed loop);
//	   versions 3 to 8 are read as they are (no memory)
//	10 the configuration's first_pos, in_burst_by_size and joint_bins,
//	   the target scaler's pos_keyed and pos_col (the size given whether
//	   the packet opens its burst), the joint tables' edges and bins;
//	   versions 3 to 9 are read as they are
//	11 the calibration's later map and pos_col (graphs.Calib.Later: the
//	   packets after the first of their burst calibrated on their own),
//	   the optional calib_loop record (calibrations refitted closed loop);
//	   versions 3 to 10 are read as they are
//	12 the configuration's pair (graphs.Config.Pair: the packet models
//	   trained with a critic of consecutive packets too; generation is
//	   unchanged); versions 3 to 11 are read as they are
const (
	Format        = "spatgan-bundle"
	FormatVersion = 12
	// MinFormatVersion is the oldest version this program reads.
	MinFormatVersion = 3
	ManifestName     = "manifest.json"
)

// Bounds on what a manifest may declare, so that a damaged or hostile one
// cannot make Open build an enormous graph.
const (
	MaxLayers = 16      // hidden layers per network
	MaxWidth  = 1 << 14 // units per hidden layer
	MaxZDim   = 1 << 12 // noise dimension
)

// ModelIDs are the four models of a bundle, in a fixed order (defined in
// bundle/layout, which cgo-free readers share).
var ModelIDs = layout.ModelIDs

// ModelKind returns the side and kind of a model ID.
func ModelKind(id string) (trace.Side, graphs.Kind, error) {
	switch id {
	case "server-packet":
		return trace.Server, graphs.Packet, nil
	case "client-packet":
		return trace.Client, graphs.Packet, nil
	case "server-burst":
		return trace.Server, graphs.Burst, nil
	case "client-burst":
		return trace.Client, graphs.Burst, nil
	}
	return 0, "", fmt.Errorf("bundle: unknown model %q", id)
}

// ModelID returns the ID of side's model of kind.
func ModelID(side trace.Side, kind graphs.Kind) string { return side.String() + "-" + string(kind) }

// TraceInfo describes the training data.
type TraceInfo struct {
	Source      string  `json:"source"`
	Server      string  `json:"server"`
	Client      string  `json:"client"`
	Proto       string  `json:"proto"`
	Packets     int     `json:"packets"`      // in the whole conversation
	TrainFrac   float64 `json:"train_frac"`   // time fraction of the training part; the rest was never read in training
	ValFrac     float64 `json:"val_frac"`     // time fraction, of the whole, at the end of the training part used to pick the kept weights
	TrainSHA256 string  `json:"train_sha256"` // fingerprint of the training packets
	MinSize     int32   `json:"min_size"`     // smallest frame in the training split
	MaxSize     int32   `json:"max_size"`     // largest frame in the training split
	FirstSide   string  `json:"first_side"`   // side that sent the first packet
}

// Model is one generator's entry in the manifest.
type Model struct {
	Config        graphs.Config `json:"config"`
	Target        graphs.Scaler `json:"target_scaler"`
	Cond          graphs.Scaler `json:"cond_scaler"`
	Weights       string        `json:"weights"`              // file name in the bundle
	WeightsSHA256 string        `json:"weights_sha256"`       // of the whole file
	Steps         int64         `json:"steps"`                // generator steps trained
	SelectedStep  int64         `json:"selected_step"`        // step of the weights kept (best validation score)
	Validation    *Validation   `json:"validation,omitempty"` // score of the kept weights on the validation part
}

// Validation is the validation check of a model's kept weights.
type Validation struct {
	Step         int64   `json:"step"`          // generator step of the check
	KSMean       float64 `json:"ks_mean"`       // mean KS distance of the two targets
	C2STAccuracy float64 `json:"c2st_accuracy"` // classifier two-sample test accuracy (0.5 = indistinguishable)
	Score        float64 `json:"score"`         // ks_mean + max(0, c2st_accuracy - 0.5), lower is better
}

// Selection records how the kept weights were chosen when training chose
// them closed loop (train.SelectClosedLoop): every candidate's score, the
// open-loop choice first (step 0: each model's own best validation step),
// then one candidate per validation step the four models share.
type Selection struct {
	Mode       string               `json:"mode"`
	Kept       int                  `json:"kept"` // index in Candidates of the weights kept
	Candidates []SelectionCandidate `json:"candidates"`
}

// SelectionCandidate is one candidate's closed-loop score on the
// validation part (lower is better; see train.ClosedLoopScore).
type SelectionCandidate struct {
	Step          int64   `json:"step"`
	Score         float64 `json:"score"`
	C2STPacket    float64 `json:"c2st_packet"`
	C2STWindow    float64 `json:"c2st_window"`
	KSMean        float64 `json:"ks_mean"`
	TimelineRatio float64 `json:"timeline_ratio"` // 0: undefined
}

// Manifest is manifest.json.
type Manifest struct {
	Format        string           `json:"format"`
	FormatVersion int              `json:"format_version"`
	TFVersion     string           `json:"tf_version"`
	Created       string           `json:"created"`
	Seed          uint64           `json:"seed"`
	ConfigSHA256  string           `json:"config_sha256"` // hash of the training configuration (train.ConfigHash)
	Trace         TraceInfo        `json:"trace"`
	Models        map[string]Model `json:"models"`
	Selection     *Selection       `json:"selection,omitempty"`
	Damping       *Damping         `json:"damping,omitempty"`
	NoiseMemory   *NoiseMemory     `json:"noise_memory,omitempty"`
	CalibLoop     *CalibLoop       `json:"calib_loop,omitempty"`
}

// CalibLoop records that training refitted every calibrated model's
// calibration closed loop (train --calib-closed-loop): the bundle
// continued the fit part's conversation for Packets packets with the
// calibrations of the previous round, and each model's map was refitted
// from the generator outputs of that run onto its training rows, its
// generated quantiles moved the share Step of the way from the previous
// round's (graphs.Calib.Toward), Rounds times. Mode "pos" fits the packet models' draws after the first of
// their burst on their own (graphs.Calib.Later); "pooled" fits one map
// per model. Scores are the closed-loop scores on the validation part
// (as the weight selection scores them; lower is better) of the
// teacher-forced calibration (first) and of each round's.
type CalibLoop struct {
	Mode    string      `json:"mode"`
	Rounds  int         `json:"rounds"`
	Step    float64     `json:"step"`
	Packets int         `json:"packets"`
	Scores  []LoopScore `json:"scores,omitempty"`
}

// LoopScore is a calibration's closed-loop score on the validation part.
type LoopScore struct {
	Score         float64 `json:"score"`
	C2STPacket    float64 `json:"c2st_packet"`
	C2STWindow    float64 `json:"c2st_window"`
	KSMean        float64 `json:"ks_mean"`
	TimelineRatio float64 `json:"timeline_ratio"` // 0: undefined
}

// MaxCalibRounds bounds CalibLoop.Rounds.
const MaxCalibRounds = 100

// CalibLoopModes are CalibLoop's modes.
var CalibLoopModes = []string{"pooled", "pos"}

// NoiseMemory records how much of a generator's noise a conversation
// carries from one draw to the next (the bundle's samplers keep it per
// conversation): the noise of a model's draw for a conversation is
// rho*z + sqrt(1-rho^2)*e, z the noise of its previous draw for that
// conversation and e fresh, so every draw's noise is still standard
// normal but successive draws are correlated (a slowly drifting latent:
// a codec's rate, a session's phase). Packet is rho for the packet models
// (successive packets of a side), Burst for the burst models (successive
// turns). Fixed by the user, or chosen closed loop ("auto") among
// Candidates, each scored as the closed-loop selection scores weights.
type NoiseMemory struct {
	Mode       string            `json:"mode"` // "auto" or "fixed"
	Packet     float64           `json:"packet"`
	Burst      float64           `json:"burst"`
	Candidates []MemoryCandidate `json:"candidates,omitempty"`
}

// MaxNoiseMemory bounds a noise memory: at 1 the noise would never change.
const MaxNoiseMemory = 0.999

// MemoryCandidate is one noise memory's closed-loop score on the
// validation part.
type MemoryCandidate struct {
	Packet        float64 `json:"packet"`
	Burst         float64 `json:"burst"`
	Score         float64 `json:"score"`
	C2STPacket    float64 `json:"c2st_packet"`
	C2STWindow    float64 `json:"c2st_window"`
	KSMean        float64 `json:"ks_mean"`
	TimelineRatio float64 `json:"timeline_ratio"` // 0: undefined
}

// memoryOK reports whether rho is a valid noise memory.
func memoryOK(rho float64) bool { return rho >= 0 && rho <= MaxNoiseMemory }

// Damping records the damping of the time's calibration that training
// applied to every calibrated model (graphs.Calib.Damp): fixed by the user,
// or chosen closed loop ("auto") among Candidates, each scored as the
// closed-loop selection scores weights (continuing the fit part, against
// the validation part; lower is better).
type Damping struct {
	Mode       string          `json:"mode"` // "auto" or "fixed"
	Damp       float64         `json:"damp"`
	Candidates []DampCandidate `json:"candidates,omitempty"`
}

// DampCandidate is one damping's closed-loop score on the validation part.
type DampCandidate struct {
	Damp          float64 `json:"damp"`
	Score         float64 `json:"score"`
	C2STPacket    float64 `json:"c2st_packet"`
	C2STWindow    float64 `json:"c2st_window"`
	KSMean        float64 `json:"ks_mean"`
	TimelineRatio float64 `json:"timeline_ratio"` // 0: undefined
}

// Fingerprint hashes a conversation's packets (timestamp, size, side): it
// is trace.Fingerprint, the value a manifest's trace.train_sha256 records.
func Fingerprint(pkts []trace.Packet) string { return trace.Fingerprint(pkts) }

// WriteModel writes a generator's weights file into dir and returns its
// name and SHA-256.
func WriteModel(dir, id string, f *tf.File) (name, sum string, err error) {
	name = id + ".weights"
	h := sha256.New()
	err = tf.WriteAtomic(filepath.Join(dir, name), func(w io.Writer) error {
		return f.Encode(io.MultiWriter(w, h))
	})
	return name, hex.EncodeToString(h.Sum(nil)), err
}

// WriteManifest validates m and writes it atomically; call it last, after
// every weights file is in place.
func WriteManifest(dir string, m *Manifest) error {
	m.Format, m.FormatVersion = Format, FormatVersion
	if err := m.validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return tf.WriteAtomic(filepath.Join(dir, ManifestName), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

func (m *Manifest) validate() error {
	if m.Format != Format {
		return fmt.Errorf("bundle: format %q, want %q", m.Format, Format)
	}
	if m.FormatVersion < MinFormatVersion || m.FormatVersion > FormatVersion {
		return fmt.Errorf("bundle: format version %d, this program reads versions %d to %d", m.FormatVersion, MinFormatVersion, FormatVersion)
	}
	for _, id := range ModelIDs {
		mm, ok := m.Models[id]
		if !ok {
			return fmt.Errorf("bundle: model %s missing from the manifest", id)
		}
		_, kind, _ := ModelKind(id)
		if mm.Config.Kind != kind {
			return fmt.Errorf("bundle: model %s has kind %q", id, mm.Config.Kind)
		}
		if err := mm.Config.Validate(); err != nil {
			return fmt.Errorf("bundle: model %s: %w", id, err)
		}
		if err := checkBounds(mm.Config); err != nil {
			return fmt.Errorf("bundle: model %s: %w", id, err)
		}
		if !slices.Equal(mm.Cond.Names, mm.Config.Cond) {
			return fmt.Errorf("bundle: model %s: condition scaler names %q differ from the configuration's condition %q (order matters)", id, mm.Cond.Names, mm.Config.Cond)
		}
		if tg := mm.Config.Targets(); !slices.Equal(mm.Target.Names, tg[:]) {
			return fmt.Errorf("bundle: model %s: target scaler names %q, want %q", id, mm.Target.Names, tg[:])
		}
		if len(mm.Config.FirstGiven) > 0 && m.FormatVersion < 6 {
			return fmt.Errorf("bundle: model %s: first_given in a version %d manifest (it came with version 6)", id, m.FormatVersion)
		}
		if (mm.Config.FirstBins != 0 || mm.Config.CondNoise != 0 || mm.Config.LREnd != 0 || mm.Target.KeyEdges != nil) && m.FormatVersion < 8 {
			return fmt.Errorf("bundle: model %s: lr_end, first_bins, cond_noise or key_edges in a version %d manifest (they came with version 8)", id, m.FormatVersion)
		}
		binned := mm.Target.KeyEdges != nil
		want := len(mm.Config.FirstGiven)
		if binned {
			want = 1
		}
		if nk := len(mm.Target.Keyed); (nk != 0 && nk != want) || len(mm.Target.KeyCols) != nk || mm.Cond.Keyed != nil || mm.Cond.KeyCols != nil || mm.Cond.KeyEdges != nil ||
			(binned && (nk == 0 || mm.Config.FirstBins < 2)) {
			return fmt.Errorf("bundle: model %s: the first target's keyed tables do not match the configuration's first_given %q and first_bins %d", id, mm.Config.FirstGiven, mm.Config.FirstBins)
		}
		if binned {
			if len(mm.Target.KeyEdges) > mm.Config.FirstBins-1 {
				return fmt.Errorf("bundle: model %s: %d key edges, at most %d (first_bins %d)", id, len(mm.Target.KeyEdges), mm.Config.FirstBins-1, mm.Config.FirstBins)
			}
			for k, e := range mm.Target.KeyEdges {
				if !finite(e) || (k > 0 && !(e > mm.Target.KeyEdges[k-1])) {
					return fmt.Errorf("bundle: model %s: key edge %d is not finite or out of order", id, k)
				}
			}
		}
		if mm.Config.Pair != 0 && m.FormatVersion < 12 {
			return fmt.Errorf("bundle: model %s: pair in a version %d manifest (it came with version 12)", id, m.FormatVersion)
		}
		if (mm.Config.FirstPos || mm.Config.InBurstBySize || mm.Config.JointBins != 0) && m.FormatVersion < 10 {
			return fmt.Errorf("bundle: model %s: first_pos, in_burst_by_size or joint_bins in a version %d manifest (they came with version 10)", id, m.FormatVersion)
		}
		others := append([]*graphs.Given{mm.Target.PosKeyed, mm.Target.TimeKeyed, mm.Cond.Given, mm.Cond.PosKeyed, mm.Cond.TimeKeyed}, mm.Target.Keyed...)
		for _, g := range append(others, mm.Cond.Keyed...) {
			if g != nil && (g.Edges != nil || g.Bins != nil) {
				return fmt.Errorf("bundle: model %s: tables by bins where only the joint transform has them", id)
			}
		}
		if (mm.Target.PosKeyed != nil) != (mm.Config.FirstPos && mm.Target.Quant != nil) || mm.Cond.PosKeyed != nil || mm.Cond.PosCol != 0 ||
			(mm.Target.PosKeyed == nil && mm.Target.PosCol != 0) {
			return fmt.Errorf("bundle: model %s: the first target's tables given the position do not match the configuration's first_pos %v", id, mm.Config.FirstPos)
		}
		if g := mm.Target.PosKeyed; g != nil {
			if want := slices.Index(mm.Config.Cond, "pos"); mm.Target.PosCol != want {
				return fmt.Errorf("bundle: model %s: pos_col is %d, but pos is condition feature %d", id, mm.Target.PosCol, want)
			}
			if err := g.Check(); err != nil {
				return fmt.Errorf("bundle: model %s: tables given the position: %w", id, err)
			}
		}
		for l, g := range mm.Target.Keyed { // none when the first target's vocabulary is too large (graphs.MaxKeyedValues) and not binned
			f := mm.Config.FirstGiven[l]
			if binned { // keyed by the last first_given feature's bin
				f = mm.Config.FirstGiven[len(mm.Config.FirstGiven)-1]
			}
			if want := slices.Index(mm.Config.Cond, f); mm.Target.KeyCols[l] != want {
				return fmt.Errorf("bundle: model %s: key_cols[%d] is %d, but first_given %q is condition feature %d", id, l, mm.Target.KeyCols[l], f, want)
			}
			if g == nil {
				return fmt.Errorf("bundle: model %s: first_given %q has no keyed tables", id, f)
			}
			if err := g.Check(); err != nil {
				return fmt.Errorf("bundle: model %s: keyed tables of %s: %w", id, f, err)
			}
		}
		timeKeyed := func(s graphs.Scaler) bool { return s.TimeKeyed != nil || s.TimeKeyEdges != nil || s.TimeKeyCol != 0 }
		if tg := mm.Config.TimeGiven; tg != "" || timeKeyed(mm.Target) || timeKeyed(mm.Cond) {
			switch {
			case m.FormatVersion < 7:
				return fmt.Errorf("bundle: model %s: time_given in a version %d manifest (it came with version 7)", id, m.FormatVersion)
			case tg == "" || mm.Target.TimeKeyed == nil || timeKeyed(mm.Cond):
				return fmt.Errorf("bundle: model %s: the time's keyed tables do not match the configuration's time_given %q", id, tg)
			case mm.Target.TimeKeyCol != slices.Index(mm.Config.Cond, tg):
				return fmt.Errorf("bundle: model %s: time_key_col is %d, but time_given %q is condition feature %d", id, mm.Target.TimeKeyCol, tg, slices.Index(mm.Config.Cond, tg))
			case len(mm.Target.TimeKeyEdges) > 9:
				return fmt.Errorf("bundle: model %s: %d time key edges, at most 9 (deciles)", id, len(mm.Target.TimeKeyEdges))
			}
			for k, e := range mm.Target.TimeKeyEdges {
				if !finite(e) || (k > 0 && !(e > mm.Target.TimeKeyEdges[k-1])) {
					return fmt.Errorf("bundle: model %s: time key edge %d is not finite or out of order", id, k)
				}
			}
			if err := mm.Target.TimeKeyed.Check(); err != nil {
				return fmt.Errorf("bundle: model %s: time keyed tables: %w", id, err)
			}
		}
		if mm.Config.InBurstDt && m.FormatVersion < 5 {
			return fmt.Errorf("bundle: model %s: in_burst_dt in a version %d manifest (it came with version 5)", id, m.FormatVersion)
		}
		if mm.Config.Calibrate && m.FormatVersion < 4 {
			return fmt.Errorf("bundle: model %s: calibrate in a version %d manifest (calibration came with version 4)", id, m.FormatVersion)
		}
		if mm.Config.Calibrate != (mm.Target.Calib != nil) || mm.Cond.Calib != nil {
			return fmt.Errorf("bundle: model %s: the calibration does not match the configuration's calibrate (%v)", id, mm.Config.Calibrate)
		}
		if mm.Target.Calib != nil {
			if err := mm.Target.Calib.Check(); err != nil {
				return fmt.Errorf("bundle: model %s: %w", id, err)
			}
			if c := mm.Target.Calib; c.Later != nil {
				switch {
				case m.FormatVersion < 11:
					return fmt.Errorf("bundle: model %s: a calibration for later packets in a version %d manifest (it came with version 11)", id, m.FormatVersion)
				case kind != graphs.Packet || c.PosCol != slices.Index(mm.Config.Cond, "pos"):
					return fmt.Errorf("bundle: model %s: a calibration for later packets needs a packet model with the pos condition feature at pos_col (%d)", id, c.PosCol)
				case c.Damp != nil:
					return fmt.Errorf("bundle: model %s: a calibration for later packets has no damp", id)
				}
			}
			if d := mm.Target.Calib.Damp; d != nil {
				if m.FormatVersion < 7 {
					return fmt.Errorf("bundle: model %s: a calibration damp in a version %d manifest (it came with version 7)", id, m.FormatVersion)
				}
				if m.Damping == nil || d[0] != 0 || d[1] != m.Damping.Damp {
					return fmt.Errorf("bundle: model %s: calibration damp %v does not match the manifest's damping record", id, d)
				}
			}
		}
		for _, s := range []graphs.Scaler{mm.Target, mm.Cond} {
			n := len(s.Names)
			if len(s.Log) != n || len(s.Mean) != n || len(s.Std) != n || len(s.Min) != n || len(s.Max) != n {
				return fmt.Errorf("bundle: model %s: incomplete scaler", id)
			}
			for j := range s.Std {
				if !(s.Std[j] > 0) || math.IsInf(s.Std[j], 0) {
					return fmt.Errorf("bundle: model %s: scaler %s has std %v", id, s.Names[j], s.Std[j])
				}
				if !finite(s.Mean[j]) || !finite(s.Min[j]) || !finite(s.Max[j]) || s.Min[j] > s.Max[j] {
					return fmt.Errorf("bundle: model %s: scaler %s has mean %v, range [%v, %v]", id, s.Names[j], s.Mean[j], s.Min[j], s.Max[j])
				}
			}
			if (s.Quant != nil) != (mm.Config.Transform == graphs.TransformQuantile) || (s.Quant != nil && len(s.Quant) != n) {
				return fmt.Errorf("bundle: model %s: the scaler's quantile transforms do not match the configuration's transform %q", id, mm.Config.Transform)
			}
			if s.Given != nil {
				if !mm.Config.Joint || s.Quant == nil {
					return fmt.Errorf("bundle: model %s: joint tables without the joint quantile transform", id)
				}
				if err := s.Given.Check(); err != nil {
					return fmt.Errorf("bundle: model %s: %w", id, err)
				}
				if s.Given.Edges != nil && mm.Config.JointBins == 0 {
					return fmt.Errorf("bundle: model %s: joint tables by bins without joint_bins", id)
				}
			}
			for j, q := range s.Quant {
				if q == nil {
					return fmt.Errorf("bundle: model %s: feature %s has no quantile transform", id, s.Names[j])
				}
				if err := q.Check(); err != nil {
					return fmt.Errorf("bundle: model %s: feature %s: %w", id, s.Names[j], err)
				}
			}
		}
		if mm.Weights == "" || filepath.Base(mm.Weights) != mm.Weights || mm.Weights == "." || mm.Weights == ".." || mm.Weights == ManifestName {
			return fmt.Errorf("bundle: model %s: bad weights file name %q", id, mm.Weights)
		}
		if mm.Steps < 0 || mm.SelectedStep < 0 || mm.SelectedStep > mm.Steps {
			return fmt.Errorf("bundle: model %s: selected step %d of %d steps", id, mm.SelectedStep, mm.Steps)
		}
	}
	if len(m.Models) != len(ModelIDs) {
		return fmt.Errorf("bundle: %d models in the manifest, want %d", len(m.Models), len(ModelIDs))
	}
	if sel := m.Selection; sel != nil {
		switch {
		case m.FormatVersion < 5:
			return fmt.Errorf("bundle: a selection record in a version %d manifest (it came with version 5)", m.FormatVersion)
		case sel.Mode != "closed-loop":
			return fmt.Errorf("bundle: selection mode %q, want \"closed-loop\"", sel.Mode)
		case sel.Kept < 0 || sel.Kept >= len(sel.Candidates):
			return fmt.Errorf("bundle: selection keeps candidate %d of %d", sel.Kept, len(sel.Candidates))
		}
		for i, c := range sel.Candidates {
			if c.Step < 0 || !finite(c.Score) || !finite(c.C2STPacket) || !finite(c.C2STWindow) || !finite(c.KSMean) || !finite(c.TimelineRatio) {
				return fmt.Errorf("bundle: selection candidate %d: bad step or score", i)
			}
		}
	}
	if cl := m.CalibLoop; cl != nil {
		switch {
		case m.FormatVersion < 11:
			return fmt.Errorf("bundle: a calib_loop record in a version %d manifest (it came with version 11)", m.FormatVersion)
		case !slices.Contains(CalibLoopModes, cl.Mode):
			return fmt.Errorf("bundle: calib_loop mode %q, want one of %q", cl.Mode, CalibLoopModes)
		case cl.Rounds < 1 || cl.Rounds > MaxCalibRounds || cl.Packets < 1 || !(cl.Step > 0 && cl.Step <= 1):
			return fmt.Errorf("bundle: calib_loop: %d rounds (1 to %d) of %d packets, step %v (in (0, 1])", cl.Rounds, MaxCalibRounds, cl.Packets, cl.Step)
		case len(cl.Scores) > cl.Rounds+1:
			return fmt.Errorf("bundle: calib_loop: %d scores for %d rounds", len(cl.Scores), cl.Rounds)
		case m.Damping != nil:
			return errors.New("bundle: a calib_loop record and a damping record (a closed-loop calibration has no damp)")
		}
		for i, c := range cl.Scores {
			if !finite(c.Score) || !finite(c.C2STPacket) || !finite(c.C2STWindow) || !finite(c.KSMean) || !finite(c.TimelineRatio) {
				return fmt.Errorf("bundle: calib_loop score %d is not finite", i)
			}
		}
		for _, id := range ModelIDs {
			mm := m.Models[id]
			_, kind, _ := ModelKind(id)
			if c := mm.Target.Calib; c != nil && (c.Later != nil) != (cl.Mode == "pos" && kind == graphs.Packet) {
				return fmt.Errorf("bundle: model %s: calib_loop mode %q, but the calibration %s a map for later packets", id, cl.Mode, map[bool]string{true: "has", false: "has no"}[c.Later != nil])
			}
		}
	} else {
		for _, id := range ModelIDs {
			if c := m.Models[id].Target.Calib; c != nil && c.Later != nil {
				return fmt.Errorf("bundle: model %s: a calibration for later packets without a calib_loop record", id)
			}
		}
	}
	if d := m.Damping; d != nil {
		switch {
		case m.FormatVersion < 7:
			return fmt.Errorf("bundle: a damping record in a version %d manifest (it came with version 7)", m.FormatVersion)
		case d.Mode != "auto" && d.Mode != "fixed":
			return fmt.Errorf("bundle: damping mode %q, want \"auto\" or \"fixed\"", d.Mode)
		case !(d.Damp >= 0 && d.Damp <= 1):
			return fmt.Errorf("bundle: damping %v is outside [0, 1]", d.Damp)
		}
		for i, c := range d.Candidates {
			if !(c.Damp >= 0 && c.Damp <= 1) || !finite(c.Score) || !finite(c.C2STPacket) || !finite(c.C2STWindow) || !finite(c.KSMean) || !finite(c.TimelineRatio) {
				return fmt.Errorf("bundle: damping candidate %d: bad damp or score", i)
			}
		}
		for _, id := range ModelIDs {
			if c := m.Models[id].Target.Calib; c != nil && c.Damp == nil {
				return fmt.Errorf("bundle: model %s: a damping record, but its calibration has no damp", id)
			}
		}
	}
	if nm := m.NoiseMemory; nm != nil {
		switch {
		case m.FormatVersion < 9:
			return fmt.Errorf("bundle: a noise_memory record in a version %d manifest (it came with version 9)", m.FormatVersion)
		case nm.Mode != "auto" && nm.Mode != "fixed":
			return fmt.Errorf("bundle: noise_memory mode %q, want \"auto\" or \"fixed\"", nm.Mode)
		case !memoryOK(nm.Packet) || !memoryOK(nm.Burst):
			return fmt.Errorf("bundle: noise_memory packet %v, burst %v: each must be in [0, %v]", nm.Packet, nm.Burst, MaxNoiseMemory)
		}
		for i, c := range nm.Candidates {
			if !memoryOK(c.Packet) || !memoryOK(c.Burst) || !finite(c.Score) || !finite(c.C2STPacket) || !finite(c.C2STWindow) || !finite(c.KSMean) || !finite(c.TimelineRatio) {
				return fmt.Errorf("bundle: noise_memory candidate %d: bad memory or score", i)
			}
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// checkBounds bounds a configuration's sizes (graphs.Config.Validate checks
// that they are positive).
func checkBounds(c graphs.Config) error {
	if len(c.GenWidths) > MaxLayers || len(c.CriticWidths) > MaxLayers {
		return fmt.Errorf("more than %d hidden layers", MaxLayers)
	}
	for _, w := range append(append([]int{}, c.GenWidths...), c.CriticWidths...) {
		if w > MaxWidth {
			return fmt.Errorf("layer width %d exceeds %d", w, MaxWidth)
		}
	}
	if c.ZDim > MaxZDim {
		return fmt.Errorf("z_dim %d exceeds %d", c.ZDim, MaxZDim)
	}
	seen := map[string]bool{}
	for _, n := range c.Cond {
		if seen[n] {
			return fmt.Errorf("condition feature %q repeated", n)
		}
		seen[n] = true
	}
	return nil
}

// DecodeManifest parses and validates a manifest held in b; name (the
// file) is used in errors. Decoding is strict: unknown fields, trailing
// data and a format version outside MinFormatVersion..FormatVersion are errors; a bundle
// of an older version gets a message that says to re-train or convert it.
func DecodeManifest(name string, b []byte) (*Manifest, error) {
	var head struct {
		Format        string `json:"format"`
		FormatVersion int    `json:"format_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", name, err)
	}
	if head.Format != Format {
		return nil, fmt.Errorf("bundle: %s: format %q, want %q", name, head.Format, Format)
	}
	if head.FormatVersion < MinFormatVersion || head.FormatVersion > FormatVersion {
		if head.FormatVersion < MinFormatVersion {
			return nil, fmt.Errorf("bundle: %s: format version %d is older than this program reads (versions %d to %d): re-train the bundle (spatgan train) or convert it", name, head.FormatVersion, MinFormatVersion, FormatVersion)
		}
		return nil, fmt.Errorf("bundle: %s: format version %d is newer than this program reads (versions %d to %d): use a newer spatgan", name, head.FormatVersion, MinFormatVersion, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("bundle: %s: data after the manifest object", name)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, name)
	}
	return &m, nil
}

// ReadManifest reads and validates dir/manifest.json.
func ReadManifest(dir string) (*Manifest, []byte, error) {
	path := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("bundle: %s: not a bundle (no %s)", dir, ManifestName)
		}
		return nil, nil, fmt.Errorf("bundle: %w", err)
	}
	m, err := DecodeManifest(path, b)
	if err != nil {
		return nil, nil, err
	}
	return m, b, nil
}
