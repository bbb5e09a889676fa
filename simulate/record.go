package simulate

import (
	"net/netip"

	"github.com/spatgan/spatgan/trace"
)

// Rec is one data packet as an agent sent or received it.
type Rec struct {
	// Sent is true for a packet this agent sent, false for one it received.
	Sent bool
	// Conv is the conversation id.
	Conv uint32
	// TS is the send time (taken just before the send call) or the receive
	// time (the kernel's timestamp for UDP on Linux, else when the receive
	// call returned), ns since the Unix epoch.
	TS int64
	// SchedNS is the scheduled send time of a sent packet (0 if received).
	SchedNS int64
	// Size is the frame length on the wire.
	Size int32
	// Header is the in-band header the packet carried.
	Header Header
	// Src and Dst are the packet's endpoints.
	Src, Dst netip.AddrPort
	// Transport is the packet's transport protocol.
	Transport Transport
	// From is the side that sent the packet.
	From trace.Side
}

// Recorder receives every data packet of an agent. Implementations must be
// safe for concurrent use (conversations record concurrently).
type Recorder interface {
	Record(r Rec) error
}
