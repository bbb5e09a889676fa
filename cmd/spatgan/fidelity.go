package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/metrics"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
	"github.com/spatgan/spatgan/train"
)

// fidelitySummary generates as many packets as the held-out part of the
// conversation holds with the new bundle, in closed loop, and prints KS
// distances of generated versus held-out traffic per side, next to the
// noise floor (the training part against the held-out part). The full
// comparison with baselines is `spatgan bench fidelity`.
func fidelitySummary(ctx context.Context, stdout, stderr io.Writer, dir string, res *train.Result) error {
	b, err := bundle.Open(dir, 1, tf.SessionOptions{})
	if err != nil {
		return err
	}
	defer b.Close()
	syn, st, err := simulate.GenerateAll(ctx, b, simulate.GenOptions{Packets: int64(len(res.Test.Packets))})
	if err != nil {
		return err
	}
	real, err := metrics.Extract(res.Test.Packets)
	if err != nil {
		return err
	}
	floor, err := metrics.Extract(res.Train.Packets)
	if err != nil {
		return err
	}
	gen, err := metrics.Extract(syn)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ngenerated %d packets offline (%.0f packets/s); KS against the held-out %d real packets (noise floor: training part vs held-out):\n\n",
		st.Packets, st.PacketsPerSecond(), len(res.Test.Packets))
	fmt.Fprintf(stdout, "| series | server->client | floor | client->server | floor |\n|---|---|---|---|---|\n")
	type pick func(metrics.SeriesDistances) float64
	rows := []struct {
		name string
		f    pick
	}{
		{"size", func(d metrics.SeriesDistances) float64 { return d.Size.KS }},
		{"inter-arrival time", func(d metrics.SeriesDistances) float64 { return d.IAT.KS }},
		{"merged delta", func(d metrics.SeriesDistances) float64 { return d.Delta.KS }},
		{"burst length", func(d metrics.SeriesDistances) float64 { return d.Burst.KS }},
		{"reply gap", func(d metrics.SeriesDistances) float64 { return d.ReplyGap.KS }},
	}
	var ds, fl [2]metrics.SeriesDistances
	for _, s := range []trace.Side{trace.Server, trace.Client} {
		ds[s] = metrics.CompareSeries(real[s], gen[s])
		fl[s] = metrics.CompareSeries(real[s], floor[s])
	}
	for _, r := range rows {
		fmt.Fprintf(stdout, "| %s | %.3f | %.3f | %.3f | %.3f |\n", r.name, r.f(ds[trace.Server]), r.f(fl[trace.Server]), r.f(ds[trace.Client]), r.f(fl[trace.Client]))
	}
	fmt.Fprintf(stdout, "\nsynthetic timeline: %.1f s for %d packets; held-out real: %.1f s\n",
		float64(st.LastNS-st.FirstNS)/1e9, st.Packets, float64(res.Test.Packets[len(res.Test.Packets)-1].TS-res.Test.Packets[0].TS)/1e9)
	return nil
}
