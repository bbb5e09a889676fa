// Command badpeer is a misbehaving UDP server for scripts/bad-inputs.sh: it
// answers every handshake of a `spatgan simulate client` with one crafted
// datagram, so that the table of bad inputs shows what the client says.
//
// Usage: badpeer -listen 127.0.0.1:PORT -mode MODE
//
// Modes: version (a protocol version 2 answer), fingerprint (an acceptance
// for another model), limit (an acceptance with a duration limit of 2^63
// ns), time (an acceptance sent in the year 2300), magic (a datagram that
// is not the protocol's).
package main
