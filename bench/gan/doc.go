//go:build cgo

// Package gan adds the GAN columns to the fidelity protocol of package
// bench: it opens bundles (or trains a quick one) as comparators, checks
// them against the split they were trained on, and runs the whole protocol
// (RunFidelity). It is the part of the fidelity evaluation that needs
// TensorFlow, hence cgo; package bench itself is pure Go.
package gan
