package trace

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
)

// The compact conversation format stores one Conversation in a gzip stream:
//
//	"SPC1"                      magic
//	uvarint version (1)
//	string  source              (uvarint length + bytes, as all strings)
//	addr    server, uvarint port (addr = 1 length byte 0, 4 or 16 + bytes)
//	addr    client, uvarint port
//	string  proto               ("udp", "tcp", "any")
//	uvarint n                   packets
//	uvarint unit                timestamp unit in ns (1000 when every delta is whole microseconds, else 1)
//	varint  ts0                 first timestamp, ns
//	n-1 x   varint delta/unit   timestamp deltas in file order (negative for clock steps)
//	n x     uvarint size
//	n x     byte from           (0 server, 1 client)
//	n x     byte proto          (IP protocol number)
//
// Columns compress better than rows; the embedded 40,697-packet Skype
// conversation takes about 100 kB.
const compactMagic = "SPC1"

// maxCompactPackets bounds the packet count a compact header may declare.
const maxCompactPackets = 1 << 31

// EncodeCompact writes c in the compact format.
func EncodeCompact(w io.Writer, c *Conversation) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	bw := bufio.NewWriter(zw)
	var buf [binary.MaxVarintLen64]byte
	uv := func(v uint64) { bw.Write(buf[:binary.PutUvarint(buf[:], v)]) }
	sv := func(v int64) { bw.Write(buf[:binary.PutVarint(buf[:], v)]) }
	str := func(s string) { uv(uint64(len(s))); bw.WriteString(s) }
	addr := func(e Endpoint) {
		b := e.Addr.AsSlice()
		bw.WriteByte(byte(len(b)))
		bw.Write(b)
		uv(uint64(e.Port))
	}
	bw.WriteString(compactMagic)
	uv(1)
	str(c.Source)
	addr(c.Server)
	addr(c.Client)
	str(c.Proto)
	n := len(c.Packets)
	uv(uint64(n))
	unit := int64(1000)
	for i := 1; i < n; i++ {
		if (c.Packets[i].TS-c.Packets[i-1].TS)%1000 != 0 {
			unit = 1
			break
		}
	}
	uv(uint64(unit))
	if n > 0 {
		sv(c.Packets[0].TS)
	}
	for i := 1; i < n; i++ {
		sv((c.Packets[i].TS - c.Packets[i-1].TS) / unit)
	}
	for _, p := range c.Packets {
		if p.Size <= 0 {
			return fmt.Errorf("trace: compact: packet size %d is not positive", p.Size)
		}
		uv(uint64(p.Size))
	}
	for _, p := range c.Packets {
		bw.WriteByte(byte(p.From))
	}
	for _, p := range c.Packets {
		bw.WriteByte(p.Proto)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("trace: compact: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("trace: compact: %w", err)
	}
	return nil
}

// DecodeCompact reads a conversation in the compact format, gzip-compressed
// as EncodeCompact writes it. name is used in error messages.
func DecodeCompact(r io.Reader, name string) (*Conversation, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, &Error{File: name, Err: fmt.Errorf("compact: %w", err)}
	}
	return decodeCompact(bufio.NewReader(zr), name)
}

// decodeCompact reads the uncompressed compact stream.
func decodeCompact(br *bufio.Reader, name string) (*Conversation, error) {
	failAt := func(rec int, field string, err error) (*Conversation, error) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, &Error{File: name, Record: rec, Field: field, Err: fmt.Errorf("compact: %w", err)}
	}
	fail := func(field string, err error) (*Conversation, error) { return failAt(0, field, err) }
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil || string(magic[:]) != compactMagic {
		return fail("magic", fmt.Errorf("not a compact conversation (magic %q)", magic[:]))
	}
	if v, err := binary.ReadUvarint(br); err != nil || v != 1 {
		return fail("version", fmt.Errorf("unsupported version %d (%v)", v, err))
	}
	str := func() (string, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return "", err
		}
		if n > 4096 {
			return "", fmt.Errorf("string of %d bytes is too long", n)
		}
		b := make([]byte, n)
		_, err = io.ReadFull(br, b)
		return string(b), err
	}
	ep := func() (Endpoint, error) {
		l, err := br.ReadByte()
		if err != nil {
			return Endpoint{}, err
		}
		if l != 0 && l != 4 && l != 16 {
			return Endpoint{}, fmt.Errorf("address length %d", l)
		}
		b := make([]byte, l)
		if _, err := io.ReadFull(br, b); err != nil {
			return Endpoint{}, err
		}
		a, _ := netip.AddrFromSlice(b)
		port, err := binary.ReadUvarint(br)
		if err != nil {
			return Endpoint{}, err
		}
		if port > 65535 {
			return Endpoint{}, fmt.Errorf("port %d", port)
		}
		return Endpoint{Addr: a, Port: uint16(port)}, nil
	}
	c := &Conversation{}
	var err error
	if c.Source, err = str(); err != nil {
		return fail("source", err)
	}
	if c.Server, err = ep(); err != nil {
		return fail("server", err)
	}
	if c.Client, err = ep(); err != nil {
		return fail("client", err)
	}
	if c.Proto, err = str(); err != nil {
		return fail("proto", err)
	}
	n, err := binary.ReadUvarint(br)
	if err != nil || n > maxCompactPackets {
		return fail("count", fmt.Errorf("bad packet count %d (%v)", n, err))
	}
	unit, err := binary.ReadUvarint(br)
	if err != nil || (unit != 1 && unit != 1000) {
		return fail("unit", fmt.Errorf("bad timestamp unit %d (%v)", unit, err))
	}
	c.Packets = make([]Packet, 0, min(n, 1<<20))
	var ts int64
	for i := uint64(0); i < n; i++ {
		d, err := binary.ReadVarint(br)
		if err != nil {
			return failAt(int(i)+1, "timestamp", err)
		}
		// Both ts and d*unit stay within ±MaxTS before the sum, so
		// nothing overflows before the range check.
		mult := int64(unit)
		if i == 0 {
			mult = 1 // the first timestamp is in ns, the deltas in units
		}
		if d > MaxTS/mult || d < -MaxTS/mult {
			return failAt(int(i)+1, "timestamp", fmt.Errorf("value %d x %d ns is outside %s", d, mult, timeRangeText))
		}
		ts += d * mult
		if err := checkTS(ts); err != nil {
			return failAt(int(i)+1, "timestamp", err)
		}
		if i > 0 && d < 0 {
			c.ClockSteps++
		}
		c.Packets = append(c.Packets, Packet{TS: ts})
	}
	for i := range c.Packets {
		v, err := binary.ReadUvarint(br)
		if err != nil || v == 0 || v > 1<<31-1 {
			return failAt(int(i)+1, "size", fmt.Errorf("bad size %d (%v)", v, err))
		}
		c.Packets[i].Size = int32(v)
	}
	for i := range c.Packets {
		b, err := br.ReadByte()
		if err != nil || b > 1 {
			return failAt(int(i)+1, "side", fmt.Errorf("bad side %d (%v)", b, err))
		}
		c.Packets[i].From = Side(b)
	}
	for i := range c.Packets {
		b, err := br.ReadByte()
		if err != nil {
			return failAt(int(i)+1, "proto", err)
		}
		c.Packets[i].Proto = b
	}
	if _, err := br.ReadByte(); err != io.EOF {
		if err == nil {
			err = errors.New("trailing bytes after the last column")
		}
		return fail("end", err)
	}
	return c, nil
}

// compactSource yields a compact conversation's packets as records.
type compactSource struct {
	c *Conversation
	i int
}

func newCompactSource(br *bufio.Reader, name string) (*compactSource, error) {
	c, err := decodeCompact(br, name)
	if err != nil {
		return nil, err
	}
	return &compactSource{c: c}, nil
}

func (s *compactSource) next(rec *Record) error {
	if s.i >= len(s.c.Packets) {
		return io.EOF
	}
	p := s.c.Packets[s.i]
	s.i++
	src, dst := s.c.Server, s.c.Client
	if p.From == Client {
		src, dst = dst, src
	}
	*rec = Record{TS: p.TS, Size: p.Size, Kind: KindIP, Proto: p.Proto, Src: src.Addr, Dst: dst.Addr}
	if p.Proto == protoUDP || p.Proto == protoTCP {
		rec.SrcPort, rec.DstPort = src.Port, dst.Port
	}
	return nil
}
