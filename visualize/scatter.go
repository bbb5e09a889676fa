package visualize

import (
	"context"
	"fmt"
	"image/color"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/visualize/tsne"
)

// scaledSets holds the standardised rows of both sets (scaler fitted on
// all real rows) and the sampled subsets.
type scaledSets struct {
	real, syn       *mat.Dense // all rows, scaled
	realIdx, synIdx []int      // sampled row indices
	notes           []string
}

func prepareRows(real, syn []trace.Packet, opt Options, defSample int) (*scaledSets, error) {
	if err := checkTraces(real, syn); err != nil {
		return nil, err
	}
	rr := Rows(real, opt.LogDelta)
	sc, err := FitScaler(rr)
	if err != nil {
		return nil, err
	}
	s := &scaledSets{real: sc.Transform(rr)}
	k := opt.sample(defSample)
	s.realIdx = Sample(len(real), k, opt.Seed, streamReal)
	s.notes = []string{sampleNote(opt.realName(), len(s.realIdx), len(real))}
	if syn != nil {
		s.syn = sc.Transform(Rows(syn, opt.LogDelta))
		s.synIdx = Sample(len(syn), k, opt.Seed, streamSyn)
		s.notes = append(s.notes, sampleNote(opt.synName(), len(s.synIdx), len(syn)))
	}
	if k > 0 && (k < len(real) || k < len(syn)) {
		s.notes = append(s.notes, fmt.Sprintf("uniform sample without replacement, seed %d", opt.Seed))
	}
	return s, nil
}

func rowFeatures(opt Options) string {
	if opt.LogDelta {
		return "(cumulative time, size, log10 merged delta)"
	}
	return "(cumulative time, size, merged delta)"
}

// scatterOf returns a scatter of the given 2-column coordinates.
func scatterOf(y *mat.Dense, c draw.GlyphStyle) *plotter.Scatter {
	n, _ := y.Dims()
	xys := make(plotter.XYs, n)
	for i := range n {
		xys[i] = plotter.XY{X: y.At(i, 0), Y: y.At(i, 1)}
	}
	s, _ := plotter.NewScatter(xys) // finite by construction
	s.GlyphStyle = c
	return s
}

func pointStyle(col color.NRGBA, n int) draw.GlyphStyle {
	r := vg.Points(1.4)
	a := uint8(0x90)
	if n > 3000 {
		r, a = vg.Points(1.0), 0x60
	}
	return draw.GlyphStyle{Color: translucent(col, a), Radius: r, Shape: draw.CircleGlyph{}}
}

// legendGlyph is a larger opaque glyph for legend thumbnails.
type legendGlyph struct{ style draw.GlyphStyle }

func (g legendGlyph) Thumbnail(c *draw.Canvas) {
	st := g.style
	st.Radius = vg.Points(3)
	st.Color = translucent(st.Color.(color.NRGBA), 0xFF)
	c.DrawGlyph(st, c.Center())
}

// pcaPanel returns the PCA scatter and notes describing the fit.
func pcaPanel(s *scaledSets, opt Options) (*plot.Plot, []string, error) {
	m, err := FitPCA(s.real)
	if err != nil {
		return nil, nil, err
	}
	if _, k := m.Vectors.Dims(); k < 2 {
		return nil, nil, fmt.Errorf("visualize: PCA needs at least 2 components, have %d", k)
	}
	yr := m.Project(selectRows(s.real, s.realIdx), 2)
	p := newPanel(fmt.Sprintf("PCA of %s rows, fitted on %s", rowFeatures(opt), opt.realName()),
		fmt.Sprintf("PC1 (%s of %s variance) [scaled units]", pct(m.Ratio[0]), opt.realName()),
		fmt.Sprintf("PC2 (%s) [scaled units]", pct(m.Ratio[1])))
	rs := pointStyle(colReal, len(s.realIdx))
	p.Add(scatterOf(yr, rs))
	p.Legend.Add(fmt.Sprintf("%s (%d rows)", opt.realName(), len(s.realIdx)), legendGlyph{rs})
	if s.syn != nil {
		ys := m.Project(selectRows(s.syn, s.synIdx), 2)
		ss := pointStyle(colSyn, len(s.synIdx))
		p.Add(scatterOf(ys, ss))
		p.Legend.Add(fmt.Sprintf("%s (%d rows)", opt.synName(), len(s.synIdx)), legendGlyph{ss})
	}
	p.Legend.Add(fmt.Sprintf("explained variance: PC1 %s, PC2 %s", pct(m.Ratio[0]), pct(m.Ratio[1])), textOnly{})
	names := []string{"time", "size", "delta"}
	var load []string
	for c := range 2 {
		var terms []string
		for j, nm := range names {
			terms = append(terms, fmt.Sprintf("%+.2f·%s", m.Vectors.At(j, c), nm))
		}
		load = append(load, fmt.Sprintf("PC%d = %s", c+1, strings.Join(terms, " ")))
	}
	return p, load, nil
}

// PCAFigure projects the standardised rows (see Rows; scaler fitted on
// the real rows) of both traces on the first two principal components of
// the real rows (gonum stat.PC), with the explained variance in the
// legend. At most Options.Sample rows of each set are drawn (default
// DefaultScatterSample); the PCA itself is fitted on every real row.
func PCAFigure(real, syn []trace.Packet, opt Options) (*Figure, error) {
	s, err := prepareRows(real, syn, opt, DefaultScatterSample)
	if err != nil {
		return nil, err
	}
	p, load, err := pcaPanel(s, opt)
	if err != nil {
		return nil, err
	}
	return &Figure{
		Title:  opt.title(vsTitle("PCA", syn, opt)),
		Notes:  append(s.notes, load...),
		Panels: [][]*plot.Plot{{p}},
		Width:  opt.width(9 * vg.Inch),
		Height: opt.height(7.5 * vg.Inch),
	}, nil
}

// tsnePanel embeds the sampled rows of both sets together and returns the
// scatter and a note with the parameters.
func tsnePanel(ctx context.Context, s *scaledSets, opt Options) (*plot.Plot, string, error) {
	xr := selectRows(s.real, s.realIdx)
	nr, d := xr.Dims()
	ns := len(s.synIdx)
	x := mat.NewDense(nr+ns, d, nil)
	x.Slice(0, nr, 0, d).(*mat.Dense).Copy(xr)
	if ns > 0 {
		x.Slice(nr, nr+ns, 0, d).(*mat.Dense).Copy(selectRows(s.syn, s.synIdx))
	}
	cfg := opt.TSNE
	cfg.Seed = opt.Seed
	res, err := tsne.Embed(ctx, x, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("visualize: t-SNE: %w", err)
	}
	yr := res.Y.Slice(0, nr, 0, 2).(*mat.Dense)
	theta := cfg.Theta
	if theta == 0 {
		theta = 0.5
	}
	iters := cfg.Iterations
	if iters == 0 {
		iters = 1000
	}
	p := newPanel(fmt.Sprintf("t-SNE of %s rows (perplexity %.3g)", rowFeatures(opt), res.Perplexity),
		"t-SNE 1 [arbitrary units]", "t-SNE 2 [arbitrary units]")
	rs := pointStyle(colReal, nr)
	p.Add(scatterOf(yr, rs))
	p.Legend.Add(fmt.Sprintf("%s (%d rows)", opt.realName(), nr), legendGlyph{rs})
	if ns > 0 {
		ys := res.Y.Slice(nr, nr+ns, 0, 2).(*mat.Dense)
		ss := pointStyle(colSyn, ns)
		p.Add(scatterOf(ys, ss))
		p.Legend.Add(fmt.Sprintf("%s (%d rows)", opt.synName(), ns), legendGlyph{ss})
	}
	note := fmt.Sprintf("Barnes-Hut t-SNE: perplexity %.3g, θ %.2g, %d iterations, seed %d, KL %.3f",
		res.Perplexity, theta, iters, opt.Seed, res.KL)
	return p, note, nil
}

// TSNEFigure embeds the standardised rows (see Rows; scaler fitted on the
// real rows) of both traces together with Barnes-Hut t-SNE (perplexity 30
// unless Options.TSNE says otherwise, seeded with Options.Seed) and draws
// them coloured by set. At most Options.Sample rows of each set are used
// (default DefaultTSNESample). It returns ctx.Err() if ctx is cancelled.
func TSNEFigure(ctx context.Context, real, syn []trace.Packet, opt Options) (*Figure, error) {
	s, err := prepareRows(real, syn, opt, DefaultTSNESample)
	if err != nil {
		return nil, err
	}
	p, note, err := tsnePanel(ctx, s, opt)
	if err != nil {
		return nil, err
	}
	return &Figure{
		Title:  opt.title(vsTitle("t-SNE", syn, opt)),
		Notes:  append(s.notes, note),
		Panels: [][]*plot.Plot{{p}},
		Width:  opt.width(9 * vg.Inch),
		Height: opt.height(8 * vg.Inch),
	}, nil
}

// vsTitle is a scatter figure's default title: the two sets, or the real
// one alone when syn is nil.
func vsTitle(what string, syn []trace.Packet, opt Options) string {
	if syn == nil {
		return fmt.Sprintf("%s: %s", what, opt.realName())
	}
	return fmt.Sprintf("%s: %s against %s", what, opt.synName(), opt.realName())
}
