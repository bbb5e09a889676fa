package metrics

import (
	"errors"
	"fmt"
	"math"
)

// ACF returns the sample autocorrelation of x at lags 1..maxLag:
//
//	r_k = sum_{t=0}^{n-1-k} (x_t - m)(x_{t+k} - m) / sum_{t=0}^{n-1} (x_t - m)^2
//
// with m the mean of x (the biased estimator of statsmodels' acf, which keeps
// |r_k| <= 1). A constant series has no defined autocorrelation; ACF returns
// zeros for it, so a generator that emits a constant is scored as having no
// sequence structure. It returns an error if maxLag < 1, x has no more than
// maxLag values, or x holds a NaN or Inf.
func ACF(x []float64, maxLag int) ([]float64, error) {
	if maxLag < 1 {
		return nil, fmt.Errorf("metrics: acf: max lag %d < 1", maxLag)
	}
	if len(x) <= maxLag {
		return nil, fmt.Errorf("metrics: acf: %d values, need more than max lag %d", len(x), maxLag)
	}
	var m float64
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("metrics: acf: value %d is %v", i, v)
		}
		m += v
	}
	m /= float64(len(x))
	d := make([]float64, len(x))
	var den float64
	for i, v := range x {
		d[i] = v - m
		den += d[i] * d[i]
	}
	r := make([]float64, maxLag)
	if den == 0 {
		return r, nil
	}
	for k := 1; k <= maxLag; k++ {
		var s float64
		for t := 0; t+k < len(d); t++ {
			s += d[t] * d[t+k]
		}
		r[k-1] = s / den
	}
	return r, nil
}

// ACFError returns sum_k (acf_real[k] - acf_syn[k])^2 / sum_k acf_real[k]^2
// over lags 1..maxLag: 0 when the synthetic series has the real one's
// autocorrelation, 1 when it has none. Errors are those of ACF and
// ACFErrorFrom.
func ACFError(real, syn []float64, maxLag int) (float64, error) {
	ar, err := ACF(real, maxLag)
	if err != nil {
		return 0, fmt.Errorf("metrics: real series: %w", err)
	}
	as, err := ACF(syn, maxLag)
	if err != nil {
		return 0, fmt.Errorf("metrics: synthetic series: %w", err)
	}
	return ACFErrorFrom(ar, as)
}

// ACFErrorFrom is ACFError on autocorrelations already computed (lag 1
// first). It returns an error if the lengths differ or are zero, or the real
// autocorrelation is zero at every lag (the ratio is undefined).
func ACFErrorFrom(acfReal, acfSyn []float64) (float64, error) {
	if len(acfReal) != len(acfSyn) || len(acfReal) == 0 {
		return 0, fmt.Errorf("metrics: acf error: %d real lags against %d synthetic", len(acfReal), len(acfSyn))
	}
	var num, den float64
	for i, a := range acfReal {
		d := a - acfSyn[i]
		num += d * d
		den += a * a
	}
	if den == 0 {
		return 0, errors.New("metrics: acf error: real autocorrelation is zero at every lag")
	}
	return num / den, nil
}
