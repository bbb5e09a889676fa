package train

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/spatgan/spatgan/tf"
)

// emaEvery is how many generator steps pass between two updates of the
// exponential moving average of the generator's weights; each update
// weighs the new weights by 1 - decay^emaEvery.
const emaEvery = 4

// ema is the exponential moving average of a generator's weights
// (graphs.Config.EMA is the per-step decay). Validation checks and the
// bundle use the average, which smooths the oscillation of adversarial
// training.
type ema struct {
	decay float64
	avg   *tf.File
}

// update folds the current weights into the average.
func (e *ema) update(m *model) error {
	cur, err := m.wgan.Session().Snapshot(m.wgan.GeneratorVariables(), nil)
	if err != nil {
		return err
	}
	if e.avg == nil {
		e.avg = cur
		return nil
	}
	w := float32(math.Pow(e.decay, emaEvery))
	for i := range e.avg.Entries {
		a, c := e.avg.Entries[i].Data, cur.Entries[i].Data
		for j := range a {
			a[j] = w*a[j] + (1-w)*c[j]
		}
	}
	return nil
}

// with runs f with the average's weights in the generator, then restores
// the training weights.
func (e *ema) with(m *model, f func() error) error {
	if e.avg == nil {
		return f()
	}
	sess, vars := m.wgan.Session(), m.wgan.GeneratorVariables()
	cur, err := sess.Snapshot(vars, nil)
	if err != nil {
		return err
	}
	if err := sess.Restore(e.avg, vars); err != nil {
		return err
	}
	ferr := f()
	if err := sess.Restore(cur, vars); err != nil {
		return err
	}
	return ferr
}

// snapshot returns a copy of the average with metadata.
func (e *ema) snapshot(meta map[string]string) *tf.File {
	f := &tf.File{Meta: meta}
	for _, en := range e.avg.Entries {
		f.Entries = append(f.Entries, tf.Entry{Name: en.Name, Shape: append([]int64(nil), en.Shape...), Data: append([]float32(nil), en.Data...)})
	}
	return f
}

func (m *model) emaPath(dir string) string { return filepath.Join(dir, m.id+".ema") }

// saveEMA writes the average beside the checkpoint (atomically).
func (m *model) saveEMA(dir string) error {
	if m.ema == nil || m.ema.avg == nil {
		return nil
	}
	return tf.WriteFile(m.emaPath(dir), m.ema.avg)
}

// restoreEMA reads the average written with the checkpoint, if any.
func (m *model) restoreEMA(dir string) error {
	if m.ema == nil {
		return nil
	}
	f, err := tf.ReadFile(m.emaPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("train: resume %s: %w", m.id, err)
	}
	m.ema.avg = f
	return nil
}
