package visualize

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

func newGrid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 0xE4}
	g.Horizontal.Color = color.Gray{Y: 0xE4}
	g.Vertical.Width = 0.5
	g.Horizontal.Width = 0.5
	return g
}

// stems draws one vertical segment per point from y = 0 to y = Y (a
// bar chart at arbitrary x with hairline bars), as the original's
// traffic-flow chart.
type stems struct {
	xys   plotter.XYs
	style draw.LineStyle
}

var (
	_ plot.Plotter     = (*stems)(nil)
	_ plot.DataRanger  = (*stems)(nil)
	_ plot.Thumbnailer = (*stems)(nil)
)

func (s *stems) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	y0 := trY(0)
	c.SetLineStyle(s.style)
	for _, xy := range s.xys {
		x := trX(xy.X)
		var path vg.Path
		path.Move(vg.Point{X: x, Y: y0})
		path.Line(vg.Point{X: x, Y: trY(xy.Y)})
		c.Stroke(path)
	}
}

func (s *stems) DataRange() (xmin, xmax, ymin, ymax float64) {
	if len(s.xys) == 0 {
		return 0, 0, 0, 0
	}
	xmin, xmax, ymin, ymax = plotter.XYRange(s.xys)
	return xmin, xmax, math.Min(ymin, 0), math.Max(ymax, 0)
}

func (s *stems) Thumbnail(c *draw.Canvas) {
	st := s.style
	st.Width = max(st.Width, 2)
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(st, x, c.Min.Y, x, c.Max.Y)
}

// linTicks places about n labelled ticks at multiples of 1, 2, 2.5 or 5
// times a power of ten, with one unlabelled tick between labels.
type linTicks struct {
	n   int
	abs bool // label with absolute values (the flow chart's client half)
}

func (t linTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) || math.IsInf(max-min, 0) {
		return plot.DefaultTicks{}.Ticks(min, max)
	}
	n := t.n
	if n < 2 {
		n = 6
	}
	raw := (max - min) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
		if r := step * math.Pow(10, float64(decimals)); math.Abs(r-math.Round(r)) > 1e-9 {
			decimals++
		}
	}
	var ticks []plot.Tick
	first := math.Ceil(min/step-1e-9) * step
	for v := first - step/2; v <= max+step*1e-9; v += step / 2 {
		if v < min-step*1e-9 {
			continue
		}
		major := math.Abs(math.Remainder(v, step)) < step*1e-6
		tk := plot.Tick{Value: v}
		if major {
			lv := v
			if math.Abs(lv) < step*1e-6 {
				lv = 0
			}
			if t.abs {
				lv = math.Abs(lv)
			}
			tk.Label = strconv.FormatFloat(lv, 'f', decimals, 64)
		}
		ticks = append(ticks, tk)
	}
	return ticks
}

// Log axes are drawn on a linear scale over log10 of the values, with
// ticks labelled by the original values. (gonum/plot's LogScale places
// a rotated axis label's glyph box at the arithmetic midpoint of the
// range, which on a log axis pads the panel far above the data.)

// usTicks marks a log10 axis whose values are microseconds with labels in
// time units: 1µs, 10µs, 100µs, 1ms, 10ms, 100ms, 1s, 10s...
type usTicks struct{}

func (usTicks) Ticks(min, max float64) []plot.Tick {
	return decadeTicks(min, max, formatUS)
}

// countTicks marks a log10 axis of counts with 1, 10, 100, 1000.
type countTicks struct{}

func (countTicks) Ticks(min, max float64) []plot.Tick {
	return decadeTicks(min, max, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
}

// decadeTicks returns ticks for a log10 axis spanning [min, max] (in
// log10 units): labelled major ticks at whole decades and minor ticks at
// 2..9 times them. When the range spans at most one decade, 2 and 5 times
// the decades are labelled too.
func decadeTicks(min, max float64, label func(float64) string) []plot.Tick {
	if !(max > min) || math.IsInf(max-min, 0) {
		return nil
	}
	few := max-min <= 1
	var ticks []plot.Tick
	for e := math.Floor(min); e <= math.Ceil(max); e++ {
		for m := 1; m <= 9; m++ {
			v := e + math.Log10(float64(m))
			if v < min-1e-9 || v > max+1e-9 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || few && (m == 2 || m == 5) {
				t.Label = label(math.Pow(10, e) * float64(m))
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// formatUS formats a duration in microseconds with a unit.
func formatUS(us float64) string {
	switch {
	case us >= 1e6:
		return trimFloat(us/1e6) + "s"
	case us >= 1e3:
		return trimFloat(us/1e3) + "ms"
	}
	return trimFloat(us) + "µs"
}

func trimFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// log10Floor returns log10(max(v, floor)).
func log10Floor(v, floor float64) float64 {
	return math.Log10(math.Max(v, floor))
}

// logRange returns the whole-decade range, in log10 units, covering the
// values of the given series (values below floor count as floor).
func logRange(floor float64, series ...[]float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, v := range s {
			v = math.Max(v, floor)
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		l := math.Log10(floor)
		return l, l + 1
	}
	l, h := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if h <= l {
		h = l + 1
	}
	return l, h
}

// lineStyle returns a line style of the given colour, width in points and
// dash pattern (nil for solid).
func lineStyle(c color.Color, width vg.Length, dashes ...vg.Length) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: width, Dashes: dashes}
}

var dashed = []vg.Length{vg.Points(4), vg.Points(2.5)}

// boxedLegend draws a legend inside the data area on a translucent white
// box, so that it stays readable where it overlaps data. Figure.Encode
// moves every panel's legend into one.
type boxedLegend struct {
	l plot.Legend
}

func (b *boxedLegend) Plot(c draw.Canvas, _ *plot.Plot) {
	const inset = 4
	l := b.l
	if l.Left {
		l.XOffs += inset
	} else {
		l.XOffs -= inset
	}
	if l.Top {
		l.YOffs -= inset
	} else {
		l.YOffs += inset
	}
	// Legend.Rectangle mirrors Left and ignores the offsets: take only
	// its size and place the box as Legend.Draw places the entries.
	size := l.Rectangle(c).Size()
	if size.X <= 0 {
		return
	}
	size.Y += l.TextStyle.FontExtents().Descent
	var r vg.Rectangle
	if l.Left {
		r.Min.X = c.Min.X + l.XOffs
	} else {
		r.Min.X = c.Max.X + l.XOffs - size.X
	}
	if l.Top {
		r.Min.Y = c.Max.Y + l.YOffs - size.Y
	} else {
		r.Min.Y = c.Min.Y + l.YOffs - l.TextStyle.FontExtents().Descent
	}
	r.Max = vg.Point{X: r.Min.X + size.X, Y: r.Min.Y + size.Y}
	pad := vg.Points(2.5)
	box := vg.Rectangle{Min: vg.Point{X: r.Min.X - pad, Y: r.Min.Y - pad}, Max: vg.Point{X: r.Max.X + pad, Y: r.Max.Y + pad}}
	c.SetColor(color.NRGBA{R: 255, G: 255, B: 255, A: 0xD8})
	c.Fill(box.Path())
	c.SetLineStyle(lineStyle(color.Gray{Y: 0xC8}, 0.5))
	c.Stroke(box.Path())
	l.Draw(c)
}

// textOnly is a legend entry without a thumbnail.
type textOnly struct{}

func (textOnly) Thumbnail(*draw.Canvas) {}

// pct formats a fraction as a percentage.
func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }
