// Package graphs builds SPATGAN's conditional WGAN-GP models with the tf
// graph layer: TSynGAN (a burst: packet count and reply gap, given the
// opponent's preceding burst) and PSynGAN (a packet: size and time, given
// the condition), one of each per side.
//
// Architecture (the paper configuration, all four models): the generator
// maps concat(z[32], condition) through Dense 128, 256, 512 (ReLU) to 2
// linear outputs; the critic maps concat(data, condition) through Dense 512,
// 256, 128 (ReLU) to 1 linear output. Loss: WGAN with gradient penalty
// (lambda 10, interpolates e*x + (1-e)*g with e ~ U(0,1) per sample and the
// standard per-sample gradient norm; GPWholeBatch reproduces the original's
// norm over the whole batch). Adam lr 1e-4, beta1 0.5, beta2 0.9 for both
// networks, batch 64, 5 critic steps per generator step, 100 critic
// pre-training steps, 25,000 generator steps.
//
// # Contract
//
// Input: a Config and a model's raw training table (RawRows, which is
// features.Rows with the Config's condition features); output: a Dataset
// (the table scaled into network space, with its Scaler) and a WGAN, a
// TensorFlow session holding generator and critic, that takes training
// steps (CriticStep, GenStep) and generates (Generate); a Generator is the
// inference-only half that bundle loads. After training, a Calib (fitted
// by train) maps a generator's outputs onto the training targets'
// distribution before the inverse transform (Scaler.Valid; ValidCond when
// the size's table is keyed by the row's condition, Config.FirstGiven, by
// a condition feature's quantile bin for a large vocabulary,
// Config.FirstBins, by whether the packet opens its burst,
// Config.FirstPos, or the time's by a condition feature's decile,
// Config.TimeGiven); its Damp undoes a share of the time's map (chosen by
// train). Config.Mismatch makes the critic matching-aware, CondNoise adds
// noise to the training conditions, LREnd makes the learning rate fall
// (WGAN.SetLRScale); TimeGiven, FirstBins, CondNoise, LREnd and a damped
// calibration were measured and rejected as defaults, and stay as options.
// This package never
// reads a capture, decides when to stop or which weights to keep (train),
// or writes files (bundle, tf checkpoints). It needs cgo (package tf).
//
// Adding a model configuration: a function returning a Config, registered
// by name in configs (config.go); Named, ConfigNames and the CLI's
// --config read it there. Config.Validate says what a Config may hold;
// bundle checks the same bounds when it loads one.
package graphs
