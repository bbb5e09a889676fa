package train

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
)

// playback replays a real conversation's bursts in order, from its first.
type playback struct {
	c      *trace.Conversation
	bursts []trace.Burst
	prevTS int64 // last packet before the conversation
	k      int
}

func (p *playback) Name() string { return "playback" }

func (p *playback) TurnsTo(out []sampler.Turn, side trace.Side, convs []*sampler.Conv) error {
	b := p.bursts[p.k]
	prev := p.prevTS
	if p.k > 0 {
		prev = p.bursts[p.k-1].LastTS
	}
	out[0] = sampler.Turn{Count: b.Count, GapNS: b.FirstTS - prev}
	return nil
}

func (p *playback) BurstsTo(out [][]sampler.Pkt, side trace.Side, convs []*sampler.Conv) error {
	b := p.bursts[p.k]
	for i := range out[0] {
		j := b.Start + i
		dt := int64(0)
		if i > 0 {
			dt = p.c.Packets[j].TS - p.c.Packets[j-1].TS
		}
		out[0][i] = sampler.Pkt{Size: p.c.Packets[j].Size, DtNS: dt}
	}
	p.k++
	return nil
}

// splitAtBurst splits c before its burst number b.
func splitAtBurst(t *testing.T, c *trace.Conversation, b int) (fit, val *trace.Conversation) {
	t.Helper()
	bursts := c.Bursts()
	i := bursts[b].Start
	f, v := *c, *c
	f.Packets, v.Packets = c.Packets[:i], c.Packets[i:]
	return &f, &v
}

// TestScoreClosedLoop: the score of a sampler that replays the validation
// part exactly is near 0 (KS 0, timeline 1, classifiers at chance), and
// an i.i.d. normal baseline, which reproduces neither bursts nor reply
// gaps, scores far worse.
func TestScoreClosedLoop(t *testing.T) {
	conv := synthConv(3, 1600)
	fit, val := splitAtBurst(t, conv, 1200)
	prime := features.Prime(fit)
	if next, ok := prime.Next(); !ok || next != val.Packets[0].From {
		t.Fatalf("the primed history draws %v next, the validation part opens with %v", next, val.Packets[0].From)
	}
	pb := &playback{c: val, bursts: val.Bursts(), prevTS: fit.Packets[len(fit.Packets)-1].TS}
	h := prime
	got, err := scoreClosedLoop(context.Background(), pb, &h, val)
	if err != nil {
		t.Fatal(err)
	}
	// The classifiers see the same rows in both classes: they cannot do
	// better than chance (they do worse: a row learnt with one label is
	// tested with the other).
	if got.KSMean > 1e-9 || math.Abs(got.TimelineRatio-1) > 1e-9 || got.C2STPacket > 0.55 || got.C2STWindow > 0.55 || got.Score > 0.1 {
		t.Errorf("replay of the validation part: %+v; want KS 0, timeline 1, C2ST at most chance", got)
	}
	want := max(0, got.C2STPacket-0.5) + max(0, got.C2STWindow-0.5) + got.KSMean + math.Abs(math.Log(got.TimelineRatio))
	if math.Abs(got.Score-want) > 1e-12 {
		t.Errorf("score %v, want %v from its parts", got.Score, want)
	}
	norm, err := sampler.FitNormal(fit, 1)
	if err != nil {
		t.Fatal(err)
	}
	h = prime
	bad, err := scoreClosedLoop(context.Background(), norm, &h, val)
	if err != nil {
		t.Fatal(err)
	}
	if bad.Score < got.Score+0.3 || bad.KSMean < 0.05 {
		t.Errorf("normal baseline %+v, replay %+v: want the baseline far worse", bad, got)
	}
}

// TestClosedLoopSelection: a closed-loop run scores the open-loop choice
// and every validation step, keeps the lowest score, and writes the kept
// step's weights for all four models with the record in the manifest; the
// bundle loads, and equals the kept candidate's bundle of CandidatesDir.
func TestClosedLoopSelection(t *testing.T) {
	dir, cdir := t.TempDir(), t.TempDir()
	o := resumeOptsSel(dir, SelectClosedLoop)
	o.CandidatesDir = cdir
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	sel := res.Manifest.Selection
	if sel == nil || sel.Mode != SelectClosedLoop {
		t.Fatalf("selection record %+v", sel)
	}
	// The open-loop choice, then steps 10, 20, 30, 40.
	if len(sel.Candidates) != 5 || sel.Candidates[0].Step != 0 {
		t.Fatalf("candidates %+v, want the open-loop choice and 4 steps", sel.Candidates)
	}
	for i, c := range sel.Candidates {
		if i > 0 && c.Step != int64(10*i) {
			t.Errorf("candidate %d has step %d, want %d", i, c.Step, 10*i)
		}
		if c.Score < sel.Candidates[sel.Kept].Score {
			t.Errorf("candidate %d scored %v, below the kept candidate %d's %v", i, c.Score, sel.Kept, sel.Candidates[sel.Kept].Score)
		}
	}
	open, err := Run(context.Background(), resumeOpts(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range bundle.ModelIDs {
		m := res.Manifest.Models[id]
		want := sel.Candidates[sel.Kept].Step
		if sel.Kept == 0 {
			want = open.Manifest.Models[id].SelectedStep
		}
		if m.SelectedStep != want {
			t.Errorf("%s keeps step %d, want %d", id, m.SelectedStep, want)
		}
		if m.Validation == nil || m.Validation.Step != m.SelectedStep {
			t.Errorf("%s: validation %+v of the kept step %d", id, m.Validation, m.SelectedStep)
		}
	}
	b, err := bundle.Open(dir, 1, tf.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	for i, c := range sel.Candidates {
		name := "open-loop"
		if c.Step > 0 {
			name = fmt.Sprintf("step-%d", c.Step)
		}
		man, _, err := bundle.ReadManifest(filepath.Join(cdir, name))
		if err != nil {
			t.Fatalf("candidate %d: %v", i, err)
		}
		for _, id := range bundle.ModelIDs {
			same := man.Models[id].WeightsSHA256 == res.Manifest.Models[id].WeightsSHA256
			if i == sel.Kept && !same {
				t.Errorf("%s: the kept candidate %s has other weights than the bundle", id, name)
			}
			if c.Step > 0 && man.Models[id].SelectedStep != c.Step {
				t.Errorf("%s: candidate %s keeps step %d", id, name, man.Models[id].SelectedStep)
			}
		}
	}
	if _, err := Run(context.Background(), Options{Conv: o.Conv, Configs: o.Configs, Out: t.TempDir(), CandidatesDir: cdir}); err == nil || !strings.Contains(err.Error(), "closed-loop") {
		t.Errorf("candidates with the open-loop selection: error %v", err)
	}
}
