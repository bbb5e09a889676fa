package visualize

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spatgan/spatgan/metrics"
	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/visualize/tsne"
)

func TestSample(t *testing.T) {
	a := Sample(1000, 100, 7, streamReal)
	if len(a) != 100 || !slices.IsSorted(a) || a[0] < 0 || a[99] >= 1000 {
		t.Fatalf("sample %v", a)
	}
	for i := 1; i < len(a); i++ {
		if a[i] == a[i-1] {
			t.Fatalf("index %d drawn twice", a[i])
		}
	}
	if !slices.Equal(a, Sample(1000, 100, 7, streamReal)) {
		t.Error("same seed, different sample")
	}
	if slices.Equal(a, Sample(1000, 100, 8, streamReal)) || slices.Equal(a, Sample(1000, 100, 7, streamSyn)) {
		t.Error("different seed or stream, same sample")
	}
	for _, k := range []int{0, -1, 1000, 5000} {
		if got := Sample(1000, k, 1, 1); len(got) != 1000 || got[999] != 999 {
			t.Errorf("k=%d: want every index", k)
		}
	}
	// Uniformity: 20000 samples of 10 out of 50 put each index in a
	// sample with probability 1/5, 4000 times on average, standard
	// deviation sqrt(20000·0.2·0.8) ≈ 57; allow 5 of them.
	counts := make([]int, 50)
	for s := range uint64(20000) {
		for _, i := range Sample(50, 10, s, 3) {
			counts[i]++
		}
	}
	for i, c := range counts {
		if math.Abs(float64(c)-4000) > 5*57 {
			t.Errorf("index %d drawn %d times, expected 4000 ± 285", i, c)
		}
	}
}

func ExampleSample() {
	// 5000 of the 40697 rows of the embedded trace, seed 1, stream 1:
	// distinct indices in increasing order, the same on every run.
	s := Sample(40697, 5000, 1, 1)
	fmt.Println(len(s), slices.IsSorted(s), slices.Equal(s, Sample(40697, 5000, 1, 1)))
	// Output: 5000 true true
}

func TestParseWindow(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Window
		err  bool
	}{
		{"0s:2s", Window{0, 2 * time.Second}, false},
		{"10s+500ms", Window{10 * time.Second, 500 * time.Millisecond}, false},
		{"1m30s:1m32s", Window{90 * time.Second, 2 * time.Second}, false},
		{"3s", Window{0, 3 * time.Second}, false},
		{" 1s : 4s ", Window{time.Second, 3 * time.Second}, false},
		{"2s:1s", Window{}, true},
		{"-1s+2s", Window{}, true},
		{"abc", Window{}, true},
		{"1s:", Window{}, true},
		{"0s", Window{}, true},
	} {
		got, err := ParseWindow(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("%q: no error (got %v)", tc.in, got)
			} else if !strings.HasPrefix(err.Error(), "visualize: window") {
				t.Errorf("%q: error %q", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func ExampleParseWindow() {
	w, _ := ParseWindow("10s+500ms")
	fmt.Println(w)
	// Output: 10s:10.5s
}

func TestFormatOfAndCheckOutput(t *testing.T) {
	for in, want := range map[string]string{"a.png": "png", "b/C.SVG": "svg"} {
		if got, err := FormatOf(in); err != nil || got != want {
			t.Errorf("%s: %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"fig.jpg", "fig", "fig.pdf"} {
		_, err := FormatOf(in)
		if err == nil || !strings.Contains(err.Error(), in) || !strings.HasPrefix(err.Error(), "visualize: ") {
			t.Errorf("%s: error %v", in, err)
		}
	}
	dir := t.TempDir()
	if err := CheckOutput(filepath.Join(dir, "ok.png")); err != nil {
		t.Error(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("CheckOutput left %v behind", ents)
	}
	missing := filepath.Join(dir, "no", "such", "dir", "f.png")
	if err := CheckOutput(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing directory: %v", err)
	}
	if err := CheckOutput(dir + "/x.jpeg"); err == nil {
		t.Error("jpeg accepted")
	}
}

// TestBadInput: empty traces, unknown extensions and unwritable paths give
// errors that say what is wrong.
func TestBadInput(t *testing.T) {
	real, syn := realPackets(t, 500), synthPackets(500, 1)
	ctx := context.Background()
	figs := map[string]func(r, s []trace.Packet) error{
		"flow": func(r, s []trace.Packet) error { _, err := FlowFigure(r, s, Options{}); return err },
		"pca":  func(r, s []trace.Packet) error { _, err := PCAFigure(r, s, Options{}); return err },
		"tsne": func(r, s []trace.Packet) error { _, err := TSNEFigure(ctx, r, s, Options{}); return err },
		"dist": func(r, s []trace.Packet) error { _, err := DistFigure(r, s, Options{}); return err },
		"report": func(r, s []trace.Packet) error {
			_, err := ReportFigure(ctx, r, s, Options{})
			return err
		},
	}
	for name, f := range figs {
		if err := f(nil, syn); err == nil || err.Error() != "visualize: the real trace is empty" {
			t.Errorf("%s with an empty real trace: %v", name, err)
		}
		if err := f(real, []trace.Packet{}); err == nil || err.Error() != "visualize: the synthetic trace is empty" {
			t.Errorf("%s with an empty synthetic trace: %v", name, err)
		}
		bad := slices.Clone(syn)
		bad[7].From = 5
		if err := f(real, bad); err == nil || err.Error() != "visualize: synthetic packet 7: side 5 is neither server nor client" {
			t.Errorf("%s with a bad side: %v", name, err)
		}
	}
	if _, err := FlowFigure(real, syn, Options{Window: Window{Start: time.Hour, Length: time.Second}}); err == nil ||
		!strings.Contains(err.Error(), "no packets in window 1h0m0s:1h0m1s") {
		t.Errorf("window past both traces: %v", err)
	}
	if _, err := LossFigure(nil, Options{}); err == nil {
		t.Error("empty loss log accepted")
	}
	if _, err := DistFigureSeries([]DistSeries{{Name: "x"}}, Options{}); err == nil || !strings.Contains(err.Error(), `"x" has no values`) {
		t.Errorf("empty series: %v", err)
	}

	f, err := PCAFigure(real, syn, Options{Sample: 100})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := f.Save(filepath.Join(dir, "fig.gif")); err == nil || !strings.Contains(err.Error(), `unsupported extension ".gif"`) {
		t.Errorf("gif: %v", err)
	}
	unwritable := filepath.Join(dir, "missing", "fig.png")
	if err := f.Save(unwritable); err == nil || !strings.Contains(err.Error(), unwritable) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unwritable path: %v", err)
	}
	if err := f.Encode(&bytes.Buffer{}, "bmp"); err == nil {
		t.Error("bmp encoded")
	}
}

// TestSaveFormats writes PNG and SVG and checks the files are what their
// extension says.
func TestSaveFormats(t *testing.T) {
	f, err := FlowFigure(realPackets(t, 2000), synthPackets(500, 2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	png, svg := filepath.Join(dir, "f.png"), filepath.Join(dir, "f.SVG")
	if err := f.Save(png); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(svg); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(png)
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Error("not a PNG")
	}
	b, _ = os.ReadFile(svg)
	var root struct {
		XMLName xml.Name
	}
	if err := xml.Unmarshal(b, &root); err != nil || root.XMLName.Local != "svg" {
		t.Errorf("SVG root %v, %v", root.XMLName, err)
	}
	if !bytes.Contains(b, []byte("Traffic flow")) {
		t.Error("SVG lacks the title text")
	}
}

// TestSeriesOfMatchesFidelityReference checks the series drawn by
// DistFigure on the embedded trace against the counts and medians in
// docs/fidelity.md (computed by an independent program). Server is
// B = 124.123.243.15, client A = 192.168.1.133; fidelity.md's "gap after
// A burst" is the server's reply gap.
func TestSeriesOfMatchesFidelityReference(t *testing.T) {
	pk := realPackets(t, 0)
	series, err := SeriesOf(pk, pk)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		n      [2]int
		median [2]float64
	}{
		{[2]int{16424, 24273}, [2]float64{247, 104}},   // size [B]
		{[2]int{16422, 24271}, [2]float64{211, 19588}}, // IAT [µs]
		{[2]int{5407, 5408}, [2]float64{2, 3}},         // burst length
		{[2]int{5407, 5407}, [2]float64{10662, 5282}},  // reply gap [µs]
	}
	for i, s := range series {
		for side := range 2 {
			x := s.Real[side]
			if len(x) != want[i].n[side] {
				t.Errorf("%s %s: n = %d, fidelity.md %d", s.Name, sideNames[side], len(x), want[i].n[side])
				continue
			}
			if m := metrics.Quantile(x, 0.5); m != want[i].median[side] {
				t.Errorf("%s %s: median %v, fidelity.md %v", s.Name, sideNames[side], m, want[i].median[side])
			}
		}
	}
}

func TestTicks(t *testing.T) {
	got := []string{}
	for _, tk := range (linTicks{n: 5}).Ticks(0, 2) {
		if tk.Label != "" {
			got = append(got, tk.Label)
		}
	}
	if want := []string{"0.0", "0.5", "1.0", "1.5", "2.0"}; !slices.Equal(got, want) {
		t.Errorf("linear ticks on [0, 2]: %v, want %v", got, want)
	}
	got = got[:0]
	for _, tk := range (linTicks{n: 6, abs: true}).Ticks(-1250, 1250) {
		if tk.Label != "" {
			got = append(got, tk.Label)
		}
	}
	if want := []string{"1000", "500", "0", "500", "1000"}; !slices.Equal(got, want) {
		t.Errorf("absolute ticks: %v, want %v", got, want)
	}
	got = got[:0]
	for _, tk := range (usTicks{}).Ticks(0, 7) { // 1 µs .. 10 s
		if tk.Label != "" {
			got = append(got, tk.Label)
		}
	}
	if want := []string{"1µs", "10µs", "100µs", "1ms", "10ms", "100ms", "1s", "10s"}; !slices.Equal(got, want) {
		t.Errorf("time ticks: %v, want %v", got, want)
	}
	if n := len((usTicks{}).Ticks(0, 7)); n != 7*9+1 {
		t.Errorf("%d time ticks, want 64 (9 per decade and the last)", n)
	}
}

// TestRealAlone: with a nil synthetic trace, flow, dist, PCA and t-SNE draw
// the real trace alone (one flow panel, no QQ row), titled by its name; a
// report needs both.
func TestRealAlone(t *testing.T) {
	real := realPackets(t, 500)
	ctx := context.Background()
	opt := Options{RealName: "my capture", Sample: 200, TSNE: tsne.Config{Iterations: 250}}
	for name, f := range map[string]func() (*Figure, error){
		"flow": func() (*Figure, error) { return FlowFigure(real, nil, opt) },
		"pca":  func() (*Figure, error) { return PCAFigure(real, nil, opt) },
		"tsne": func() (*Figure, error) { return TSNEFigure(ctx, real, nil, opt) },
		"dist": func() (*Figure, error) { return DistFigure(real, nil, opt) },
	} {
		fig, err := f()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !strings.Contains(fig.Title, "my capture") || strings.Contains(fig.Title, "synthetic") || strings.Contains(fig.Title, "against") {
			t.Errorf("%s: title %q", name, fig.Title)
		}
		rows := map[string]int{"flow": 1, "pca": 1, "tsne": 1, "dist": 2}[name]
		if len(fig.Panels) != rows {
			t.Errorf("%s: %d panel rows, want %d", name, len(fig.Panels), rows)
		}
		if err := fig.Save(filepath.Join(t.TempDir(), name+".png")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ReportFigure(ctx, real, nil, opt); err == nil {
		t.Error("report of the real trace alone: no error")
	}
}
