package trace

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// Link-layer decoding is done by hand on the capture buffer rather than
// with gopacket's layer decoders: it needs only a few header fields, must
// not allocate per packet (2 million packets/s on one core), and must say
// exactly which header a snap length cut. The tests cross-check it against
// gopacket's decoders.

// linkSupported reports whether frames of link type lt can be decoded.
func linkSupported(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeRaw, 12, 14, layers.LinkTypeIPv4, layers.LinkTypeIPv6,
		layers.LinkTypeNull, layers.LinkTypeLoop:
		return true
	}
	return false
}

func unsupportedLink(lt layers.LinkType) error {
	return fmt.Errorf("unsupported link type %d (%v): want Ethernet, Linux cooked (SLL, SLL2), raw IP or loopback", uint32(lt), lt)
}

// cutError is a frame whose captured bytes end inside a header the reader
// needs.
type cutError struct {
	header      string
	caplen, len int
}

func (e *cutError) Error() string {
	if e.caplen < e.len {
		return fmt.Sprintf("snap length cut the %s header (captured %d of %d bytes): capture again with a larger snap length (tcpdump -s 0)", e.header, e.caplen, e.len)
	}
	return fmt.Sprintf("frame too short for its %s header (%d bytes)", e.header, e.caplen)
}

// decodeFrame fills rec's Kind, Proto, addresses and ports from one captured
// frame. origLen is the frame's length on the wire. A malformed IP header
// (wrong version, bad header length) makes the record KindMalformed.
func decodeFrame(lt layers.LinkType, data []byte, origLen int, rec *Record) error {
	cut := func(h string) error { return &cutError{header: h, caplen: len(data), len: origLen} }
	var etype uint16
	var ip []byte
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return cut("Ethernet")
		}
		etype = binary.BigEndian.Uint16(data[12:14])
		off := 14
		for etype == 0x8100 || etype == 0x88a8 || etype == 0x9100 {
			if len(data) < off+4 {
				return cut("802.1Q")
			}
			etype = binary.BigEndian.Uint16(data[off+2 : off+4])
			off += 4
		}
		ip = data[off:]
	case layers.LinkTypeLinuxSLL:
		if len(data) < 16 {
			return cut("Linux cooked (SLL)")
		}
		etype = binary.BigEndian.Uint16(data[14:16])
		ip = data[16:]
	case layers.LinkTypeLinuxSLL2:
		if len(data) < 20 {
			return cut("Linux cooked v2 (SLL2)")
		}
		etype = binary.BigEndian.Uint16(data[0:2])
		ip = data[20:]
	case layers.LinkTypeRaw, 12, 14, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		if len(data) < 1 {
			return cut("IP")
		}
		switch data[0] >> 4 {
		case 4:
			etype = 0x0800
		case 6:
			etype = 0x86dd
		}
		ip = data
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(data) < 4 {
			return cut("loopback")
		}
		var af uint32
		if lt == layers.LinkTypeLoop || (data[0] == 0 && data[1] == 0) {
			af = binary.BigEndian.Uint32(data[0:4])
		} else {
			af = binary.LittleEndian.Uint32(data[0:4])
		}
		switch af {
		case 2:
			etype = 0x0800
		case 10, 23, 24, 28, 30: // AF_INET6 on Linux, Windows, BSDs, FreeBSD, Darwin
			etype = 0x86dd
		}
		ip = data[4:]
	default:
		return unsupportedLink(lt)
	}
	rec.SrcPort, rec.DstPort = 0, 0
	switch etype {
	case 0x0800:
		return decodeIPv4(ip, rec, cut)
	case 0x86dd:
		return decodeIPv6(ip, rec, cut)
	}
	notIP(rec, KindNonIP)
	return nil
}

func notIP(rec *Record, k Kind) {
	rec.Kind = k
	rec.Proto = 0
	rec.Src, rec.Dst = netip.Addr{}, netip.Addr{}
}

func decodeIPv4(b []byte, rec *Record, cut func(string) error) error {
	if len(b) < 20 {
		return cut("IPv4")
	}
	ihl := int(b[0]&0x0f) * 4
	if b[0]>>4 != 4 || ihl < 20 {
		notIP(rec, KindMalformed)
		return nil
	}
	if len(b) < ihl {
		return cut("IPv4 options")
	}
	rec.Kind = KindIP
	rec.Proto = b[9]
	rec.Src = netip.AddrFrom4([4]byte(b[12:16]))
	rec.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	if binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 {
		return nil // not the first fragment: no transport header
	}
	return ports(b[ihl:], rec, cut)
}

func decodeIPv6(b []byte, rec *Record, cut func(string) error) error {
	if len(b) < 40 {
		return cut("IPv6")
	}
	if b[0]>>4 != 6 {
		notIP(rec, KindMalformed)
		return nil
	}
	rec.Kind = KindIP
	rec.Src = netip.AddrFrom16([16]byte(b[8:24]))
	rec.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	nh := b[6]
	off := 40
	for range 16 { // extension header chain, bounded
		switch nh {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < off+2 {
				return cut("IPv6 extension")
			}
			nh, off = b[off], off+(int(b[off+1])+1)*8
			continue
		case 51: // authentication header
			if len(b) < off+2 {
				return cut("IPv6 extension")
			}
			nh, off = b[off], off+(int(b[off+1])+2)*4
			continue
		case 44: // fragment
			if len(b) < off+8 {
				return cut("IPv6 fragment")
			}
			first := binary.BigEndian.Uint16(b[off+2:off+4])&0xfff8 == 0
			nh, off = b[off], off+8
			if !first {
				rec.Proto = nh
				return nil
			}
			continue
		}
		break
	}
	rec.Proto = nh
	if off > len(b) {
		return cut("IPv6 extension")
	}
	return ports(b[off:], rec, cut)
}

// ports reads TCP and UDP ports (the first four bytes of both headers).
func ports(b []byte, rec *Record, cut func(string) error) error {
	switch rec.Proto {
	case protoTCP, protoUDP:
		if len(b) < 4 {
			if rec.Proto == protoTCP {
				return cut("TCP")
			}
			return cut("UDP")
		}
		rec.SrcPort = binary.BigEndian.Uint16(b[0:2])
		rec.DstPort = binary.BigEndian.Uint16(b[2:4])
	}
	return nil
}
