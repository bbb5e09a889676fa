package simulate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/spatgan/spatgan/trace"
)

// Version is the wire protocol version this package speaks (the header's
// version byte). A peer with another version is refused at the handshake.
const Version = 1

// Magic is the first two bytes of every message: "SG".
const Magic = 0x5347

// HeaderLen is the length of the in-band header in bytes (protocol version 1).
const HeaderLen = 28

// Flag bits of the header's flags byte.
const (
	// FlagLast marks the last data packet of a burst: the receiver's turn
	// begins when it arrives.
	FlagLast uint8 = 1 << 0
	// FlagHandshake marks a handshake request (client to server) or, with
	// FlagAck or FlagReject, its answer.
	FlagHandshake uint8 = 1 << 1
	// FlagAck accepts a handshake.
	FlagAck uint8 = 1 << 2
	// FlagReject refuses a handshake; the body is a reason in UTF-8.
	FlagReject uint8 = 1 << 3
	// FlagBye ends the conversation: the sender sends nothing more.
	FlagBye uint8 = 1 << 4
	// FlagSync is a turn synchronisation message: Burst holds the burst the
	// sender is waiting for. See the package documentation.
	FlagSync uint8 = 1 << 5
	// FlagAlive is a keep-alive answer to a Sync from a side that is still
	// sending its burst.
	FlagAlive uint8 = 1 << 6

	// flagsKnown is the union of all defined flags; other bits are invalid
	// in version 1.
	flagsKnown = FlagLast | FlagHandshake | FlagAck | FlagReject | FlagBye | FlagSync | FlagAlive
	// flagsControl are the flags of control messages (not conversation data).
	flagsControl = FlagHandshake | FlagAck | FlagReject | FlagBye | FlagSync | FlagAlive
)

// Header is the in-band header at the start of every message payload.
// Layout (version 1, big-endian, HeaderLen = 28 bytes):
//
//	offset size field
//	0      2    magic 0x5347 ("SG")
//	2      1    version (1)
//	3      1    flags (FlagLast, FlagHandshake, ...)
//	4      2    length: bytes of the message including this header and padding
//	6      1    sender side (0 server, 1 client)
//	7      1    reserved, zero
//	8      4    conversation id
//	12     4    sequence number of the data packet (per sender and conversation, from 0; 0 in control messages)
//	16     4    burst number (the conversation's bursts, from 0: the client sends even, the server odd)
//	20     8    send timestamp, nanoseconds since the Unix epoch (sender's clock)
type Header struct {
	Flags  uint8
	Length uint16
	Side   uint8
	Conv   uint32
	Seq    uint32
	Burst  uint32
	SendNS int64
}

// IsControl reports whether the message is a control message (handshake,
// bye, sync, keep-alive) rather than a synthetic data packet.
func (h Header) IsControl() bool { return h.Flags&flagsControl != 0 }

// Encode writes h into b[:HeaderLen]. It returns an error if b is shorter
// than HeaderLen.
func (h Header) Encode(b []byte) error {
	if len(b) < HeaderLen {
		return fmt.Errorf("simulate: header buffer of %d bytes, need %d", len(b), HeaderLen)
	}
	binary.BigEndian.PutUint16(b[0:], Magic)
	b[2] = Version
	b[3] = h.Flags
	binary.BigEndian.PutUint16(b[4:], h.Length)
	b[6] = h.Side
	b[7] = 0
	binary.BigEndian.PutUint32(b[8:], h.Conv)
	binary.BigEndian.PutUint32(b[12:], h.Seq)
	binary.BigEndian.PutUint32(b[16:], h.Burst)
	binary.BigEndian.PutUint64(b[20:], uint64(h.SendNS))
	return nil
}

// Errors returned by DecodeHeader. Use errors.Is to test for them; a
// *VersionError also matches ErrVersion.
var (
	ErrShort  = errors.New("simulate: message shorter than the header")
	ErrMagic  = errors.New("simulate: bad magic (not a spatgan message)")
	ErrLength = errors.New("simulate: header length field does not match the message length")
	ErrFlags  = errors.New("simulate: undefined flag bits or side")
	// ErrTimestamp is a send timestamp outside trace.MinTS..trace.MaxTS
	// (1970 to 2199), which the receiver's arithmetic could overflow on.
	ErrTimestamp = errors.New("simulate: send timestamp outside 1970-01-01 to 2199-12-31")
	// ErrVersion is matched by *VersionError.
	ErrVersion = errors.New("simulate: protocol version mismatch")
)

// VersionError reports a message of another protocol version.
type VersionError struct{ Got uint8 }

func (e *VersionError) Error() string {
	return fmt.Sprintf("simulate: peer speaks protocol version %d, this program speaks version %d", e.Got, Version)
}

// Is makes errors.Is(err, ErrVersion) true.
func (e *VersionError) Is(target error) bool { return target == ErrVersion }

// DecodeHeader parses the header at the start of msg, a whole datagram or
// TCP record. It checks the magic, the version, that the length field equals
// len(msg), that the flags and side are defined, and that the reserved byte
// is zero. The version is checked right after the magic so that a peer of
// another version is recognised as such (*VersionError) even if the rest of
// its layout differs.
func DecodeHeader(msg []byte) (Header, error) {
	var h Header
	if len(msg) < 3 {
		return h, ErrShort
	}
	if binary.BigEndian.Uint16(msg[0:]) != Magic {
		return h, ErrMagic
	}
	if msg[2] != Version {
		return h, &VersionError{Got: msg[2]}
	}
	if len(msg) < HeaderLen {
		return h, ErrShort
	}
	h.Flags = msg[3]
	h.Length = binary.BigEndian.Uint16(msg[4:])
	h.Side = msg[6]
	h.Conv = binary.BigEndian.Uint32(msg[8:])
	h.Seq = binary.BigEndian.Uint32(msg[12:])
	h.Burst = binary.BigEndian.Uint32(msg[16:])
	h.SendNS = int64(binary.BigEndian.Uint64(msg[20:]))
	if int(h.Length) != len(msg) {
		return h, ErrLength
	}
	if h.Flags&^flagsKnown != 0 || h.Side > 1 || msg[7] != 0 {
		return h, ErrFlags
	}
	if h.SendNS < trace.MinTS || h.SendNS >= trace.MaxTS {
		return h, ErrTimestamp
	}
	return h, nil
}

// MaxFingerprint is the longest fingerprint a handshake carries.
const MaxFingerprint = 128

// MaxLimit bounds a handshake's packet and duration limits (2^62, about 146
// years in nanoseconds), so that both convert to int64 and a duration added
// to a timestamp before 2200 cannot overflow.
const MaxLimit = 1 << 62

// Hello is the body of a handshake request and of its acceptance.
//
// Layout after the header (version 1, big-endian):
//
//	1 byte  fingerprint length F (<= MaxFingerprint)
//	F bytes fingerprint (the sampler's or bundle's, compared byte for byte)
//	8 bytes packet limit for the conversation (0 = none)
//	8 bytes duration limit in nanoseconds (0 = none)
//	8 bytes time scale, IEEE 754 float64 bits (1 = model timing)
//
// The server answers an acceptable Hello with FlagHandshake|FlagAck and its
// own Hello carrying the limits both sides then apply (the smaller non-zero
// of the two for each limit, and the client's time scale).
type Hello struct {
	Fingerprint string
	MaxPackets  uint64
	DurationNS  uint64
	TimeScale   float64
}

// AppendHello appends the encoded body to b.
func AppendHello(b []byte, m Hello) ([]byte, error) {
	if len(m.Fingerprint) > MaxFingerprint {
		return b, fmt.Errorf("simulate: fingerprint of %d bytes, at most %d", len(m.Fingerprint), MaxFingerprint)
	}
	b = append(b, byte(len(m.Fingerprint)))
	b = append(b, m.Fingerprint...)
	b = binary.BigEndian.AppendUint64(b, m.MaxPackets)
	b = binary.BigEndian.AppendUint64(b, m.DurationNS)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(m.TimeScale))
	return b, nil
}

// DecodeHello parses a handshake body (the bytes after the header).
// Trailing bytes are ignored (padding).
func DecodeHello(body []byte) (Hello, error) {
	var m Hello
	if len(body) < 1 {
		return m, errors.New("simulate: handshake body is empty")
	}
	n := int(body[0])
	if n > MaxFingerprint {
		return m, fmt.Errorf("simulate: handshake fingerprint length %d exceeds %d", n, MaxFingerprint)
	}
	if len(body) < 1+n+24 {
		return m, fmt.Errorf("simulate: handshake body of %d bytes, need %d", len(body), 1+n+24)
	}
	m.Fingerprint = string(body[1 : 1+n])
	p := body[1+n:]
	m.MaxPackets = binary.BigEndian.Uint64(p)
	m.DurationNS = binary.BigEndian.Uint64(p[8:])
	m.TimeScale = math.Float64frombits(binary.BigEndian.Uint64(p[16:]))
	if m.MaxPackets > MaxLimit {
		return m, fmt.Errorf("simulate: handshake packet limit %d exceeds %d", m.MaxPackets, uint64(MaxLimit))
	}
	if m.DurationNS > MaxLimit {
		return m, fmt.Errorf("simulate: handshake duration limit %d ns exceeds %d", m.DurationNS, uint64(MaxLimit))
	}
	if math.IsNaN(m.TimeScale) || math.IsInf(m.TimeScale, 0) || m.TimeScale < 0 {
		return m, fmt.Errorf("simulate: handshake time scale %v is not a finite number >= 0", m.TimeScale)
	}
	return m, nil
}
