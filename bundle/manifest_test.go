package bundle

import (
	"encoding/json"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/graphs"
)

// sampleManifest is a valid manifest built by hand (scaler values made up,
// names from the configurations).
func sampleManifest() *Manifest {
	m := &Manifest{Format: Format, FormatVersion: FormatVersion, TFVersion: "2.x", Created: "2026-01-01T00:00:00Z", Seed: 7,
		ConfigSHA256: strings.Repeat("ab", 32),
		Trace:        TraceInfo{Source: "x.csv", Server: "10.0.0.1:1", Client: "10.0.0.2:2", Proto: "udp", Packets: 1000, TrainFrac: 0.8, ValFrac: 0.1, TrainSHA256: strings.Repeat("cd", 32), MinSize: 60, MaxSize: 1500, FirstSide: "client"},
		Models:       map[string]Model{},
	}
	for _, id := range ModelIDs {
		_, kind, _ := ModelKind(id)
		cfg := graphs.V1(kind)
		scaler := func(names []string) graphs.Scaler {
			n := len(names)
			s := graphs.Scaler{Names: append([]string(nil), names...), Log: make([]bool, n), Mean: make([]float64, n), Std: make([]float64, n), Min: make([]float64, n), Max: make([]float64, n)}
			for i := range s.Std {
				s.Std[i], s.Max[i] = 1, 2
			}
			return s
		}
		tg := cfg.Targets()
		m.Models[id] = Model{Config: cfg, Target: scaler(tg[:]), Cond: scaler(cfg.Cond), Weights: id + ".weights",
			WeightsSHA256: strings.Repeat("0", 64), Steps: 100, SelectedStep: 50,
			Validation: &Validation{Step: 50, KSMean: 0.1, C2STAccuracy: 0.6, Score: 0.2}}
	}
	return m
}

func marshal(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A quantile-transform configuration needs a valid quantile table per
// feature, and a z-score one none.
func TestDecodeManifestQuantile(t *testing.T) {
	m := sampleManifest()
	for id, mm := range m.Models {
		_, kind, _ := ModelKind(id)
		mm.Config = graphs.Default(kind)
		mm.Cond.Names = append([]string(nil), mm.Config.Cond...)
		for _, s := range []*graphs.Scaler{&mm.Target, &mm.Cond} {
			n := len(s.Names)
			s.Log, s.Mean, s.Std, s.Min, s.Max = make([]bool, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range s.Std {
				s.Std[i], s.Max[i] = 1, 2
				s.Quant = append(s.Quant, &graphs.Quantile{Values: []float64{0, 1, 2}, CDF: []float64{0.2, 0.5, 1}, Discrete: true, N: 10})
			}
		}
		m.Models[id] = mm
	}
	cal, err := graphs.FitCalib([]float32{0, 0, 1, 1, 2, 2}, []float32{0, 0, 1, 1, 2, 2})
	if err != nil {
		t.Fatal(err)
	}
	// Keyed tables (first_given): none (a large vocabulary) or one per key
	// feature, each at its feature's condition column.
	for id, mm := range m.Models {
		mm.Target.Calib = cal
		m.Models[id] = mm
	}
	pk := m.Models["client-packet"]
	for _, f := range pk.Config.FirstGiven {
		pk.Target.Keyed = append(pk.Target.Keyed, &graphs.Given{Values: []float64{100}, Tables: []*graphs.Quantile{{Values: []float64{1, 2}, CDF: []float64{0.5, 1}, Discrete: true, N: 40}}})
		pk.Target.KeyCols = append(pk.Target.KeyCols, slices.Index(pk.Config.Cond, f))
	}
	m.Models["client-packet"] = pk
	for _, c := range []struct {
		edit func(s *graphs.Scaler)
		want string
	}{
		{func(s *graphs.Scaler) {}, ""}, // accepted
		{func(s *graphs.Scaler) { s.KeyCols[0]++ }, "key_cols[0] is"},
		{func(s *graphs.Scaler) { s.Keyed, s.KeyCols = s.Keyed[:1], s.KeyCols[:1] }, "keyed tables do not match"},
		{func(s *graphs.Scaler) { s.Keyed[1].Values = []float64{100, 100} }, "keyed tables of last_size"},
	} {
		mm := m.Models["client-packet"]
		saved := mm.Target
		mm.Target.Keyed = append([]*graphs.Given(nil), saved.Keyed...)
		mm.Target.KeyCols = append([]int(nil), saved.KeyCols...)
		if len(mm.Target.Keyed) > 1 {
			g := *mm.Target.Keyed[1]
			mm.Target.Keyed[1] = &g
		}
		c.edit(&mm.Target)
		m.Models["client-packet"] = mm
		_, err := DecodeManifest("m.json", marshal(t, m))
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("keyed tables: %v, want an error containing %q", err, c.want)
		}
		mm.Target = saved
		m.Models["client-packet"] = mm
	}
	// Binned keys (first_bins): one table set, keyed by the last
	// first_given feature's bin, with increasing finite edges.
	for _, c := range []struct {
		edit func(m *Manifest, mm *Model)
		want string
	}{
		{func(m *Manifest, mm *Model) {}, ""}, // accepted
		{func(m *Manifest, mm *Model) { m.FormatVersion = 7 }, "came with version 8"},
		{func(m *Manifest, mm *Model) { mm.Config.FirstBins = 0 }, "do not match"},
		{func(m *Manifest, mm *Model) { mm.Config.FirstBins = 2 }, "at most 1"},
		{func(m *Manifest, mm *Model) { mm.Target.KeyEdges = []float64{200, 100} }, "key edge 1"},
		{func(m *Manifest, mm *Model) { mm.Target.KeyEdges = []float64{100, 100} }, "key edge 1"},
		{func(m *Manifest, mm *Model) { mm.Target.KeyCols = []int{0} }, "key_cols[0] is"},
		{func(m *Manifest, mm *Model) {
			mm.Target.Keyed, mm.Target.KeyCols = append(mm.Target.Keyed, mm.Target.Keyed[0]), append(mm.Target.KeyCols, mm.Target.KeyCols[0])
		}, "do not match"},
	} {
		mm := m.Models["client-packet"]
		saved := mm
		last := pk.Config.FirstGiven[len(pk.Config.FirstGiven)-1]
		mm.Config.FirstBins = 16
		mm.Target.Keyed = []*graphs.Given{{Values: []float64{0, 1, 2}, Tables: []*graphs.Quantile{
			{Values: []float64{1, 2}, CDF: []float64{0.5, 1}, Discrete: true, N: 40},
			{Values: []float64{2, 3}, CDF: []float64{0.5, 1}, Discrete: true, N: 40},
			{Values: []float64{3, 4}, CDF: []float64{0.5, 1}, Discrete: true, N: 40}}}}
		mm.Target.KeyCols = []int{slices.Index(mm.Config.Cond, last)}
		mm.Target.KeyEdges = []float64{100, 200}
		c.edit(m, &mm)
		m.Models["client-packet"] = mm
		_, err := DecodeManifest("m.json", marshal(t, m))
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("binned keyed tables: %v, want an error containing %q", err, c.want)
		}
		m.FormatVersion = FormatVersion
		m.Models["client-packet"] = saved
	}
	// Sizes given the position (first_pos): tables keyed 0 and 1 at the
	// pos feature's column, from version 10 on, only with first_pos.
	for _, c := range []struct {
		edit func(m *Manifest, mm *Model)
		want string
	}{
		{func(m *Manifest, mm *Model) {}, ""}, // accepted
		{func(m *Manifest, mm *Model) { m.FormatVersion = 9 }, "came with version 10"},
		{func(m *Manifest, mm *Model) {
			m.FormatVersion = 9
			mm.Config.FirstPos, mm.Target.PosKeyed, mm.Target.PosCol, mm.Config.InBurstBySize = false, nil, 0, true
		}, "came with version 10"},
		{func(m *Manifest, mm *Model) { mm.Config.FirstPos = false }, "do not match"},
		{func(m *Manifest, mm *Model) { mm.Target.PosKeyed = nil }, "do not match"},
		{func(m *Manifest, mm *Model) { mm.Target.PosCol = 0 }, "pos_col is 0"},
		{func(m *Manifest, mm *Model) { mm.Cond.PosKeyed = mm.Target.PosKeyed }, "do not match"},
		{func(m *Manifest, mm *Model) { mm.Target.PosKeyed.Values = []float64{1, 0} }, "out of order"},
	} {
		mm := m.Models["client-packet"]
		saved := mm
		mm.Config.FirstPos = true
		mm.Target.PosKeyed = &graphs.Given{Values: []float64{0, 1}, Tables: []*graphs.Quantile{
			{Values: []float64{60, 70}, CDF: []float64{0.5, 1}, Discrete: true, N: 40},
			{Values: []float64{100, 120}, CDF: []float64{0.5, 1}, Discrete: true, N: 40}}}
		mm.Target.PosCol = slices.Index(mm.Config.Cond, "pos")
		c.edit(m, &mm)
		m.Models["client-packet"] = mm
		_, err := DecodeManifest("m.json", marshal(t, m))
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("tables given the position: %v, want an error containing %q", err, c.want)
		}
		m.FormatVersion = FormatVersion
		saved.Cond.PosKeyed = nil
		m.Models["client-packet"] = saved
	}
	// The pair critic (pair): packet models only, from version 12 on.
	for _, c := range []struct {
		id   string
		edit func(m *Manifest)
		want string
	}{
		{"client-packet", func(m *Manifest) {}, ""}, // accepted
		{"client-packet", func(m *Manifest) { m.FormatVersion = 11 }, "came with version 12"},
		{"server-burst", func(m *Manifest) {}, "packet models only"},
	} {
		mm := m.Models[c.id]
		saved := mm
		mm.Config.Pair = 1
		m.Models[c.id] = mm
		c.edit(m)
		_, err := DecodeManifest("m.json", marshal(t, m))
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("pair critic on %s: %v, want an error containing %q", c.id, err, c.want)
		}
		m.FormatVersion = FormatVersion
		m.Models[c.id] = saved
	}
	// Joint tables by bins (joint_bins): only on the target's joint
	// transform, only with joint_bins, from version 10 on.
	binned := &graphs.Given{Values: []float64{100}, Tables: []*graphs.Quantile{{Values: []float64{1, 2}, CDF: []float64{0.5, 1}, N: 40}},
		Edges: []float64{500}, Bins: []*graphs.Quantile{nil, {Values: []float64{3, 4}, CDF: []float64{0.5, 1}, N: 40}}}
	for _, c := range []struct {
		edit func(m *Manifest, mm *Model)
		want string
	}{
		{func(m *Manifest, mm *Model) {}, ""}, // accepted
		{func(m *Manifest, mm *Model) { m.FormatVersion = 9 }, "came with version 10"},
		{func(m *Manifest, mm *Model) { mm.Config.JointBins = 0 }, "without joint_bins"},
		{func(m *Manifest, mm *Model) {
			mm.Target.Given.Edges, mm.Target.Given.Bins = []float64{500, 400}, append(mm.Target.Given.Bins, nil)
		}, "edge 1 is not finite or out of order"},
		{func(m *Manifest, mm *Model) { mm.Target.Given.Bins = mm.Target.Given.Bins[:1] }, "1 edges, 1 bins"},
		{func(m *Manifest, mm *Model) { mm.Target.TimeKeyed = binned }, "only the joint transform"},
	} {
		mm := m.Models["client-packet"]
		saved := mm
		mm.Config.JointBins = 8
		g := *binned
		g.Bins = slices.Clone(binned.Bins)
		mm.Target.Given = &g
		c.edit(m, &mm)
		m.Models["client-packet"] = mm
		_, err := DecodeManifest("m.json", marshal(t, m))
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("joint tables by bins: %v, want an error containing %q", err, c.want)
		}
		m.FormatVersion = FormatVersion
		m.Models["client-packet"] = saved
	}
	for id, mm := range m.Models {
		mm.Target.Calib, mm.Target.Keyed, mm.Target.KeyCols = nil, nil, nil
		m.Models[id] = mm
	}
	if _, err := DecodeManifest("m.json", marshal(t, m)); err == nil || !strings.Contains(err.Error(), "calibration does not match") {
		t.Fatalf("calibrate without a calibration: %v", err)
	}
	for id, mm := range m.Models {
		mm.Target.Calib = cal
		m.Models[id] = mm
	}
	if _, err := DecodeManifest("m.json", marshal(t, m)); err != nil {
		t.Fatal(err)
	}
	// Calibrations refitted closed loop (calib_loop): mode pos gives the
	// packet models, and only them, a map for later packets at the pos
	// column, from version 11 on, never with a damping.
	later := &graphs.CalibMap{Gen: cal.Gen, Target: cal.Target}
	for _, c := range []struct {
		edit func(m *Manifest)
		want string
	}{
		{func(m *Manifest) {}, ""}, // accepted
		{func(m *Manifest) { m.CalibLoop.Mode = "pooled" }, "has a map for later packets"},
		{func(m *Manifest) { m.CalibLoop.Mode = "sideways" }, `mode "sideways"`},
		{func(m *Manifest) { m.CalibLoop.Rounds = 0 }, "0 rounds"},
		{func(m *Manifest) { m.CalibLoop.Step = 0 }, "step 0"},
		{func(m *Manifest) { m.CalibLoop.Rounds = 101 }, "101 rounds"},
		{func(m *Manifest) { m.CalibLoop.Scores = append(m.CalibLoop.Scores, LoopScore{}) }, "3 scores for 1 rounds"},
		{func(m *Manifest) { m.FormatVersion = 10 }, "came with version 11"},
		{func(m *Manifest) { m.CalibLoop = nil }, "without a calib_loop record"},
		{func(m *Manifest) { m.Damping = &Damping{Mode: "fixed"} }, "and a damping record"},
		{func(m *Manifest) {
			mm := m.Models["client-packet"]
			c := *mm.Target.Calib
			c.PosCol = 0
			mm.Target.Calib = &c
			m.Models["client-packet"] = mm
		}, "at pos_col (0)"},
		{func(m *Manifest) {
			mm := m.Models["server-burst"]
			c := *mm.Target.Calib
			c.Later, c.PosCol = later, 1
			mm.Target.Calib = &c
			m.Models["server-burst"] = mm
		}, "needs a packet model"},
	} {
		saved := maps.Clone(m.Models)
		for _, id := range []string{"client-packet", "server-packet"} {
			mm := m.Models[id]
			c := *cal
			c.Later, c.PosCol = later, slices.Index(mm.Config.Cond, "pos")
			mm.Target.Calib = &c
			m.Models[id] = mm
		}
		m.CalibLoop = &CalibLoop{Mode: "pos", Rounds: 1, Step: 0.5, Packets: 20000, Scores: []LoopScore{{Score: 1, TimelineRatio: 1}, {Score: 0.9, TimelineRatio: 1.1}}}
		c.edit(m)
		_, err := DecodeManifest("m.json", marshal(t, m))
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("closed-loop calibration: %v, want an error containing %q", err, c.want)
		}
		m.FormatVersion, m.CalibLoop, m.Damping, m.Models = FormatVersion, nil, nil, saved
	}
	// Version 3 had no calibration: read as it is, refused if it claims one.
	m.FormatVersion = 3
	if _, err := DecodeManifest("m.json", marshal(t, m)); err == nil || !strings.Contains(err.Error(), "version 3 manifest") {
		t.Fatalf("calibrate in version 3: %v", err)
	}
	for id, mm := range m.Models {
		mm.Config.Calibrate, mm.Target.Calib = false, nil
		m.Models[id] = mm
	}
	// Nor first_given (version 6), nor in_burst_dt (version 5).
	if _, err := DecodeManifest("m.json", marshal(t, m)); err == nil || !strings.Contains(err.Error(), "first_given in a version 3 manifest") {
		t.Fatalf("first_given in version 3: %v", err)
	}
	for id, mm := range m.Models {
		mm.Config.FirstGiven = nil
		m.Models[id] = mm
	}
	if _, err := DecodeManifest("m.json", marshal(t, m)); err == nil || !strings.Contains(err.Error(), "in_burst_dt in a version 3 manifest") {
		t.Fatalf("in_burst_dt in version 3: %v", err)
	}
	for id, mm := range m.Models {
		mm.Config.InBurstDt = false
		m.Models[id] = mm
	}
	if _, err := DecodeManifest("m.json", marshal(t, m)); err != nil {
		t.Fatalf("version 3 manifest refused: %v", err)
	}
	m.FormatVersion = 4
	mm := m.Models["server-packet"]
	mm.Target.Calib = cal
	m.Models["server-packet"] = mm
	if _, err := DecodeManifest("m.json", marshal(t, m)); err == nil || !strings.Contains(err.Error(), "calibration does not match") {
		t.Fatalf("calibration without calibrate: %v", err)
	}
	mm.Target.Calib = nil
	mm.Cond.Quant[1] = &graphs.Quantile{Values: []float64{2, 1}, CDF: []float64{0.5, 1}, Discrete: true, N: 10}
	m.Models["server-packet"] = mm
	if _, err := DecodeManifest("m.json", marshal(t, m)); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Fatalf("unordered quantile table: %v", err)
	}
	mm.Cond.Quant = nil
	m.Models["server-packet"] = mm
	if _, err := DecodeManifest("m.json", marshal(t, m)); err == nil || !strings.Contains(err.Error(), "quantile transforms do not match") {
		t.Fatalf("missing quantile tables: %v", err)
	}
}

func TestDecodeManifestValid(t *testing.T) {
	m := sampleManifest()
	got, err := DecodeManifest("m.json", marshal(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("decoded %+v, want %+v", got, m)
	}
}

// TestDecodeManifestBad: each damaged manifest is refused with a message
// containing the phrase a user needs.
func TestDecodeManifestBad(t *testing.T) {
	edit := func(f func(m map[string]any)) []byte {
		var raw map[string]any
		json.Unmarshal(marshal(t, sampleManifest()), &raw)
		f(raw)
		return marshal(t, raw)
	}
	model := func(m map[string]any, id string) map[string]any {
		return m["models"].(map[string]any)[id].(map[string]any)
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"old version", edit(func(m map[string]any) { m["format_version"] = 1 }), "re-train the bundle (spatgan train) or convert it"},
		{"newer version", edit(func(m map[string]any) { m["format_version"] = 99 }), "newer than this program reads (versions 3 to 12)"},
		{"not a bundle", edit(func(m map[string]any) { m["format"] = "other" }), `format "other"`},
		{"unknown field", edit(func(m map[string]any) { m["extra"] = 1 }), `unknown field "extra"`},
		{"unknown model field", edit(func(m map[string]any) { model(m, "server-burst")["foo"] = true }), `unknown field "foo"`},
		{"permuted condition", edit(func(m map[string]any) {
			names := model(m, "client-packet")["cond_scaler"].(map[string]any)["names"].([]any)
			names[0], names[1] = names[1], names[0]
		}), "order matters"},
		{"wide layer", edit(func(m map[string]any) {
			model(m, "server-packet")["config"].(map[string]any)["gen_widths"] = []int{1 << 20}
		}), "layer width 1048576 exceeds 16384"},
		{"trailing data", append(marshal(t, sampleManifest()), []byte(" {}")...), "after top-level value"},
		{"missing model", edit(func(m map[string]any) { delete(m["models"].(map[string]any), "client-burst") }), "model client-burst missing"},
		{"path in weights", edit(func(m map[string]any) { model(m, "server-packet")["weights"] = "../x" }), "bad weights file name"},
		{"selected after steps", edit(func(m map[string]any) { model(m, "server-packet")["selected_step"] = 101 }), "selected step 101 of 100"},
		{"selection in version 4", edit(func(m map[string]any) {
			m["format_version"] = 4
			m["selection"] = map[string]any{"mode": "closed-loop", "kept": 0, "candidates": []any{map[string]any{"step": 0, "score": 1}}}
		}), "selection record in a version 4 manifest"},
		{"selection keeps no candidate", edit(func(m map[string]any) {
			m["selection"] = map[string]any{"mode": "closed-loop", "kept": 1, "candidates": []any{map[string]any{"step": 0, "score": 1}}}
		}), "selection keeps candidate 1 of 1"},
		{"selection mode", edit(func(m map[string]any) {
			m["selection"] = map[string]any{"mode": "best", "kept": 0, "candidates": []any{map[string]any{"step": 0, "score": 1}}}
		}), `selection mode "best"`},
		{"time_given without the quantile transform", edit(func(m map[string]any) {
			model(m, "server-burst")["config"].(map[string]any)["time_given"] = "opp_count"
		}), `time_given "opp_count" needs the quantile transform and joint`},
		{"time keyed tables without time_given", edit(func(m map[string]any) {
			model(m, "server-burst")["target_scaler"].(map[string]any)["time_key_col"] = 2
		}), "time's keyed tables do not match the configuration's time_given"},
		{"time keyed tables in version 6", edit(func(m map[string]any) {
			m["format_version"] = 6
			model(m, "server-burst")["target_scaler"].(map[string]any)["time_key_col"] = 2
		}), "time_given in a version 6 manifest"},
		{"damping in version 6", edit(func(m map[string]any) {
			m["format_version"] = 6
			m["damping"] = map[string]any{"mode": "auto", "damp": 0.5}
		}), "damping record in a version 6 manifest"},
		{"damping mode", edit(func(m map[string]any) { m["damping"] = map[string]any{"mode": "best", "damp": 0.5} }), `damping mode "best"`},
		{"damping above 1", edit(func(m map[string]any) { m["damping"] = map[string]any{"mode": "fixed", "damp": 2} }), "damping 2 is outside [0, 1]"},
		{"damping candidate", edit(func(m map[string]any) {
			m["damping"] = map[string]any{"mode": "auto", "damp": 0, "candidates": []any{map[string]any{"damp": -1, "score": 1}}}
		}), "damping candidate 0: bad damp or score"},
		{"noise memory in version 8", edit(func(m map[string]any) {
			m["format_version"] = 8
			m["noise_memory"] = map[string]any{"mode": "fixed", "packet": 0.5, "burst": 0}
		}), "noise_memory record in a version 8 manifest"},
		{"noise memory mode", edit(func(m map[string]any) {
			m["noise_memory"] = map[string]any{"mode": "best", "packet": 0.5, "burst": 0}
		}), `noise_memory mode "best"`},
		{"noise memory of 1", edit(func(m map[string]any) {
			m["noise_memory"] = map[string]any{"mode": "fixed", "packet": 0, "burst": 1}
		}), "noise_memory packet 0, burst 1: each must be in [0, 0.999]"},
		{"noise memory candidate", edit(func(m map[string]any) {
			m["noise_memory"] = map[string]any{"mode": "auto", "packet": 0, "burst": 0, "candidates": []any{map[string]any{"packet": -0.5, "score": 1}}}
		}), "noise_memory candidate 0: bad memory or score"},
	}
	for _, c := range cases {
		_, err := DecodeManifest("m.json", c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "bundle: ") {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestSchemaPinned fails when the manifest's JSON schema changes without a
// FormatVersion bump: update the pinned field list and bump the version.
func TestSchemaPinned(t *testing.T) {
	var keys []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct {
			return
		}
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			keys = append(keys, prefix+name+":"+f.Type.String())
			walk(prefix+name+".", f.Type)
		}
	}
	walk("", reflect.TypeOf(Manifest{}))
	got := strings.Join(keys, " ")
	// Version 12's schema (version 11's plus the configuration's pair;
	// version 11 added the calibration's later map and pos_col, and the
	// calib_loop record with its rounds and step), written out when the
	// version was bumped.
	const v12 = "format:string format_version:int tf_version:string created:string seed:uint64 config_sha256:string trace:bundle.TraceInfo trace.source:string trace.server:string trace.client:string trace.proto:string trace.packets:int trace.train_frac:float64 trace.val_frac:float64 trace.train_sha256:string trace.min_size:int32 trace.max_size:int32 trace.first_side:string models:map[string]bundle.Model models.config:graphs.Config models.config.kind:graphs.Kind models.config.cond:[]string models.config.log_times:bool models.config.transform:string models.config.joint:bool models.config.joint_bins:int models.config.z_dim:int models.config.gen_widths:[]int models.config.critic_widths:[]int models.config.activation:string models.config.lambda:float64 models.config.gp_whole_batch:bool models.config.lr:float64 models.config.lr_end:float64 models.config.beta1:float64 models.config.beta2:float64 models.config.epsilon:float64 models.config.batch:int models.config.critic_iters:int models.config.pretrain:int models.config.steps:int models.config.ema:float64 models.config.calibrate:bool models.config.in_burst_dt:bool models.config.in_burst_by_size:bool models.config.mismatch:float64 models.config.cond_noise:float64 models.config.first_given:[]string models.config.first_bins:int models.config.first_pos:bool models.config.time_given:string models.config.pair:float64 models.target_scaler:graphs.Scaler models.target_scaler.names:[]string models.target_scaler.quantile:[]*graphs.Quantile models.target_scaler.quantile.values:[]float64 models.target_scaler.quantile.cdf:[]float64 models.target_scaler.quantile.discrete:bool models.target_scaler.quantile.n:int models.target_scaler.given:*graphs.Given models.target_scaler.given.values:[]float64 models.target_scaler.given.tables:[]*graphs.Quantile models.target_scaler.given.tables.values:[]float64 models.target_scaler.given.tables.cdf:[]float64 models.target_scaler.given.tables.discrete:bool models.target_scaler.given.tables.n:int models.target_scaler.given.edges:[]float64 models.target_scaler.given.bins:[]*graphs.Quantile models.target_scaler.given.bins.values:[]float64 models.target_scaler.given.bins.cdf:[]float64 models.target_scaler.given.bins.discrete:bool models.target_scaler.given.bins.n:int models.target_scaler.keyed:[]*graphs.Given models.target_scaler.keyed.values:[]float64 models.target_scaler.keyed.tables:[]*graphs.Quantile models.target_scaler.keyed.tables.values:[]float64 models.target_scaler.keyed.tables.cdf:[]float64 models.target_scaler.keyed.tables.discrete:bool models.target_scaler.keyed.tables.n:int models.target_scaler.keyed.edges:[]float64 models.target_scaler.keyed.bins:[]*graphs.Quantile models.target_scaler.keyed.bins.values:[]float64 models.target_scaler.keyed.bins.cdf:[]float64 models.target_scaler.keyed.bins.discrete:bool models.target_scaler.keyed.bins.n:int models.target_scaler.key_cols:[]int models.target_scaler.key_edges:[]float64 models.target_scaler.pos_keyed:*graphs.Given models.target_scaler.pos_keyed.values:[]float64 models.target_scaler.pos_keyed.tables:[]*graphs.Quantile models.target_scaler.pos_keyed.tables.values:[]float64 models.target_scaler.pos_keyed.tables.cdf:[]float64 models.target_scaler.pos_keyed.tables.discrete:bool models.target_scaler.pos_keyed.tables.n:int models.target_scaler.pos_keyed.edges:[]float64 models.target_scaler.pos_keyed.bins:[]*graphs.Quantile models.target_scaler.pos_keyed.bins.values:[]float64 models.target_scaler.pos_keyed.bins.cdf:[]float64 models.target_scaler.pos_keyed.bins.discrete:bool models.target_scaler.pos_keyed.bins.n:int models.target_scaler.pos_col:int models.target_scaler.time_keyed:*graphs.Given models.target_scaler.time_keyed.values:[]float64 models.target_scaler.time_keyed.tables:[]*graphs.Quantile models.target_scaler.time_keyed.tables.values:[]float64 models.target_scaler.time_keyed.tables.cdf:[]float64 models.target_scaler.time_keyed.tables.discrete:bool models.target_scaler.time_keyed.tables.n:int models.target_scaler.time_keyed.edges:[]float64 models.target_scaler.time_keyed.bins:[]*graphs.Quantile models.target_scaler.time_keyed.bins.values:[]float64 models.target_scaler.time_keyed.bins.cdf:[]float64 models.target_scaler.time_keyed.bins.discrete:bool models.target_scaler.time_keyed.bins.n:int models.target_scaler.time_key_col:int models.target_scaler.time_key_edges:[]float64 models.target_scaler.calib:*graphs.Calib models.target_scaler.calib.gen:[2][]float64 models.target_scaler.calib.target:[2][]float64 models.target_scaler.calib.damp:[]float64 models.target_scaler.calib.later:*graphs.CalibMap models.target_scaler.calib.later.gen:[2][]float64 models.target_scaler.calib.later.target:[2][]float64 models.target_scaler.calib.pos_col:int models.target_scaler.log:[]bool models.target_scaler.mean:[]float64 models.target_scaler.std:[]float64 models.target_scaler.min:[]float64 models.target_scaler.max:[]float64 models.cond_scaler:graphs.Scaler models.cond_scaler.names:[]string models.cond_scaler.quantile:[]*graphs.Quantile models.cond_scaler.quantile.values:[]float64 models.cond_scaler.quantile.cdf:[]float64 models.cond_scaler.quantile.discrete:bool models.cond_scaler.quantile.n:int models.cond_scaler.given:*graphs.Given models.cond_scaler.given.values:[]float64 models.cond_scaler.given.tables:[]*graphs.Quantile models.cond_scaler.given.tables.values:[]float64 models.cond_scaler.given.tables.cdf:[]float64 models.cond_scaler.given.tables.discrete:bool models.cond_scaler.given.tables.n:int models.cond_scaler.given.edges:[]float64 models.cond_scaler.given.bins:[]*graphs.Quantile models.cond_scaler.given.bins.values:[]float64 models.cond_scaler.given.bins.cdf:[]float64 models.cond_scaler.given.bins.discrete:bool models.cond_scaler.given.bins.n:int models.cond_scaler.keyed:[]*graphs.Given models.cond_scaler.keyed.values:[]float64 models.cond_scaler.keyed.tables:[]*graphs.Quantile models.cond_scaler.keyed.tables.values:[]float64 models.cond_scaler.keyed.tables.cdf:[]float64 models.cond_scaler.keyed.tables.discrete:bool models.cond_scaler.keyed.tables.n:int models.cond_scaler.keyed.edges:[]float64 models.cond_scaler.keyed.bins:[]*graphs.Quantile models.cond_scaler.keyed.bins.values:[]float64 models.cond_scaler.keyed.bins.cdf:[]float64 models.cond_scaler.keyed.bins.discrete:bool models.cond_scaler.keyed.bins.n:int models.cond_scaler.key_cols:[]int models.cond_scaler.key_edges:[]float64 models.cond_scaler.pos_keyed:*graphs.Given models.cond_scaler.pos_keyed.values:[]float64 models.cond_scaler.pos_keyed.tables:[]*graphs.Quantile models.cond_scaler.pos_keyed.tables.values:[]float64 models.cond_scaler.pos_keyed.tables.cdf:[]float64 models.cond_scaler.pos_keyed.tables.discrete:bool models.cond_scaler.pos_keyed.tables.n:int models.cond_scaler.pos_keyed.edges:[]float64 models.cond_scaler.pos_keyed.bins:[]*graphs.Quantile models.cond_scaler.pos_keyed.bins.values:[]float64 models.cond_scaler.pos_keyed.bins.cdf:[]float64 models.cond_scaler.pos_keyed.bins.discrete:bool models.cond_scaler.pos_keyed.bins.n:int models.cond_scaler.pos_col:int models.cond_scaler.time_keyed:*graphs.Given models.cond_scaler.time_keyed.values:[]float64 models.cond_scaler.time_keyed.tables:[]*graphs.Quantile models.cond_scaler.time_keyed.tables.values:[]float64 models.cond_scaler.time_keyed.tables.cdf:[]float64 models.cond_scaler.time_keyed.tables.discrete:bool models.cond_scaler.time_keyed.tables.n:int models.cond_scaler.time_keyed.edges:[]float64 models.cond_scaler.time_keyed.bins:[]*graphs.Quantile models.cond_scaler.time_keyed.bins.values:[]float64 models.cond_scaler.time_keyed.bins.cdf:[]float64 models.cond_scaler.time_keyed.bins.discrete:bool models.cond_scaler.time_keyed.bins.n:int models.cond_scaler.time_key_col:int models.cond_scaler.time_key_edges:[]float64 models.cond_scaler.calib:*graphs.Calib models.cond_scaler.calib.gen:[2][]float64 models.cond_scaler.calib.target:[2][]float64 models.cond_scaler.calib.damp:[]float64 models.cond_scaler.calib.later:*graphs.CalibMap models.cond_scaler.calib.later.gen:[2][]float64 models.cond_scaler.calib.later.target:[2][]float64 models.cond_scaler.calib.pos_col:int models.cond_scaler.log:[]bool models.cond_scaler.mean:[]float64 models.cond_scaler.std:[]float64 models.cond_scaler.min:[]float64 models.cond_scaler.max:[]float64 models.weights:string models.weights_sha256:string models.steps:int64 models.selected_step:int64 models.validation:*bundle.Validation models.validation.step:int64 models.validation.ks_mean:float64 models.validation.c2st_accuracy:float64 models.validation.score:float64 selection:*bundle.Selection selection.mode:string selection.kept:int selection.candidates:[]bundle.SelectionCandidate selection.candidates.step:int64 selection.candidates.score:float64 selection.candidates.c2st_packet:float64 selection.candidates.c2st_window:float64 selection.candidates.ks_mean:float64 selection.candidates.timeline_ratio:float64 damping:*bundle.Damping damping.mode:string damping.damp:float64 damping.candidates:[]bundle.DampCandidate damping.candidates.damp:float64 damping.candidates.score:float64 damping.candidates.c2st_packet:float64 damping.candidates.c2st_window:float64 damping.candidates.ks_mean:float64 damping.candidates.timeline_ratio:float64 noise_memory:*bundle.NoiseMemory noise_memory.mode:string noise_memory.packet:float64 noise_memory.burst:float64 noise_memory.candidates:[]bundle.MemoryCandidate noise_memory.candidates.packet:float64 noise_memory.candidates.burst:float64 noise_memory.candidates.score:float64 noise_memory.candidates.c2st_packet:float64 noise_memory.candidates.c2st_window:float64 noise_memory.candidates.ks_mean:float64 noise_memory.candidates.timeline_ratio:float64 calib_loop:*bundle.CalibLoop calib_loop.mode:string calib_loop.rounds:int calib_loop.step:float64 calib_loop.packets:int calib_loop.scores:[]bundle.LoopScore calib_loop.scores.score:float64 calib_loop.scores.c2st_packet:float64 calib_loop.scores.c2st_window:float64 calib_loop.scores.ks_mean:float64 calib_loop.scores.timeline_ratio:float64"
	if FormatVersion != 12 || got != v12 {
		t.Fatalf("manifest schema or FormatVersion changed: bump FormatVersion and pin the new schema here.\nschema: %s", got)
	}
}

// FuzzManifest: DecodeManifest either refuses an input with a "bundle: "
// error or returns a manifest that an independent generic JSON parse
// agrees with (format, version, condition names equal to the configured
// condition in order, widths within bounds) and that re-encodes and decodes
// to the same value.
func FuzzManifest(f *testing.F) {
	good := marshal(f, sampleManifest())
	f.Add(good)
	f.Add([]byte(`{"format":"spatgan-bundle","format_version":1}`))
	f.Add([]byte(`{"format":"spatgan-bundle","format_version":2,"models":{}}`))
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeManifest("fuzz.json", in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "bundle: ") {
				t.Fatalf("error %q does not start with bundle:", err)
			}
			return
		}
		var raw map[string]any
		if err := json.Unmarshal(in, &raw); err != nil {
			t.Fatalf("accepted input is not a JSON object: %v", err)
		}
		v, _ := raw["format_version"].(float64)
		if raw["format"] != "spatgan-bundle" || v != math.Trunc(v) || v < 3 || v > 12 {
			t.Fatalf("accepted format %v version %v", raw["format"], raw["format_version"])
		}
		models, _ := raw["models"].(map[string]any)
		if len(models) != 4 {
			t.Fatalf("accepted %d models", len(models))
		}
		for id, v := range models {
			mm, _ := v.(map[string]any)
			cfg, _ := mm["config"].(map[string]any)
			cs, _ := mm["cond_scaler"].(map[string]any)
			if !reflect.DeepEqual(cfg["cond"], cs["names"]) {
				t.Fatalf("%s: condition %v, scaler names %v", id, cfg["cond"], cs["names"])
			}
			for _, key := range []string{"gen_widths", "critic_widths"} {
				ws, _ := cfg[key].([]any)
				if len(ws) == 0 || len(ws) > 16 {
					t.Fatalf("%s: %d %s", id, len(ws), key)
				}
				for _, w := range ws {
					if x, _ := w.(float64); x < 1 || x > 16384 {
						t.Fatalf("%s: %s width %v", id, key, w)
					}
				}
			}
		}
		back, err := DecodeManifest("rt.json", marshal(t, m))
		if err != nil {
			t.Fatalf("re-encoded manifest refused: %v", err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip changed the manifest")
		}
	})
}
