// Package trace reads network captures, picks one two-party conversation,
// turns it into the feature tables the SPATGAN models train on, and writes
// synthetic conversations back as pcap, pcapng or CSV. It is pure Go (no
// cgo) so that everything that only needs traffic data builds with
// CGO_ENABLED=0.
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
// gives an *Error naming the file, the record (and CSV line) and the field;
// RequireRows reports a conversation too small for a model.
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
// # Features
//
// All features are defined on the merged stream: the conversation's packets
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
//     but the first, whatever the sides. Deltas(), in ns.
//   - Burst: a maximal run of consecutive packets of one side in the merged
//     stream (Bursts). Its length is its packet count, its bytes the sum of
//     its sizes, its duration the last minus the first packet's timestamp.
//     Bursts of the two sides alternate.
//   - Reply gap: from the last packet of a burst to the first packet of the
//     next burst (necessarily the other side's): the merged delta at a burst
//     boundary. ReplyGaps(after) lists the gaps after the bursts of side
//     after.
//
// # Model tables (aligned conditioning)
//
// Each row's condition (Cond) describes the opponent's burst immediately
// preceding the row in time, never a row of another table picked by index:
// OppCount its packet count, OppBytes its bytes, OppDurUS its duration and
// OppMeanDtUS its duration / (count - 1) (0 for a single packet), in
// microseconds.
//
//   - BurstRows(side), for the burst model (TSynGAN): one row per burst of
//     side that has an opponent burst before it (every burst but a
//     conversation-opening one). Count and Bytes of the burst, GapUS the
//     reply gap before it, Cond the opponent burst.
//   - PacketRows(side), for the packet model (PSynGAN): one row per packet of
//     side that belongs to such a burst. Size; DtUS the merged delta (for the
//     burst's first packet the reply gap, for the others the gap since the
//     previous packet of the same burst); Cond the opponent burst plus
//     First (1 for the burst's first packet, else 0) and PrevSize (the
//     previous packet's size within the burst, 0 for the first).
//
// Clock steps: a row whose own time value is negative (BurstRow.GapUS or
// PacketRow.DtUS) is left out, and so is every row whose opponent burst
// contains a clock step (its duration would be wrong). The series functions
// (IATs, Deltas, ReplyGaps) leave negative values out and return how many.
// Excluded counts the table rows left out. The skype_eth_5 trace has one
// clock step, inside a client burst: one client packet row and the
// following server burst row and packet rows are excluded.
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
//
// # Default trace
//
// Default returns the embedded skype_eth_5 Skype call of the CRAWDAD
// iitkgp/apptraffic data set (IIT Kharagpur, 2015; converted to CSV by the
// SPATGAN authors), so training works with no input file.
package trace
