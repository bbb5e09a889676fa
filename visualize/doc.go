// Package visualize draws figures that compare synthetic traffic with real
// traffic, with gonum/plot, in pure Go:
//
//   - FlowFigure: the original SPATGAN's traffic-flow chart, packet size
//     over time for a window, server upward and client downward, real
//     above synthetic on the same axes;
//   - PCAFigure: the standardised (cumulative time, size, merged delta)
//     rows of both traces projected on the first two principal components
//     of the real rows;
//   - TSNEFigure: a Barnes-Hut t-SNE embedding (package tsne) of the rows
//     of both traces together;
//   - DistFigure: per-direction CDFs, histograms and QQ plots of packet
//     size, inter-arrival time, burst length and reply gap;
//   - LossFigure: training curves from the loss log (ReadLossLog);
//   - ReportFigure: a dashboard of the above.
//
// Each returns a *Figure; Figure.Save writes PNG or SVG according to the
// file extension. Figures take packets as []trace.Packet (or, for
// DistFigureSeries, plain series), so they work with any trace the trace
// package loads and with generated traffic.
//
// Large inputs are subsampled for the scatter figures with Sample, a
// seeded uniform sampler without replacement; the sample sizes are printed
// on the figure. Rendering is deterministic: the fonts are embedded in
// gonum/plot and every random choice is seeded.
package visualize
