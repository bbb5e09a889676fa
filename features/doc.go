// Package features defines what a generator knows about its conversation
// when it decides: the History of a conversation (the last bursts of each
// side and the burst being drawn) and the named condition features
// computed from it (opp_count, own_gap_us, last_size, ...; see Names and
// the registry in features.go).
//
// One definition serves training and generation: features.Rows replays a
// real conversation through a History, calling the same feature functions
// a sampler calls on a live or offline conversation, so a model's
// condition in generation is computed exactly as in its training table.
// The replayed tables with the original condition features equal the trace
// package's BurstRows and PacketRows row for row (tested).
//
// Adding a feature: Register it in features.go with the decision kinds it
// is known for (a turn, or a packet inside a burst) and say whether it
// reads packets drawn earlier in the burst (sequential); a configuration
// (graphs.Config.Cond) then names it. Nothing else changes.
package features
