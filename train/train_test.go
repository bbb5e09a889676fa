package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
)

// synthConv makes a seeded two-party conversation: alternating bursts of
// 1-4 packets, sizes from a two-component mixture, exponential gaps.
func synthConv(seed uint64, bursts int) *trace.Conversation {
	rng := rand.New(rand.NewPCG(seed, 1))
	c := &trace.Conversation{Proto: "udp", Source: "synthetic"}
	c.Server.Addr = mustAddr("10.0.0.1")
	c.Client.Addr = mustAddr("10.0.0.2")
	ts := int64(1_000_000_000)
	side := trace.Client
	for b := 0; b < bursts; b++ {
		n := 1 + rng.IntN(4)
		ts += int64(1000 + rng.ExpFloat64()*20000) // reply gap, ns scale of us
		for i := 0; i < n; i++ {
			if i > 0 {
				ts += int64(100 + rng.ExpFloat64()*5000)
			}
			size := 200 + 20*rng.NormFloat64()
			if rng.IntN(3) == 0 {
				size = 900 + 50*rng.NormFloat64()
			}
			c.Packets = append(c.Packets, trace.Packet{TS: ts * 1000, Size: int32(size), From: side, Proto: 17})
		}
		side = side.Other()
	}
	return c
}

func small(kind graphs.Kind, steps int) graphs.Config {
	c := graphs.Default(kind)
	c.GenWidths, c.CriticWidths = []int{32, 32}, []int{32, 32}
	c.Steps, c.Pretrain, c.CriticIters = steps, 10, 2
	return c
}

func smallConfigs(steps int) map[string]graphs.Config {
	m := map[string]graphs.Config{}
	for _, id := range bundle.ModelIDs {
		_, kind, _ := bundle.ModelKind(id)
		m[id] = small(kind, steps)
	}
	return m
}

func TestRunWritesLoadableBundle(t *testing.T) {
	dir := t.TempDir()
	conv := synthConv(1, 1500)
	res, err := Run(context.Background(), Options{Conv: conv, Configs: smallConfigs(40), Seed: 3, Out: dir,
		EvalEvery: 20, CheckpointEvery: 20, EvalRows: 200})
	if err != nil {
		t.Fatal(err)
	}
	if res.GenSteps != 4*40 {
		t.Errorf("ran %d generator steps, want 160", res.GenSteps)
	}
	log, err := os.ReadFile(filepath.Join(dir, "loss.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(log), "\n"); lines < 1+4*2 {
		t.Errorf("loss log has %d lines", lines)
	}
	// Same seed, same outputs; generators only, no critic in the bundle.
	draw := func() []sampler.Pkt {
		b, err := bundle.Open(dir, 9, tf.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		convs := make([]*sampler.Conv, 50)
		for i := range convs {
			convs[i] = sampler.NewConv(uint64(i))
			convs[i].H.Observe(trace.Client, features.Burst{Count: 2, Bytes: 400, DurNS: 300e3, GapNS: -1})
			convs[i].H.Begin(trace.Server, sampler.Turn{Count: 1 + i%2, GapNS: 1e6})
		}
		bursts := make([][]sampler.Pkt, len(convs))
		var out []sampler.Pkt
		for i := range bursts {
			bursts[i] = make([]sampler.Pkt, 1+i%2)
		}
		if err := b.BurstsTo(bursts, trace.Server, convs); err != nil {
			t.Fatal(err)
		}
		for _, bu := range bursts {
			out = append(out, bu...)
		}
		turns := make([]sampler.Turn, len(convs))
		if err := b.TurnsTo(turns, trace.Client, convs); err != nil {
			t.Fatal(err)
		}
		for _, tu := range turns {
			if tu.Count < 1 || tu.GapNS < 0 {
				t.Fatalf("invalid turn %+v", tu)
			}
		}
		return out
	}
	a, b := draw(), draw()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d differs between two loads with one seed: %+v vs %+v", i, a[i], b[i])
		}
		if a[i].Size < 100 || a[i].Size > 1200 || a[i].DtNS < 0 {
			t.Fatalf("packet %+v outside the training range", a[i])
		}
	}
	w, err := tf.ReadFile(filepath.Join(dir, "server-packet.weights"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range w.Entries {
		if strings.Contains(e.Name, "critic") || strings.Contains(e.Name, "adam") {
			t.Errorf("bundle weights hold %s; generators only expected", e.Name)
		}
	}
}

func TestBundleRejectsDamage(t *testing.T) {
	dir := t.TempDir()
	if _, err := Run(context.Background(), Options{Conv: synthConv(2, 800), Configs: smallConfigs(5), Seed: 1, Out: dir,
		EvalEvery: 5, EvalRows: 100}); err != nil {
		t.Fatal(err)
	}
	copyDir := func() string {
		d := t.TempDir()
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			os.WriteFile(filepath.Join(d, e.Name()), b, 0o644)
		}
		return d
	}
	cases := []struct {
		name, want string
		damage     func(d string)
	}{
		{"truncated weights", "checksum", func(d string) {
			p := filepath.Join(d, "client-burst.weights")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}},
		{"missing weights", "client-packet", func(d string) { os.Remove(filepath.Join(d, "client-packet.weights")) }},
		{"no manifest", "not a bundle", func(d string) { os.Remove(filepath.Join(d, bundle.ManifestName)) }},
		{"other format version", "format version", func(d string) {
			p := filepath.Join(d, bundle.ManifestName)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), fmt.Sprintf(`"format_version": %d`, bundle.FormatVersion), `"format_version": 99`, 1)), 0o644)
		}},
		{"damaged calibration", "calibration", func(d string) {
			p := filepath.Join(d, bundle.ManifestName)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), `"gen": [`, `"gen": [[1, 0], `, 1)), 0o644)
		}},
		{"garbage manifest", "manifest.json", func(d string) { os.WriteFile(filepath.Join(d, bundle.ManifestName), []byte("{not json"), 0o644) }},
		{"model missing", "server-burst", func(d string) {
			p := filepath.Join(d, bundle.ManifestName)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), `"server-burst"`, `"server-bust"`, 1)), 0o644)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := copyDir()
			c.damage(d)
			b, err := bundle.Open(d, 1, tf.SessionOptions{})
			if err == nil {
				b.Close()
				t.Fatal("damaged bundle opened without error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestBadInputs(t *testing.T) {
	oneSided := synthConv(3, 400)
	for i := range oneSided.Packets {
		oneSided.Packets[i].From = trace.Client
	}
	tiny := synthConv(4, 6)
	nan := synthConv(5, 600)
	for _, c := range []struct {
		name string
		conv *trace.Conversation
		want string
	}{
		{"one-sided", oneSided, "train"},
		{"too few packets", tiny, "train"},
	} {
		_, err := Run(context.Background(), Options{Conv: c.conv, Configs: smallConfigs(5), Out: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v", c.name, err)
		}
	}
	// NaN in a feature table is refused by the scaler with the row named.
	raw, err := graphs.RawRows(small(graphs.Packet, 1), nan, trace.Server)
	if err != nil {
		t.Fatal(err)
	}
	raw.X[1][7] = math.NaN()
	if _, err := graphs.NewDataset(small(graphs.Packet, 1), raw); err == nil || !strings.Contains(err.Error(), "row 7") {
		t.Errorf("NaN feature: error %v, want one naming row 7", err)
	}
}

// TestMain lets the resume test run training in a child process that it
// kills hard.
func TestMain(m *testing.M) {
	if dir := os.Getenv("SPATGAN_TRAIN_CHILD"); dir != "" {
		_, err := Run(context.Background(), Options{Conv: synthConv(6, 1500), Configs: smallConfigs(100000), Seed: 5,
			Out: dir, CheckpointEvery: 10, EvalEvery: 50, EvalRows: 100, Resume: true})
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestResumeAfterKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SPATGAN_TRAIN_CHILD="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Models run --parallel at a time: wait for the first checkpoint of any.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*.ckpt")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint within 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let it run past the checkpoint
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child was not killed: %v", err)
	}
	// Every checkpoint left behind must be complete and valid.
	done := map[string]int64{}
	var target int64
	for _, id := range bundle.ModelIDs {
		f, err := tf.ReadFile(filepath.Join(dir, "checkpoints", id+".ckpt"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatalf("checkpoint after a hard kill: %v", err)
		}
		var n int64
		if _, err := fmt.Sscan(f.Meta["gen_step"], &n); err != nil || n <= 0 {
			t.Fatalf("%s checkpoint meta %v", id, f.Meta)
		}
		done[id] = n
		target = max(target, n)
	}
	target += 30
	// Resume in this process and finish.
	res, err := Run(context.Background(), Options{Conv: synthConv(6, 1500), Configs: smallConfigs(int(target)), Seed: 5, Out: dir,
		CheckpointEvery: 10, EvalEvery: 50, EvalRows: 100, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, id := range bundle.ModelIDs {
		want += target - done[id]
		if res.Manifest.Models[id].Steps != target {
			t.Errorf("%s trained %d steps, want %d", id, res.Manifest.Models[id].Steps, target)
		}
	}
	if res.GenSteps != want {
		t.Errorf("resumed run did %d steps, want %d (the rest after the checkpoints %v)", res.GenSteps, want, done)
	}
	b, err := bundle.Open(dir, 1, tf.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := make([]sampler.Turn, 3)
	if err := b.TurnsTo(out, trace.Server, []*sampler.Conv{sampler.NewConv(1), sampler.NewConv(2), sampler.NewConv(3)}); err != nil {
		t.Fatal(err)
	}
}

// TestTestPartNeverRead plants packets larger than any other in the
// validation part and in the test part: the scalers (fitted on the fit
// part) must not see them.
func TestTestPartNeverRead(t *testing.T) {
	conv := synthConv(7, 1200)
	n := len(conv.Packets)
	start, end := conv.Packets[0].TS, conv.Packets[n-1].TS
	for i := range conv.Packets {
		// 0.75 of the duration is in the validation part (0.7-0.8); 0.9 in the test part.
		if f := float64(conv.Packets[i].TS-start) / float64(end-start); f > 0.75 {
			conv.Packets[i].Size = 1400
		}
	}
	dir := t.TempDir()
	res, err := Run(context.Background(), Options{Conv: conv, Configs: smallConfigs(2), Seed: 1, Out: dir, EvalEvery: 2, EvalRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"server-packet", "client-packet"} {
		if mx := res.Manifest.Models[id].Target.Max[0]; mx >= 1400 {
			t.Errorf("%s: size scaler max %v: the fit read the validation or test part", id, mx)
		}
	}
	if res.Manifest.Trace.TrainFrac != 0.8 || res.Manifest.Trace.ValFrac != 0.1 {
		t.Errorf("manifest split %+v", res.Manifest.Trace)
	}
}

// TestFirstPacketDtIsTheGap: a bundle's packet model does not choose the
// time before a burst's first packet: BurstsTo gives it the turn's reply
// gap (0 for the conversation's opening burst), as the training rows do,
// so that the later packets' conditions (last_dt_us) read what they read
// in training.
func TestFirstPacketDtIsTheGap(t *testing.T) {
	dir := t.TempDir()
	if _, err := Run(context.Background(), resumeOpts(dir)); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(dir, 3, tf.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	opening, mid := sampler.NewConv(0), sampler.NewConv(1)
	mid.H = features.Prime(synthConv(5, 50))
	const gap = 12_345_678
	for _, c := range []*sampler.Conv{opening, mid} {
		c.H.Begin(trace.Server, features.Turn{Count: 4, GapNS: gap})
	}
	out := [][]sampler.Pkt{make([]sampler.Pkt, 4), make([]sampler.Pkt, 4)}
	if err := b.BurstsTo(out, trace.Server, []*sampler.Conv{opening, mid}); err != nil {
		t.Fatal(err)
	}
	if out[0][0].DtNS != 0 || out[1][0].DtNS != gap {
		t.Errorf("first packets' times %d (opening burst) and %d (after a gap of %d); want 0 and the gap", out[0][0].DtNS, out[1][0].DtNS, gap)
	}
	for i, o := range out {
		for j := 1; j < len(o); j++ {
			if o[j].DtNS < 0 || o[j].Size <= 0 {
				t.Errorf("conversation %d packet %d: %+v", i, j, o[j])
			}
		}
	}
}

// TestBurstsFromPieces: a bundle's autoregressive packet model
// (sampler.Stepper) drawing bursts a few packets at a time, as a live
// agent does, gives what one BurstsTo call gives from the same seed, for
// an opening burst and one in the middle of a conversation, with a noise
// memory in play.
func TestBurstsFromPieces(t *testing.T) {
	dir := t.TempDir()
	o := resumeOpts(dir)
	o.NoiseMemory = "0.5,0.5"
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	draw := func(pieces []int) [][]sampler.Pkt {
		b, err := bundle.Open(dir, 9, tf.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if !b.Stepwise(trace.Server) || !b.Stepwise(trace.Client) {
			t.Fatal("the default packet models are not stepwise")
		}
		opening, mid := sampler.NewConv(0), sampler.NewConv(1)
		mid.H = features.Prime(synthConv(5, 50))
		var got [][]sampler.Pkt
		for _, c := range []*sampler.Conv{opening, mid} {
			for turn := 0; turn < 3; turn++ {
				c.H.Begin(trace.Server, features.Turn{Count: 6, GapNS: 2_000_000})
				out := make([]sampler.Pkt, 6)
				from := 0
				for _, k := range pieces {
					upto := min(from+k, len(out))
					if err := b.BurstsFrom([][]sampler.Pkt{out[:upto]}, []int{from}, trace.Server, []*sampler.Conv{c}); err != nil {
						t.Fatal(err)
					}
					from = upto
				}
				c.H.End(features.SentBurst(2_000_000, out))
				got = append(got, out)
			}
		}
		return got
	}
	whole := draw([]int{6})
	for _, pieces := range [][]int{{1, 1, 1, 1, 1, 1}, {1, 2, 3}, {4, 2}} {
		if got := draw(pieces); !reflect.DeepEqual(got, whole) {
			t.Errorf("drawn in pieces %v: %v; whole: %v", pieces, got, whole)
		}
	}
	b, err := bundle.Open(dir, 9, tf.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// One batch, two conversations with disjoint ranges of positions (a
	// live agent's dispatcher batches a burst's first packet with another
	// conversation's fifth): positions 1 to 3 have no rows.
	x, y := sampler.NewConv(1), sampler.NewConv(2)
	for _, c := range []*sampler.Conv{x, y} {
		c.H.Begin(trace.Server, features.Turn{Count: 5, GapNS: 1000})
	}
	xs, ys := make([]sampler.Pkt, 5), make([]sampler.Pkt, 5)
	if err := b.BurstsFrom([][]sampler.Pkt{xs[:4]}, nil, trace.Server, []*sampler.Conv{x}); err != nil {
		t.Fatal(err)
	}
	if err := b.BurstsFrom([][]sampler.Pkt{xs, ys[:1]}, []int{4, 0}, trace.Server, []*sampler.Conv{x, y}); err != nil {
		t.Fatalf("disjoint ranges in one batch: %v", err)
	}
	if xs[4].Size <= 0 || ys[0].Size <= 0 {
		t.Errorf("disjoint ranges in one batch: drew %+v and %+v", xs[4], ys[0])
	}
	c := sampler.NewConv(1)
	c.H.Begin(trace.Server, features.Turn{Count: 2, GapNS: 1})
	if err := b.BurstsFrom([][]sampler.Pkt{make([]sampler.Pkt, 2)}, []int{3}, trace.Server, []*sampler.Conv{c}); err == nil {
		t.Error("a starting position past the burst was accepted")
	}
}

// TestCondNoise: with cond_noise the training batches' conditions are the
// dataset's rows plus Gaussian noise of that standard deviation; without,
// they are the rows exactly.
func TestCondNoise(t *testing.T) {
	conv := synthConv(3, 400)
	for _, sd := range []float64{0, 0.5} {
		cfg := small(graphs.Packet, 10)
		cfg.CondNoise = sd
		m, err := newModel("client-packet", trace.Client, cfg, conv, conv, 1, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		k := m.train.CondDim()
		n := 4096
		x, c, z, eps := make([]float32, 2*n), make([]float32, k*n), make([]float32, cfg.ZDim*n), make([]float32, n)
		m.batch(x, c, z, eps)
		// Every row's target is a dataset row's; its condition is that
		// row's condition plus the noise: find the row by its target and
		// condition nearest in each row's first column.
		var sum float64
		cnt := 0
		for i := 0; i < n; i++ {
			best := math.Inf(1)
			for r := 0; r < m.train.N; r++ {
				if m.train.X[2*r] != x[2*i] || m.train.X[2*r+1] != x[2*i+1] {
					continue
				}
				d := 0.0
				for j := 0; j < k; j++ {
					e := float64(c[k*i+j] - m.train.C[k*r+j])
					d += e * e
				}
				if d < best {
					best = d
				}
			}
			sum += best
			cnt += k
		}
		m.wgan.Close()
		got := math.Sqrt(sum / float64(cnt))
		if sd == 0 && got != 0 {
			t.Errorf("cond_noise 0: conditions differ from the rows by %v", got)
		}
		if sd > 0 && math.Abs(got-sd) > 0.1*sd {
			t.Errorf("cond_noise %v: conditions differ from the rows by %v (rms)", sd, got)
		}
	}
}
