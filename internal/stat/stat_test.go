package stat

import (
	"math"
	"testing"
)

func TestSummarizeByHand(t *testing.T) {
	// 1..10: h = 9p; Q1 = x[2.25] = 3.25, median 5.5, Q3 = x[6.75] = 7.75;
	// mean 5.5; variance sum (i-5.5)^2 = 82.5 over 9 -> std sqrt(82.5/9).
	// (Derived by hand.)
	xs := []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	got := Summarize(xs)
	want := Summary{N: 10, Min: 1, Q1: 3.25, Median: 5.5, Q3: 7.75, Max: 10, Mean: 5.5, Std: math.Sqrt(82.5 / 9)}
	if math.Abs(got.Std-want.Std) > 1e-12 {
		t.Errorf("std %v want %v", got.Std, want.Std)
	}
	got.Std, want.Std = 0, 0
	if got != want {
		t.Errorf("summary %+v want %+v", got, want)
	}
	if xs[0] != 10 {
		t.Error("Summarize modified its input")
	}
	for _, x := range [][]float64{nil, {1, math.NaN()}} {
		if s := Summarize(x); s.N != len(x) || !math.IsNaN(s.Min) || !math.IsNaN(s.Mean) || !math.IsNaN(s.Std) {
			t.Errorf("Summarize(%v) = %+v, want NaN statistics", x, s)
		}
	}
	if s := Summarize([]float64{3}); s.Mean != 3 || s.Median != 3 || !math.IsNaN(s.Std) {
		t.Errorf("one value: %+v", s)
	}
}
