package trace

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ipPacket builds an IP packet with gopacket: IPv4 or IPv6 carrying UDP
// (proto 17), TCP (6) or ICMP (1) with n payload bytes.
func ipPacket(t testing.TB, src, dst string, proto uint8, sport, dport uint16, n int) []byte {
	t.Helper()
	s, d := net.ParseIP(src), net.ParseIP(dst)
	var netl gopacket.NetworkLayer
	var ipl gopacket.SerializableLayer
	if strings.Contains(src, ":") {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocol(proto), SrcIP: s, DstIP: d}
		netl, ipl = ip, ip
	} else {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocol(proto), SrcIP: s.To4(), DstIP: d.To4()}
		netl, ipl = ip, ip
	}
	ls := []gopacket.SerializableLayer{ipl}
	switch proto {
	case 17:
		u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		u.SetNetworkLayerForChecksum(netl)
		ls = append(ls, u)
	case 6:
		tc := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), ACK: true, Window: 1000}
		tc.SetNetworkLayerForChecksum(netl)
		ls = append(ls, tc)
	case 1:
		ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)})
	}
	ls = append(ls, gopacket.Payload(make([]byte, n)))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ethHdr(etype uint16, vlan bool) []byte {
	h := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}
	if vlan {
		h = append(h, 0x81, 0x00, 0x00, 0x07)
	}
	return binary.BigEndian.AppendUint16(h, etype)
}

type frame struct {
	ts      time.Time
	data    []byte
	origLen int // 0 = len(data)
}

// writePcapFile writes frames with pcapgo (microsecond, little endian).
func writePcapFile(t testing.TB, path string, lt layers.LinkType, nano bool, frames ...frame) {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nano {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(65536, lt); err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		n := f.origLen
		if n == 0 {
			n = len(f.data)
		}
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(f.data), Length: n}, f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLinkTypes reads the same UDP packet framed in every supported link
// type; the expected record comes from the values the frame was built from.
func TestLinkTypes(t *testing.T) {
	ts := time.Unix(1_600_000_000, 123_456_000)
	v4 := ipPacket(t, "10.0.0.1", "10.0.0.2", 17, 1111, 2222, 30)
	v6 := ipPacket(t, "2001:db8::1", "2001:db8::2", 17, 1111, 2222, 30)
	le := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	bev := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	sll := func(etype uint16) []byte {
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[2:], 772) // ARPHRD_LOOPBACK
		binary.BigEndian.PutUint16(h[4:], 6)
		binary.BigEndian.PutUint16(h[14:], etype)
		return h
	}
	sll2 := func(etype uint16) []byte {
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], etype)
		binary.BigEndian.PutUint32(h[4:], 1)
		binary.BigEndian.PutUint16(h[8:], 1)
		h[11] = 6
		return h
	}
	cat := func(a, b []byte) []byte { return append(append([]byte(nil), a...), b...) }
	for _, tc := range []struct {
		name string
		lt   layers.LinkType
		data []byte
		v6   bool
	}{
		{"ethernet v4", layers.LinkTypeEthernet, cat(ethHdr(0x0800, false), v4), false},
		{"ethernet v6", layers.LinkTypeEthernet, cat(ethHdr(0x86dd, false), v6), true},
		{"ethernet vlan", layers.LinkTypeEthernet, cat(ethHdr(0x0800, true), v4), false},
		{"sll v4", layers.LinkTypeLinuxSLL, cat(sll(0x0800), v4), false},
		{"sll v6", layers.LinkTypeLinuxSLL, cat(sll(0x86dd), v6), true},
		{"sll2 v4", layers.LinkTypeLinuxSLL2, cat(sll2(0x0800), v4), false},
		{"raw v4", layers.LinkTypeRaw, v4, false},
		{"raw v6", layers.LinkTypeRaw, v6, true},
		{"ipv4", layers.LinkTypeIPv4, v4, false},
		{"ipv6", layers.LinkTypeIPv6, v6, true},
		{"null le v4", layers.LinkTypeNull, cat(le(2), v4), false},
		{"null le v6 (darwin)", layers.LinkTypeNull, cat(le(30), v6), true},
		{"null be v6 (bsd)", layers.LinkTypeNull, cat(bev(24), v6), true},
		{"loop v4", layers.LinkTypeLoop, cat(bev(2), v4), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f.pcap")
			writePcapFile(t, p, tc.lt, false, frame{ts: ts, data: tc.data})
			recs, _ := readRecords(t, p)
			want := Record{Index: 1, TS: 1_600_000_000_123_456_000, Size: int32(len(tc.data)), Kind: KindIP, Proto: 17,
				Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 1111, DstPort: 2222}
			if tc.v6 {
				want.Src, want.Dst = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
			}
			if len(recs) != 1 || recs[0] != want {
				t.Errorf("got %+v\nwant %+v", recs, want)
			}
		})
	}
}

// TestDecodeSpecial: fragments, extension headers, other protocols, non-IP
// and malformed frames are all counted.
func TestDecodeSpecial(t *testing.T) {
	ts := time.Unix(1_600_000_000, 0)
	eth := func(etype uint16, b []byte) []byte { return append(ethHdr(etype, false), b...) }
	frag := ipPacket(t, "10.0.0.1", "10.0.0.2", 17, 1, 2, 30)
	binary.BigEndian.PutUint16(frag[6:8], 185) // fragment offset 185*8: no UDP header here
	icmp := ipPacket(t, "10.0.0.1", "10.0.0.2", 1, 0, 0, 8)
	// IPv6 with a hop-by-hop header (8 bytes) before UDP.
	v6 := ipPacket(t, "2001:db8::1", "2001:db8::2", 17, 5, 6, 4)
	hop := append(append([]byte(nil), v6[:40]...), 17, 0, 1, 4, 0, 0, 0, 0)
	hop = append(hop, v6[40:]...)
	hop[6] = 0
	binary.BigEndian.PutUint16(hop[4:6], uint16(len(hop)-40))
	arp := eth(0x0806, make([]byte, 28))
	bad := ipPacket(t, "10.0.0.1", "10.0.0.2", 17, 1, 2, 30)
	bad[0] = 0x42 // IHL 2
	p := filepath.Join(t.TempDir(), "special.pcap")
	writePcapFile(t, p, layers.LinkTypeEthernet, false,
		frame{ts: ts, data: eth(0x0800, frag)}, frame{ts: ts, data: eth(0x0800, icmp)},
		frame{ts: ts, data: eth(0x86dd, hop)}, frame{ts: ts, data: arp}, frame{ts: ts, data: eth(0x0800, bad)})
	recs, _ := readRecords(t, p)
	if len(recs) != 5 {
		t.Fatalf("%d records", len(recs))
	}
	check := func(i int, kind Kind, proto uint8, sport, dport uint16) {
		t.Helper()
		r := recs[i]
		if r.Kind != kind || r.Proto != proto || r.SrcPort != sport || r.DstPort != dport {
			t.Errorf("record %d: %+v, want kind %d proto %d ports %d %d", i+1, r, kind, proto, sport, dport)
		}
	}
	check(0, KindIP, 17, 0, 0) // non-first fragment: no ports
	check(1, KindIP, 1, 0, 0)
	check(2, KindIP, 17, 5, 6)
	check(3, KindNonIP, 0, 0, 0)
	check(4, KindMalformed, 0, 0, 0)
	l, err := List(p, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := l.ScanStats
	if st.Records != 5 || st.IP != 3 || st.NonIP != 1 || st.Malformed != 1 || st.UDP != 2 || st.OtherIP != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestPcapVariants: nanosecond files and sub-microsecond timestamps.
func TestPcapVariants(t *testing.T) {
	d := ipPacket(t, "10.0.0.1", "10.0.0.2", 17, 1, 2, 10)
	f := append(ethHdr(0x0800, false), d...)
	p := filepath.Join(t.TempDir(), "ns.pcap")
	writePcapFile(t, p, layers.LinkTypeEthernet, true, frame{ts: time.Unix(5, 999_999_999), data: f})
	recs, _ := readRecords(t, p)
	if len(recs) != 1 || recs[0].TS != 5_999_999_999 {
		t.Errorf("nanosecond pcap: %+v", recs)
	}
}

func pcapHeader(magic uint32, lt uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, magic)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	return binary.LittleEndian.AppendUint32(b, lt)
}

func recHeader(sec, frac, incl, orig uint32) []byte {
	var b []byte
	for _, v := range []uint32{sec, frac, incl, orig} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// TestPcapBadInput: every bad input of issue 3 item 7 gives an error that
// names the file and record.
func TestPcapBadInput(t *testing.T) {
	udp := append(ethHdr(0x0800, false), ipPacket(t, "10.0.0.1", "10.0.0.2", 17, 1, 2, 58)...) // 100 bytes
	reply := append(ethHdr(0x0800, false), ipPacket(t, "10.0.0.2", "10.0.0.1", 17, 2, 1, 58)...)
	rec := func(sec uint32, data []byte) []byte {
		return append(recHeader(sec, 0, uint32(len(data)), uint32(len(data))), data...)
	}
	hdr := pcapHeader(0xa1b2c3d4, 1)
	cat := func(parts ...[]byte) string {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return string(b)
	}
	arp := append(ethHdr(0x0806, false), make([]byte, 28)...)
	// The snap length cut the IPv4 header: 30 of 100 bytes captured.
	cut := append(recHeader(3, 0, 30, 100), udp[:30]...)
	ngSHB := func() []byte {
		b := binary.LittleEndian.AppendUint32(nil, 0x0a0d0d0a)
		b = binary.LittleEndian.AppendUint32(b, 28)
		b = binary.LittleEndian.AppendUint32(b, 0x1a2b3c4d)
		b = binary.LittleEndian.AppendUint16(b, 1)
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint64(b, ^uint64(0))
		return binary.LittleEndian.AppendUint32(b, 28)
	}
	ngIDB := func(lt uint16) []byte {
		b := binary.LittleEndian.AppendUint32(nil, 1)
		b = binary.LittleEndian.AppendUint32(b, 20)
		b = binary.LittleEndian.AppendUint16(b, lt)
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint32(b, 0)
		return binary.LittleEndian.AppendUint32(b, 20)
	}
	ngEPB := func(data []byte) []byte {
		pad := (4 - len(data)%4) % 4
		l := uint32(32 + len(data) + pad)
		b := binary.LittleEndian.AppendUint32(nil, 6)
		b = binary.LittleEndian.AppendUint32(b, l)
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, 1_000_000)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, data...)
		b = append(b, make([]byte, pad)...)
		return binary.LittleEndian.AppendUint32(b, l)
	}
	ngSPB := func(data []byte) []byte {
		l := uint32(16 + len(data))
		b := binary.LittleEndian.AppendUint32(nil, 3)
		b = binary.LittleEndian.AppendUint32(b, l)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, data...)
		return binary.LittleEndian.AppendUint32(b, l)
	}
	for _, tc := range []struct {
		name, content string
		want          []string
	}{
		{"empty", "", []string{"empty file"}},
		{"truncated file header", cat(hdr[:10]), []string{"truncated pcap file header"}},
		{"wrong magic", "\x00\x01\x02\x03\x04\x05\x06\x07", []string{"not a capture (pcap, pcapng or CSV)"}},
		{"bad version", cat(hdr[:4], []byte{9, 0}, hdr[6:]), []string{"file header", "version"}},
		{"unsupported link type", cat(pcapHeader(0xa1b2c3d4, 105)), []string{"link type", "unsupported link type 105"}},
		{"header only", cat(hdr), []string{"no IP packets among 0 records"}},
		{"truncated record header", cat(hdr, rec(1, udp), recHeader(2, 0, 100, 100)[:10]), []string{"record 2", "truncated record header"}},
		{"truncated record", cat(hdr, rec(1, udp), rec(2, reply)[:60]), []string{"record 2", "truncated record"}},
		{"caplen above origlen", cat(hdr, recHeader(1, 0, 100, 50), udp), []string{"record 1", "exceeds"}},
		{"bad fraction", cat(hdr, recHeader(1, 1_000_000, 100, 100), udp), []string{"record 1", "field timestamp", "fraction"}},
		{"snap-length cut", cat(hdr, rec(1, udp), rec(2, reply), cut), []string{"record 3", "snap length cut the IPv4 header", "captured 30 of 100"}},
		{"no IP packets", cat(hdr, rec(1, arp), rec(2, arp)), []string{"no IP packets among 2 records"}},
		{"one-sided", cat(hdr, rec(1, udp), rec(2, udp)), []string{"no two-way conversation", "1 one-sided"}},
		{"pcapng truncated block", cat(ngSHB(), ngIDB(1), ngEPB(udp)[:50]), []string{"record 1", "truncated block"}},
		{"pcapng unsupported link", cat(ngSHB(), ngIDB(105), ngEPB(udp)), []string{"record 1", "interface 0", "unsupported link type 105"}},
		{"pcapng simple packet", cat(ngSHB(), ngIDB(1), ngSPB(udp)), []string{"record 1", "without a timestamp"}},
		{"pcapng no packets", cat(ngSHB(), ngIDB(1)), []string{"no IP packets among 0 records"}},
		{"pcapng truncated header", cat(ngSHB()[:20]), []string{"truncated section header"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := strings.ReplaceAll(tc.name, " ", "_") + ".cap"
			p := writeTemp(t, file, tc.content)
			checkLoadError(t, p, file, tc.want)
		})
	}
	// The good pcapng blocks do read: the helpers are not the cause.
	p := writeTemp(t, "good.pcapng", cat(ngSHB(), ngIDB(1), ngEPB(udp), ngEPB(reply)))
	c, err := Load(p, Select{})
	if err != nil || len(c.Packets) != 2 || c.Packets[0].TS != 1_000_000*1000 {
		t.Errorf("good pcapng: %v, %v", c, err)
	}

	// Cut short (as head -c does): read up to the last whole record, with
	// the place named, unless Strict; tshark keeps the same records.
	for _, tc := range []struct{ name, content, where string }{
		{"cut.pcap", cat(hdr, rec(1, udp), rec(2, reply), rec(3, udp), rec(4, reply)[:60]), "record 4"},
		{"cut-header.pcap", cat(hdr, rec(1, udp), rec(2, reply), rec(3, udp), recHeader(4, 0, 100, 100)[:7]), "record 4"},
		{"cut.pcapng", cat(ngSHB(), ngIDB(1), ngEPB(udp), ngEPB(reply), ngEPB(udp), ngEPB(reply)[:40]), "record 4"},
	} {
		p := writeTemp(t, tc.name, tc.content)
		c, err := Load(p, Select{})
		if err != nil || len(c.Packets) != 3 || c.Truncated == nil || !errors.Is(c.Truncated, ErrTruncated) ||
			!strings.Contains(c.Truncated.Error(), tc.where) || !strings.Contains(c.Truncated.Error(), tc.name) {
			t.Errorf("%s: %d packets, truncated %v, error %v; want 3 packets and a truncation at %s", tc.name, len(c.Packets), c.Truncated, err, tc.where)
		}
		if _, err := Load(p, Select{Strict: true}); !errors.Is(err, ErrTruncated) {
			t.Errorf("%s strict: %v, want ErrTruncated", tc.name, err)
		}
	}
}

// TestGzip: a gzip-compressed capture reads like the plain one.
func TestGzip(t *testing.T) {
	c := synthetic(false)
	var plain bytes.Buffer
	w, _ := NewPcapWriter(&plain, WriterOptions{Server: c.Server, Client: c.Client})
	w.WriteConversation(c)
	w.Flush()
	var z bytes.Buffer
	zw := gzipWriter(&z)
	zw.Write(plain.Bytes())
	zw.Close()
	got, err := LoadReader(bytes.NewReader(z.Bytes()), "c.pcap.gz", Select{Server: c.Server.String(), Client: c.Client.String()})
	if err != nil || len(got.Packets) != len(c.Packets) {
		t.Fatalf("gzip: %v", err)
	}
}
