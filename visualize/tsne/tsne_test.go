package tsne

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// reference holds the numbers testdata/make_reference.py computed with
// scikit-learn 1.9.1 (see testdata/README).
type reference struct {
	SklearnExact struct {
		Trust    float64 `json:"trustworthiness_k10"`
		KL30     float64 `json:"exact_kl_perplexity30"`
		KL10     float64 `json:"exact_kl_perplexity10"`
		Reported float64 `json:"sklearn_reported_kl"`
	} `json:"sklearn_exact"`
	SklearnBH struct {
		Trust float64 `json:"trustworthiness_k10"`
		KL30  float64 `json:"exact_kl_perplexity30"`
	} `json:"sklearn_barnes_hut"`
}

func readCSV(t testing.TB, name string) [][]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]float64
	for i, rec := range recs[1:] {
		row := make([]float64, len(rec))
		for j, s := range rec {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s line %d: %v", name, i+2, err)
			}
			row[j] = v
		}
		rows = append(rows, row)
	}
	return rows
}

// clusters returns the scikit-learn reference set and its labels.
func clusters(t testing.TB) (*mat.Dense, []int) {
	rows := readCSV(t, "clusters.csv")
	d := len(rows[0]) - 1
	x := mat.NewDense(len(rows), d, nil)
	labels := make([]int, len(rows))
	for i, r := range rows {
		x.SetRow(i, r[:d])
		labels[i] = int(r[d])
	}
	return x, labels
}

func loadReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

func sklearnLayout(t *testing.T) *mat.Dense {
	rows := readCSV(t, "sklearn_exact.csv")
	y := mat.NewDense(len(rows), 2, nil)
	for i, r := range rows {
		y.SetRow(i, r)
	}
	return y
}

func TestKLDivergenceMatchesSklearn(t *testing.T) {
	x, _ := clusters(t)
	y := sklearnLayout(t)
	ref := loadReference(t)
	for _, tc := range []struct {
		perplexity, want float64
	}{
		// Both from scikit-learn's _joint_probabilities + _kl_divergence
		// on the same layout (make_reference.py). The tolerance covers
		// the perplexity bisection, which stops within 1e-5 nats.
		{30, ref.SklearnExact.KL30},
		{10, ref.SklearnExact.KL10},
	} {
		got, err := KLDivergence(x, y, tc.perplexity)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-tc.want) > 1e-4*tc.want {
			t.Errorf("perplexity %v: KL = %.8f, scikit-learn %.8f", tc.perplexity, got, tc.want)
		}
	}
}

func TestTrustworthinessMatchesSklearn(t *testing.T) {
	x, _ := clusters(t)
	y := sklearnLayout(t)
	ref := loadReference(t)
	got, err := Trustworthiness(x, y, 10)
	if err != nil {
		t.Fatal(err)
	}
	// sklearn.manifold.trustworthiness(X, Y, n_neighbors=10).
	if math.Abs(got-ref.SklearnExact.Trust) > 1e-12 {
		t.Errorf("trustworthiness = %.15f, scikit-learn %.15f", got, ref.SklearnExact.Trust)
	}
	if _, err := Trustworthiness(x, y, 200); err == nil {
		t.Error("k = n/2 accepted")
	}
}

// TestBarnesHutAgainstExact compares Embed and EmbedExact on the reference
// set, on equal terms (exact KL and trustworthiness), and both with the
// layouts scikit-learn made of the same set.
func TestBarnesHutAgainstExact(t *testing.T) {
	x, labels := clusters(t)
	ref := loadReference(t)
	ctx := context.Background()
	cfg := Config{Seed: 1}
	bh, err := Embed(ctx, x, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := EmbedExact(ctx, x, cfg)
	if err != nil {
		t.Fatal(err)
	}
	klBH, err := KLDivergence(x, bh.Y, 30)
	if err != nil {
		t.Fatal(err)
	}
	klEx, err := KLDivergence(x, ex.Y, 30)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(klEx-ex.KL) > 1e-9 {
		t.Errorf("EmbedExact reports KL %v, KLDivergence gives %v", ex.KL, klEx)
	}
	trBH, _ := Trustworthiness(x, bh.Y, 10)
	trEx, _ := Trustworthiness(x, ex.Y, 10)
	naBH, _ := NeighbourAgreement(bh.Y, labels)
	naEx, _ := NeighbourAgreement(ex.Y, labels)
	t.Logf("n=%d perplexity 30: exact KL: Barnes-Hut %.4f, exact %.4f (scikit-learn BH %.4f, exact %.4f); BH's own KL estimate %.4f",
		len(labels), klBH, klEx, ref.SklearnBH.KL30, ref.SklearnExact.KL30, bh.KL)
	t.Logf("trustworthiness k=10: Barnes-Hut %.4f, exact %.4f (scikit-learn BH %.4f, exact %.4f); neighbour agreement %.3f / %.3f",
		trBH, trEx, ref.SklearnBH.Trust, ref.SklearnExact.Trust, naBH, naEx)
	if rel := math.Abs(klBH-klEx) / klEx; rel > 0.1 {
		t.Errorf("Barnes-Hut KL %.4f differs from exact %.4f by %.1f%%", klBH, klEx, 100*rel)
	}
	if math.Abs(trBH-trEx) > 0.01 {
		t.Errorf("trustworthiness Barnes-Hut %.4f vs exact %.4f", trBH, trEx)
	}
	// Our optimiser must do about as well as scikit-learn's on the same
	// data: at most 5% more KL, at most 0.01 less trustworthiness.
	if klEx > 1.05*ref.SklearnExact.KL30 {
		t.Errorf("exact KL %.4f, scikit-learn reached %.4f", klEx, ref.SklearnExact.KL30)
	}
	if klBH > 1.05*ref.SklearnBH.KL30 {
		t.Errorf("Barnes-Hut KL %.4f, scikit-learn's Barnes-Hut reached %.4f", klBH, ref.SklearnBH.KL30)
	}
	if trBH < ref.SklearnBH.Trust-0.01 || trEx < ref.SklearnExact.Trust-0.01 {
		t.Errorf("trustworthiness %.4f/%.4f below scikit-learn's %.4f/%.4f", trBH, trEx, ref.SklearnBH.Trust, ref.SklearnExact.Trust)
	}
	if naBH < 0.99 || naEx < 0.99 {
		t.Errorf("neighbour agreement %.3f/%.3f on well-separated clusters", naBH, naEx)
	}
}

// gaussianClusters returns k seeded clusters of m points in d dimensions
// with unit spread around centres drawn with spread sep.
func gaussianClusters(k, m, d int, sep float64, seed uint64) (*mat.Dense, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := mat.NewDense(k*m, d, nil)
	labels := make([]int, k*m)
	for c := range k {
		centre := make([]float64, d)
		for j := range centre {
			centre[j] = sep * rng.NormFloat64()
		}
		for i := range m {
			r := c*m + i
			labels[r] = c
			for j := range d {
				x.Set(r, j, centre[j]+rng.NormFloat64())
			}
		}
	}
	return x, labels
}

func TestClustersStayApart(t *testing.T) {
	x, labels := gaussianClusters(6, 300, 10, 6, 42)
	res, err := Embed(context.Background(), x, Config{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	na, err := NeighbourAgreement(res.Y, labels)
	if err != nil {
		t.Fatal(err)
	}
	if na <= 0.9 {
		t.Errorf("nearest-neighbour label agreement %.3f, want > 0.9", na)
	}
	// Stronger: every cluster's centroid is farther from the others than
	// twice the cluster's own RMS radius.
	k := 6
	cx, cy, rad := make([]float64, k), make([]float64, k), make([]float64, k)
	cnt := make([]float64, k)
	for i, l := range labels {
		cx[l] += res.Y.At(i, 0)
		cy[l] += res.Y.At(i, 1)
		cnt[l]++
	}
	for c := range k {
		cx[c] /= cnt[c]
		cy[c] /= cnt[c]
	}
	for i, l := range labels {
		dx, dy := res.Y.At(i, 0)-cx[l], res.Y.At(i, 1)-cy[l]
		rad[l] += dx*dx + dy*dy
	}
	for c := range k {
		rad[c] = math.Sqrt(rad[c] / cnt[c])
	}
	for a := range k {
		for b := a + 1; b < k; b++ {
			if d := math.Hypot(cx[a]-cx[b], cy[a]-cy[b]); d < 2*(rad[a]+rad[b]) {
				t.Errorf("clusters %d and %d: centroids %.2f apart, radii %.2f and %.2f", a, b, d, rad[a], rad[b])
			}
		}
	}
	t.Logf("agreement %.4f, KL %.4f", na, res.KL)
}

func randomPoints(n, d int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	p := make([]float64, n*d)
	for i := range p {
		p[i] = rng.NormFloat64()
	}
	return p
}

// TestGradientFiniteDifference checks the exact gradient against central
// differences of the exact KL divergence.
func TestGradientFiniteDifference(t *testing.T) {
	const n = 12
	pts := randomPoints(n, 4, 5)
	p := jointP(pts, n, 4, 3, 1)
	y := randomPoints(n, 2, 6)
	g := make([]float64, 2*n)
	(&exactGradient{p: p, n: n, workers: 1}).gradient(y, g, 1)
	const h = 1e-6
	for i := range y {
		orig := y[i]
		y[i] = orig + h
		up := klFull(p, y, n)
		y[i] = orig - h
		down := klFull(p, y, n)
		y[i] = orig
		fd := (up - down) / (2 * h)
		if math.Abs(fd-g[i]) > 1e-6+1e-5*math.Abs(fd) {
			t.Errorf("coordinate %d: gradient %.9g, central difference %.9g", i, g[i], fd)
		}
	}
}

// TestGradientTwoPoints checks a case derived by hand. With two points,
// p_12 = p_21 = 1/2 whatever the input, and q_12 = q_21 = 1/2 whatever the
// layout, so ∂KL/∂y_1 = 4 (e·½ − ½) · 1/(1+|y_1−y_2|²) · (y_1 − y_2).
// For y_1 = (1, 0), y_2 = (−1, 0) and e = 12: 4 · 5.5 · (1/5) · (2, 0) =
// (8.8, 0), and the opposite for y_2.
func TestGradientTwoPoints(t *testing.T) {
	p := jointP([]float64{0, 0, 3, 4}, 2, 2, 1, 1)
	y := []float64{1, 0, -1, 0}
	g := make([]float64, 4)
	(&exactGradient{p: p, n: 2, workers: 1}).gradient(y, g, 12)
	want := []float64{8.8, 0, -8.8, 0}
	for i := range g {
		if math.Abs(g[i]-want[i]) > 1e-12 {
			t.Fatalf("gradient %v, want %v", g, want)
		}
	}
}

// TestBarnesHutGradient checks the Barnes-Hut gradient against the exact
// one: identical with theta = 0 (no cell is summarised) when every point
// is everyone's neighbour, and close with theta = 0.5.
func TestBarnesHutGradient(t *testing.T) {
	const n, d = 300, 3
	pts := randomPoints(n, d, 8)
	idx, dist := knn(pts, n, d, n-1, 1, 2)
	sparse := symmetrise(idx, conditionalP(dist, n, n-1, 30, 2), n, n-1)
	dense := jointP(pts, n, d, 30, 2)
	y := randomPoints(n, 2, 9)
	for i := range y {
		y[i] *= 5
	}
	want := make([]float64, 2*n)
	(&exactGradient{p: dense, n: n, workers: 2}).gradient(y, want, 4)
	norm := 0.0
	for _, v := range want {
		norm = math.Max(norm, math.Abs(v))
	}
	for _, tc := range []struct {
		theta, tol float64
	}{
		{0, 1e-9},
		{0.5, 0.05}, // relative to the largest gradient component
	} {
		got := make([]float64, 2*n)
		newBHGradient(sparse, n, tc.theta, 2).gradient(y, got, 4)
		var worst float64
		for i := range got {
			worst = math.Max(worst, math.Abs(got[i]-want[i])/norm)
		}
		if worst > tc.tol {
			t.Errorf("theta %v: worst gradient error %.3g of the largest component, want <= %g", tc.theta, worst, tc.tol)
		}
	}
}

func TestKNNMatchesBruteForce(t *testing.T) {
	const n, d, k = 700, 3, 20
	pts := randomPoints(n, d, 10)
	// Duplicates and ties: copy some points and put some on a grid.
	for i := 0; i < 50; i++ {
		copy(pts[(n-1-i)*d:(n-i)*d], pts[i*d:(i+1)*d])
	}
	for i := 100; i < 160; i++ {
		pts[i*d], pts[i*d+1], pts[i*d+2] = float64(i%4), float64(i%3), 0
	}
	idx, dist := knn(pts, n, d, k, 4, 2)
	for i := range n {
		type nb struct {
			j int32
			d float64
		}
		var all []nb
		for j := range n {
			if j == i {
				continue
			}
			var s float64
			for c := range d {
				v := pts[i*d+c] - pts[j*d+c]
				s += v * v
			}
			all = append(all, nb{int32(j), s})
		}
		slices.SortFunc(all, func(a, b nb) int {
			if a.d != b.d {
				if a.d < b.d {
					return -1
				}
				return 1
			}
			return int(a.j - b.j)
		})
		for c := range k {
			// Distances must match in order; indices may differ among
			// equal distances, but each must be another point at the
			// reported distance.
			gotD := dist[i*k+c]
			if math.Abs(gotD-all[c].d) > 1e-12*(1+all[c].d) {
				t.Fatalf("point %d neighbour %d: distance² %v, brute force %v", i, c, gotD, all[c].d)
			}
			j := int(idx[i*k+c])
			var s float64
			for e := range d {
				v := pts[i*d+e] - pts[j*d+e]
				s += v * v
			}
			if j == i || s != gotD {
				t.Fatalf("point %d neighbour %d is %d at distance² %v, reported %v", i, c, j, s, gotD)
			}
		}
	}
}

func TestDeterministicAcrossWorkers(t *testing.T) {
	x, _ := gaussianClusters(3, 200, 4, 5, 11)
	var first *mat.Dense
	for _, w := range []int{1, 2, 3} {
		res, err := Embed(context.Background(), x, Config{Seed: 2, Iterations: 300, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = res.Y
			continue
		}
		if !mat.Equal(first, res.Y) {
			t.Errorf("Workers=%d gives a different layout than Workers=1", w)
		}
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	nan := mat.NewDense(3, 2, []float64{0, 1, 2, math.NaN(), 4, 5})
	ok := mat.NewDense(5, 2, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	for _, tc := range []struct {
		name string
		x    mat.Matrix
		cfg  Config
	}{
		{"nil", nil, Config{}},
		{"one point", mat.NewDense(1, 2, nil), Config{}},
		{"NaN", nan, Config{}},
		{"negative perplexity", ok, Config{Perplexity: -1}},
		{"momentum 1", ok, Config{FinalMomentum: 1}},
		{"negative iterations", ok, Config{Iterations: -5}},
	} {
		for name, f := range map[string]func(context.Context, mat.Matrix, Config) (*Result, error){"Embed": Embed, "EmbedExact": EmbedExact} {
			res, err := f(ctx, tc.x, tc.cfg)
			if err == nil {
				t.Errorf("%s %s: no error (result %v)", name, tc.name, res)
				continue
			}
			if len(err.Error()) < 6 || err.Error()[:6] != "tsne: " {
				t.Errorf("%s %s: error %q does not start with the package name", name, tc.name, err)
			}
		}
	}
	if _, err := Embed(ctx, nan, Config{}); err == nil || err.Error() != "tsne: row 1 column 1 is NaN" {
		t.Errorf("NaN error = %v", err)
	}
}

func TestSmallInputs(t *testing.T) {
	// Fewer points than 3·perplexity: the perplexity is lowered, and
	// the layout is still finite.
	x := mat.NewDense(5, 2, []float64{0, 0, 1, 0, 0, 1, 10, 10, 10, 11})
	for _, f := range []func(context.Context, mat.Matrix, Config) (*Result, error){Embed, EmbedExact} {
		res, err := f(context.Background(), x, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Perplexity != 4.0/3 {
			t.Errorf("perplexity %v, want 4/3", res.Perplexity)
		}
		for _, v := range res.Y.RawMatrix().Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("non-finite layout %v", mat.Formatted(res.Y))
			}
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	x, _ := gaussianClusters(2, 100, 3, 5, 1)
	if _, err := Embed(ctx, x, Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Embed with a cancelled context: %v", err)
	}
}
