package visualize

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"
)

type pcaRef struct {
	N         int         `json:"n"`
	Mean      []float64   `json:"scaler_mean"`
	Scale     []float64   `json:"scaler_scale"`
	Vectors   [][]float64 `json:"vectors"`
	Vars      []float64   `json:"vars"`
	Ratio     []float64   `json:"ratio"`
	Rows      []int       `json:"projected_rows"`
	Projected [][]float64 `json:"projected"`
}

// TestPCAAgainstNumpy checks the rows, the scaler and the PCA of the whole
// embedded trace against testdata/pca_reference.json, computed by numpy
// from the CSV file (testdata/make_pca_reference.py).
func TestPCAAgainstNumpy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "pca_reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var refs map[string]json.RawMessage
	if err := json.Unmarshal(b, &refs); err != nil {
		t.Fatal(err)
	}
	pkts := realPackets(t, 0)
	for _, tc := range []struct {
		key      string
		logDelta bool
	}{{"raw_delta", false}, {"log_delta", true}} {
		t.Run(tc.key, func(t *testing.T) {
			var ref pcaRef
			if err := json.Unmarshal(refs[tc.key], &ref); err != nil {
				t.Fatal(err)
			}
			rows := Rows(pkts, tc.logDelta)
			if n, _ := rows.Dims(); n != ref.N {
				t.Fatalf("%d rows, numpy %d", n, ref.N)
			}
			sc, err := FitScaler(rows)
			if err != nil {
				t.Fatal(err)
			}
			// Sums of 40k values: agreement to about 1e-12 relative.
			near := func(what string, got, want, tol float64) {
				t.Helper()
				if math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
					t.Errorf("%s = %.15g, numpy %.15g", what, got, want)
				}
			}
			for j := range 3 {
				near("scaler mean "+RowNames[j], sc.Mean[j], ref.Mean[j], 1e-11)
				near("scaler scale "+RowNames[j], sc.Scale[j], ref.Scale[j], 1e-11)
			}
			m, err := FitPCA(sc.Transform(rows))
			if err != nil {
				t.Fatal(err)
			}
			for c := range 3 {
				near("variance", m.Vars[c], ref.Vars[c], 1e-10)
				near("explained ratio", m.Ratio[c], ref.Ratio[c], 1e-10)
				for j := range 3 {
					near("loading", m.Vectors.At(j, c), ref.Vectors[j][c], 1e-9)
				}
			}
			sel := selectRows(sc.Transform(rows), ref.Rows)
			proj := m.Project(sel, 2)
			for i := range ref.Rows {
				for c := range 2 {
					near("projection", proj.At(i, c), ref.Projected[i][c], 1e-9)
				}
			}
		})
	}
}

// TestRowsByHand checks Rows on three packets: cumulative time in s, size,
// merged delta in µs (0 for the first), and log10 of the delta.
func TestRowsByHand(t *testing.T) {
	pk := synthPackets(3, 1)
	pk[0].TS, pk[1].TS, pk[2].TS = 5e9, 5e9+1500, 5e9+2_000_001_500 // +1.5 µs, +2 s
	pk[0].Size, pk[1].Size, pk[2].Size = 60, 1400, 100
	want := mat.NewDense(3, 3, []float64{
		0, 60, 0,
		1.5e-6, 1400, 1.5,
		2.0000015, 100, 2e6,
	})
	if got := Rows(pk, false); !mat.EqualApprox(got, want, 1e-12) {
		t.Errorf("rows\n%v\nwant\n%v", mat.Formatted(got), mat.Formatted(want))
	}
	want.Set(1, 2, math.Log10(1.5))
	want.Set(2, 2, 6+math.Log10(2)) // 2 s = 2e6 µs
	if got := Rows(pk, true); !mat.EqualApprox(got, want, 1e-12) {
		t.Errorf("log rows\n%v\nwant\n%v", mat.Formatted(got), mat.Formatted(want))
	}
}

// TestScalerByHand: column (1, 2, 3, 6) has mean 3 and population
// standard deviation sqrt((4+1+0+9)/4) = sqrt(3.5); a constant column gets
// scale 1.
func TestScalerByHand(t *testing.T) {
	x := mat.NewDense(4, 2, []float64{1, 7, 2, 7, 3, 7, 6, 7})
	sc, err := FitScaler(x)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Mean[0] != 3 || math.Abs(sc.Scale[0]-math.Sqrt(3.5)) > 1e-15 || sc.Mean[1] != 7 || sc.Scale[1] != 1 {
		t.Errorf("scaler %+v", sc)
	}
	z := sc.Transform(x)
	if got := z.At(3, 0); math.Abs(got-3/math.Sqrt(3.5)) > 1e-15 {
		t.Errorf("scaled 6 = %v", got)
	}
	if _, err := FitScaler(mat.NewDense(1, 1, []float64{math.Inf(1)})); err == nil {
		t.Error("infinite column accepted")
	}
}
