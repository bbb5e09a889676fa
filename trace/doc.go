// Package trace reads network captures, picks one two-party conversation,
// describes it (bursts, per-direction series, a text report), and writes
// synthetic conversations back as pcap, pcapng or CSV. It is the first
// layer of the data flow: it knows packets, sides and bursts, and nothing of
// models; the condition features and the training tables built from a
// conversation are the features package's. It is pure Go (no cgo) so that
// everything that only needs traffic data builds with CGO_ENABLED=0.
//
// Adding a capture format touches this package only: a Format constant, a
// recordSource that yields one Record per frame (pcapread.go, csvread.go
// and compact.go are the examples; decode.go interprets link and IP
// headers), and a case in detect and NewScanner (record.go). Every later
// stage reads Conversations and never sees the format. ExportFeatures'
// tables are extended with RegisterTable.
//
// # Inputs
//
// Load (and the streaming Scanner underneath) detects the format from the
// content: pcap (microsecond or nanosecond timestamps, either byte order),
// pcapng (any number of sections and interfaces, mixed link types), the CSV
// format of shared/data (number,src,dst,size,clean_size,date,time; a time
// without a fractional part means .000000; times are read as UTC), and this
// package's compact format (EncodeCompact); any of them may be gzip
// compressed. Link types: Ethernet (with 802.1Q/802.1ad tags), Linux cooked
// capture v1 and v2 (SLL, SLL2), raw IP (DLT_RAW, IPv4, IPv6) and BSD
// loopback (NULL, LOOP). IPv4 and IPv6; TCP and UDP get ports, other IP
// protocols are kept (by number) and counted, frames without IP are counted
// as non-IP, frames with an invalid IP header as malformed. A frame whose
// snap length cut a header the reader needs (link, IP, or the TCP/UDP ports;
// the frame size itself comes from orig_len, so payload cuts are fine) is an
// error. Bad input (empty or truncated files, wrong magic, unsupported link
// types, non-numeric or short CSV rows, no IP packets, one-sided traffic)
// gives an *Error naming the file, the record (and CSV line) and the field.
//
// Timestamps are integer nanoseconds since the Unix epoch from the file to
// the Packet; they never pass through float seconds. Packets stay in file
// order. A packet whose timestamp is earlier than its predecessor's (a clock
// step) is kept and counted (Conversation.ClockSteps, ScanStats.ClockSteps).
//
// # Conversations
//
// A conversation is the traffic between two endpoints: two addresses, or
// address:port pairs, optionally restricted to UDP or TCP. List tabulates
// every conversation of a capture like `tshark -z conv,ip` (or by ports),
// with packets and bytes per direction, first and last timestamp and the
// protocol mix. Select chooses one: by endpoints (--server, --client), or
// automatically the busiest two-way pair (most packets; both directions
// must have packets). In an automatic choice the client is the endpoint that
// sent the conversation's first packet, the server the other; give the
// endpoints to override. Traffic of a host with itself (same address on
// both sides) is told apart by ports.
//
// # Series
//
// All series are defined on the merged stream: the conversation's packets
// in file order, each tagged with its sender side (server or client). Let
// packet i have timestamp t[i] (ns), size s[i] and side d[i].
//
//   - Size: the frame length on the wire in bytes: pcap/pcapng orig_len
//     (the length before any snap-length cut, link-layer header included,
//     no FCS unless the capture has it), or the CSV size column. Sizes(side).
//   - Inter-arrival time (IAT) within a direction: for each packet of a side
//     except that side's first, t[i] minus the timestamp of the same side's
//     previous packet. IATs(side), in ns.
//   - Merged delta (the original's `times`): t[i] - t[i-1] for every packet
//     but the first, whatever the sides. Deltas(), in ns; SideDeltas(side)
//     those of the packets side sent.
//   - Burst: a maximal run of consecutive packets of one side in the merged
//     stream (Bursts). Its length is its packet count, its bytes the sum of
//     its sizes, its duration the last minus the first packet's timestamp.
//     Bursts of the two sides alternate.
//   - Reply gap: from the last packet of a burst to the first packet of the
//     next burst (necessarily the other side's): the merged delta at a burst
//     boundary. ReplyGaps(after) lists the gaps after the bursts of side
//     after.
//
// Clock steps: the series functions (IATs, Deltas, ReplyGaps) leave
// negative values out and return how many; a Burst counts the clock steps
// inside it. Which model-table rows a clock step removes is the features
// package's rule (features.Replay). The skype_eth_5 trace has one clock
// step, inside a client burst.
//
// SplitAt splits a conversation in time for held-out evaluation: the
// training part is the file-order prefix whose timestamps are before
// Start + frac*Duration, the test part the rest.
//
// # Outputs
//
// PcapWriter writes a conversation as Ethernet + IPv4/IPv6 + UDP/TCP frames
// whose length equals each Packet.Size, in pcap (nanosecond) or pcapng.
// WriteCSV writes the CSV format of shared/data, which Load reads back.
// ExportFeatures writes a named table of a conversation: the conversation
// itself (TableConversation), or a table another package registered
// (RegisterTable; the features package registers the per-packet and
// per-burst feature tables).
//
// # Default trace
//
// Default returns the embedded skype_eth_5 Skype call of the CRAWDAD
// iitkgp/apptraffic data set (IIT Kharagpur, 2015; converted to CSV by the
// SPATGAN authors), so training works with no input file.
package trace
