package train

import (
	"fmt"
	"math"

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

// emaPrefix names the moving average's entries in a checkpoint.
const emaPrefix = "ema/"

// saveEMA adds the average to a checkpoint file.
func (m *model) saveEMA(f *tf.File) {
	if m.ema == nil || m.ema.avg == nil {
		return
	}
	for _, e := range m.ema.avg.Entries {
		e.Name = emaPrefix + e.Name
		f.Entries = append(f.Entries, e)
	}
}

// restoreEMA reads the average from a checkpoint file (path names it in
// errors); a checkpoint written before the first update has none.
func (m *model) restoreEMA(f *tf.File, path string) error {
	if m.ema == nil {
		return nil
	}
	var avg *tf.File
	for _, v := range m.wgan.GeneratorVariables() {
		e, ok := f.Lookup(emaPrefix + v.Name())
		if !ok {
			if avg != nil {
				return fmt.Errorf("train: resume: %s: moving average lacks %s", path, v.Name())
			}
			continue
		}
		if avg == nil {
			avg = &tf.File{}
		}
		avg.Entries = append(avg.Entries, tf.Entry{Name: v.Name(), Shape: e.Shape, Data: append([]float32(nil), e.Data...)})
	}
	if avg != nil && len(avg.Entries) != len(m.wgan.GeneratorVariables()) {
		return fmt.Errorf("train: resume: %s: moving average incomplete", path)
	}
	m.ema.avg = avg
	return nil
}
