package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/tf"
)

// resumeOpts are a cheap run: 4 models x 40 steps, a check every 10 steps.
func resumeOpts(dir string) Options {
	return Options{Conv: synthConv(11, 1200), Configs: smallConfigs(40), Seed: 4, Out: dir,
		EvalEvery: 10, CheckpointEvery: 20, EvalRows: 100}
}

// resumeOptsSel is resumeOpts with the weight selection sel.
func resumeOptsSel(dir, sel string) Options {
	o := resumeOpts(dir)
	o.Select = sel
	return o
}

// treeState maps every file under dir to the SHA-256 of its content and
// its mode and modification time.
func treeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		s := sha256.Sum256(b)
		out[p] = hex.EncodeToString(s[:]) + " " + info.Mode().String() + " " + info.ModTime().String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestResumeBitIdentical: a run interrupted twice (each model stops at the
// step it reached, checkpointing it) and resumed ends with the same weights
// (SHA-256 in the manifest), the same kept steps and the same validation
// scores as an uninterrupted run, with either weight selection (the
// closed-loop one keeps every validation step's weights in the
// checkpoints); the interruption is an *InterruptedError with exit status
// 130 naming --resume.
func TestResumeBitIdentical(t *testing.T) {
	for _, sel := range SelectModes {
		t.Run(sel, func(t *testing.T) { testResumeBitIdentical(t, sel) })
	}
}

func testResumeBitIdentical(t *testing.T, sel string) {
	resumeOpts := func(dir string) Options { return resumeOptsSel(dir, sel) }
	ref, err := Run(context.Background(), resumeOpts(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, stopAt := range []int64{7, 26} {
		ctx, cancel := context.WithCancel(context.Background())
		o := resumeOpts(dir)
		o.Resume = true
		o.afterStep = func(id string, gen int64) {
			if id == "server-burst" && gen == stopAt {
				cancel()
			}
		}
		_, err := Run(ctx, o)
		cancel()
		var ie *InterruptedError
		if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) || ie.ExitCode() != 130 || !strings.Contains(err.Error(), "--resume") {
			t.Fatalf("interrupted run: error %v, want an *InterruptedError naming --resume", err)
		}
		if ie.Steps["server-burst"] != stopAt {
			t.Fatalf("server-burst checkpointed at step %d, stopped at %d", ie.Steps["server-burst"], stopAt)
		}
	}
	o := resumeOpts(dir)
	o.Resume = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range bundle.ModelIDs {
		a, b := ref.Manifest.Models[id], res.Manifest.Models[id]
		if a.WeightsSHA256 != b.WeightsSHA256 || a.SelectedStep != b.SelectedStep || a.Steps != b.Steps {
			t.Errorf("%s: resumed weights %s (kept step %d of %d), uninterrupted %s (%d of %d)", id,
				b.WeightsSHA256, b.SelectedStep, b.Steps, a.WeightsSHA256, a.SelectedStep, a.Steps)
		}
		if a.Validation == nil || b.Validation == nil || *a.Validation != *b.Validation {
			t.Errorf("%s: validation %+v after resumes, %+v uninterrupted", id, b.Validation, a.Validation)
		}
	}
	if !reflect.DeepEqual(res.Manifest.Selection, ref.Manifest.Selection) || (res.Manifest.Selection == nil) != (sel == SelectOpenLoop) {
		t.Errorf("selection %+v after resumes, %+v uninterrupted", res.Manifest.Selection, ref.Manifest.Selection)
	}
	if res.Manifest.ConfigSHA256 != ref.Manifest.ConfigSHA256 || res.Manifest.ConfigSHA256 == "" {
		t.Errorf("config hash %q vs %q", res.Manifest.ConfigSHA256, ref.Manifest.ConfigSHA256)
	}

	// Nothing left to train: a resume (even one asking for fewer steps)
	// changes nothing on disk.
	before := treeState(t, dir)
	o = resumeOpts(dir)
	o.Resume = true
	o.Configs = smallConfigs(15)
	res, err = Run(context.Background(), o)
	if err != nil || !res.UpToDate || res.GenSteps != 0 {
		t.Fatalf("finished resume: %+v, %v; want up to date", res, err)
	}
	after := treeState(t, dir)
	for p, s := range before {
		if after[p] != s {
			t.Errorf("%s changed: %s -> %s", p, s, after[p])
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d files before, %d after", len(before), len(after))
	}
	// Files are readable by others (0644), not 0600.
	for p := range after {
		if info, _ := os.Stat(p); info.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v, want 0644", p, info.Mode().Perm())
		}
	}
}

// TestResumeRefusesAnotherRun: a resume with other data, another seed or
// another configuration is refused, naming what differs, and changes
// nothing on disk.
func TestResumeRefusesAnotherRun(t *testing.T) {
	dir := t.TempDir()
	o := resumeOpts(dir)
	o.Configs = smallConfigs(10)
	o.EvalEvery, o.CheckpointEvery = 5, 5
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	before := treeState(t, dir)
	cases := []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"other trace", func(o *Options) { o.Conv = synthConv(12, 1200); o.Conv.Source = "other.csv" }, "training data (checkpoint: synthetic"},
		{"other seed", func(o *Options) { o.Seed = 5 }, "seed (checkpoint 4, this run 5)"},
		{"other learning rate", func(o *Options) {
			c := o.Configs["client-burst"]
			c.LR *= 2
			o.Configs["client-burst"] = c
		}, "configuration (checkpoint hash"},
		{"other validation split", func(o *Options) { o.ValFrac = 0.15 }, "configuration"},
	}
	for _, c := range cases {
		o := resumeOpts(dir)
		o.Configs = smallConfigs(20)
		o.EvalEvery, o.CheckpointEvery = 5, 5
		o.Resume = true
		c.edit(&o)
		_, err := Run(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "is from another run") {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	after := treeState(t, dir)
	for p, s := range before {
		if after[p] != s {
			t.Errorf("refused resume changed %s", p)
		}
	}
}

// TestCalibrateRefitOnResume: the calibration is fitted after training and
// does not change the weights, so a finished run resumed with calibration
// switched on trains nothing, keeps every weight file and writes a valid
// calibration per model; the bundle is then up to date.
func TestCalibrateRefitOnResume(t *testing.T) {
	dir := t.TempDir()
	o := resumeOpts(dir)
	for id, c := range o.Configs {
		c.Calibrate = false
		o.Configs[id] = c
	}
	plain, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for id, mm := range plain.Manifest.Models {
		if mm.Target.Calib != nil {
			t.Fatalf("%s: calibration written with calibrate off", id)
		}
	}
	o = resumeOpts(dir)
	o.Resume = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.UpToDate || res.GenSteps != 0 {
		t.Fatalf("resume with calibrate: up to date %v, %d steps trained; want a rewrite and no training", res.UpToDate, res.GenSteps)
	}
	for id, mm := range res.Manifest.Models {
		if mm.Target.Calib == nil || !mm.Config.Calibrate {
			t.Errorf("%s: no calibration after the resume", id)
		}
		if err := mm.Target.Calib.Check(); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		if p := plain.Manifest.Models[id]; p.WeightsSHA256 != mm.WeightsSHA256 || p.SelectedStep != mm.SelectedStep {
			t.Errorf("%s: weights changed by the calibration (%s step %d -> %s step %d)", id, p.WeightsSHA256[:8], p.SelectedStep, mm.WeightsSHA256[:8], mm.SelectedStep)
		}
	}
	if _, _, err := bundle.ReadManifest(dir); err != nil {
		t.Fatal(err)
	}
	o.Resume = true
	again, err := Run(context.Background(), o)
	if err != nil || !again.UpToDate {
		t.Fatalf("second resume: %+v, %v; want up to date", again, err)
	}
}

// TestCalibDamp: a fixed damping is written into every calibration and the
// manifest's record; a finished run resumed with the automatic choice
// trains nothing, scores every value of DampGrid closed loop on the
// validation part and keeps the lowest score's; the bundle is then up to
// date. A damping outside [0, 1] is refused before any training.
func TestCalibDamp(t *testing.T) {
	dir := t.TempDir()
	o := resumeOpts(dir)
	o.CalibDamp = "0.5"
	fixed, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if d := fixed.Manifest.Damping; d == nil || d.Mode != "fixed" || d.Damp != 0.5 || len(d.Candidates) != 0 {
		t.Fatalf("fixed damping: record %+v, want fixed 0.5 without candidates", d)
	}
	wantDamp(t, fixed.Manifest, 0.5)
	o = resumeOpts(dir)
	o.Resume = true
	o.CalibDamp = DampAuto
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.UpToDate || res.GenSteps != 0 {
		t.Fatalf("resume with automatic damping: up to date %v, %d steps trained; want a rewrite and no training", res.UpToDate, res.GenSteps)
	}
	d := res.Manifest.Damping
	if d == nil || d.Mode != DampAuto || len(d.Candidates) != len(DampGrid) {
		t.Fatalf("automatic damping: record %+v, want %d candidates", d, len(DampGrid))
	}
	best := 0
	for i, c := range d.Candidates {
		if c.Damp != DampGrid[i] || !(c.Score > 0) || !(c.TimelineRatio > 0) {
			t.Errorf("candidate %d: %+v, want damp %v with a positive score and timeline", i, c, DampGrid[i])
		}
		if c.Score < d.Candidates[best].Score {
			best = i
		}
	}
	if d.Damp != DampGrid[best] {
		t.Errorf("kept damp %v, the lowest score is damp %v's", d.Damp, DampGrid[best])
	}
	wantDamp(t, res.Manifest, d.Damp)
	for id, mm := range res.Manifest.Models {
		if p := fixed.Manifest.Models[id]; p.WeightsSHA256 != mm.WeightsSHA256 {
			t.Errorf("%s: weights changed by the damping", id)
		}
	}
	if _, _, err := bundle.ReadManifest(dir); err != nil {
		t.Fatal(err)
	}
	again, err := Run(context.Background(), o)
	if err != nil || !again.UpToDate {
		t.Fatalf("second resume: %+v, %v; want up to date", again, err)
	}
	o.CalibDamp = "1.5"
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), `damping "1.5"`) {
		t.Errorf("damping 1.5: %v, want an error naming it", err)
	}
}

// wantDamp checks that every model of man has a calibration damped by d on
// the time and not on the first target.
func wantDamp(t *testing.T, man *bundle.Manifest, d float64) {
	t.Helper()
	for id, mm := range man.Models {
		if c := mm.Target.Calib; c == nil || len(c.Damp) != 2 || c.Damp[0] != 0 || c.Damp[1] != d {
			t.Errorf("%s: calibration %+v, want damp [0 %v]", id, c, d)
		}
	}
}

// TestNoiseMemory: a fixed noise memory goes into the manifest's record
// and the opened bundle; a finished run resumed with the automatic choice
// trains nothing, scores every pair of MemoryGrid closed loop on the
// validation part, keeps the lowest score's pair and leaves the weights as
// they were; the bundle is then up to date, and a run asking for no memory
// rewrites it without a record. Bad memories are refused before training.
func TestNoiseMemory(t *testing.T) {
	dir := t.TempDir()
	o := resumeOpts(dir)
	o.NoiseMemory = "0.8,0.5"
	fixed, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if nm := fixed.Manifest.NoiseMemory; nm == nil || nm.Mode != "fixed" || nm.Packet != 0.8 || nm.Burst != 0.5 || len(nm.Candidates) != 0 {
		t.Fatalf("fixed noise memory: record %+v, want fixed 0.8, 0.5 without candidates", nm)
	}
	b, err := bundle.Open(dir, 1, tf.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p, q := b.NoiseMemory(); p != 0.8 || q != 0.5 {
		t.Errorf("opened bundle: memory %v, %v; want 0.8, 0.5", p, q)
	}
	b.Close()
	o = resumeOpts(dir)
	o.Resume = true
	o.NoiseMemory = MemoryAuto
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.UpToDate || res.GenSteps != 0 {
		t.Fatalf("resume with the automatic memory: up to date %v, %d steps trained; want a rewrite and no training", res.UpToDate, res.GenSteps)
	}
	nm := res.Manifest.NoiseMemory
	n := len(MemoryGrid[0]) * len(MemoryGrid[1])
	if nm == nil || nm.Mode != MemoryAuto || len(nm.Candidates) != n {
		t.Fatalf("automatic memory: record %+v, want %d candidates", nm, n)
	}
	best, i := 0, 0
	for _, p := range MemoryGrid[0] {
		for _, q := range MemoryGrid[1] {
			c := nm.Candidates[i]
			if c.Packet != p || c.Burst != q || !(c.Score > 0) || !(c.TimelineRatio > 0) {
				t.Errorf("candidate %d: %+v, want memory %v, %v with a positive score and timeline", i, c, p, q)
			}
			if c.Score < nm.Candidates[best].Score {
				best = i
			}
			i++
		}
	}
	if c := nm.Candidates[best]; nm.Packet != c.Packet || nm.Burst != c.Burst {
		t.Errorf("kept memory %v, %v; the lowest score is %v, %v's", nm.Packet, nm.Burst, c.Packet, c.Burst)
	}
	for id, mm := range res.Manifest.Models {
		if p := fixed.Manifest.Models[id]; p.WeightsSHA256 != mm.WeightsSHA256 {
			t.Errorf("%s: weights changed by the noise memory", id)
		}
	}
	again, err := Run(context.Background(), o)
	if err != nil || !again.UpToDate {
		t.Fatalf("second resume: %+v, %v; want up to date", again, err)
	}
	o.NoiseMemory = "0"
	none, err := Run(context.Background(), o)
	if err != nil || none.UpToDate || none.Manifest.NoiseMemory != nil {
		t.Fatalf("resume without memory: %+v, %v; want a rewrite without a record", none, err)
	}
	for _, bad := range []string{"1", "-0.1", "0.5,0.5,0.5", "x", "NaN"} {
		o.NoiseMemory = bad
		if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("noise memory %q", bad)) {
			t.Errorf("noise memory %q: %v, want an error naming it", bad, err)
		}
	}
}

// TestCalibLoop: a finished run resumed with the closed-loop calibration
// by position trains nothing and keeps the weights; the packet models'
// calibrations get a map for later packets keyed on their pos column,
// refitted from the bundle's own closed-loop draws (they differ from the
// teacher-forced ones), while the burst models keep theirs bit for bit;
// the record holds the validation scores before and after. The bundle is
// then up to date, opens and draws; pooled refits every model without a
// second map, and none removes the record. A bad mode, or one with a
// damping, is refused before training.
func TestCalibLoop(t *testing.T) {
	dir := t.TempDir()
	o := resumeOpts(dir)
	plain, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	o.Resume, o.CalibLoop, o.CalibLoopRounds = true, CalibLoopPos, 2
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.UpToDate || res.GenSteps != 0 {
		t.Fatalf("resume with a closed-loop calibration: up to date %v, %d steps trained; want a rewrite and no training", res.UpToDate, res.GenSteps)
	}
	cl := res.Manifest.CalibLoop
	if cl == nil || cl.Mode != CalibLoopPos || cl.Rounds != 2 || cl.Step != DefaultCalibLoopStep || cl.Packets < CalibRows || len(cl.Scores) != 3 {
		t.Fatalf("record %+v, want mode pos, 2 rounds of at least %d packets, step %v and 3 scores", cl, CalibRows, DefaultCalibLoopStep)
	}
	for i, s := range cl.Scores {
		if !(s.Score > 0) || !(s.TimelineRatio > 0) {
			t.Errorf("score %d: %+v, want a positive score and timeline", i, s)
		}
	}
	for id, mm := range res.Manifest.Models {
		p := plain.Manifest.Models[id]
		if p.WeightsSHA256 != mm.WeightsSHA256 {
			t.Errorf("%s: weights changed by the closed-loop calibration", id)
		}
		c, pc := mm.Target.Calib, p.Target.Calib
		if mm.Config.Kind == "burst" {
			if !reflect.DeepEqual(c, pc) {
				t.Errorf("%s: a burst model's calibration changed in mode pos", id)
			}
			continue
		}
		if c == nil || c.Later == nil || c.PosCol != slices.Index(mm.Config.Cond, "pos") || c.Damp != nil {
			t.Fatalf("%s: calibration %+v, want a later map at the pos column without damp", id, c)
		}
		if reflect.DeepEqual(c.Gen, pc.Gen) {
			t.Errorf("%s: the first packets' map is the teacher-forced one", id)
		}
		if reflect.DeepEqual(c.Later.Target, [2][]float64(c.Target)) {
			t.Errorf("%s: later and first packets have the same training quantiles", id)
		}
	}
	again, err := Run(context.Background(), o)
	if err != nil || !again.UpToDate {
		t.Fatalf("second resume: %+v, %v; want up to date", again, err)
	}
	b, err := bundle.Open(dir, 1, tf.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pkts, _, err := simulate.GenerateAll(context.Background(), b, simulate.GenOptions{Packets: 500})
	b.Close()
	if err != nil || len(pkts) != 500 {
		t.Fatalf("generating from the bundle: %d packets, %v", len(pkts), err)
	}
	o.CalibLoopRounds = 3
	if r, err := Run(context.Background(), o); err != nil || r.UpToDate || r.Manifest.CalibLoop.Rounds != 3 {
		t.Fatalf("resume with 3 rounds: %v, want a rewrite", err)
	}
	o.CalibLoop, o.CalibLoopRounds, o.CalibLoopStep = CalibLoopPooled, 1, 1
	pooled, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for id, mm := range pooled.Manifest.Models {
		if c := mm.Target.Calib; c == nil || c.Later != nil || reflect.DeepEqual(c.Gen, plain.Manifest.Models[id].Target.Calib.Gen) {
			t.Errorf("%s: pooled calibration %+v, want a refitted map without a later one", id, c)
		}
	}
	o.CalibLoop = CalibLoopNone
	none, err := Run(context.Background(), o)
	if err != nil || none.UpToDate || none.Manifest.CalibLoop != nil {
		t.Fatalf("resume without the closed-loop calibration: %v, want a rewrite without a record", err)
	}
	for id, mm := range none.Manifest.Models {
		if !reflect.DeepEqual(mm.Target.Calib, plain.Manifest.Models[id].Target.Calib) {
			t.Errorf("%s: calibration differs from the plain run's", id)
		}
	}
	for _, bad := range []struct{ mode, damp, want string }{
		{"sideways", "", `closed-loop calibration "sideways"`},
		{CalibLoopPos, "0.5", "no damping"},
		{CalibLoopPooled, DampAuto, "no damping"},
		{CalibLoopPos, "step", "step 1.5"},
	} {
		o := resumeOpts(t.TempDir())
		o.CalibLoop, o.CalibDamp = bad.mode, bad.damp
		if bad.damp == "step" {
			o.CalibDamp, o.CalibLoopStep = "", 1.5
		}
		if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("mode %q damp %q: %v, want an error with %q", bad.mode, bad.damp, err, bad.want)
		}
	}
}
