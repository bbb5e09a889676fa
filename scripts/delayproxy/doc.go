// Command delayproxy is a TCP proxy on loopback that delays every chunk of
// data it forwards, in both directions, by a one-way delay plus seeded
// uniform jitter, keeping the byte order. scripts/record-captures.sh puts it
// between pgbench and postgres to record a conversation with wide-area
// round-trip times on one machine.
//
// The proxy delays data only: the kernel acknowledges what the proxy
// receives at once, so in a capture of the client's leg pure ACKs of the
// client's data come back after a loopback round trip while the server's
// data comes after two one-way delays.
//
//	delayproxy -listen 127.0.0.1:55433 -to 127.0.0.1:55432 -delay 10ms -jitter 2ms -seed 1
package main
