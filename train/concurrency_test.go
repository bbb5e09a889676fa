package train

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/internal/progress"
)

// These tests exercise the Go-side concurrency of a training run (the
// model scheduler, the shared loss log and progress bar) without
// TensorFlow, so that they are cheap under the race detector.

type fakeModel struct {
	id    string
	fail  bool
	steps atomic.Int64
}

func (f *fakeModel) name() string { return f.id }

// TestRunModelsFirstFailureCancels: one model failing at its first step
// cancels the others, which stop at once; the failure is the error returned.
func TestRunModelsFirstFailureCancels(t *testing.T) {
	dir := t.TempDir()
	lg, err := openLossLog(filepath.Join(dir, "loss.csv"), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	bar := progress.New(&strings.Builder{}, "train", 1000, "steps")
	ms := []*fakeModel{{id: "a"}, {id: "b", fail: true}, {id: "c"}, {id: "d"}}
	start := time.Now()
	ran, err := runModels(context.Background(), ms, 4, func(ctx context.Context, m *fakeModel) (int64, error) {
		for {
			if err := ctx.Err(); err != nil {
				return m.steps.Load(), err
			}
			n := m.steps.Add(1)
			if m.fail {
				return n, fmt.Errorf("losses became NaN at generator step %d", n)
			}
			if err := lg.write(lossRow{model: m.id, step: n}); err != nil {
				return n, err
			}
			bar.Add(1, m.id)
			time.Sleep(time.Millisecond)
		}
	})
	if err == nil || !strings.Contains(err.Error(), "train: model b: losses became NaN at generator step 1") {
		t.Fatalf("error %v, want model b's NaN", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("the other models took %s to stop", time.Since(start))
	}
	var sum int64
	for _, m := range ms {
		sum += m.steps.Load()
	}
	if ran != sum {
		t.Errorf("ran %d, the models counted %d", ran, sum)
	}
}

// TestRunModelsParallelLimit: never more than parallel models at once, and
// every model runs.
func TestRunModelsParallelLimit(t *testing.T) {
	var cur, peak atomic.Int32
	ms := []*fakeModel{{id: "a"}, {id: "b"}, {id: "c"}, {id: "d"}}
	ran, err := runModels(context.Background(), ms, 2, func(ctx context.Context, m *fakeModel) (int64, error) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		cur.Add(-1)
		return 5, nil
	})
	if err != nil || ran != 20 {
		t.Fatalf("ran %d, err %v; want 20, nil", ran, err)
	}
	if peak.Load() > 2 {
		t.Fatalf("%d models at once, limit 2", peak.Load())
	}
}

// TestLossLogConcurrentWrites: rows written by four goroutines at once are
// all in the log, whole.
func TestLossLogConcurrentWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loss.csv")
	lg, err := openLossLog(path, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, id := range []string{"server-packet", "client-packet", "server-burst", "client-burst"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := int64(1); s <= 200; s++ {
				if err := lg.write(lossRow{model: id, step: s, g: 1.5, st: graphs.CriticStats{Wasserstein: 0.25}, evaluated: s%50 == 0, ks: 0.1, c2st: 0.6}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, current, err := readLossRows(f, path)
	if err != nil || !current {
		t.Fatalf("re-reading: %v (current header %v)", err, current)
	}
	if len(rows) != 800 {
		t.Fatalf("%d rows, want 800", len(rows))
	}
}

// TestLossLogResume: a format 1 log is rewritten in format 2 keeping each
// model's rows up to its checkpoint; a current log with nothing to drop is
// not rewritten (same inode, same bytes).
func TestLossLogResume(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "loss.csv")
	v1 := strings.Join(LossHeaderV1, ",") + "\n" +
		"server-packet,100,1,2,3,4,5,,\n" +
		"server-packet,200,1,2,3,4,5,0.1000,0.6000\n" +
		"client-packet,100,1,2,3,4,5,,\n"
	if err := os.WriteFile(path, []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	lg, err := openLossLog(path, true, map[string]int64{"server-packet": 150, "client-packet": 100})
	if err != nil {
		t.Fatal(err)
	}
	lg.Close()
	got, _ := os.ReadFile(path)
	want := strings.Join(LossHeader, ",") + "\n" + "server-packet,100,1,2,3,4,5,,\n" + "client-packet,100,1,2,3,4,5,,\n"
	if string(got) != want {
		t.Fatalf("resumed log:\n%s\nwant:\n%s", got, want)
	}
	before, _ := os.Stat(path)
	lg, err = openLossLog(path, true, map[string]int64{"server-packet": 150, "client-packet": 100})
	if err != nil {
		t.Fatal(err)
	}
	lg.Close()
	after, _ := os.Stat(path)
	if again, _ := os.ReadFile(path); string(again) != want || !os.SameFile(before, after) {
		t.Fatalf("a resume with nothing to drop rewrote the log")
	}
	if after.Mode().Perm() != 0o644 {
		t.Errorf("loss log mode %v, want 0644", after.Mode().Perm())
	}
	// A damaged log is refused with the line named, and left as it is.
	os.WriteFile(path, []byte(want+"client-packet,x,1,2,3,4,5,,\n"), 0o644)
	if _, err := openLossLog(path, true, nil); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("damaged log: error %v, want one naming line 4", err)
	}
	if !errors.Is(func() error { _, err := os.Stat(path); return err }(), nil) {
		t.Fatal("damaged log removed")
	}
}

// FuzzLossLogRows: the resume's loss log reader either refuses an input
// with a "train: " error naming the line, or returns rows of nine fields
// with a model name and a step of decimal digits (checked here by hand) that
// survive a write/read round trip exactly.
func FuzzLossLogRows(f *testing.F) {
	head := strings.Join(LossHeader, ",") + "\n"
	f.Add(head + "server-packet,100,-1.17,1.5,1.08,0.43,0.02,,\n")
	f.Add(strings.Join(LossHeaderV1, ",") + "\n" + "client-burst,200,1,2,3,4,5,0.25,0.5\n")
	f.Add(head + "\"a,b\",1,1,1,1,1,1,,\n")
	f.Add(head + "x,-1,1,1,1,1,1,,\n")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, in string) {
		rows, _, err := readLossRows(strings.NewReader(in), "fuzz.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "train: fuzz.csv") {
				t.Fatalf("error %q does not name the package and file", err)
			}
			return
		}
		for i, r := range rows {
			if len(r) != 9 || r[0] == "" || r[1] == "" {
				t.Fatalf("row %d accepted: %q", i+1, r)
			}
			for _, c := range r[1] {
				if c < '0' || c > '9' {
					if !(c == '+' && r[1][0] == '+') {
						t.Fatalf("row %d: step %q accepted", i+1, r[1])
					}
				}
			}
		}
		var b strings.Builder
		w := csv.NewWriter(&b)
		w.Write(LossHeader)
		w.WriteAll(rows)
		back, current, err := readLossRows(strings.NewReader(b.String()), "rt.csv")
		if err != nil || !current || len(back) != len(rows) {
			t.Fatalf("round trip: %d rows, current %v, %v", len(back), current, err)
		}
		for i := range rows {
			if strings.Join(rows[i], "\x00") != strings.Join(back[i], "\x00") {
				t.Fatalf("row %d: %q back as %q", i+1, rows[i], back[i])
			}
		}
	})
}
