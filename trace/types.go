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

// Cond is the condition a model sees: what the opponent's immediately
// preceding burst looked like, as measured by the receiving side, and, for
// packet models, where the packet sits in its own burst. Times are in
// microseconds as float64 because they feed neural networks and
// distributions; timestamps elsewhere stay integer nanoseconds.
type Cond struct {
	OppCount    float64 // packets in the opponent's preceding burst
	OppBytes    float64 // frame bytes in the opponent's preceding burst
	OppDurUS    float64 // first to last packet of that burst, microseconds
	OppMeanDtUS float64 // mean gap between its packets (0 for one packet), microseconds
	First       float64 // 1 for the first packet of a burst, else 0 (packet models)
	PrevSize    float64 // size of this side's previous packet in the same burst (0 for the first)
}

// CondNames lists the condition features by name, in the order of Cond's fields.
var CondNames = []string{"opp_count", "opp_bytes", "opp_dur_us", "opp_mean_dt_us", "first", "prev_size"}

// Value returns the named condition feature, or false for an unknown name.
func (c Cond) Value(name string) (float64, bool) {
	switch name {
	case "opp_count":
		return c.OppCount, true
	case "opp_bytes":
		return c.OppBytes, true
	case "opp_dur_us":
		return c.OppDurUS, true
	case "opp_mean_dt_us":
		return c.OppMeanDtUS, true
	case "first":
		return c.First, true
	case "prev_size":
		return c.PrevSize, true
	}
	return 0, false
}
