package visualize

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"gonum.org/v1/plot/cmpimg"
	"gonum.org/v1/plot/vg"

	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/visualize/tsne"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/golden")

// goldenDelta is the per-pixel tolerance handed to cmpimg.EqualApprox
// (normalised YIQ distance, 0 = identical, 1 = anything): enough for
// anti-aliasing noise, far below a moved line or a changed colour.
const goldenDelta = 0.05

// checkGolden renders f as PNG and compares it with
// testdata/golden/<name>.png. On a mismatch it writes the new image and a
// difference image to a fresh directory and names them in the failure.
func checkGolden(t *testing.T, name string, f *Figure) {
	t.Helper()
	var buf bytes.Buffer
	if err := f.Encode(&buf, "png"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", name+".png")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./visualize -run %s -update)", err, t.Name())
	}
	ok, err := cmpimg.EqualApprox("png", buf.Bytes(), want, goldenDelta)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		return
	}
	got, _ := png.Decode(bytes.NewReader(buf.Bytes()))
	ref, _ := png.Decode(bytes.NewReader(want))
	dir, err := os.MkdirTemp("", "visualize-golden-")
	if err != nil {
		t.Fatal(err)
	}
	gotPath := filepath.Join(dir, name+".got.png")
	diffPath := filepath.Join(dir, name+".diff.png")
	os.WriteFile(gotPath, buf.Bytes(), 0o644)
	summary := "images differ in size"
	if got.Bounds() == ref.Bounds() {
		diff := image.NewRGBA(got.Bounds())
		cmpimg.Diff(diff, got, ref)
		var db bytes.Buffer
		png.Encode(&db, diff)
		os.WriteFile(diffPath, db.Bytes(), 0o644)
		n, box := differing(got, ref)
		summary = fmt.Sprintf("%d of %d pixels differ, within %v; difference image %s", n, got.Bounds().Dx()*got.Bounds().Dy(), box, diffPath)
	} else {
		summary = fmt.Sprintf("size %v, golden %v", got.Bounds().Size(), ref.Bounds().Size())
	}
	t.Errorf("%s: rendering differs from %s beyond tolerance %.2f: %s; new image %s. If the change is intended, run: go test ./visualize -run %s -update",
		name, path, goldenDelta, summary, gotPath, t.Name())
}

// differing counts pixels whose colours differ and their bounding box.
func differing(a, b image.Image) (int, image.Rectangle) {
	ra, rb := image.NewRGBA(a.Bounds()), image.NewRGBA(b.Bounds())
	draw.Draw(ra, ra.Bounds(), a, a.Bounds().Min, draw.Src)
	draw.Draw(rb, rb.Bounds(), b, b.Bounds().Min, draw.Src)
	n := 0
	var box image.Rectangle
	for y := ra.Bounds().Min.Y; y < ra.Bounds().Max.Y; y++ {
		for x := ra.Bounds().Min.X; x < ra.Bounds().Max.X; x++ {
			if ra.RGBAAt(x, y) != rb.RGBAAt(x, y) {
				n++
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return n, box
}

// goldenInputs: 3000 packets from the middle of the embedded trace (from
// packet 20000 on) against 2000 packets of the seeded toy generator.
func goldenInputs(t *testing.T) (real, syn []trace.Packet) {
	t.Helper()
	return realPackets(t, 23000)[20000:], synthPackets(2000, 1)
}

// tsneDeterministic reports whether t-SNE layouts are bit-for-bit those the
// golden images were made with: on amd64 Go does not fuse multiply-adds;
// other architectures may, and a chaotic optimisation then diverges.
func tsneDeterministic(t *testing.T) bool {
	if runtime.GOARCH != "amd64" {
		t.Logf("golden t-SNE image not compared on %s (fused multiply-add changes the layout)", runtime.GOARCH)
		return false
	}
	return true
}

func TestGoldenFigures(t *testing.T) {
	real, syn := goldenInputs(t)
	recs, err := ReadLossLogFile(filepath.Join("testdata", "loss_sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Seed: 1, SynName: "toy generator"}
	small := opt
	small.Width, small.Height = 7*vg.Inch, 5*vg.Inch
	for _, tc := range []struct {
		name string
		fig  func() (*Figure, error)
		tsne bool
	}{
		{"flow", func() (*Figure, error) {
			o := small
			o.Window = Window{Start: 2e9, Length: 1e9}
			o.Height = 6 * vg.Inch
			return FlowFigure(real, syn, o)
		}, false},
		{"pca", func() (*Figure, error) { o := small; o.Sample = 1000; return PCAFigure(real, syn, o) }, false},
		{"pca_logdelta", func() (*Figure, error) { o := small; o.LogDelta = true; return PCAFigure(real, syn, o) }, false},
		{"dist", func() (*Figure, error) {
			o := opt
			o.Width, o.Height = 16*vg.Inch, 10*vg.Inch
			return DistFigure(real, syn, o)
		}, false},
		{"loss", func() (*Figure, error) {
			o := opt
			o.Width, o.Height = 16*vg.Inch, 7*vg.Inch
			return LossFigure(recs, o)
		}, false},
		{"tsne", func() (*Figure, error) {
			o := small
			o.Sample = 300
			o.TSNE = tsne.Config{Iterations: 500}
			return TSNEFigure(context.Background(), real, syn, o)
		}, true},
		{"report", func() (*Figure, error) {
			o := opt
			o.Sample = 300
			o.TSNE = tsne.Config{Iterations: 500}
			o.Loss = recs
			o.Width, o.Height = 18*vg.Inch, 11*vg.Inch
			return ReportFigure(context.Background(), real, syn, o)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tc.fig()
			if err != nil {
				t.Fatal(err)
			}
			if tc.tsne && !*update && !tsneDeterministic(t) {
				return
			}
			checkGolden(t, tc.name, f)
		})
	}
}

// TestGoldenDetectsChange makes sure the comparison is not vacuous: a
// figure with one colour changed must fail it.
func TestGoldenDetectsChange(t *testing.T) {
	if *update {
		t.Skip("updating")
	}
	real, syn := goldenInputs(t)
	o := Options{Seed: 1, SynName: "toy generator", Width: 7 * vg.Inch, Height: 6 * vg.Inch, Window: Window{Start: 2e9, Length: 1e9}}
	saved := colServer
	colServer = color.NRGBA{R: 0xFF, A: 0xFF}
	defer func() { colServer = saved }()
	f, err := FlowFigure(real, syn, o)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Encode(&buf, "png"); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "golden", "flow.png"))
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := cmpimg.EqualApprox("png", buf.Bytes(), want, goldenDelta); ok {
		t.Error("a flow chart with red server bars passes as the golden image")
	}
}
