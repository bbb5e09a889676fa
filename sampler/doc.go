// Package sampler is the contract between traffic generators and what
// drives them: the live agents (simulate), offline generation
// (simulate.Generate, GenerateMany) and the fidelity bench. The trained GAN
// bundle and the simple baselines (Normal, Poisson, i.i.d. bootstrap,
// Markov over bursts) all implement it, and nothing drives a generator any
// other way.
//
// # The contract
//
// A Model is a fitted generator: read-only, shared by any number of
// goroutines, identified by a fingerprint. Model.New(seed) makes a
// Sampler, which is not safe for concurrent use and is deterministic for a
// given seed and sequence of calls.
//
// A conversation is a *Conv, created by the caller (NewConv) with an ID
// unique among the conversations it runs. It carries the conversation's
// History (package features): the last bursts of each side as this party
// knows them (its own as sent, the opponent's as received and measured)
// and the burst being drawn. Every model computes its condition from the
// History alone, through the features package's named features, which is
// also how training tables are built (features.Rows replays a real
// conversation through a History): what a model sees in generation is
// exactly what it saw in training. A Conv also has a State slot the
// sampler may use for its own per-conversation memory (a recurrent hidden
// state, the GAN bundle's noise memory); the caller never touches it.
//
// Each burst of the side a party draws for takes four steps:
//
//	TurnsTo(turns, side, convs)        // count and reply gap, one per conversation
//	conv.H.Begin(side, turn)           // count clamped by the caller
//	BurstsTo(bursts, side, convs)      // len(bursts[i]) packets each
//	conv.H.End(features.SentBurst(...)) // what actually went out
//
// and each burst of the other side is recorded with conv.H.Observe (a live
// agent measures it on receipt) or, in offline generation where one Conv
// holds both sides, with the same four steps. Calls take batches: out[i]
// belongs to convs[i], so one call serves many conversations (a live agent
// batching decisions due together, GenerateMany advancing thousands of
// conversations in lockstep, a cluster worker serving its slots). A
// sampler whose packets depend on the earlier packets of the burst (an
// autoregressive model) draws BurstsTo position by position internally,
// still batched across the conversations.
//
// Such a sampler may also implement Stepper, whose BurstsFrom draws an
// open burst a few packets at a time (from position from[i] on) with the
// same result as one BurstsTo call: a live agent draws a burst's first
// packet with its turn and the later ones while it waits to send the
// earlier ones, so that the first packet does not wait for the whole
// burst. The GAN bundle implements it; the baselines draw whole bursts.
//
// A conversation need not start empty: a caller may set conv.H to the
// History of a real conversation (features.Prime) so that the generators
// continue it (generate --continue; the fidelity bench continues the
// training part, as the held-out part does), and draws the side that comes
// next (History.Next).
//
// Samplers never change a History; callers never read a sampler's State.
// Two samplers with equal Fingerprint (the optional Fingerprinter) draw
// from the same distributions: the live agents compare them at the
// handshake.
//
// # Adding a baseline
//
// Write a fitter, func(*trace.Conversation) (Model, error), and add a
// Baseline (name, one-sentence Doc, fitter) to the registry in baseline.go,
// or call Register from another package's init. Fit, Lookup, Names, the
// CLI's --sampler and the fidelity bench (its columns, in registration
// order, and their notes) all read the registry; nothing else names a
// baseline.
package sampler
