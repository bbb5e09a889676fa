package visualize

import (
	"gonum.org/v1/plot/vg"

	"github.com/spatgan/spatgan/visualize/tsne"
)

// Options holds the settings shared by the figures. The zero value gives
// the defaults documented on each field.
type Options struct {
	// Title replaces the figure's default title.
	Title string
	// RealName and SynName label the two data sets in titles and legends.
	// Defaults "real" and "synthetic".
	RealName, SynName string
	// Window is the flow chart's stretch of each trace. Default
	// DefaultWindow (the first 2 s).
	Window Window
	// Sample caps the number of rows drawn from each data set for the
	// scatter figures (Sample picks them uniformly without replacement,
	// seeded). 0 selects the figure's default (DefaultScatterSample for
	// PCA, DefaultTSNESample for t-SNE); negative uses every row. The
	// sample sizes are printed on the figure.
	Sample int
	// Seed seeds the row sampler and t-SNE.
	Seed uint64
	// LogDelta uses log10 of the merged delta (µs) instead of the raw
	// value as the third row feature of PCA and t-SNE (see Rows).
	LogDelta bool
	// TSNE holds the t-SNE parameters; zero fields take tsne's defaults
	// (perplexity 30, Barnes-Hut θ 0.5, 1000 iterations). Its Seed is
	// replaced by Options.Seed.
	TSNE tsne.Config
	// Loss adds training curves to ReportFigure.
	Loss []LossRecord
	// Width and Height override the page size.
	Width, Height vg.Length
}

// Default sample sizes per data set.
const (
	DefaultScatterSample = 10000
	DefaultTSNESample    = 5000
)

func (o Options) realName() string {
	if o.RealName == "" {
		return "real"
	}
	return o.RealName
}

func (o Options) synName() string {
	if o.SynName == "" {
		return "synthetic"
	}
	return o.SynName
}

func (o Options) title(def string) string {
	if o.Title != "" {
		return o.Title
	}
	return def
}

func (o Options) window() Window {
	if o.Window.Length <= 0 {
		return DefaultWindow
	}
	return o.Window
}

func (o Options) sample(def int) int {
	switch {
	case o.Sample < 0:
		return 0
	case o.Sample == 0:
		return def
	}
	return o.Sample
}

func (o Options) width(def vg.Length) vg.Length {
	if o.Width > 0 {
		return o.Width
	}
	return def
}

func (o Options) height(def vg.Length) vg.Length {
	if o.Height > 0 {
		return o.Height
	}
	return def
}
