package train

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/spatgan/spatgan/graphs"
)

// LossHeader is the loss log's header. heldout_* are empty on rows without
// a held-out check.
var LossHeader = []string{"model", "step", "g_loss", "critic_real", "critic_fake", "wasserstein", "penalty", "heldout_ks", "heldout_c2st"}

type lossRow struct {
	model     string
	step      int64
	g         float32
	st        graphs.CriticStats
	ks, c2st  float64
	evaluated bool
}

// lossLog appends rows to loss.csv for all models, flushing every row so the
// file is complete whenever the process stops.
type lossLog struct {
	mu sync.Mutex
	f  *os.File
	w  *csv.Writer
}

// openLossLog creates the log, or on resume keeps the rows of each model up
// to its checkpointed step (later rows are redone).
func openLossLog(path string, resume bool, models []*model) (*lossLog, error) {
	var keep [][]string
	if resume {
		if f, err := os.Open(path); err == nil {
			rows, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("train: %s: %w", path, err)
			}
			upto := map[string]int64{}
			for _, m := range models {
				upto[m.id], _ = m.wgan.Steps()
			}
			for i, r := range rows {
				if i == 0 {
					continue
				}
				if len(r) != len(LossHeader) {
					return nil, fmt.Errorf("train: %s, line %d: %d fields, want %d", path, i+1, len(r), len(LossHeader))
				}
				step, err := strconv.ParseInt(r[1], 10, 64)
				if err != nil {
					return nil, fmt.Errorf("train: %s, line %d: step %q", path, i+1, r[1])
				}
				if step <= upto[r[0]] {
					keep = append(keep, r)
				}
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	l := &lossLog{f: f, w: csv.NewWriter(f)}
	l.w.Write(LossHeader)
	for _, r := range keep {
		l.w.Write(r)
	}
	l.w.Flush()
	return l, l.w.Error()
}

func (l *lossLog) write(r lossRow) error {
	ff := func(v float32) string { return strconv.FormatFloat(float64(v), 'g', 6, 32) }
	ks, c2 := "", ""
	if r.evaluated {
		ks, c2 = strconv.FormatFloat(r.ks, 'f', 4, 64), strconv.FormatFloat(r.c2st, 'f', 4, 64)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write([]string{r.model, strconv.FormatInt(r.step, 10), ff(r.g), ff(r.st.Real), ff(r.st.Fake), ff(r.st.Wasserstein), ff(r.st.Penalty), ks, c2})
	l.w.Flush()
	return l.w.Error()
}

func (l *lossLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
	return l.f.Close()
}
