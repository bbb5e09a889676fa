package visualize

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/spatgan/spatgan/metrics"
	"github.com/spatgan/spatgan/trace"
)

// RowNames names the columns of Rows.
var RowNames = [3]string{"cumulative time [s]", "size [B]", "merged delta [µs]"}

// Rows returns the original's per-packet rows, one per packet in capture
// order: the cumulative time since the first packet in seconds, the frame
// size in bytes and the merged delta (time since the previous packet of the
// two-way stream, 0 for the first packet) in microseconds. Negative deltas
// (clock steps) are kept as they are. With logDelta the third column is
// metrics.LogTime of the delta instead (log10 µs, times below 1 µs as 0),
// which keeps multi-second pauses from dominating the scaled rows.
func Rows(pkts []trace.Packet, logDelta bool) *mat.Dense {
	if len(pkts) == 0 {
		return nil
	}
	x := mat.NewDense(len(pkts), 3, nil)
	t0 := pkts[0].TS
	for i, p := range pkts {
		var dt float64
		if i > 0 {
			dt = float64(p.TS-pkts[i-1].TS) / 1e3
		}
		if logDelta {
			dt = metrics.LogTime(dt)
		}
		x.Set(i, 0, float64(p.TS-t0)/1e9)
		x.Set(i, 1, float64(p.Size))
		x.Set(i, 2, dt)
	}
	return x
}

// Scaler standardises columns: (x - Mean) / Scale, as scikit-learn's
// StandardScaler (population standard deviation; a constant column gets
// Scale 1).
type Scaler struct {
	Mean, Scale []float64
}

// FitScaler returns the scaler of the columns of x.
func FitScaler(x mat.Matrix) (Scaler, error) {
	if x == nil {
		return Scaler{}, errors.New("visualize: scaler: no rows")
	}
	n, d := x.Dims()
	if n == 0 {
		return Scaler{}, errors.New("visualize: scaler: no rows")
	}
	s := Scaler{Mean: make([]float64, d), Scale: make([]float64, d)}
	for j := range d {
		var m float64
		for i := range n {
			m += x.At(i, j)
		}
		m /= float64(n)
		var ss float64
		for i := range n {
			v := x.At(i, j) - m
			ss += v * v
		}
		sd := math.Sqrt(ss / float64(n))
		if sd == 0 || math.IsNaN(sd) {
			sd = 1
		}
		if math.IsNaN(m) || math.IsInf(m, 0) || math.IsInf(sd, 0) {
			return Scaler{}, fmt.Errorf("visualize: scaler: column %d is not finite", j)
		}
		s.Mean[j], s.Scale[j] = m, sd
	}
	return s, nil
}

// Transform returns the standardised copy of x.
func (s Scaler) Transform(x mat.Matrix) *mat.Dense {
	n, d := x.Dims()
	out := mat.NewDense(n, d, nil)
	for i := range n {
		for j := range d {
			out.Set(i, j, (x.At(i, j)-s.Mean[j])/s.Scale[j])
		}
	}
	return out
}

// selectRows returns the rows of x at idx.
func selectRows(x *mat.Dense, idx []int) *mat.Dense {
	_, d := x.Dims()
	out := mat.NewDense(len(idx), d, nil)
	for i, r := range idx {
		out.SetRow(i, x.RawRowView(r))
	}
	return out
}
