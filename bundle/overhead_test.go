package bundle

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
)

// BenchmarkStages splits one BurstsTo call of the client packet model
// (rows conversations, one packet each) into its stages, to show where the
// time outside TensorFlow goes: the condition features from the history
// (features), their scaling (scale), the noise (noise), the network
// (tf) and the mapping of the output back to sizes and times (valid).
// Each is reported in ns per row, for TensorFlow session thread pools of
// 1 (intra-op) and 1 (inter-op) thread, 2 and 1, and TensorFlow's
// defaults (0: all cores). Needs a bundle in $SPATGAN_BUNDLE.
func BenchmarkStages(b *testing.B) {
	dir := os.Getenv("SPATGAN_BUNDLE")
	if dir == "" {
		b.Skip("set SPATGAN_BUNDLE to a bundle directory")
	}
	for _, rows := range []int{1, 64, 4096} {
		for _, th := range [][2]int{{1, 1}, {2, 1}, {0, 0}} {
			b.Run(fmt.Sprintf("rows=%d/intra=%d/inter=%d", rows, th[0], th[1]), func(b *testing.B) {
				stages(b, dir, rows, tf.SessionOptions{IntraOpThreads: th[0], InterOpThreads: th[1]})
			})
		}
	}
}

func stages(b *testing.B, dir string, rows int, opt tf.SessionOptions) {
	bu, err := Open(dir, 1, opt)
	if err != nil {
		b.Fatal(err)
	}
	defer bu.Close()
	side := trace.Client
	id := ModelID(side, graphs.Packet)
	set, g, m := bu.sets[id], bu.gens[id], bu.scalers[id]
	k, zd := set.Len(), g.Cfg.ZDim
	convs := make([]*sampler.Conv, rows)
	for i := range convs {
		convs[i] = sampler.NewConv(uint64(i + 1))
		convs[i].H.Observe(side.Other(), features.Burst{Count: 3, Bytes: 750, DurNS: 400e3, GapNS: 9e6, LastSize: 250, LastDtNS: 200e3})
		convs[i].H.Begin(side, sampler.Turn{Count: 1, GapNS: 5e6})
	}
	raw := make([]float64, rows*k)
	c := make([]float32, rows*k)
	z := make([]float32, rows*zd)
	var out []float32
	var st [5]time.Duration
	for b.Loop() {
		t0 := time.Now()
		for i, cv := range convs {
			_, turn, _ := cv.H.Open()
			set.To(raw[i*k:(i+1)*k], &features.Ctx{H: &cv.H, Side: side, Turn: turn})
		}
		t1 := time.Now()
		for i := 0; i < rows; i++ {
			bu.conds[id].condTo(c[i*k:(i+1)*k], raw[i*k:(i+1)*k])
		}
		t2 := time.Now()
		bu.noiseTo(z)
		t3 := time.Now()
		if out, err = g.Generate(out, c, z); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		var sink float64
		for r := 0; r < rows; r++ {
			s, d := m.Target.Valid(graphs.Packet, out[2*r], out[2*r+1])
			sink += s + d
		}
		t5 := time.Now()
		for i, d := range []time.Duration{t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t5.Sub(t4)} {
			st[i] += d
		}
	}
	n := float64(b.N * rows)
	for i, name := range []string{"features", "scale", "noise", "tf", "valid"} {
		b.ReportMetric(float64(st[i].Nanoseconds())/n, name+"-ns/row")
	}
}
