package visualize

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/spatgan/spatgan/metrics"
	"github.com/spatgan/spatgan/trace"
)

// Kind selects how a DistSeries is binned and drawn.
type Kind int

const (
	// KindSize is frame sizes in bytes: linear axis, metrics.SizeBins.
	KindSize Kind = iota
	// KindTime is times in microseconds: log axis (values below 1 µs are
	// drawn at 1 µs), metrics.TimeBins.
	KindTime
	// KindCount is burst lengths in packets: log axis, metrics.BurstBins.
	KindCount
)

// DistSeries is one feature of real and synthetic traffic, per sending
// side (indexed by trace.Side).
type DistSeries struct {
	Name      string // e.g. "inter-arrival time"
	Unit      string // e.g. "µs"
	Kind      Kind
	Real, Syn [2][]float64
}

// SeriesOf returns the four features DistFigure compares, with the
// definitions of metrics.Extract (docs/fidelity.md): size, inter-arrival
// time within a direction, burst length and reply gap (how long a side
// took to answer the other side's burst).
func SeriesOf(real, syn []trace.Packet) ([]DistSeries, error) {
	r, err := metrics.Extract(real)
	if err != nil {
		return nil, fmt.Errorf("visualize: real trace: %w", err)
	}
	var s [2]metrics.Series
	if syn != nil {
		if s, err = metrics.Extract(syn); err != nil {
			return nil, fmt.Errorf("visualize: synthetic trace: %w", err)
		}
	}
	pick := func(x [2]metrics.Series, f func(metrics.Series) []float64) [2][]float64 {
		return [2][]float64{f(x[0]), f(x[1])}
	}
	return []DistSeries{
		{"packet size", "B", KindSize, pick(r, func(m metrics.Series) []float64 { return m.Size }), pick(s, func(m metrics.Series) []float64 { return m.Size })},
		{"inter-arrival time", "µs", KindTime, pick(r, func(m metrics.Series) []float64 { return m.IAT }), pick(s, func(m metrics.Series) []float64 { return m.IAT })},
		{"burst length", "packets", KindCount, pick(r, func(m metrics.Series) []float64 { return m.Burst }), pick(s, func(m metrics.Series) []float64 { return m.Burst })},
		{"reply gap", "µs", KindTime, pick(r, func(m metrics.Series) []float64 { return m.ReplyGap }), pick(s, func(m metrics.Series) []float64 { return m.ReplyGap })},
	}, nil
}

// maxCDFPoints caps the points drawn per CDF: the step function is drawn
// through evenly spaced order statistics (and the extremes), which is
// indistinguishable at figure resolution and keeps SVG files small.
const maxCDFPoints = 2000

// qqPoints is the number of quantiles on a QQ plot, at probabilities
// (i+0.5)/qqPoints.
const qqPoints = 200

var sideNames = [2]string{"server", "client"}

func (s DistSeries) floor() float64 {
	if s.Kind == KindSize {
		return math.Inf(-1)
	}
	return 1
}

func (s DistSeries) axisLabel() string {
	if s.Kind == KindTime {
		return s.Name + " [µs, log]"
	}
	if s.Kind == KindCount {
		return fmt.Sprintf("%s [%s, log]", s.Name, s.Unit)
	}
	return fmt.Sprintf("%s [%s]", s.Name, s.Unit)
}

// tx maps a value to its axis coordinate: itself on the linear size
// axis, log10 (values below 1 at 1) on the log axes.
func (s DistSeries) tx(v float64) float64 {
	if s.Kind == KindSize {
		return v
	}
	return log10Floor(v, 1)
}

func (s DistSeries) ticker() plot.Ticker {
	if s.Kind == KindTime {
		return usTicks{}
	}
	return countTicks{}
}

// setX sets the x axis of p for the series' kind over the given data.
func (s DistSeries) setX(p *plot.Plot, data ...[]float64) {
	switch s.Kind {
	case KindTime, KindCount:
		p.X.Min, p.X.Max = logRange(1, data...)
		p.X.Tick.Marker = s.ticker()
	default:
		p.X.Min, p.X.Max = 0, sizeAxisMax(data...)
	}
}

// sizeAxisMax ends a size axis a little past the 99.5% quantile of the
// values, rounded up to 100 B: a few jumbo frames would otherwise squeeze
// the bulk of the data into a sliver at the left. The CDF still reaches 1
// beyond the edge; the figure's notes say how many values are cut.
func sizeAxisMax(data ...[]float64) float64 {
	var all []float64
	for _, d := range data {
		all = append(all, d...)
	}
	if len(all) == 0 {
		return 10
	}
	slices.Sort(all)
	q := metrics.QuantileSorted(all, 0.995)
	hi := math.Ceil(q*1.05/100) * 100
	return math.Max(math.Min(hi, all[len(all)-1]*1.03), 10)
}

func (s DistSeries) all() [][]float64 {
	return [][]float64{s.Real[0], s.Real[1], s.Syn[0], s.Syn[1]}
}

func sortedClamped(x []float64, floor float64) []float64 {
	out := make([]float64, 0, len(x))
	for _, v := range x {
		if !math.IsNaN(v) {
			out = append(out, math.Max(v, floor))
		}
	}
	slices.Sort(out)
	return out
}

// cdfLine returns the empirical CDF of x as a post-step line, x mapped
// through tx.
func cdfLine(x []float64, floor float64, tx func(float64) float64, st draw.LineStyle) *plotter.Line {
	s := sortedClamped(x, floor)
	n := len(s)
	step := max(1, n/maxCDFPoints)
	xys := make(plotter.XYs, 0, n/step+2)
	for i := 0; i < n; i += step {
		xys = append(xys, plotter.XY{X: tx(s[i]), Y: float64(i+1) / float64(n)})
	}
	if xys[len(xys)-1].Y != 1 {
		xys = append(xys, plotter.XY{X: tx(s[n-1]), Y: 1})
	}
	l, _ := plotter.NewLine(xys)
	l.StepStyle = plotter.PostStep
	l.LineStyle = st
	return l
}

// seriesStyle is the line style of a set (colour) and side (dash).
func seriesStyle(syn bool, side int) draw.LineStyle {
	c := colReal
	if syn {
		c = colSyn
	}
	st := lineStyle(c, 1.4)
	if side == int(trace.Client) {
		st.Dashes = dashed
	}
	return st
}

func cdfPanel(s DistSeries, opt Options) *plot.Plot {
	p := newPanel(s.Name+": CDF", s.axisLabel(), "fraction ≤ x")
	// A CDF leaves the bottom right corner empty.
	p.Legend.Left, p.Legend.Top = false, false
	for side := range 2 {
		for _, syn := range []bool{false, true} {
			x, name := s.Real[side], opt.realName()
			if syn {
				x, name = s.Syn[side], opt.synName()
			}
			if len(x) == 0 {
				continue
			}
			l := cdfLine(x, s.floor(), s.tx, seriesStyle(syn, side))
			p.Add(l)
			label := fmt.Sprintf("%s %s", name, sideNames[side])
			if syn && len(s.Real[side]) > 0 {
				label += fmt.Sprintf(" (KS %.3f)", metrics.KS(s.Real[side], x))
			}
			p.Legend.Add(label, l)
		}
	}
	s.setX(p, s.all()...)
	p.Y.Min, p.Y.Max = 0, 1
	return p
}

// drawBins returns the lower edges used for drawing the scheme's bins on
// the series' axis (the first time bin [0, 1 µs) is merged into the next,
// overflow bins get the width of their neighbour) and maps a scheme bin
// index to a drawn bin.
func drawBins(k Kind) (bins metrics.Bins, edges []float64, drawn func(int) int) {
	switch k {
	case KindTime:
		bins = metrics.TimeBins
		lower := bins.Lower()[1:] // drop [0, 1 µs)
		edges = append(lower, lower[len(lower)-1]*math.Pow(10, 0.1))
		return bins, edges, func(i int) int { return max(i-1, 0) }
	case KindCount:
		bins = metrics.BurstBins
	default:
		bins = metrics.SizeBins
	}
	lower := bins.Lower()
	w := lower[len(lower)-1] - lower[len(lower)-2]
	edges = append(lower, lower[len(lower)-1]+w)
	return bins, edges, func(i int) int { return i }
}

// histLine returns the histogram of x (fraction per bin) as a step outline,
// bin edges mapped through tx.
func histLine(x []float64, k Kind, tx func(float64) float64, st draw.LineStyle) (*plotter.Line, float64) {
	bins, edges, drawn := drawBins(k)
	frac := make([]float64, len(edges)-1)
	counts := bins.Histogram(x)
	var total float64
	for i, c := range counts {
		frac[drawn(i)] += c
		total += c
	}
	xys := make(plotter.XYs, 0, len(edges)+1)
	top := 0.0
	for i := range frac {
		frac[i] /= total
		top = math.Max(top, frac[i])
		xys = append(xys, plotter.XY{X: tx(edges[i]), Y: frac[i]})
	}
	xys = append(xys, plotter.XY{X: tx(edges[len(edges)-1]), Y: frac[len(frac)-1]})
	l, _ := plotter.NewLine(xys)
	l.StepStyle = plotter.PostStep
	l.LineStyle = st
	return l, top
}

func histPanel(s DistSeries, opt Options) *plot.Plot {
	what := map[Kind]string{KindSize: "10 B bins", KindTime: "10 bins per decade", KindCount: "one bin per length, 31+ last"}[s.Kind]
	p := newPanel(fmt.Sprintf("%s: histogram (%s)", s.Name, what), s.axisLabel(), "fraction per bin")
	top := 0.0
	var drawnData [][]float64
	for side := range 2 {
		for _, syn := range []bool{false, true} {
			x, name := s.Real[side], opt.realName()
			if syn {
				x, name = s.Syn[side], opt.synName()
			}
			if len(x) == 0 {
				continue
			}
			l, t := histLine(x, s.Kind, s.tx, seriesStyle(syn, side))
			top = math.Max(top, t)
			p.Add(l)
			p.Legend.Add(fmt.Sprintf("%s %s", name, sideNames[side]), l)
			drawnData = append(drawnData, x)
		}
	}
	_, edges, _ := drawBins(s.Kind)
	switch s.Kind {
	case KindSize:
		s.setX(p, drawnData...)
	default:
		lo, hi := logRange(1, drawnData...)
		hi = math.Min(hi, s.tx(edges[len(edges)-1]))
		p.X.Min, p.X.Max = lo, math.Max(hi, lo+1)
		p.X.Tick.Marker = s.ticker()
	}
	p.Y.Min, p.Y.Max = 0, math.Max(top*1.5, 0.01) // headroom for the legend
	return p
}

func qqPanel(s DistSeries, opt Options) *plot.Plot {
	p := newPanel(fmt.Sprintf("%s: QQ", s.Name),
		fmt.Sprintf("%s quantile [%s]", opt.realName(), s.Unit),
		fmt.Sprintf("%s quantile [%s]", opt.synName(), s.Unit))
	p.Legend.Left = true
	floor := s.floor()
	var xs, ys []float64
	for side := range 2 {
		r, y := sortedClamped(s.Real[side], floor), sortedClamped(s.Syn[side], floor)
		if len(r) == 0 || len(y) == 0 {
			continue
		}
		xys := make(plotter.XYs, qqPoints)
		for i := range xys {
			q := (float64(i) + 0.5) / qqPoints
			qr, qs := metrics.QuantileSorted(r, q), metrics.QuantileSorted(y, q)
			xys[i] = plotter.XY{X: s.tx(qr), Y: s.tx(qs)}
			xs, ys = append(xs, qr), append(ys, qs)
		}
		sc, _ := plotter.NewScatter(xys)
		col := colServer
		if side == int(trace.Client) {
			col = colClient
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(1.8), Shape: draw.CircleGlyph{}}
		if side == int(trace.Client) {
			sc.GlyphStyle.Shape = draw.TriangleGlyph{}
		}
		p.Add(sc)
		p.Legend.Add(sideNames[side]+" (quantiles 0.25%..99.75%)", sc)
	}
	var lo, hi float64
	switch s.Kind {
	case KindSize:
		lo, hi = 0, 10
		for _, v := range append(xs, ys...) {
			hi = math.Max(hi, v*1.03)
		}
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = lo, hi, lo, hi
	default:
		lo, hi = logRange(1, xs, ys)
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = lo, hi, lo, hi
		p.X.Tick.Marker, p.Y.Tick.Marker = s.ticker(), s.ticker()
	}
	diag, _ := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
	diag.LineStyle = lineStyle(colGrey, 0.8, vg.Points(2), vg.Points(2))
	p.Add(diag)
	p.Legend.Add("y = x", diag)
	if len(xs) == 0 {
		p.Title.Text += " (no data on one side)"
	}
	return p
}

// DistFigureSeries draws, for each series, the CDFs of real and synthetic
// data per sending side (colour: data set, dashes: client), their
// histograms on the metrics package's fixed bins, and a QQ plot of
// synthetic against real quantiles per side. Rows: CDF, histogram, QQ;
// one column per series. Series without synthetic values (the real trace
// alone) get no QQ row. KS distances are printed in the CDF legends.
func DistFigureSeries(series []DistSeries, opt Options) (*Figure, error) {
	if len(series) == 0 {
		return nil, errors.New("visualize: no series to draw")
	}
	alone := true // no synthetic values at all: the real trace alone
	for _, s := range series {
		alone = alone && len(s.Syn[0]) == 0 && len(s.Syn[1]) == 0
	}
	rows := [][]*plot.Plot{make([]*plot.Plot, len(series)), make([]*plot.Plot, len(series)), make([]*plot.Plot, len(series))}
	if alone {
		rows = rows[:2]
	}
	for j, s := range series {
		empty := true
		for side := range 2 {
			empty = empty && len(s.Real[side]) == 0 && len(s.Syn[side]) == 0
			for _, x := range [][]float64{s.Real[side], s.Syn[side]} {
				for i, v := range x {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						return nil, fmt.Errorf("visualize: series %q %s: value %d is %v", s.Name, sideNames[side], i, v)
					}
				}
			}
		}
		if empty {
			return nil, fmt.Errorf("visualize: series %q has no values", s.Name)
		}
		rows[0][j] = cdfPanel(s, opt)
		rows[1][j] = histPanel(s, opt)
		if !alone {
			rows[2][j] = qqPanel(s, opt)
		}
	}
	notes := []string{}
	for _, s := range series {
		if alone {
			notes = append(notes, fmt.Sprintf("%s n: %d/%d (server/client)", s.Name, len(s.Real[0]), len(s.Real[1])))
		} else {
			notes = append(notes, fmt.Sprintf("%s n: %s %d/%d, %s %d/%d (server/client)", s.Name,
				opt.realName(), len(s.Real[0]), len(s.Real[1]), opt.synName(), len(s.Syn[0]), len(s.Syn[1])))
		}
		if s.Kind == KindSize {
			hi := sizeAxisMax(s.all()...)
			cut := 0
			for _, x := range s.all() {
				for _, v := range x {
					if v > hi {
						cut++
					}
				}
			}
			if cut > 0 {
				notes = append(notes, fmt.Sprintf("%s axis ends at %.0f B: %d larger values beyond it", s.Name, hi, cut))
			}
		}
	}
	title := fmt.Sprintf("Distributions per sending side: %s against %s", opt.synName(), opt.realName())
	height := 12 * vg.Inch
	if alone {
		title = fmt.Sprintf("Distributions per sending side: %s", opt.realName())
		height = 8 * vg.Inch
	}
	return &Figure{
		Title:  opt.title(title),
		Notes:  notes,
		Panels: rows,
		Width:  opt.width(vg.Length(len(series)) * 5 * vg.Inch),
		Height: opt.height(height),
	}, nil
}

// DistFigure compares the size, inter-arrival time, burst length and reply
// gap distributions of two traces (see SeriesOf and DistFigureSeries). A
// nil syn draws the real trace alone (CDFs and histograms).
func DistFigure(real, syn []trace.Packet, opt Options) (*Figure, error) {
	if err := checkTraces(real, syn); err != nil {
		return nil, err
	}
	s, err := SeriesOf(real, syn)
	if err != nil {
		return nil, err
	}
	return DistFigureSeries(s, opt)
}
