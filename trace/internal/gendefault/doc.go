// Command gendefault converts skype_eth_5.csv into the compact conversation
// embedded by the trace package (trace.Default). Run it with `go generate
// ./trace/` from the repository root, with the shared data at
// ../shared/data; the output is byte-for-byte reproducible.
//
// With other flags it converts one conversation of any capture the trace
// package reads into the compact format; scripts/record-captures.sh uses it
// for the captures of bench/testdata/captures. Empty -server and -client
// choose the busiest two-way conversation, as every spatgan command does.
package main
