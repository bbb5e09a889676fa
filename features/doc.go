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
// Rows is the only builder of training tables: graphs (the GAN models'
// tables), sampler (the baselines' rows), the exported CSV tables
// (PacketTable, BurstTable, registered with trace.ExportFeatures) and the
// table sizes (Count, RequireRows) all replay through it, so the rule that
// leaves out the opening burst and the decisions touched by a clock step
// exists once, in Replay. A test keeps an independent implementation of the
// original SPATGAN tables (opponent burst; first, prev_size) to cross-check
// it row for row.
//
// In the data flow this package sits between the captures (trace: reading
// files, choosing a conversation, bursts and series) and everything that
// models traffic (graphs and train, the bundle, the samplers).
//
// # Training tables (aligned conditioning)
//
// Rows(conv, side, kind, set) replays conv and returns side's table for a
// decision kind:
//
//   - TurnDecision, for the burst model (TSynGAN): one row per burst of side
//     that has an opponent burst before it (every burst but the
//     conversation-opening one); targets its packet count and the reply gap
//     before it (µs).
//   - PacketDecision, for the packet model (PSynGAN): one row per packet of
//     side that belongs to such a burst; targets its frame size and merged
//     delta (µs: for the burst's first packet the reply gap, for the others
//     the gap since the previous packet of the same burst).
//
// Each row's condition is computed from the History at the moment of the
// decision, so an opponent feature describes the opponent's burst
// immediately preceding the row in time, never a row of another table
// picked by index. The original SPATGAN condition is opp_count, opp_bytes,
// opp_dur_us and opp_mean_dt_us (the opponent burst's packets, bytes,
// duration and duration / (count - 1), 0 for one packet), plus for packets
// first (1 for a burst's first packet) and prev_size (the previous packet's
// size in the burst, 0 for the first).
//
// Clock steps (a timestamp earlier than its predecessor's): a row whose own
// time is negative is left out, and so is every row whose opponent burst
// contains a clock step (its duration would be wrong). Count says how many
// rows each side has and how many were left out; the skype_eth_5 trace has
// one clock step, inside a client burst: one client packet row and the
// following server burst row and its three packet rows are left out.
//
// Adding a feature: Register it in features.go with the decision kinds it
// is known for (a turn, or a packet inside a burst) and say whether it
// reads packets drawn earlier in the burst (sequential); a configuration
// (graphs.Config.Cond) then names it. Nothing else changes.
package features
