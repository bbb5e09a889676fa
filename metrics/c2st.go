package metrics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/spatgan/spatgan/trace"
)

// C2STConfig sets up a classifier two-sample test. The zero value is usable:
// every zero field takes the default given in its comment.
type C2STConfig struct {
	// Seed seeds the row sampling and the train/test split.
	Seed uint64
	// TestFraction is the share of each class held out for scoring, in
	// (0, 1). Default 0.3.
	TestFraction float64
	// MaxRows caps the rows drawn from each class (0: no cap besides the
	// size of the smaller class).
	MaxRows int
	// Rounds is the number of boosted trees. Default 100.
	Rounds int
	// Depth is the depth of each tree. Default 3.
	Depth int
	// LearningRate shrinks each tree's leaf values. Default 0.1.
	LearningRate float64
	// Lambda is the L2 penalty on leaf values (XGBoost's lambda). Default 1.
	Lambda float64
	// MinLeaf is the least number of training rows in a leaf. Default 10.
	MinLeaf int
	// MaxBins is the number of quantile bins per feature in which split
	// points are searched, 2..256. Default 64.
	MaxBins int
}

func (c C2STConfig) withDefaults() (C2STConfig, error) {
	if c.TestFraction == 0 {
		c.TestFraction = 0.3
	}
	if c.Rounds == 0 {
		c.Rounds = 100
	}
	if c.Depth == 0 {
		c.Depth = 3
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.1
	}
	if c.Lambda == 0 {
		c.Lambda = 1
	}
	if c.MinLeaf == 0 {
		c.MinLeaf = 10
	}
	if c.MaxBins == 0 {
		c.MaxBins = 64
	}
	switch {
	case !(c.TestFraction > 0 && c.TestFraction < 1):
		return c, fmt.Errorf("metrics: c2st: test fraction %v is not in (0, 1)", c.TestFraction)
	case c.MaxRows < 0:
		return c, fmt.Errorf("metrics: c2st: max rows %d < 0", c.MaxRows)
	case c.Rounds < 0, c.Depth < 0, c.MinLeaf < 0:
		return c, fmt.Errorf("metrics: c2st: rounds %d, depth %d and min leaf %d must not be negative", c.Rounds, c.Depth, c.MinLeaf)
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return c, fmt.Errorf("metrics: c2st: learning rate %v must be positive", c.LearningRate)
	case !(c.Lambda > 0) || math.IsInf(c.Lambda, 0):
		return c, fmt.Errorf("metrics: c2st: lambda %v must be positive", c.Lambda)
	case c.MaxBins < 2 || c.MaxBins > 256:
		return c, fmt.Errorf("metrics: c2st: max bins %d is not in 2..256", c.MaxBins)
	}
	return c, nil
}

// C2STResult is the outcome of a classifier two-sample test.
type C2STResult struct {
	// Accuracy is the share of held-out rows classified correctly, the two
	// classes weighing equally: 0.5 means the classifier cannot tell real
	// from synthetic, 1 that it always can.
	Accuracy float64 `json:"accuracy"`
	// StdErr is the binomial standard error of Accuracy,
	// sqrt(Accuracy(1-Accuracy)/NTest).
	StdErr float64 `json:"std_err"`
	// NTrain and NTest count training and held-out rows, both classes
	// together (each class contributes half).
	NTrain int `json:"n_train"`
	NTest  int `json:"n_test"`
}

// C2ST trains a classifier to separate real rows from synthetic rows and
// returns its accuracy on held-out rows. Rows are feature vectors of one
// common width; they are not modified.
//
// The same number of rows n is drawn from each class (the smaller class's
// size, capped by cfg.MaxRows), so chance level is exactly 0.5; a share
// cfg.TestFraction of each class is held out. The classifier is gradient
// boosting of depth-limited regression trees on the logistic loss with
// Newton leaf values and L2 regularisation, split points searched on
// per-feature quantile bins of the training rows (the histogram method of
// XGBoost and LightGBM). A held-out row scored exactly 0 counts as half
// right. Everything is deterministic for a given cfg.Seed.
//
// It returns an error naming the class, row and column for a NaN feature,
// for rows of differing widths, or if a class has too few rows to hold any
// out and train on at least 2 (fewer than 3 per class with the default
// TestFraction).
func C2ST(real, syn [][]float64, cfg C2STConfig) (C2STResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return C2STResult{}, err
	}
	if len(real) == 0 || len(syn) == 0 {
		return C2STResult{}, fmt.Errorf("metrics: c2st: %d real and %d synthetic rows, need both", len(real), len(syn))
	}
	width := len(real[0])
	if width == 0 {
		return C2STResult{}, errors.New("metrics: c2st: real row 0 has no columns")
	}
	if err := checkRows("real", real, width); err != nil {
		return C2STResult{}, err
	}
	if err := checkRows("synthetic", syn, width); err != nil {
		return C2STResult{}, err
	}
	n := min(len(real), len(syn))
	if cfg.MaxRows > 0 {
		n = min(n, cfg.MaxRows)
	}
	nTest := int(math.Round(float64(n) * cfg.TestFraction))
	nTrain := n - nTest
	if nTest < 1 || nTrain < 2 {
		return C2STResult{}, fmt.Errorf("metrics: c2st: %d rows per class leave %d for training and %d for testing", n, nTrain, nTest)
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed_c257))
	pr := rng.Perm(len(real))[:n]
	ps := rng.Perm(len(syn))[:n]
	gather := func(rIdx, sIdx []int) ([][]float64, []float64) {
		rows := make([][]float64, 0, len(rIdx)+len(sIdx))
		y := make([]float64, 0, cap(rows))
		for _, i := range rIdx {
			rows, y = append(rows, real[i]), append(y, 0)
		}
		for _, i := range sIdx {
			rows, y = append(rows, syn[i]), append(y, 1)
		}
		return rows, y
	}
	trainRows, trainY := gather(pr[:nTrain], ps[:nTrain])
	testRows, testY := gather(pr[nTrain:], ps[nTrain:])

	m := newBooster(trainRows, trainY, width, cfg)
	m.fit()
	score := m.predict(testRows)

	var correct float64
	for i, f := range score {
		switch {
		case f == 0:
			correct += 0.5
		case (f > 0) == (testY[i] == 1):
			correct++
		}
	}
	acc := correct / float64(len(score))
	return C2STResult{
		Accuracy: acc,
		StdErr:   math.Sqrt(acc * (1 - acc) / float64(len(score))),
		NTrain:   len(trainRows),
		NTest:    len(testRows),
	}, nil
}

// C2STWindows runs C2ST on non-overlapping windows of k consecutive packets
// (WindowRows with stride k) of a real and a synthetic packet sequence. With
// k = 1 it tests single packets.
func C2STWindows(real, syn []trace.Packet, k int, cfg C2STConfig) (C2STResult, error) {
	return C2STWindowsOf(real, syn, k, AllColumns, cfg)
}

// C2STWindowsOf is C2STWindows on rows of only the columns cols
// (WindowRowsOf).
func C2STWindowsOf(real, syn []trace.Packet, k int, cols Columns, cfg C2STConfig) (C2STResult, error) {
	rr, err := WindowRowsOf(real, k, k, cols)
	if err != nil {
		return C2STResult{}, fmt.Errorf("metrics: c2st real packets: %w", err)
	}
	sr, err := WindowRowsOf(syn, k, k, cols)
	if err != nil {
		return C2STResult{}, fmt.Errorf("metrics: c2st synthetic packets: %w", err)
	}
	return C2ST(rr, sr, cfg)
}

func checkRows(class string, rows [][]float64, width int) error {
	for i, r := range rows {
		if len(r) != width {
			return fmt.Errorf("metrics: c2st: %s row %d has %d columns, want %d", class, i, len(r), width)
		}
		for j, v := range r {
			if math.IsNaN(v) {
				return fmt.Errorf("metrics: c2st: %s row %d column %d is NaN", class, i, j)
			}
		}
	}
	return nil
}

// booster is gradient boosting of shallow trees on binned features.
type booster struct {
	cfg   C2STConfig
	width int
	cuts  [][]float64 // per feature: a value v has code = #cuts < v
	codes [][]uint8   // per feature, per training row
	y     []float64
	f     []float64 // current training scores (log-odds of "synthetic")
	g, h  []float64 // gradient and hessian of the logistic loss
	trees [][]treeNode
	// scratch histograms, per code
	hg, hh []float64
	hc     []int
}

type treeNode struct {
	leaf        bool
	feat        int
	cut         uint8 // rows with code <= cut go left
	left, right int32
	value       float64
}

func newBooster(rows [][]float64, y []float64, width int, cfg C2STConfig) *booster {
	b := &booster{cfg: cfg, width: width, y: y}
	n := len(rows)
	b.cuts = make([][]float64, width)
	b.codes = make([][]uint8, width)
	col := make([]float64, n)
	for j := range width {
		for i, r := range rows {
			col[i] = r[j]
		}
		b.cuts[j] = cutPoints(col, cfg.MaxBins)
		c := make([]uint8, n)
		for i, v := range col {
			c[i] = code(b.cuts[j], v)
		}
		b.codes[j] = c
	}
	b.f = make([]float64, n)
	b.g = make([]float64, n)
	b.h = make([]float64, n)
	b.hg = make([]float64, cfg.MaxBins)
	b.hh = make([]float64, cfg.MaxBins)
	b.hc = make([]int, cfg.MaxBins)
	return b
}

// cutPoints returns at most maxBins-1 increasing split values for a column:
// every distinct value but the largest when there are few, else the values
// at evenly spaced ranks.
func cutPoints(col []float64, maxBins int) []float64 {
	s := slices.Clone(col)
	slices.Sort(s)
	u := slices.Compact(slices.Clone(s))
	if len(u) <= maxBins {
		return u[:len(u)-1]
	}
	cuts := make([]float64, 0, maxBins-1)
	for k := 1; k < maxBins; k++ {
		v := s[k*len(s)/maxBins]
		if v == s[len(s)-1] {
			break
		}
		if len(cuts) == 0 || v > cuts[len(cuts)-1] {
			cuts = append(cuts, v)
		}
	}
	return cuts
}

// code returns the number of cuts below v (binary search).
func code(cuts []float64, v float64) uint8 {
	lo, hi := 0, len(cuts)
	for lo < hi {
		mid := (lo + hi) / 2
		if cuts[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return uint8(lo)
}

func (b *booster) fit() {
	idx := make([]int32, len(b.y))
	for r := 0; r < b.cfg.Rounds; r++ {
		for i, f := range b.f {
			p := 1 / (1 + math.Exp(-f))
			b.g[i] = p - b.y[i]
			b.h[i] = p * (1 - p)
		}
		for i := range idx {
			idx[i] = int32(i)
		}
		var t []treeNode
		b.grow(&t, idx, 0)
		b.trees = append(b.trees, t)
	}
}

// grow appends the subtree for the rows idx to t and returns its index. It
// adds leaf values to the training scores as it creates leaves.
func (b *booster) grow(t *[]treeNode, idx []int32, depth int) int32 {
	var G, H float64
	for _, i := range idx {
		G += b.g[i]
		H += b.h[i]
	}
	me := int32(len(*t))
	*t = append(*t, treeNode{})
	feat, cut, ok := -1, uint8(0), false
	if depth < b.cfg.Depth && len(idx) >= 2*b.cfg.MinLeaf {
		feat, cut, ok = b.bestSplit(idx, G, H)
	}
	if !ok {
		v := -b.cfg.LearningRate * G / (H + b.cfg.Lambda)
		(*t)[me] = treeNode{leaf: true, value: v}
		for _, i := range idx {
			b.f[i] += v
		}
		return me
	}
	// Partition idx in place: code <= cut first.
	c := b.codes[feat]
	k := 0
	for j, i := range idx {
		if c[i] <= cut {
			idx[k], idx[j] = idx[j], idx[k]
			k++
		}
	}
	left := b.grow(t, idx[:k], depth+1)
	right := b.grow(t, idx[k:], depth+1)
	(*t)[me] = treeNode{feat: feat, cut: cut, left: left, right: right}
	return me
}

func (b *booster) bestSplit(idx []int32, G, H float64) (feat int, cut uint8, ok bool) {
	lambda := b.cfg.Lambda
	parent := G * G / (H + lambda)
	best := 1e-12 // a split must improve the objective
	for j := range b.width {
		nb := len(b.cuts[j]) + 1
		if nb < 2 {
			continue
		}
		hg, hh, hc := b.hg[:nb], b.hh[:nb], b.hc[:nb]
		clear(hg)
		clear(hh)
		clear(hc)
		c := b.codes[j]
		for _, i := range idx {
			k := c[i]
			hg[k] += b.g[i]
			hh[k] += b.h[i]
			hc[k]++
		}
		var gl, hl float64
		var cl int
		for k := 0; k < nb-1; k++ {
			gl += hg[k]
			hl += hh[k]
			cl += hc[k]
			cr := len(idx) - cl
			if cl < b.cfg.MinLeaf {
				continue
			}
			if cr < b.cfg.MinLeaf {
				break
			}
			gr, hr := G-gl, H-hl
			gain := gl*gl/(hl+lambda) + gr*gr/(hr+lambda) - parent
			if gain > best {
				best, feat, cut, ok = gain, j, uint8(k), true
			}
		}
	}
	return feat, cut, ok
}

// predict returns the boosted score of each row.
func (b *booster) predict(rows [][]float64) []float64 {
	out := make([]float64, len(rows))
	codes := make([]uint8, b.width)
	for i, r := range rows {
		for j, v := range r {
			codes[j] = code(b.cuts[j], v)
		}
		var s float64
		for _, t := range b.trees {
			n := t[0]
			for !n.leaf {
				if codes[n.feat] <= n.cut {
					n = t[n.left]
				} else {
					n = t[n.right]
				}
			}
			s += n.value
		}
		out[i] = s
	}
	return out
}
