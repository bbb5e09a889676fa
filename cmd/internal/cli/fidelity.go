package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spatgan/spatgan/bench"
	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/metrics"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/train"
)

// fidelitySummary runs the fidelity protocol of `spatgan bench fidelity` on
// the new bundle, the Markov baseline and the noise floor (the training part
// against the held-out part), and prints a short table of KS distances and
// classifier two-sample tests. The full comparison is `spatgan bench
// fidelity --bundle DIR`.
func fidelitySummary(ctx context.Context, stdout, stderr io.Writer, dir string, res *train.Result) error {
	b, err := bundle.Open(dir, 1, tf.SessionOptions{})
	if err != nil {
		return err
	}
	defer b.Close()
	split := &bench.Split{Conv: res.Train, Frac: res.Manifest.Trace.TrainFrac, Train: res.Train, Test: res.Test,
		TrainSHA256: res.Manifest.Trace.TrainSHA256}
	// Generated traffic is framed like the capture's, as in bench fidelity.
	t, _ := captureTransport(res.Train.Proto, res.Train.Packets)
	markov, err := sampler.New("markov", res.Train, int64(bench.SamplerSeed(1, "markov")))
	if err != nil {
		return err
	}
	rep, err := bench.Evaluate(ctx, split, []bench.Comparator{
		{Name: bench.NameReal, Kind: bench.KindReal, Note: "noise floor", Packets: res.Train.Packets},
		{Name: bench.NameGAN, Kind: bench.KindModel, Note: dir, Fingerprint: b.Fingerprint(), Sampler: b},
		{Name: "markov", Kind: bench.KindBaseline, Note: "Markov baseline", Sampler: markov},
	}, bench.Options{Seed: 1, Prime: true, Gen: simulate.GenOptions{Framing: simulate.NewFraming(t, res.Train.Server.Addr.Is6())}})
	if err != nil {
		return err
	}
	gan, floor, mk := rep.Result(bench.NameGAN), rep.Result(bench.NameReal), rep.Result("markov")
	fmt.Fprintf(stdout, "\nfidelity against the held-out %d real packets: KS distance per sending direction, generated closed loop continuing the training part (%d packets)\n\n",
		len(res.Test.Packets), gan.Packets)
	fmt.Fprintf(stdout, "| series | direction | SPATGAN | Markov baseline | noise floor |\n|---|---|---|---|---|\n")
	rows := []struct {
		name string
		ks   func(metrics.SeriesDistances) float64
	}{
		{"size", func(d metrics.SeriesDistances) float64 { return d.Size.KS }},
		{"inter-arrival time", func(d metrics.SeriesDistances) float64 { return d.IAT.KS }},
		{"burst length", func(d metrics.SeriesDistances) float64 { return d.Burst.KS }},
		{"reply gap", func(d metrics.SeriesDistances) float64 { return d.ReplyGap.KS }},
	}
	for _, r := range rows {
		for _, d := range []struct {
			name string
			get  func(*bench.Result) metrics.SeriesDistances
		}{
			{"server->client", func(x *bench.Result) metrics.SeriesDistances { return x.Distances.ServerToClient }},
			{"client->server", func(x *bench.Result) metrics.SeriesDistances { return x.Distances.ClientToServer }},
		} {
			fmt.Fprintf(stdout, "| %s | %s | %.3f | %.3f | %.3f |\n", r.name, d.name, r.ks(d.get(gan)), r.ks(d.get(mk)), r.ks(d.get(floor)))
		}
	}
	c2 := func(x *bench.Result, w bool) string {
		c := x.C2STPacket
		if w {
			c = x.C2STWindow
		}
		if c == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.3f", c.Accuracy)
	}
	fmt.Fprintf(stdout, "| C2ST accuracy, single packets | both | %s | %s | %s |\n", c2(gan, false), c2(mk, false), c2(floor, false))
	fmt.Fprintf(stdout, "| C2ST accuracy, windows of %d packets | both | %s | %s | %s |\n", rep.WindowK, c2(gan, true), c2(mk, true), c2(floor, true))
	fmt.Fprintf(stdout, "\nC2ST 0.5 = indistinguishable. Full report with every baseline: spatgan bench fidelity --bundle %s\n", dir)
	return nil
}
