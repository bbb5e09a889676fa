// Package bundle stores and loads trained SPATGAN models: one directory
// holding the four generators' weights (server/client x packet/burst), their
// normalisation statistics, configurations (hyper-parameters, features and
// condition), the conversation roles, a fingerprint of the training data,
// the TensorFlow version and a format version, all in manifest.json. Loading
// checks all of it. A loaded bundle is a sampler.Sampler: generators only,
// no critics.
//
// # Contract
//
// Write side: train writes the weights (WriteModel) and the manifest
// (WriteManifest). Read side: ReadManifest and DecodeManifest refuse any
// manifest this version cannot load faithfully (unknown fields, a wrong
// FormatVersion, bounds exceeded, inconsistent scalers); Open returns a
// *Bundle, a sampler.Sampler: it draws turns and bursts through the sampler
// contract, computing every condition from the conversation's
// features.History with the features the manifest names. A bundle with a
// noise memory (Manifest.NoiseMemory) keeps each conversation's last noise
// per model in the conversation's sampler state (sampler.Conv.State);
// without one it keeps nothing per conversation. The names a
// bundle directory holds (model IDs, loss log) are in bundle/layout, which
// cgo-free tools import. This package needs cgo (package tf); layout does
// not.
package bundle
