package visualize

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/spatgan/spatgan/trace"
)

// Window selects a stretch of a conversation by time since its first
// packet: [Start, Start+Length).
type Window struct {
	Start, Length time.Duration
}

// DefaultWindow is the flow chart's window when Options.Window is zero:
// the first two seconds (about 130 packets of the Skype call).
var DefaultWindow = Window{Length: 2 * time.Second}

// ParseWindow parses "START:END" or "START+LENGTH" in Go duration syntax,
// for example "0s:2s", "10s+500ms" or "1m30s:1m32s". A bare duration
// "2s" means "0s:2s".
func ParseWindow(s string) (Window, error) {
	var w Window
	var err error
	parse := func(v string) time.Duration {
		if err != nil {
			return 0
		}
		var d time.Duration
		d, err = time.ParseDuration(strings.TrimSpace(v))
		return d
	}
	switch {
	case strings.Contains(s, ":"):
		a, b, _ := strings.Cut(s, ":")
		w.Start = parse(a)
		w.Length = parse(b) - w.Start
	case strings.Contains(s, "+"):
		a, b, _ := strings.Cut(s, "+")
		w.Start = parse(a)
		w.Length = parse(b)
	default:
		w.Length = parse(s)
	}
	if err != nil {
		return Window{}, fmt.Errorf("visualize: window %q: %w (want START:END or START+LENGTH, e.g. 0s:2s)", s, err)
	}
	if w.Start < 0 || w.Length <= 0 {
		return Window{}, fmt.Errorf("visualize: window %q: start must be >= 0 and the window must not be empty", s)
	}
	return w, nil
}

func (w Window) String() string {
	return fmt.Sprintf("%v:%v", w.Start, w.Start+w.Length)
}

// windowStems returns the stems of pkts inside w: x = seconds since the
// window start, y = +size for the server, -size for the client.
func windowStems(pkts []trace.Packet, w Window) (server, client plotter.XYs) {
	if len(pkts) == 0 {
		return nil, nil
	}
	t0 := pkts[0].TS
	lo, hi := int64(w.Start), int64(w.Start+w.Length)
	for _, p := range pkts {
		rel := p.TS - t0
		if rel < lo || rel >= hi {
			continue
		}
		x := float64(rel-lo) / 1e9
		if p.From == trace.Server {
			server = append(server, plotter.XY{X: x, Y: float64(p.Size)})
		} else {
			client = append(client, plotter.XY{X: x, Y: -float64(p.Size)})
		}
	}
	return server, client
}

// flowPanels returns the real and synthetic flow panels on shared axes,
// and an error only if both windows are empty.
func flowPanels(real, syn []trace.Packet, opt Options) ([2]*plot.Plot, error) {
	w := opt.window()
	var out [2]*plot.Plot
	var stemsOf [2][2]plotter.XYs
	ymax := 0.0
	total := 0
	for k, pk := range [2][]trace.Packet{real, syn} {
		s, c := windowStems(pk, w)
		stemsOf[k] = [2]plotter.XYs{s, c}
		total += len(s) + len(c)
		for _, xy := range s {
			ymax = math.Max(ymax, xy.Y)
		}
		for _, xy := range c {
			ymax = math.Max(ymax, -xy.Y)
		}
	}
	if total == 0 && syn == nil {
		return out, fmt.Errorf("visualize: flow: no packets in window %v of the trace (it lasts %v)", w, duration(real))
	}
	if total == 0 {
		return out, fmt.Errorf("visualize: flow: no packets in window %v of either trace (real lasts %v, synthetic %v)",
			w, duration(real), duration(syn))
	}
	ymax = math.Max(ymax*1.25, 100) // headroom for the legend
	xlabel := "time since window start [s]"
	if w.Start > 0 {
		xlabel = fmt.Sprintf("time since %v into the trace [s]", w.Start)
	}
	for k, name := range [2]string{opt.realName(), opt.synName()} {
		if k == 1 && syn == nil {
			break
		}
		s, c := stemsOf[k][0], stemsOf[k][1]
		title := fmt.Sprintf("%s: %d server, %d client packets", name, len(s), len(c))
		if len(s)+len(c) == 0 {
			title = name + ": no packets in this window"
		}
		p := newPanel(title, xlabel, "size [B]   (server ↑, client ↓)")
		ss := &stems{xys: s, style: lineStyle(colServer, 1.1)}
		cs := &stems{xys: c, style: lineStyle(colClient, 1.1)}
		p.Add(ss, cs)
		zero, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: w.Length.Seconds(), Y: 0}})
		zero.LineStyle = lineStyle(colBlack, 0.5)
		p.Add(zero)
		p.Legend.Add("server → client", ss)
		p.Legend.Add("client → server", cs)
		p.Legend.Left = false
		p.X.Min, p.X.Max = 0, w.Length.Seconds()
		p.Y.Min, p.Y.Max = -ymax, ymax
		p.Y.Tick.Marker = linTicks{n: 6, abs: true}
		out[k] = p
	}
	return out, nil
}

func duration(p []trace.Packet) time.Duration {
	if len(p) == 0 {
		return 0
	}
	lo, hi := p[0].TS, p[0].TS
	for _, q := range p {
		lo, hi = min(lo, q.TS), max(hi, q.TS)
	}
	return time.Duration(hi - lo).Round(time.Millisecond)
}

// FlowFigure draws the traffic-flow chart of the original: packet size
// over time for a window of each conversation (Options.Window, default
// the first 2 s), the server's packets upward and the client's downward,
// real above synthetic on the same axes. A nil syn draws the real trace
// alone.
func FlowFigure(real, syn []trace.Packet, opt Options) (*Figure, error) {
	if err := checkTraces(real, syn); err != nil {
		return nil, err
	}
	panels, err := flowPanels(real, syn, opt)
	if err != nil {
		return nil, err
	}
	w := opt.window()
	if syn == nil {
		return &Figure{
			Title:  opt.title(fmt.Sprintf("Traffic flow of %s, %v to %v after the first packet", opt.realName(), w.Start, w.Start+w.Length)),
			Notes:  []string{fmt.Sprintf("%s: %d packets over %v", opt.realName(), len(real), duration(real))},
			Panels: [][]*plot.Plot{{panels[0]}},
			Width:  opt.width(11 * vg.Inch),
			Height: opt.height(4.5 * vg.Inch),
		}, nil
	}
	panels[0].X.Label.Text = ""
	return &Figure{
		Title:  opt.title(fmt.Sprintf("Traffic flow, %v to %v after the first packet", w.Start, w.Start+w.Length)),
		Notes:  []string{fmt.Sprintf("%s: %d packets over %v", opt.realName(), len(real), duration(real)), fmt.Sprintf("%s: %d packets over %v", opt.synName(), len(syn), duration(syn))},
		Panels: [][]*plot.Plot{{panels[0]}, {panels[1]}},
		Width:  opt.width(11 * vg.Inch),
		Height: opt.height(7.5 * vg.Inch),
	}, nil
}

// checkTraces rejects empty traces with an error naming which. A nil syn
// means the real trace alone.
func checkTraces(real, syn []trace.Packet) error {
	switch {
	case len(real) == 0 && syn == nil:
		return errors.New("visualize: the real trace is empty")
	case len(real) == 0 && len(syn) == 0:
		return errors.New("visualize: the real and the synthetic trace are empty")
	case len(real) == 0:
		return errors.New("visualize: the real trace is empty")
	case syn != nil && len(syn) == 0:
		return errors.New("visualize: the synthetic trace is empty")
	}
	for i, p := range real {
		if p.From != trace.Server && p.From != trace.Client {
			return fmt.Errorf("visualize: real packet %d: side %d is neither server nor client", i, p.From)
		}
	}
	for i, p := range syn {
		if p.From != trace.Server && p.From != trace.Client {
			return fmt.Errorf("visualize: synthetic packet %d: side %d is neither server nor client", i, p.From)
		}
	}
	return nil
}
