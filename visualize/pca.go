package visualize

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// PCA is a principal components analysis fitted on (already scaled) rows
// with gonum's stat.PC.
type PCA struct {
	// Mean is the column mean of the fitted rows; Project centres with it.
	Mean []float64
	// Vectors holds the component directions (loadings) in its columns,
	// d×min(n, d), in decreasing order of variance. The sign of each is
	// fixed so that its largest-magnitude loading is positive.
	Vectors *mat.Dense
	// Vars are the variances of the fitted rows along each component
	// (n-1 in the denominator), decreasing.
	Vars []float64
	// Ratio is each component's share of the total variance.
	Ratio []float64
}

// FitPCA fits the principal components of the rows of x.
func FitPCA(x mat.Matrix) (*PCA, error) {
	n, d := x.Dims()
	if n < 2 {
		return nil, errors.New("visualize: PCA needs at least 2 rows")
	}
	var pc stat.PC
	if !pc.PrincipalComponents(x, nil) {
		return nil, errors.New("visualize: PCA: SVD failed")
	}
	m := &PCA{Mean: make([]float64, d), Vectors: &mat.Dense{}}
	pc.VectorsTo(m.Vectors)
	m.Vars = pc.VarsTo(nil)
	for j := range d {
		m.Mean[j] = mat.Sum(x.(mat.ColViewer).ColView(j)) / float64(n)
	}
	_, k := m.Vectors.Dims()
	for c := range k {
		var big, sign float64 = 0, 1
		for j := range d {
			if v := m.Vectors.At(j, c); math.Abs(v) > big {
				big, sign = math.Abs(v), math.Copysign(1, v)
			}
		}
		if sign < 0 {
			for j := range d {
				m.Vectors.Set(j, c, -m.Vectors.At(j, c))
			}
		}
	}
	var total float64
	for _, v := range m.Vars {
		total += v
	}
	m.Ratio = make([]float64, len(m.Vars))
	for i, v := range m.Vars {
		if total > 0 {
			m.Ratio[i] = v / total
		}
	}
	return m, nil
}

// Project returns the coordinates of the rows of x on the first k
// components (x centred with the fitted mean).
func (m *PCA) Project(x mat.Matrix, k int) *mat.Dense {
	n, d := x.Dims()
	c := mat.NewDense(n, d, nil)
	for i := range n {
		for j := range d {
			c.Set(i, j, x.At(i, j)-m.Mean[j])
		}
	}
	var out mat.Dense
	out.Mul(c, m.Vectors.Slice(0, d, 0, k))
	return &out
}
