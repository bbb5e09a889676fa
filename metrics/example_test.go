package metrics_test

// The outputs below were checked with numpy/scipy (ks_2samp,
// wasserstein_distance, jensenshannon(base=2)**2 on the size bins,
// np.quantile, np.std(ddof=1), the ACF by hand).

import (
	"fmt"

	"github.com/spatgan/spatgan/metrics"
)

func ExampleCompare() {
	real := []float64{60, 64, 99, 104, 104, 112, 1442}
	syn := []float64{60, 70, 104, 110, 120, 1600}
	d := metrics.Compare(real, syn, metrics.SizeKind)
	fmt.Printf("KS %.3f  W1 %.2f B  JSD %.3f bits\n", d.KS, d.W1, d.JSD)
	// Output: KS 0.214  W1 63.38 B  JSD 0.416 bits
}

func ExampleSummarize() {
	s := metrics.Summarize([]float64{4, 1, 3, 2})
	fmt.Printf("n=%d min=%g q1=%g median=%g q3=%g max=%g mean=%g std=%.4f\n",
		s.N, s.Min, s.Q1, s.Median, s.Q3, s.Max, s.Mean, s.Std)
	// Output: n=4 min=1 q1=1.75 median=2.5 q3=3.25 max=4 mean=2.5 std=1.2910
}

// A zig-zag has the opposite lag-1 autocorrelation of a ramp, so the error
// is well above 1 (1 is what a series without autocorrelation scores).
func ExampleACFError() {
	real := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	syn := []float64{1, 8, 2, 7, 3, 6, 4, 5}
	e, err := metrics.ACFError(real, syn, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.3f\n", e)
	// Output: 4.731
}
