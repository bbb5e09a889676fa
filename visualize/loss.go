package visualize

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/spatgan/spatgan/bundle/layout"
)

// LossHeader is the loss log's header, as the training code writes it
// (loss log format 2: the last two columns are validation scores; defined
// in bundle/layout).
var LossHeader = layout.LossHeader

// LossHeaderV1 is the header of format 1 logs, whose validation columns
// were misleadingly named heldout_*; ReadLossLog still reads them.
var LossHeaderV1 = layout.LossHeaderV1

// Models lists the four generators in the order their panels are drawn
// (the bundle's model IDs, bundle/layout).
var Models = layout.ModelIDs

// LossRecord is one row of the loss log. HeldoutKS and HeldoutC2ST hold
// the val_ks and val_c2st columns (validation scores; the names are kept for
// callers) and are NaN on rows without a validation check (empty fields).
type LossRecord struct {
	Model                                               string
	Step                                                int64
	GLoss, CriticReal, CriticFake, Wasserstein, Penalty float64
	HeldoutKS, HeldoutC2ST                              float64
}

// LossError is a malformed loss log: the file, the 1-based line, the
// field (column name, empty for whole-line problems) and what is wrong.
type LossError struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *LossError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("visualize: %s, line %d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("visualize: %s, line %d, field %s: %v", e.File, e.Line, e.Field, e.Err)
}

func (e *LossError) Unwrap() error { return e.Err }

// ReadLossLogFile reads a loss log from a file (see ReadLossLog).
func ReadLossLogFile(path string) ([]LossRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("visualize: loss log: %w", err)
	}
	defer f.Close()
	return ReadLossLog(f, path)
}

// ReadLossLog reads a loss log: a CSV file whose header is LossHeader (or
// LossHeaderV1) and whose rows hold a non-empty model name, an integer step
// >= 0 and finite numbers, the validation fields possibly empty. name is used in errors.
// An empty log (header only) is an error.
func ReadLossLog(r io.Reader, name string) ([]LossRecord, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, &LossError{File: name, Line: 1, Err: errors.New("empty file, want the header " + strings.Join(LossHeader, ","))}
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	if !slices.Equal(head, LossHeader) && !slices.Equal(head, LossHeaderV1) {
		return nil, &LossError{File: name, Line: 1, Err: fmt.Errorf("header %q, want %q", strings.Join(head, ","), strings.Join(LossHeader, ","))}
	}
	var out []LossRecord
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(LossHeader) {
			return nil, &LossError{File: name, Line: line, Err: fmt.Errorf("%d fields, want %d", len(rec), len(LossHeader))}
		}
		lr := LossRecord{Model: rec[0]}
		if lr.Model == "" {
			return nil, &LossError{File: name, Line: line, Field: "model", Err: errors.New("empty")}
		}
		lr.Step, err = strconv.ParseInt(rec[1], 10, 64)
		if err != nil || lr.Step < 0 {
			return nil, &LossError{File: name, Line: line, Field: "step", Err: fmt.Errorf("%q is not a step number", rec[1])}
		}
		dst := []*float64{&lr.GLoss, &lr.CriticReal, &lr.CriticFake, &lr.Wasserstein, &lr.Penalty, &lr.HeldoutKS, &lr.HeldoutC2ST}
		for k, p := range dst {
			col := 2 + k
			s := rec[col]
			if s == "" && col >= 7 {
				*p = math.NaN()
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, &LossError{File: name, Line: line, Field: LossHeader[col], Err: fmt.Errorf("%q is not a finite number", s)}
			}
			*p = v
		}
		out = append(out, lr)
	}
	if len(out) == 0 {
		return nil, &LossError{File: name, Line: 2, Err: errors.New("no rows after the header")}
	}
	return out, nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &LossError{File: name, Line: pe.Line, Err: pe.Err}
	}
	return fmt.Errorf("visualize: %s: %w", name, err)
}

// WriteLossLog writes records in the loss log format (LossHeader, NaN
// validation values as empty fields), shortest round-trip float formatting.
func WriteLossLog(w io.Writer, recs []LossRecord) error {
	cw := csv.NewWriter(w)
	cw.Write(LossHeader)
	f := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	for _, r := range recs {
		cw.Write([]string{r.Model, strconv.FormatInt(r.Step, 10), f(r.GLoss), f(r.CriticReal), f(r.CriticFake), f(r.Wasserstein), f(r.Penalty), f(r.HeldoutKS), f(r.HeldoutC2ST)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("visualize: write loss log: %w", err)
	}
	return nil
}

// modelsIn returns the models present in recs: the four known ones in
// their usual order, then any others alphabetically.
func modelsIn(recs []LossRecord) []string {
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.Model] = true
	}
	var out, other []string
	for _, m := range Models {
		if seen[m] {
			out = append(out, m)
			delete(seen, m)
		}
	}
	for m := range seen {
		other = append(other, m)
	}
	slices.Sort(other)
	return append(out, other...)
}

// lossSeries returns the (step, value) points of one column for a model,
// sorted by step, skipping NaN.
func lossSeries(recs []LossRecord, model string, col func(LossRecord) float64) plotter.XYs {
	var xys plotter.XYs
	for _, r := range recs {
		if r.Model != model {
			continue
		}
		if v := col(r); !math.IsNaN(v) {
			xys = append(xys, plotter.XY{X: float64(r.Step), Y: v})
		}
	}
	slices.SortStableFunc(xys, func(a, b plotter.XY) int {
		switch {
		case a.X < b.X:
			return -1
		case a.X > b.X:
			return 1
		}
		return 0
	})
	return xys
}

var lossColumns = []struct {
	name  string
	col   func(LossRecord) float64
	style draw.LineStyle
}{
	{"generator loss", func(r LossRecord) float64 { return r.GLoss }, lineStyle(colReal, 1.2)},
	{"critic on real", func(r LossRecord) float64 { return r.CriticReal }, lineStyle(colServer, 1.2)},
	{"critic on generated", func(r LossRecord) float64 { return r.CriticFake }, lineStyle(colVermilion, 1.2)},
	{"Wasserstein estimate", func(r LossRecord) float64 { return r.Wasserstein }, lineStyle(colBlack, 1.6)},
	{"gradient penalty", func(r LossRecord) float64 { return r.Penalty }, lineStyle(colGrey, 1, vg.Points(3), vg.Points(2))},
}

// lossPanel draws the training curves of one model.
func lossPanel(recs []LossRecord, model string) *plot.Plot {
	p := newPanel(model+": training", "generator step", "loss / critic value")
	p.Legend.Top = true
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range lossColumns {
		xys := lossSeries(recs, model, c.col)
		if len(xys) == 0 {
			continue
		}
		for _, xy := range xys {
			lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
		}
		l, _ := plotter.NewLine(xys)
		l.LineStyle = c.style
		p.Add(l)
		p.Legend.Add(c.name, l)
	}
	if hi > lo {
		// Headroom for the legend.
		p.Y.Min, p.Y.Max = lo, hi+0.45*(hi-lo)
	}
	return p
}

// heldoutPanel draws the validation checks of one model: KS and C2ST
// accuracy (0.5 = indistinguishable) against the step.
func heldoutPanel(recs []LossRecord, model string) *plot.Plot {
	p := newPanel(model+": validation check", "generator step", "KS distance / C2ST accuracy")
	ks := lossSeries(recs, model, func(r LossRecord) float64 { return r.HeldoutKS })
	c2 := lossSeries(recs, model, func(r LossRecord) float64 { return r.HeldoutC2ST })
	if len(ks)+len(c2) == 0 {
		p.Title.Text += " (none logged)"
	}
	for _, s := range []struct {
		xys   plotter.XYs
		name  string
		c     draw.LineStyle
		shape draw.GlyphDrawer
	}{
		{ks, "validation KS", lineStyle(colSky, 1.2), draw.CircleGlyph{}},
		{c2, "validation C2ST accuracy", lineStyle(colSyn, 1.2), draw.TriangleGlyph{}},
	} {
		if len(s.xys) == 0 {
			continue
		}
		l, sc, _ := plotter.NewLinePoints(s.xys)
		l.LineStyle = s.c
		sc.GlyphStyle = draw.GlyphStyle{Color: s.c.Color, Radius: vg.Points(2), Shape: s.shape}
		p.Add(l, sc)
		p.Legend.Add(s.name, l, sc)
	}
	// C2ST chance level.
	if xmin, xmax, ok := stepRange(recs, model); ok {
		half, _ := plotter.NewLine(plotter.XYs{{X: xmin, Y: 0.5}, {X: xmax, Y: 0.5}})
		half.LineStyle = lineStyle(colGrey, 0.8, vg.Points(2), vg.Points(2))
		p.Add(half)
		p.Legend.Add("chance (C2ST 0.5)", half)
	}
	p.Y.Min, p.Y.Max = 0, 1.3 // headroom for the legend
	return p
}

func stepRange(recs []LossRecord, model string) (float64, float64, bool) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range recs {
		if r.Model == model {
			lo, hi = math.Min(lo, float64(r.Step)), math.Max(hi, float64(r.Step))
		}
	}
	return lo, hi, lo <= hi
}

// LossFigure draws the training curves of a loss log: one column per
// model, the losses (generator, critic on real and generated data,
// Wasserstein estimate, gradient penalty) above, the validation KS and
// C2ST accuracy below.
func LossFigure(recs []LossRecord, opt Options) (*Figure, error) {
	if len(recs) == 0 {
		return nil, errors.New("visualize: the loss log has no rows")
	}
	models := modelsIn(recs)
	rows := [][]*plot.Plot{make([]*plot.Plot, len(models)), make([]*plot.Plot, len(models))}
	counts := []string{}
	for j, m := range models {
		rows[0][j] = lossPanel(recs, m)
		rows[1][j] = heldoutPanel(recs, m)
		n := 0
		for _, r := range recs {
			if r.Model == m {
				n++
			}
		}
		counts = append(counts, fmt.Sprintf("%s: %d rows", m, n))
	}
	return &Figure{
		Title:  opt.title("Training curves"),
		Notes:  counts,
		Panels: rows,
		Width:  opt.width(vg.Length(len(models)) * 5 * vg.Inch),
		Height: opt.height(8 * vg.Inch),
	}, nil
}
