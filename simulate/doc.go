// Package simulate runs two-party synthetic conversations: live, between a
// server agent and a client agent that exchange real packets over UDP or
// TCP and condition each decision on what they actually received, and
// offline, over a virtual clock, as fast as the sampler allows. Both use the
// same closed-loop logic and any sampler.Sampler (the GAN bundle or a
// baseline). This package has no cgo and builds with CGO_ENABLED=0.
//
// # Conversation model
//
// A conversation is a sequence of bursts, alternately from the client and
// from the server. The client sends burst 0 right after the handshake; it
// is drawn from an empty History (no preceding opponent burst) and its
// reply gap counts from the handshake's completion. Every later burst of a
// side answers the opponent's preceding burst: the side draws one
// sampler.Turn (packet count, reply gap) and the packets' (size, time)
// conditioned on that burst as the side measured it on reception:
//
//	OppCount     data packets received in the burst
//	OppBytes     their frame sizes summed (the message length plus the
//	             framing overhead, see Framing)
//	OppDurUS     first to last receive time, microseconds
//	OppMeanDtUS  OppDurUS / (OppCount-1), 0 for one packet
//	First        1 for the first packet of the answering burst
//	PrevSize     the frame size of the previous packet of the answering burst
//
// The first packet goes out the reply gap after the receive time of the
// opponent's last packet; each following packet its drawn time after the
// previous one. Sampled values are made valid before use: burst lengths
// into [1, MaxCount], sizes into [Framing.MinFrame, MaxFrame], times into
// [0, MaxGap]; each adjustment is counted (Clamps). Config.Speedup divides
// all times.
//
// How a turn ends: the last packet of a burst carries FlagLast, and its
// arrival ends the burst. If it is lost (UDP), the waiting side hears
// nothing for TurnTimeout and sends Sync(b), "I am waiting for burst b";
// a peer that has already finished burst b and waits for the next one
// answers, and the burst is then ended with what was received (an entirely
// lost burst gives the zero Cond). A side still sending answers Alive. A
// peer silent for PeerTimeout despite the Syncs is declared gone
// (ErrPeerGone): the agent stops, flushes its recordings and fails.
//
// Limits: the handshake agrees on a packet limit (both directions
// together) and a duration (from the handshake), the smaller non-zero of
// the two sides' values. The side whose turn it is truncates its burst so
// that no packet exceeds a limit. When the packet limit is reached it sends
// Bye; a burst cut by the end time ends with its last packet before the
// end (the opponent may still answer before the end), and a side whose
// drawn burst has no packet before the end waits until the end and sends
// Bye. The peer ends on Bye.
// Cancelling the context (SIGINT, SIGTERM in the command) also sends Bye:
// each running conversation says goodbye before the agent closes its
// sockets (waiting at most 2 s), and over TCP the connection is then closed
// in order (half-close, drain until the peer closes), so the peer ends at
// once, normally, with complete recordings (TestInterruptTellsPeer).
//
// # Pacing
//
// Each packet has an absolute deadline (reply gap and inter-packet times
// added to the reference time, never to the previous send time), so errors
// do not accumulate. The agent waits on a Go timer (answering control
// messages) until Config.FineSleep before the deadline, sleeps the rest
// with a nanosleep system call (Go timers wake up to a millisecond late),
// with the thread's timer slack set to 1 ns (Linux lets a sleep overrun
// by the slack, 50 µs by default), optionally busy-waits the last
// Config.Spin (at most MaxSpinners conversations at once), and sends; a
// packet whose deadline has already passed is sent at once. Pacing error
// = actual send time minus deadline, reported as p50/p99/p99.9/max
// (Histogram), with the packets later than LateAfter counted as late.
// Decision latency = the time from the start of a turn's drawing until its
// first packet may go out, reported likewise: a TurnsTo and a BurstsTo
// call for the whole burst, or, with a sampler that draws packets position
// by position anyway (sampler.Stepper: the GAN bundle's autoregressive
// packet models), a TurnsTo and the first packet only. The later packets
// of such a burst are drawn while the agent waits to send the earlier ones
// (one more whenever the wait leaves twice the recent cost of a draw),
// else right after the packet before them goes out; drawn in pieces, a
// burst is exactly what one call would have drawn.
//
// # Wire protocol, version 1
//
// Every message starts with the Header (28 bytes, layout in its doc),
// followed by zero padding for data packets or a body for handshakes:
//
//	client -> server  Hello: FlagHandshake, body Hello (fingerprint, limits, time scale)
//	server -> client  FlagHandshake|FlagAck with the agreed Hello, or
//	                  FlagHandshake|FlagReject with a reason (UTF-8 text)
//	either way        data packets (flags 0 or FlagLast), Sync, Alive, Bye
//
// UDP (default): one message per datagram. The client retries Hello every
// RetryInterval until ConnectTimeout (the server may not be up yet). TCP:
// each message is a record, a big-endian uint16 length followed by the
// message, written with one write call on a connection with TCP_NODELAY;
// the client retries the connection until ConnectTimeout.
//
// The server refuses a handshake with another protocol version (it answers
// with a version-1 Reject naming both versions), a different model
// fingerprint (both are named), or when it already serves Config.Pairs
// conversations. Received messages that are too short, have a bad magic,
// undefined flags, a length field that differs from the datagram or record
// length, another version, or that come from an address (and conversation
// id) without a conversation are counted in Drops and discarded; each is
// read into one fixed buffer, so a flood costs no memory. Each conversation
// has a bounded receive queue (QueueLen); overflow is counted. The server
// binds to 127.0.0.1 unless given another host.
//
// Frame sizes: see Framing. The wire length of a synthetic packet equals
// its size for UDP exactly (Ethernet 14 + IPv4 20 or IPv6 40 + UDP 8 +
// message); for TCP with the timestamp option assumed (see
// DefaultTCPOptions) and as long as each write leaves as one segment.
//
// # Conversations in parallel
//
// Config.Pairs runs N independent conversations: the client opens N
// sockets with conversation ids 1..N; the server serves them all on one
// socket (UDP, told apart by source address and conversation id) or one
// listener (TCP, one connection each), each in its own goroutine, with
// its own sampler (Config.NewSampler) or, with Config.Dispatcher, all
// drawing from one shared sampler: the Dispatcher's goroutine owns it and
// serves the decisions pending together (one TurnsTo and one BurstsTo call
// per side for the batch; optionally waiting up to MaxWait for more), so an
// agent loads its model once (the GAN bundle's TensorFlow sessions) and
// a conversation costs kilobytes: its goroutine, receive queue (QueueLen),
// buffers and two histograms. A server and a client in one process may
// share a Dispatcher; `spatgan simulate local` gives each its own, so that
// the two decide in parallel. WarmUp runs a model's first, slow call
// before the conversations start; DispatchOptions.KeepWarm keeps the model
// in the caches between decisions.
//
// # Recording
//
// A Recorder receives every data packet sent and received, with the real
// send time (taken just before the send call) or receive time (the
// kernel's receive timestamp for UDP on Linux, SO_TIMESTAMPNS, else the
// time the receive call returned). The same receive times feed the
// conditions. FileRecorder writes a pcap and a CSV flow log that are
// valid at any moment of the run and complete after Close. Control messages
// (handshake, Sync, Alive, Bye) are protocol overhead, not synthetic
// traffic, and are not recorded (a capture of the interface shows them).
//
// # Offline generation
//
// Generate plays both sides over a virtual clock with no network delay:
// the receive time of a packet is its send time. It draws decisions in
// batches where the sampler allows (see sampler.CondUser) and is
// deterministic for a given sampler, seed and options. GenerateMany runs k
// independent conversations in lockstep so that a sampler that reads its
// conditions (the GAN) is still called with batches of up to k decisions.
package simulate
