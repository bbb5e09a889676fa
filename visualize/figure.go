package visualize

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/spatgan/spatgan/internal/atomicfile"
)

// Figure is a grid of plot panels with a title and notes (sample sizes,
// seeds, parameters) printed above the grid. Build one with FlowFigure,
// PCAFigure, TSNEFigure, DistFigure, LossFigure or ReportFigure, then
// Save it.
type Figure struct {
	// Title is printed centred at the top.
	Title string
	// Notes are printed in one line under the title, joined by "; ".
	Notes []string
	// Panels is the row-major grid of panels; nil cells stay blank.
	// Every row has the same length.
	Panels [][]*plot.Plot
	// Width and Height are the page size.
	Width, Height vg.Length
}

// Formats lists the output formats, by file extension.
var Formats = []string{".png", ".svg"}

// FormatOf returns the output format ("png" or "svg") for path from its
// extension (case-insensitive), or an error naming the path for any other
// extension.
func FormatOf(path string) (string, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".png", ".svg":
		return ext[1:], nil
	case "":
		return "", fmt.Errorf("visualize: output %q has no extension (use .png or .svg)", path)
	}
	return "", fmt.Errorf("visualize: output %q: unsupported extension %q (use .png or .svg)", path, filepath.Ext(path))
}

// CheckOutput returns an error if a figure cannot be saved at path: an
// unsupported extension, a directory that does not exist, or one that
// cannot be written. Call it before a long computation (t-SNE) so that a
// typo fails at once. It leaves no file behind.
func CheckOutput(path string) error {
	if _, err := FormatOf(path); err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("visualize: output %q is a directory", path)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".visualize-check-*")
	if err != nil {
		return fmt.Errorf("visualize: cannot write %q: %w", path, unwrapPath(err))
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// unwrapPath strips the temporary file name from a *PathError so the
// message names the user's path only.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Save renders the figure to path in the format its extension selects
// (.png or .svg). The file is written only if rendering succeeds.
func (f *Figure) Save(path string) error {
	format, err := FormatOf(path)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := f.Encode(&buf, format); err != nil {
		return err
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
		return fmt.Errorf("visualize: write %q: %w", path, unwrapPath(err))
	}
	return nil
}

// Encode renders the figure to w as "png" or "svg".
func (f *Figure) Encode(w io.Writer, format string) error {
	if format != "png" && format != "svg" {
		return fmt.Errorf("visualize: unsupported format %q (use png or svg)", format)
	}
	if len(f.Panels) == 0 || len(f.Panels[0]) == 0 {
		return errors.New("visualize: figure has no panels")
	}
	cols := len(f.Panels[0])
	for i, row := range f.Panels {
		if len(row) != cols {
			return fmt.Errorf("visualize: figure row %d has %d panels, row 0 has %d", i, len(row), cols)
		}
	}
	width, height := f.Width, f.Height
	if width <= 0 || height <= 0 {
		width, height = vg.Length(cols)*5*vg.Inch, vg.Length(len(f.Panels))*3.6*vg.Inch
	}
	c, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return fmt.Errorf("visualize: %w", err)
	}
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())

	top := vg.Length(0)
	if f.Title != "" {
		sty := textStyle(15, draw.XCenter, draw.YTop)
		dc.FillText(sty, vg.Point{X: width / 2, Y: height - 0.1*vg.Inch}, f.Title)
		top += sty.Height(f.Title) + 0.12*vg.Inch
	}
	if len(f.Notes) > 0 {
		sty := textStyle(10, draw.XCenter, draw.YTop)
		sty.Color = color.Gray{Y: 0x40}
		top += 0.04 * vg.Inch
		for _, line := range wrapNotes(f.Notes, sty, width-0.5*vg.Inch) {
			dc.FillText(sty, vg.Point{X: width / 2, Y: height - top}, line)
			top += sty.Height(line) + 0.02*vg.Inch
		}
		top += 0.06 * vg.Inch
	}
	grid := draw.Crop(dc, 0, 0, 0, -top-0.05*vg.Inch)
	tiles := draw.Tiles{
		Rows: len(f.Panels), Cols: cols,
		PadX: 0.25 * vg.Inch, PadY: 0.3 * vg.Inch,
		PadTop: 0.05 * vg.Inch, PadBottom: 0.1 * vg.Inch,
		PadLeft: 0.1 * vg.Inch, PadRight: 0.2 * vg.Inch,
	}
	canvases := plot.Align(f.Panels, tiles, grid)
	for i, row := range f.Panels {
		for j, p := range row {
			if p == nil {
				continue
			}
			// Draw a copy whose legend is drawn inside the data area
			// on a box; the panel itself is left as it is.
			q := *p
			q.Add(&boxedLegend{l: p.Legend})
			q.Legend = plot.NewLegend()
			q.Draw(canvases[i][j])
		}
	}
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("visualize: encode %s: %w", format, err)
	}
	return nil
}

// wrapNotes joins notes with "; " into lines no wider than w.
func wrapNotes(notes []string, sty text.Style, w vg.Length) []string {
	var lines []string
	cur := ""
	for _, n := range notes {
		next := n
		if cur != "" {
			next = cur + "; " + n
		}
		if cur != "" && sty.Width(next) > w {
			lines = append(lines, cur+";")
			next = n
		}
		cur = next
	}
	return append(lines, cur)
}

func textStyle(size vg.Length, xa draw.XAlignment, ya draw.YAlignment) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, size),
		XAlign:  xa,
		YAlign:  ya,
		Handler: plot.DefaultTextHandler,
	}
}

// Colours (Okabe-Ito, distinguishable with colour-blindness).
var (
	colReal      = color.NRGBA{R: 0x00, G: 0x72, B: 0xB2, A: 0xFF} // blue
	colSyn       = color.NRGBA{R: 0xE6, G: 0x9F, B: 0x00, A: 0xFF} // orange
	colServer    = color.NRGBA{R: 0x00, G: 0x9E, B: 0x73, A: 0xFF} // bluish green
	colClient    = color.NRGBA{R: 0xCC, G: 0x79, B: 0xA7, A: 0xFF} // reddish purple
	colVermilion = color.NRGBA{R: 0xD5, G: 0x5E, B: 0x00, A: 0xFF}
	colSky       = color.NRGBA{R: 0x56, G: 0xB4, B: 0xE9, A: 0xFF}
	colGrey      = color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xFF}
	colBlack     = color.NRGBA{A: 0xFF}
)

// translucent returns c with alpha a.
func translucent(c color.NRGBA, a uint8) color.NRGBA {
	c.A = a
	return c
}

// newPanel returns a plot with the house settings: title, axis labels and
// a light grid.
func newPanel(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = 11
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Label.TextStyle.Font.Size = 10
	p.Y.Label.TextStyle.Font.Size = 10
	p.X.Tick.Label.Font.Size = 8.5
	p.Y.Tick.Label.Font.Size = 8.5
	p.Legend.TextStyle.Font.Size = 8.5
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = 0.3 * vg.Inch
	p.X.Tick.Marker = linTicks{n: 6}
	p.Y.Tick.Marker = linTicks{n: 5}
	p.Add(newGrid())
	return p
}
