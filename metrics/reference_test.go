package metrics

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// reference is testdata/reference.json, made by testdata/gen_reference.py
// with numpy and scipy (see testdata/README.md). Every expected number in the
// tests below comes from that file.
type reference struct {
	Generator string `json:"generator"`
	Distances []struct {
		Name     string    `json:"name"`
		Kind     string    `json:"kind"`
		Real     []float64 `json:"real"`
		Syn      []float64 `json:"syn"`
		KS       float64   `json:"ks"`
		W1       float64   `json:"w1"`
		W1Log    *float64  `json:"w1_log"`
		JSD      float64   `json:"jsd"`
		HistReal []float64 `json:"hist_real"`
		HistSyn  []float64 `json:"hist_syn"`
	} `json:"distances"`
	ACF []struct {
		Name     string    `json:"name"`
		Real     []float64 `json:"real"`
		Syn      []float64 `json:"syn"`
		MaxLag   int       `json:"max_lag"`
		ACFReal  []float64 `json:"acf_real"`
		ACFSyn   []float64 `json:"acf_syn"`
		ACFError float64   `json:"acf_error"`
	} `json:"acf"`
	Spearman []struct {
		Name   string    `json:"name"`
		X      []float64 `json:"x"`
		Y      []float64 `json:"y"`
		Rho    float64   `json:"rho"`
		RanksX []float64 `json:"ranks_x"`
	} `json:"spearman"`
	Quantiles []struct {
		Name      string    `json:"name"`
		X         []float64 `json:"x"`
		P         []float64 `json:"p"`
		Quantiles []float64 `json:"quantiles"`
		Summary   struct {
			N      int     `json:"n"`
			Min    float64 `json:"min"`
			Q1     float64 `json:"q1"`
			Median float64 `json:"median"`
			Q3     float64 `json:"q3"`
			Max    float64 `json:"max"`
			Mean   float64 `json:"mean"`
			Std    float64 `json:"std"`
		} `json:"summary"`
	} `json:"quantiles"`
}

func loadReference(t testing.TB) *reference {
	t.Helper()
	b, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("testdata/reference.json: %v", err)
	}
	if len(r.Distances) == 0 || len(r.ACF) == 0 || len(r.Spearman) == 0 || len(r.Quantiles) == 0 {
		t.Fatal("testdata/reference.json: a section is empty")
	}
	return &r
}

// near reports whether got is within tol of want, relative to max(1, |want|).
func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func kindByName(t *testing.T, s string) Kind {
	t.Helper()
	var k Kind
	if err := k.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDistancesMatchScipy(t *testing.T) {
	ref := loadReference(t)
	for _, c := range ref.Distances {
		t.Run(c.Name, func(t *testing.T) {
			kind := kindByName(t, c.Kind)
			// Tolerances: KS is a ratio of counts (exact up to one rounding),
			// W1 and JSD are sums of a few thousand terms.
			if got := KS(c.Real, c.Syn); !near(got, c.KS, 1e-12) {
				t.Errorf("KS = %.15g, scipy ks_2samp %.15g", got, c.KS)
			}
			if got := W1(c.Real, c.Syn); !near(got, c.W1, 1e-9) {
				t.Errorf("W1 = %.15g, scipy wasserstein_distance %.15g", got, c.W1)
			}
			if got := JSD(c.Real, c.Syn, kind.Bins()); !near(got, c.JSD, 1e-9) {
				t.Errorf("JSD = %.15g, scipy jensenshannon(base=2)**2 %.15g", got, c.JSD)
			}
			hr, hs := kind.Bins().Histogram(c.Real), kind.Bins().Histogram(c.Syn)
			for i := range c.HistReal {
				if hr[i] != c.HistReal[i] || hs[i] != c.HistSyn[i] {
					t.Fatalf("%s bin %d: counts %v/%v, numpy digitize %v/%v", kind, i, hr[i], hs[i], c.HistReal[i], c.HistSyn[i])
				}
			}
			if len(hr) != len(c.HistReal) {
				t.Fatalf("%s: %d bins, numpy %d", kind, len(hr), len(c.HistReal))
			}
			d := Compare(c.Real, c.Syn, kind)
			if d.KS != KS(c.Real, c.Syn) || d.W1 != W1(c.Real, c.Syn) || d.JSD != JSD(c.Real, c.Syn, kind.Bins()) {
				t.Errorf("Compare = %+v disagrees with KS/W1/JSD", d)
			}
			if d.NReal != len(c.Real) || d.NSyn != len(c.Syn) || d.Kind != kind {
				t.Errorf("Compare counts/kind = %d/%d/%v", d.NReal, d.NSyn, d.Kind)
			}
			if c.W1Log != nil {
				if got := W1Log(c.Real, c.Syn); !near(got, *c.W1Log, 1e-9) {
					t.Errorf("W1Log = %.15g, scipy on log10(max(t,1)) %.15g", got, *c.W1Log)
				}
				if d.W1Log != W1Log(c.Real, c.Syn) {
					t.Errorf("Compare W1Log = %v", d.W1Log)
				}
			} else if !math.IsNaN(d.W1Log) {
				t.Errorf("Compare W1Log = %v for kind %v, want NaN", d.W1Log, kind)
			}
		})
	}
}

func TestACFMatchesNumpy(t *testing.T) {
	ref := loadReference(t)
	for _, c := range ref.ACF {
		t.Run(c.Name, func(t *testing.T) {
			for _, s := range []struct {
				x, want []float64
			}{{c.Real, c.ACFReal}, {c.Syn, c.ACFSyn}} {
				got, err := ACF(s.x, c.MaxLag)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(s.want) {
					t.Fatalf("%d lags, want %d", len(got), len(s.want))
				}
				for k := range got {
					if !near(got[k], s.want[k], 1e-10) {
						t.Errorf("lag %d: %.15g, numpy %.15g", k+1, got[k], s.want[k])
					}
				}
			}
			e, err := ACFError(c.Real, c.Syn, c.MaxLag)
			if err != nil {
				t.Fatal(err)
			}
			if !near(e, c.ACFError, 1e-9) {
				t.Errorf("ACFError = %.15g, numpy %.15g", e, c.ACFError)
			}
		})
	}
}

func TestSpearmanMatchesScipy(t *testing.T) {
	ref := loadReference(t)
	for _, c := range ref.Spearman {
		t.Run(c.Name, func(t *testing.T) {
			got, err := Spearman(c.X, c.Y)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, c.Rho, 1e-12) {
				t.Errorf("Spearman = %.15g, scipy spearmanr %.15g", got, c.Rho)
			}
			r := Ranks(c.X)
			for i := range r {
				if r[i] != c.RanksX[i] {
					t.Fatalf("rank of x[%d] = %v, scipy rankdata %v", i, r[i], c.RanksX[i])
				}
			}
		})
	}
}

func TestQuantileSummaryMatchNumpy(t *testing.T) {
	ref := loadReference(t)
	for _, c := range ref.Quantiles {
		t.Run(c.Name, func(t *testing.T) {
			for i, p := range c.P {
				if got := Quantile(c.X, p); !near(got, c.Quantiles[i], 1e-12) {
					t.Errorf("Quantile(%v) = %.15g, np.quantile %.15g", p, got, c.Quantiles[i])
				}
			}
			s, w := Summarize(c.X), c.Summary
			if s.N != w.N {
				t.Errorf("N = %d, want %d", s.N, w.N)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"min", s.Min, w.Min}, {"q1", s.Q1, w.Q1}, {"median", s.Median, w.Median},
				{"q3", s.Q3, w.Q3}, {"max", s.Max, w.Max}, {"mean", s.Mean, w.Mean}, {"std", s.Std, w.Std},
			} {
				if !near(f.got, f.want, 1e-12) {
					t.Errorf("%s = %.15g, numpy %.15g", f.name, f.got, f.want)
				}
			}
		})
	}
}
