package simulate

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// Transport is the protocol that carries synthetic packets.
type Transport uint8

const (
	// UDP carries one synthetic packet per datagram (the default).
	UDP Transport = iota
	// TCP carries one synthetic packet per write of a length-prefixed record
	// on a connection with Nagle's algorithm off.
	TCP
)

func (t Transport) String() string {
	if t == TCP {
		return "tcp"
	}
	return "udp"
}

// ParseTransport parses "udp" or "tcp".
func ParseTransport(s string) (Transport, error) {
	switch strings.ToLower(s) {
	case "udp":
		return UDP, nil
	case "tcp":
		return TCP, nil
	}
	return UDP, fmt.Errorf("simulate: unknown transport %q (want udp or tcp)", s)
}

// Frame size accounting. A synthetic packet of size S (bytes) is sent as a
// message whose Ethernet frame on the wire is exactly S bytes long:
//
//	UDP: S = 14 (Ethernet) + 20 (IPv4) or 40 (IPv6) + 8 (UDP) + message
//	TCP: S = 14 + 20 or 40 + 20 + TCPOptions (TCP) + 2 (record length prefix) + message
//
// where the message is the in-band header (HeaderLen bytes) followed by
// zero padding. The Ethernet frame check sequence is not counted, as in
// pcap captures. Sizes are clamped into [Framing.MinFrame,
// Framing.MaxFrame]: on the wire MinFrame is the smallest frame that still
// carries the header (70 bytes for UDP over IPv4) and MaxFrame is set by the
// agents from the path MTU (1514 for a 1500-byte Ethernet MTU, 65549 on
// Linux loopback), DefaultMaxFrame when unset. Offline generation
// (Framing.Offline) writes what the model drew: any size from the bare
// headers (42 bytes for UDP over IPv4, 54 for TCP) to the largest IP packet,
// with the in-band header cut short in frames too small to hold it.
// Clamped packets are counted in the reports.
//
// TCP frame sizes are exact only while each write leaves as one segment,
// which holds on loopback and on idle links with TCP_NODELAY; TCP's pure
// acknowledgements are not synthetic packets and are not recorded.
const (
	EthernetLen = 14
	IPv4Len     = 20
	IPv6Len     = 40
	UDPLen      = 8
	TCPLen      = 20
	// RecordPrefixLen is the length prefix of a TCP record (big-endian uint16,
	// the message length).
	RecordPrefixLen = 2
	// DefaultMaxFrame is the largest frame size sent when Framing.Max is
	// unset (Ethernet, 1500-byte MTU).
	DefaultMaxFrame = 1514
	// LargestFrame is the largest frame any framing carries: an Ethernet
	// frame around the largest IP packet (65,535 bytes), whose message
	// length still fits the in-band header's 16-bit length.
	LargestFrame = EthernetLen + 65535
)

// Framing says how frame sizes map onto messages for one transport and IP
// version.
type Framing struct {
	Transport Transport
	IPv6      bool
	// TCPOptions is the length of the TCP options on data segments: 12 with
	// the timestamp option (Linux's default), 0 without. Ignored for UDP.
	TCPOptions int
	// Max is the largest frame size (0: DefaultMaxFrame, or LargestFrame
	// when Offline); the live agents set it from the path MTU.
	Max int32
	// Offline frames are written to files, not sent: the smallest frame is
	// the bare headers (the in-band header is cut short to fit) and the
	// largest LargestFrame unless Max says otherwise.
	Offline bool
}

// NewFraming returns the framing for a transport and IP version, with the
// TCP option length of this host (DefaultTCPOptions).
func NewFraming(t Transport, ipv6 bool) Framing {
	f := Framing{Transport: t, IPv6: ipv6}
	if t == TCP {
		f.TCPOptions = DefaultTCPOptions()
	}
	return f
}

// DefaultTCPOptions returns 12 (the TCP timestamp option) unless
// /proc/sys/net/ipv4/tcp_timestamps exists and says 0, in which case it
// returns 0. Linux negotiates timestamps on loopback and with most peers;
// a peer that refuses them makes TCP frames 12 bytes shorter than intended.
func DefaultTCPOptions() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_timestamps")
	if err == nil && strings.TrimSpace(string(b)) == "0" {
		return 0
	}
	return 12
}

// Overhead returns the bytes of a frame that precede the message.
func (f Framing) Overhead() int {
	n := EthernetLen + IPv4Len
	if f.IPv6 {
		n = EthernetLen + IPv6Len
	}
	if f.Transport == TCP {
		return n + TCPLen + f.TCPOptions + RecordPrefixLen
	}
	return n + UDPLen
}

// MinFrame returns the smallest frame size: one that carries the in-band
// header on the wire, the bare Ethernet, IP and transport headers offline.
func (f Framing) MinFrame() int32 {
	if f.Offline {
		n := EthernetLen + IPv4Len + UDPLen
		if f.IPv6 {
			n += IPv6Len - IPv4Len
		}
		if f.Transport == TCP {
			n += TCPLen - UDPLen
		}
		return int32(n)
	}
	return int32(f.Overhead() + HeaderLen)
}

// MaxFrame returns the largest frame size.
func (f Framing) MaxFrame() int32 {
	switch {
	case f.Max > 0:
		return min(f.Max, LargestFrame)
	case f.Offline:
		return LargestFrame
	}
	return DefaultMaxFrame
}

// MessageLen returns the message length (header plus padding) for a frame
// size that lies in [MinFrame, MaxFrame]; 0 for an offline frame too small
// for any message.
func (f Framing) MessageLen(frame int32) int { return max(int(frame)-f.Overhead(), 0) }

// FrameLen returns the frame size of a message of msgLen bytes.
func (f Framing) FrameLen(msgLen int) int32 { return int32(msgLen + f.Overhead()) }

// Clamp returns size clamped into [MinFrame, MaxFrame] and whether it
// changed.
func (f Framing) Clamp(size int32) (int32, bool) {
	if lo := f.MinFrame(); size < lo {
		return lo, true
	}
	if hi := f.MaxFrame(); size > hi {
		return hi, true
	}
	return size, false
}

func (f Framing) String() string {
	ip := "ipv4"
	if f.IPv6 {
		ip = "ipv6"
	}
	return fmt.Sprintf("%s/%s (overhead %d bytes, frames %d..%d)", f.Transport, ip, f.Overhead(), f.MinFrame(), f.MaxFrame())
}

// PathMaxFrame returns the largest frame the interface holding local
// carries (its MTU plus the Ethernet header, at most LargestFrame), and
// DefaultMaxFrame when the interface is not found. An unspecified local
// address (a socket bound to 0.0.0.0) looks up remote instead, the peer
// address on this host's side of a loopback path.
func PathMaxFrame(local, remote netip.Addr) int32 {
	if local.IsUnspecified() || !local.IsValid() {
		local = remote
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return DefaultMaxFrame
	}
	local = local.Unmap()
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			pfx, err := netip.ParsePrefix(a.String())
			if err != nil || pfx.Addr().Unmap() != local {
				continue
			}
			if ifc.MTU <= 0 {
				return DefaultMaxFrame
			}
			return int32(min(ifc.MTU+EthernetLen, LargestFrame))
		}
	}
	if local.IsLoopback() {
		return LargestFrame
	}
	return DefaultMaxFrame
}
