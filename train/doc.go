// Package train trains SPATGAN's four conditional WGAN-GP models (server and
// client, packet and burst) on a conversation from the trace package and
// writes a model bundle.
//
// Protocol: the conversation is split in time (trace.SplitAt at TrainFrac)
// into a training part and a held-out test part that training never reads.
// The training part is split again: its last ValFrac of the whole duration
// is the validation part, the rest fits the networks and the normalisation
// statistics. Every EvalEvery generator steps each model generates rows for
// the validation part's conditions and is scored against its rows (KS per
// target, classifier two-sample test); the weights with the best validation
// score are the ones the bundle keeps. Evaluating the bundle on the test part
// (spatgan bench fidelity) is then free of selection bias.
//
// Reproducibility: each model has its own PCG random source derived from the
// seed, which draws the batch indices, the noise and the interpolation
// weights; its state is saved in checkpoints, so a resumed run draws what an
// uninterrupted one would have: a resumed run ends with bit-identical
// weights (TestResumeBitIdentical).
//
// Resume safety: every checkpoint records the checkpoint format, the
// training data's fingerprint, the configuration hash (ConfigHash) and the
// seed; Resume refuses a checkpoint that differs in any of them and says
// which. The kept weights and their validation scores are stored in the
// checkpoint too, so they survive any number of resumes. A resume with
// nothing left to train leaves every file as it is.
//
// Cancellation: the first model that fails cancels the others; every model
// checkpoints the state it reached when it stops for a cancellation, so an
// interrupted run (*InterruptedError) loses nothing.
//
// # Contract
//
// Input: a conversation (Options.Conv), one graphs.Config per model
// (bundle/layout.ModelIDs) and a seed; output: a bundle directory (package
// bundle) with the selected weights, the loss log (bundle/layout's
// LossHeader) and checkpoints. Training rows come from graphs.RawRows
// (features.Rows): this package defines no feature and no table. It needs
// cgo (packages tf, graphs).
package train
