package trace

// Side is a party of a two-party conversation. Roles are explicit everywhere:
// every packet, table and model belongs to a side.
type Side int8

const (
	// Server is the responding party. For the embedded Skype trace it is the
	// remote relay 124.123.243.15.
	Server Side = 0
	// Client is the party that opened the conversation. For the embedded Skype
	// trace it is the capturing host 192.168.1.133.
	Client Side = 1
)

// Other returns the opponent of s.
func (s Side) Other() Side { return 1 - s }

func (s Side) String() string {
	switch s {
	case Server:
		return "server"
	case Client:
		return "client"
	}
	return "side?"
}

// Packet is one packet of a two-party conversation.
type Packet struct {
	// TS is the capture timestamp in integer nanoseconds since the Unix epoch.
	TS int64
	// Size is the frame length on the wire in bytes (the pcap "orig_len",
	// the CSV "size" column).
	Size int32
	// From is the side that sent the packet.
	From Side
	// Proto is the IP protocol number (6 TCP, 17 UDP, others kept as is).
	Proto uint8
}

// CondNames lists the original SPATGAN's condition features by name.
//
// Deprecated: the condition features, these and more, are defined by the
// features package; use features.Names for the list. This variable is kept
// for callers of the old model tables and will be removed.
var CondNames = []string{"opp_count", "opp_bytes", "opp_dur_us", "opp_mean_dt_us", "first", "prev_size"}
