// Package tf is the project's TensorFlow graph layer and the only package
// with cgo. It builds graphs through the TensorFlow Go bindings
// (github.com/galeone/tensorflow/tensorflow/go, the TF 2.10 bindings) and
// tfgo, runs them with the TensorFlow C library, and offers what a WGAN-GP
// needs: dense layers on resource variables, first- and second-order
// gradients, Adam, and a checksummed variable file format.
//
// # Ownership and errors
//
// Graph construction keeps one sticky error (the bindings' scope error): the
// first failure is remembered, every later op becomes a no-op, and Graph.Err
// or NewSession returns it once. Nothing in this package panics on bad input
// or a failed TensorFlow call; tfgo's panicking helpers are not used.
// A Session owns its C session and a C copy of the graph it runs (imported
// from the bindings' graph as a GraphDef when the session opens): it must be
// closed; Close is safe to call twice (a finaliser is only a safety net).
// Session.Run allocates the fed tensors and receives the fetched ones
// itself, and deletes every one of them before it returns, on every path;
// the bindings would leave them to finalisers, which the Go garbage
// collector does not run in time because it does not see C memory
// (TestRunFreesTensors). Graph.Gradients finds inputs without a gradient
// path on such a copy too, so no private field of the bindings is read.
// Variable files store float32 values little-endian whatever the host.
//
// # Second-order gradients
//
// The C API's gradient registry (TF_AddGradientsWithPrefix) has no gradient
// for ReluGrad, so a gradient penalty cannot back-propagate twice through
// Relu. This package's ReLU is LeakyRelu with alpha 0, which is the same
// function and whose gradient, LeakyReluGrad, has a registered gradient.
// TanhGrad has no registered gradient either (TF 2.18), so a critic that
// needs a gradient penalty cannot use Tanh; the graph reports an error.
// Concatenation uses ConcatV2 (the bindings' op.Concat emits the v1 op, which
// has no gradient). Gradients may not be taken under a device scope or with
// control dependencies (a limit of the bindings).
//
// # Inference graphs
//
// Graphs that only run forward (a bundle's generators) build their layers
// with InferMLP: the bias added by BiasAdd and ReLU as Relu, which
// TensorFlow's graph optimiser fuses with the MatMul into one kernel per
// layer (about three times faster at batch 1; BenchmarkGenerator's /fused
// rows). The values are those of ApplyMLP to float rounding
// (TestInferMLPMatchesApplyMLP).
package tf
