package train

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/spatgan/spatgan/bundle/layout"
	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/tf"
)

// LossHeader is the loss log's header (loss log format 2), defined in
// bundle/layout. val_ks and val_c2st are the validation scores, empty on
// rows without a validation check.
var LossHeader = layout.LossHeader

// LossHeaderV1 is the header of format 1 logs, whose validation columns
// were named heldout_*. A resume reads them and rewrites the log in format 2.
var LossHeaderV1 = layout.LossHeaderV1

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

// readLossRows parses a loss log for a resume: the header must be LossHeader
// or LossHeaderV1 and every row have its model name and an integer step.
// It returns the rows and whether the header is the current one.
func readLossRows(r io.Reader, name string) (rows [][]string, current bool, err error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	all, err := cr.ReadAll()
	if err != nil {
		return nil, false, fmt.Errorf("train: %s: %w", name, err)
	}
	if len(all) == 0 {
		return nil, false, fmt.Errorf("train: %s: empty loss log (no header)", name)
	}
	current = slices.Equal(all[0], LossHeader)
	if !current && !slices.Equal(all[0], LossHeaderV1) {
		return nil, false, fmt.Errorf("train: %s, line 1: header %q is not a loss log's", name, all[0])
	}
	for i, r := range all[1:] {
		if len(r) != len(LossHeader) {
			return nil, false, fmt.Errorf("train: %s, line %d: %d fields, want %d", name, i+2, len(r), len(LossHeader))
		}
		if r[0] == "" {
			return nil, false, fmt.Errorf("train: %s, line %d: empty model name", name, i+2)
		}
		if step, err := strconv.ParseInt(r[1], 10, 64); err != nil || step < 0 {
			return nil, false, fmt.Errorf("train: %s, line %d: step %q", name, i+2, r[1])
		}
	}
	return all[1:], current, nil
}

// openLossLog opens the log for appending. A new run starts it afresh; a
// resume keeps the rows of each model up to its checkpointed step upto[model]
// (later rows are redone). Any rewrite is atomic (a temporary file renamed over
// the log), so a crash never loses the history; a resume that drops no row
// of a current-format log appends without rewriting.
func openLossLog(path string, resume bool, upto map[string]int64) (*lossLog, error) {
	keep, rewrite := [][]string(nil), true
	if resume {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			rows, current, err := readLossRows(bytes.NewReader(b), path)
			if err != nil {
				return nil, err
			}
			for _, r := range rows {
				step, _ := strconv.ParseInt(r[1], 10, 64)
				if step <= upto[r[0]] {
					keep = append(keep, r)
				}
			}
			rewrite = !current || len(keep) != len(rows) || (len(b) > 0 && b[len(b)-1] != '\n')
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	if rewrite {
		err := tf.WriteAtomic(path, func(w io.Writer) error {
			cw := csv.NewWriter(w)
			cw.Write(LossHeader)
			cw.WriteAll(keep)
			return cw.Error()
		})
		if err != nil {
			return nil, fmt.Errorf("train: loss log: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return &lossLog{f: f, w: csv.NewWriter(f)}, nil
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
