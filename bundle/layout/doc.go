// Package layout names what a bundle directory holds, for the tools that
// read it without TensorFlow: the four model IDs and the loss log's file
// name and header. It imports nothing, so the cgo-free packages (visualize,
// the plotting commands) and the cgo ones (bundle, train) share one
// definition: the bundle package re-exports ModelIDs, train writes the loss
// log with LossHeader, visualize reads it.
package layout
