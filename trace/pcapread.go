package trace

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapSource reads classic pcap with gopacket's pcapgo.Reader. Before each
// record it peeks at the raw 16-byte record header in the shared buffer to
// take the timestamp exactly (pcapgo scales the 32-bit fraction in 32-bit
// arithmetic, which wraps for corrupt microsecond fields) and to reject a
// fraction out of range.
type pcapSource struct {
	name    string
	br      *bufio.Reader
	r       *pcapgo.Reader
	order   binary.ByteOrder
	scale   int64  // ns per fraction unit: 1000 or 1
	fracMax uint32 // exclusive bound of the fraction field
	link    layers.LinkType
	rec     int
}

func newPcapSource(br *bufio.Reader, name string) (recordSource, error) {
	head, _ := br.Peek(24)
	if len(head) < 24 {
		return nil, &Error{File: name, Field: "file header", Err: fmt.Errorf("truncated pcap file header (%d of 24 bytes)", len(head))}
	}
	s := &pcapSource{name: name, br: br, scale: 1000, fracMax: 1e6, order: binary.LittleEndian}
	switch string(head[:4]) {
	case "\xd4\xc3\xb2\xa1":
	case "\xa1\xb2\xc3\xd4":
		s.order = binary.BigEndian
	case "\x4d\x3c\xb2\xa1":
		s.scale, s.fracMax = 1, 1e9
	case "\xa1\xb2\x3c\x4d":
		s.scale, s.fracMax, s.order = 1, 1e9, binary.BigEndian
	}
	// br is a *bufio.Reader of 64 KiB, so pcapgo reads from it directly
	// (bufio.NewReader returns it unchanged) and Peek sees the next record.
	r, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, &Error{File: name, Field: "file header", Err: fmt.Errorf("pcap: %w", err)}
	}
	s.r = r
	s.link = r.LinkType()
	if !linkSupported(s.link) {
		return nil, &Error{File: name, Field: "link type", Err: unsupportedLink(s.link)}
	}
	return s, nil
}

func (s *pcapSource) next(rec *Record) error {
	s.rec++
	hdr, err := s.br.Peek(16)
	if len(hdr) == 0 && errors.Is(err, io.EOF) {
		return io.EOF
	}
	fail := func(field string, err error) error {
		return &Error{File: s.name, Record: s.rec, Field: field, Err: err}
	}
	if len(hdr) < 16 {
		if err == nil || errors.Is(err, io.EOF) {
			return fail("record header", truncated(fmt.Sprintf("truncated record header (%d of 16 bytes): the file ends inside it", len(hdr))))
		}
		return fail("", err)
	}
	sec := int64(s.order.Uint32(hdr[0:4]))
	frac := s.order.Uint32(hdr[4:8])
	if frac >= s.fracMax {
		return fail("timestamp", fmt.Errorf("fraction %d is not below %d", frac, s.fracMax))
	}
	data, ci, err := s.r.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fail("packet data", truncated(fmt.Sprintf("truncated record: the file ends inside the %d captured bytes", s.order.Uint32(hdr[8:12]))))
		}
		return fail("record header", err)
	}
	rec.TS = sec*1e9 + int64(frac)*s.scale
	return finishRecord(s.link, data, ci.Length, rec, fail)
}

// finishRecord checks the lengths and decodes the frame.
func finishRecord(link layers.LinkType, data []byte, origLen int, rec *Record, fail func(string, error) error) error {
	if origLen <= 0 || origLen > math.MaxInt32 {
		return fail("original length", fmt.Errorf("frame length %d is out of range", origLen))
	}
	if len(data) > origLen {
		return fail("captured length", fmt.Errorf("captured length %d exceeds the frame length %d", len(data), origLen))
	}
	rec.Size = int32(origLen)
	if err := decodeFrame(link, data, origLen, rec); err != nil {
		var ce *cutError
		if errors.As(err, &ce) {
			return fail("", err)
		}
		return fail("link type", err)
	}
	return nil
}

// pcapNGSource reads pcapng with gopacket's pcapgo.NgReader, accepting
// several interfaces with different link types. Timestamps of interfaces
// with a decimal resolution (10^-6, the default, and 10^-9: what tcpdump,
// dumpcap and editcap write) are exact; pcapgo scales binary resolutions
// (2^-n, rare) with a truncated factor, off by up to a few parts in 10^3.
type pcapNGSource struct {
	name string
	r    *pcapgo.NgReader
	rec  int
}

func newPcapNGSource(br *bufio.Reader, name string) (recordSource, error) {
	r, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("truncated section header block")
		}
		return nil, &Error{File: name, Field: "section header", Err: fmt.Errorf("pcapng: %w", err)}
	}
	return &pcapNGSource{name: name, r: r}, nil
}

func (s *pcapNGSource) next(rec *Record) error {
	data, ci, err := s.r.ZeroCopyReadPacketData()
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	s.rec++
	fail := func(field string, err error) error {
		return &Error{File: s.name, Record: s.rec, Field: field, Err: err}
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fail("", truncated("pcapng: truncated block: the file ends inside it"))
		}
		return fail("", fmt.Errorf("pcapng: %w", err))
	}
	if ci.Timestamp.IsZero() {
		return fail("timestamp", errors.New("packet without a timestamp (simple packet block)"))
	}
	if err := checkTime(ci.Timestamp); err != nil {
		return fail("timestamp", err)
	}
	rec.TS = ci.Timestamp.UnixNano()
	link := layers.LinkTypeEthernet
	if len(ci.AncillaryData) > 0 {
		if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			link = lt
		}
	}
	if !linkSupported(link) {
		return fail("link type", fmt.Errorf("interface %d: %w", ci.InterfaceIndex, unsupportedLink(link)))
	}
	return finishRecord(link, data, ci.Length, rec, fail)
}
