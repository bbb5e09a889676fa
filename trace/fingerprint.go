package trace

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// Fingerprint hashes a conversation's packets (timestamp, size, side): the
// SHA-256, in hex, of 13 bytes per packet, the timestamp in nanoseconds
// (int64), the size (int32) and the side (one byte), little-endian. A
// bundle's manifest records the fingerprint of the packets it was trained
// on, so that an evaluation can check it is given the same ones.
func Fingerprint(pkts []Packet) string {
	h := sha256.New()
	var b [13]byte
	for _, p := range pkts {
		binary.LittleEndian.PutUint64(b[0:], uint64(p.TS))
		binary.LittleEndian.PutUint32(b[8:], uint32(p.Size))
		b[12] = byte(p.From)
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}
