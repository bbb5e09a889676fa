package visualize

import (
	"context"
	"errors"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/spatgan/spatgan/trace"
)

// DefaultReportTSNESample is the t-SNE sample per set in ReportFigure when
// Options.Sample is zero (smaller than DefaultTSNESample so that the
// dashboard takes seconds, not a minute).
const DefaultReportTSNESample = 2000

var modelColours = []color.NRGBA{colReal, colVermilion, colServer, colClient, colSky, colSyn, colGrey}

// lossSummaryPanels draws the Wasserstein estimate and the validation checks
// of every model in two panels.
func lossSummaryPanels(recs []LossRecord) (*plot.Plot, *plot.Plot) {
	w := newPanel("training: Wasserstein estimate", "generator step", "critic(real) − critic(generated)")
	h := newPanel("training: validation C2ST (solid), KS (dashed)", "generator step", "C2ST accuracy / KS distance")
	lo, hi := 0.0, 0.0
	for i, m := range modelsIn(recs) {
		c := modelColours[i%len(modelColours)]
		if xys := lossSeries(recs, m, func(r LossRecord) float64 { return r.Wasserstein }); len(xys) > 0 {
			l, _ := plotter.NewLine(xys)
			l.LineStyle = lineStyle(c, 1.2)
			w.Add(l)
			w.Legend.Add(m, l)
		}
		c2 := lossSeries(recs, m, func(r LossRecord) float64 { return r.HeldoutC2ST })
		ks := lossSeries(recs, m, func(r LossRecord) float64 { return r.HeldoutKS })
		if len(c2) > 0 {
			l, _ := plotter.NewLine(c2)
			l.LineStyle = lineStyle(c, 1.2)
			h.Add(l)
			h.Legend.Add(m, l)
		}
		if len(ks) > 0 {
			l, _ := plotter.NewLine(ks)
			l.LineStyle = lineStyle(c, 1.2, dashed...)
			h.Add(l)
			if len(c2) == 0 {
				h.Legend.Add(m, l)
			}
		}
		if a, b, ok := stepRange(recs, m); ok {
			lo, hi = min(lo, a), max(hi, b)
		}
	}
	half, _ := plotter.NewLine(plotter.XYs{{X: lo, Y: 0.5}, {X: hi, Y: 0.5}})
	half.LineStyle = lineStyle(colGrey, 0.8, vg.Points(2), vg.Points(2))
	h.Add(half)
	h.Y.Min, h.Y.Max = 0, 1.3 // headroom for the legend
	if wlo, whi, ok := yRange(w); ok {
		w.Y.Min, w.Y.Max = wlo, whi+0.45*(whi-wlo)
	}
	return w, h
}

// ReportFigure draws a dashboard of a synthetic trace against a (held-out)
// real trace: the flow charts, the PCA and t-SNE scatters, the CDFs of
// size, inter-arrival time, burst length and reply gap, and either their
// QQ plots or, when Options.Loss holds a loss log, the size and
// inter-arrival QQ plots and the training curves of every model. The
// t-SNE uses DefaultReportTSNESample rows per set unless Options.Sample is
// set. It returns ctx.Err() if ctx is cancelled.
func ReportFigure(ctx context.Context, real, syn []trace.Packet, opt Options) (*Figure, error) {
	if syn == nil {
		return nil, errors.New("visualize: a report compares two traces: the synthetic one is missing")
	}
	if err := checkTraces(real, syn); err != nil {
		return nil, err
	}
	var notes []string
	flow, err := flowPanels(real, syn, opt)
	if err != nil {
		// Not fatal for a dashboard: say so in the panel.
		for k, name := range []string{opt.realName(), opt.synName()} {
			flow[k] = newPanel(fmt.Sprintf("%s flow: no packets in window %v", name, opt.window()), "time [s]", "size [B]")
		}
	}
	for k := range flow {
		flow[k].Title.Text = "flow, " + flow[k].Title.Text
	}
	sets, err := prepareRows(real, syn, opt, DefaultScatterSample)
	if err != nil {
		return nil, err
	}
	pca, _, err := pcaPanel(sets, opt)
	if err != nil {
		return nil, err
	}
	notes = append(notes, "PCA "+sets.notes[0], sets.notes[1])
	topt := opt
	if topt.Sample == 0 {
		topt.Sample = DefaultReportTSNESample
	}
	tsets, err := prepareRows(real, syn, topt, DefaultReportTSNESample)
	if err != nil {
		return nil, err
	}
	tsn, tnote, err := tsnePanel(ctx, tsets, topt)
	if err != nil {
		return nil, err
	}
	notes = append(notes, "t-SNE "+tsets.notes[0], tsets.notes[1], tnote)
	series, err := SeriesOf(real, syn)
	if err != nil {
		return nil, err
	}
	row2 := make([]*plot.Plot, 4)
	row3 := make([]*plot.Plot, 4)
	for j, s := range series {
		row2[j] = cdfPanel(s, opt)
		row3[j] = qqPanel(s, opt)
	}
	if len(opt.Loss) > 0 {
		row3[2], row3[3] = lossSummaryPanels(opt.Loss)
	}
	for _, p := range [][]*plot.Plot{flow[:], {pca, tsn}, row2, row3} {
		for _, q := range p {
			q.Title.TextStyle.Font.Size = 10
			q.Legend.TextStyle.Font.Size = 7.5
		}
	}
	return &Figure{
		Title:  opt.title(fmt.Sprintf("Report: %s (%d packets) against %s (%d packets)", opt.synName(), len(syn), opt.realName(), len(real))),
		Notes:  notes,
		Panels: [][]*plot.Plot{{flow[0], flow[1], pca, tsn}, row2, row3},
		Width:  opt.width(22 * vg.Inch),
		Height: opt.height(14 * vg.Inch),
	}, nil
}

// yRange returns the y range of the data of p's plotters.
func yRange(p *plot.Plot) (lo, hi float64, ok bool) {
	return p.Y.Min, p.Y.Max, p.Y.Max > p.Y.Min
}
