package trace

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"io"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// scanAll reads every record of data; it returns the records, the scanner
// (nil if opening failed) and the error that ended the scan (nil at EOF).
func scanAll(t *testing.T, data []byte, name string) ([]Record, *Scanner, error) {
	s, err := NewScanner(bytes.NewReader(data), name)
	if err != nil {
		checkErr(t, err, name)
		return nil, nil, err
	}
	var recs []Record
	for {
		var r Record
		err := s.Next(&r)
		if errors.Is(err, io.EOF) {
			// A file cut inside a record reads to its last whole record
			// and reports the cut: for the oracles that is the error
			// naming the record (what --strict returns).
			if tr := s.Truncated(); tr != nil {
				checkErr(t, tr, name)
				return recs, s, tr
			}
			return recs, s, nil
		}
		if err != nil {
			checkErr(t, err, name)
			return recs, s, err
		}
		recs = append(recs, r)
	}
}

// checkErr: every error names the package and the file.
func checkErr(t *testing.T, err error, name string) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, "trace: ") || !strings.Contains(msg, name) {
		t.Fatalf("error %q does not start with trace: and name %s", msg, name)
	}
}

// checkAccounting: every record is counted once in the stats, every record
// index is its position, and a conversation loaded from the data holds
// exactly the matching IP records.
func checkAccounting(t *testing.T, data []byte, name string, recs []Record, s *Scanner) {
	t.Helper()
	st := s.Stats()
	if st.Records != len(recs) || st.IP+st.NonIP+st.Malformed != st.Records || st.UDP+st.TCP+st.OtherIP != st.IP {
		t.Fatalf("stats %+v do not account for %d records", st, len(recs))
	}
	steps := 0
	for i, r := range recs {
		if r.Index != i+1 {
			t.Fatalf("record %d has index %d", i+1, r.Index)
		}
		if r.Size <= 0 {
			t.Fatalf("record %d: size %d", i+1, r.Size)
		}
		if i > 0 && r.TS < recs[i-1].TS {
			steps++
		}
	}
	if steps != st.ClockSteps {
		t.Fatalf("%d clock steps counted, %d in the records", st.ClockSteps, steps)
	}
	c, err := LoadReader(bytes.NewReader(data), name, Select{})
	if err != nil {
		checkErr(t, err, name)
		return
	}
	var want []Packet
	for _, r := range recs {
		if r.Kind != KindIP {
			continue
		}
		if c.Proto != "any" && protoName(r.Proto) != c.Proto {
			continue
		}
		switch {
		case c.Server.Matches(r.Src, r.SrcPort) && c.Client.Matches(r.Dst, r.DstPort):
			want = append(want, Packet{TS: r.TS, Size: r.Size, From: Server, Proto: r.Proto})
		case c.Client.Matches(r.Src, r.SrcPort) && c.Server.Matches(r.Dst, r.DstPort):
			want = append(want, Packet{TS: r.TS, Size: r.Size, From: Client, Proto: r.Proto})
		}
	}
	if len(want) != len(c.Packets) {
		t.Fatalf("conversation has %d packets, the records %d", len(c.Packets), len(want))
	}
	for i := range want {
		if want[i] != c.Packets[i] {
			t.Fatalf("conversation packet %d: %+v, record says %+v", i+1, c.Packets[i], want[i])
		}
	}
	// The bursts partition the packets, alternating sides.
	n := 0
	for i, b := range c.Bursts() {
		if b.Start != n || b.Count != b.End-b.Start || b.Count < 1 || (i > 0 && b.From == c.Packets[n-1].From) {
			t.Fatalf("burst %d %+v does not continue the partition at packet %d", i, b, n)
		}
		n = b.End
	}
	if n != len(c.Packets) {
		t.Fatalf("bursts cover %d of %d packets", n, len(c.Packets))
	}
}

// oracleMaxSec is 2200-01-01T00:00:00Z in seconds since the epoch, the end
// of the accepted timestamp range (computed with Python's datetime, not with
// the code under test).
const oracleMaxSec = 7258118400

// oraclePcap parses classic pcap record headers independently: the
// expected timestamp and frame length of each record, and whether the whole
// file is well formed at that level.
type oracleRec struct {
	ts   int64
	orig int
}

func oraclePcap(b []byte) (recs []oracleRec, clean bool) {
	if len(b) < 24 {
		return nil, false
	}
	var order binary.ByteOrder = binary.LittleEndian
	scale, fracMax := int64(1000), uint32(1e6)
	switch binary.BigEndian.Uint32(b[0:4]) {
	case 0xd4c3b2a1:
	case 0xa1b2c3d4:
		order = binary.BigEndian
	case 0x4d3cb2a1:
		scale, fracMax = 1, 1e9
	case 0xa1b23c4d:
		order, scale, fracMax = binary.BigEndian, 1, 1e9
	default:
		return nil, false
	}
	snap := int(order.Uint32(b[16:20]))
	for off := 24; ; {
		if off == len(b) {
			return recs, true
		}
		if len(b)-off < 16 {
			return recs, false
		}
		h := b[off : off+16]
		frac, incl, orig := order.Uint32(h[4:8]), int(order.Uint32(h[8:12])), int(order.Uint32(h[12:16]))
		if frac >= fracMax || incl > orig || incl > max(snap, 262144) || len(b)-off-16 < incl {
			return recs, false
		}
		recs = append(recs, oracleRec{ts: int64(order.Uint32(h[0:4]))*1e9 + int64(frac)*scale, orig: orig})
		off += 16 + incl
	}
}

func seedPcaps(f *testing.F) {
	eth := append(ethHdr(0x0800, false), ipPacket(f, "10.0.0.1", "10.0.0.2", 17, 1000, 2000, 20)...)
	back := append(ethHdr(0x0800, false), ipPacket(f, "10.0.0.2", "10.0.0.1", 17, 2000, 1000, 40)...)
	v6 := append(ethHdr(0x86dd, false), ipPacket(f, "2001:db8::1", "2001:db8::2", 6, 1, 2, 0)...)
	for _, nano := range []bool{false, true} {
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		if nano {
			w = pcapgo.NewWriterNanos(&buf)
		}
		w.WriteFileHeader(65535, layers.LinkTypeEthernet)
		for i, d := range [][]byte{eth, back, v6, eth[:30], back} {
			orig := len(d)
			if i == 3 {
				orig = len(eth)
			}
			w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(int64(1000-i), int64(i*1001)), CaptureLength: len(d), Length: orig}, d)
		}
		f.Add(buf.Bytes())
		f.Add(buf.Bytes()[:buf.Len()-7])
	}
	c := synthetic(false)
	var buf bytes.Buffer
	w, _ := NewPcapWriter(&buf, WriterOptions{Server: c.Server, Client: c.Client})
	w.WriteConversation(c)
	w.Flush()
	f.Add(buf.Bytes())
}

// FuzzPcap: on any input the pcap path either reads records whose
// timestamps and lengths equal an independent parse of the record headers,
// accounted for in the stats and the conversation, or stops with an error
// naming the file and record; never a panic.
func FuzzPcap(f *testing.F) {
	seedPcaps(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.pcap"
		recs, s, err := scanAll(t, data, name)
		if s == nil {
			return
		}
		if s.Format() != FormatPcap {
			return // the fuzzer changed the magic: another format's job
		}
		want, clean := oraclePcap(data)
		if len(recs) > len(want) {
			t.Fatalf("%d records read, the headers hold %d", len(recs), len(want))
		}
		for i, r := range recs {
			if r.TS != want[i].ts || int(r.Size) != want[i].orig {
				t.Fatalf("record %d: ts %d size %d, header says %d %d", i+1, r.TS, r.Size, want[i].ts, want[i].orig)
			}
		}
		if err == nil && (!clean || len(recs) != len(want)) {
			t.Fatalf("read %d records to EOF, but the file has %d records (well formed: %v)", len(recs), len(want), clean)
		}
		if err != nil && !strings.Contains(err.Error(), "record "+strconv.Itoa(len(recs)+1)) {
			t.Fatalf("error after %d records does not name record %d: %v", len(recs), len(recs)+1, err)
		}
		if err == nil {
			checkAccounting(t, data, name, recs, s)
		}
	})
}

func seedPcapNGs(f *testing.F) {
	var buf bytes.Buffer
	w, _ := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth", LinkType: layers.LinkTypeEthernet, TimestampResolution: 9}, pcapgo.DefaultNgWriterOptions)
	raw, _ := w.AddInterface(pcapgo.NgInterface{Name: "raw", LinkType: layers.LinkTypeRaw, TimestampResolution: 9})
	sll, _ := w.AddInterface(pcapgo.NgInterface{Name: "sll2", LinkType: layers.LinkTypeLinuxSLL2, TimestampResolution: 9})
	ip1 := ipPacket(f, "10.0.0.1", "10.0.0.2", 17, 1000, 2000, 20)
	ip2 := ipPacket(f, "10.0.0.2", "10.0.0.1", 17, 2000, 1000, 40)
	sllHdr := make([]byte, 20)
	binary.BigEndian.PutUint16(sllHdr, 0x0800)
	for i, fr := range []struct {
		intf int
		data []byte
	}{{0, append(ethHdr(0x0800, false), ip1...)}, {raw, ip2}, {sll, append(sllHdr, ip1...)}, {raw, ip2}} {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(100, int64(i)*7), InterfaceIndex: fr.intf, CaptureLength: len(fr.data), Length: len(fr.data)}, fr.data)
	}
	w.Flush()
	f.Add(buf.Bytes())
	c := synthetic(true)
	var b2 bytes.Buffer
	pw, _ := NewPcapWriter(&b2, WriterOptions{Format: FormatPcapNG, Server: c.Server, Client: c.Client})
	pw.WriteConversation(c)
	pw.Flush()
	f.Add(b2.Bytes())
}

// FuzzPcapNG: on any input the pcapng path reads exactly the packets
// gopacket's NgReader reads (same count, timestamps, lengths), accounts for
// them, or stops with an error naming the file and record.
func FuzzPcapNG(f *testing.F) {
	seedPcapNGs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.pcapng"
		recs, s, err := scanAll(t, data, name)
		if s == nil || s.Format() != FormatPcapNG {
			return
		}
		r, rerr := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if rerr != nil {
			t.Fatalf("NgReader refuses a file the scanner opened: %v", rerr)
		}
		for i, rec := range recs {
			_, ci, err := r.ReadPacketData()
			if err != nil {
				t.Fatalf("record %d: NgReader: %v", i+1, err)
			}
			// Seconds and nanoseconds separately: UnixNano overflows
			// outside 1678..2262, which the scanner must refuse.
			sec, nsec := ci.Timestamp.Unix(), int64(ci.Timestamp.Nanosecond())
			if sec < 0 || sec >= oracleMaxSec || rec.TS/1e9 != sec || rec.TS%1e9 != nsec || ci.Length != int(rec.Size) {
				t.Fatalf("record %d: ts %d size %d, NgReader %d s %d ns %d", i+1, rec.TS, rec.Size, sec, nsec, ci.Length)
			}
		}
		if err == nil {
			if _, _, e := r.ReadPacketData(); !errors.Is(e, io.EOF) {
				t.Fatalf("scanner stopped after %d records, NgReader goes on (%v)", len(recs), e)
			}
			checkAccounting(t, data, name, recs, s)
		} else if !strings.Contains(err.Error(), "record "+strconv.Itoa(len(recs)+1)) && !strings.Contains(err.Error(), "section header") {
			t.Fatalf("error after %d records does not name record %d: %v", len(recs), len(recs)+1, err)
		}
	})
}

// FuzzCSV: on any input the CSV path reads rows whose fields equal an
// independent parse (encoding/csv, net/netip, time.Parse), every data row
// becomes one record, or it stops with an error naming the file and line.
func FuzzCSV(f *testing.F) {
	f.Add([]byte(csvHeader + "181,192.168.1.133,124.123.243.15,74,74,2015-08-25,19:47:34.193906\r\n194,124.123.243.15,192.168.1.133,74,74,2015-08-25,19:47:34.263601\r\n"))
	f.Add([]byte(csvHeader + "1,10.0.0.1,10.0.0.2,100,42,2015-08-25,10:00:00\n2,10.0.0.2,10.0.0.1,60,43,2015-08-25,09:59:59.999999999\n"))
	f.Add([]byte("src,dst,size,date,time\n::1,::2,100,1999-12-31,23:59:59.5\n::2,::1,1,2000-01-01,00:00:00\n"))
	f.Add([]byte(csvHeader + "1,10.0.0.1,10.0.0.2,abc,42,2015-08-25,10:00:00\n"))
	f.Add([]byte(csvHeader + "1,10.0.0.1\n"))
	f.Add([]byte(csvHeader + "1,10.0.0.1,10.0.0.2,100,42,3000-01-01,10:00:00\n"))
	f.Add([]byte(csvHeader + "1,10.0.0.1,10.0.0.2,100,42,1000-01-01,10:00:00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.csv"
		recs, s, err := scanAll(t, data, name)
		if s == nil || s.Format() != FormatCSV {
			return
		}
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		hdr, herr := cr.Read()
		if herr != nil {
			t.Fatalf("encoding/csv cannot read the header the scanner read: %v", herr)
		}
		col := map[string]int{}
		for i, h := range hdr {
			col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
		}
		var rows [][]string
		for {
			row, e := cr.Read()
			if e != nil {
				break
			}
			if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
				continue
			}
			rows = append(rows, row)
		}
		if len(recs) > len(rows) {
			t.Fatalf("%d records from %d rows", len(recs), len(rows))
		}
		if err == nil && len(recs) != len(rows) {
			t.Fatalf("%d records from %d rows without an error", len(recs), len(rows))
		}
		for i, r := range recs {
			row := rows[i]
			src, e1 := netip.ParseAddr(strings.TrimSpace(row[col["src"]]))
			dst, e2 := netip.ParseAddr(strings.TrimSpace(row[col["dst"]]))
			size, e3 := strconv.Atoi(strings.TrimSpace(row[col["size"]]))
			tm, e4 := time.Parse("2006-01-02 15:04:05", strings.TrimSpace(row[col["date"]])+" "+strings.TrimSpace(row[col["time"]]))
			if e1 != nil || e2 != nil || e3 != nil || e4 != nil {
				t.Fatalf("row %d accepted by the scanner, rejected by the oracle: %v %v %v %v", i+1, e1, e2, e3, e4)
			}
			sec, nsec := tm.Unix(), int64(tm.Nanosecond())
			if sec < 0 || sec >= oracleMaxSec {
				t.Fatalf("row %d %q: date outside 1970..2199 accepted as %d", i+1, row, r.TS)
			}
			if r.Src != src.Unmap() || r.Dst != dst.Unmap() || int(r.Size) != size || r.TS/1e9 != sec || r.TS%1e9 != nsec || r.Kind != KindIP {
				t.Fatalf("row %d %q: record %+v, oracle %v %v %d %d s %d ns", i+1, row, r, src, dst, size, sec, nsec)
			}
		}
		if err == nil && len(recs) < len(rows) {
			t.Fatalf("stopped after %d of %d rows without an error", len(recs), len(rows))
		}
		if err == nil {
			checkAccounting(t, data, name, recs, s)
		}
	})
}

// FuzzWriterRoundTrip: any conversation (decoded from the fuzz input)
// written as pcap, pcapng and CSV reads back to exactly the same packets.
func FuzzWriterRoundTrip(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, false)
	f.Add([]byte("\xff\xff\xff\x00\x10\x80\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"), true)
	f.Fuzz(func(t *testing.T, spec []byte, v6 bool) {
		c := &Conversation{Server: Endpoint{Addr: netip.MustParseAddr("10.9.8.7"), Port: 443},
			Client: Endpoint{Addr: netip.MustParseAddr("172.16.0.5"), Port: 55555}, Proto: "any", Source: "fuzz"}
		if v6 {
			c.Server.Addr, c.Client.Addr = netip.MustParseAddr("fd00::7"), netip.MustParseAddr("fd00::5")
		}
		ts := int64(1_500_000_000_000_000_000)
		// 4 bytes per packet: signed delta (us, times a multiplier), size, side/proto.
		for i := 0; i+4 <= len(spec) && len(c.Packets) < 200; i += 4 {
			ts += int64(int8(spec[i]))*997_001 + int64(spec[i+1])
			proto := uint8(17)
			if spec[i+3]&2 != 0 {
				proto = 6
			}
			size := int32(headerLen(proto, v6)) + int32(spec[i+2])*6
			c.Packets = append(c.Packets, Packet{TS: ts, Size: size, From: Side(spec[i+3] & 1), Proto: proto})
		}
		if c.Count(Server) == 0 || c.Count(Client) == 0 {
			return
		}
		for i := 1; i < len(c.Packets); i++ {
			if c.Packets[i].TS < c.Packets[i-1].TS {
				c.ClockSteps++
			}
		}
		sel := Select{Server: c.Server.String(), Client: c.Client.String()}
		for _, format := range []Format{FormatPcap, FormatPcapNG, FormatCSV} {
			var buf bytes.Buffer
			var err error
			if format == FormatCSV {
				err = WriteCSV(&buf, c)
				sel = Select{Server: c.Server.Addr.String(), Client: c.Client.Addr.String()}
			} else {
				var w *PcapWriter
				if w, err = NewPcapWriter(&buf, WriterOptions{Format: format, Server: c.Server, Client: c.Client}); err == nil {
					if err = w.WriteConversation(c); err == nil {
						err = w.Flush()
					}
				}
			}
			if err != nil {
				t.Fatalf("%v: write: %v", format, err)
			}
			back, err := LoadReader(bytes.NewReader(buf.Bytes()), "rt."+format.String(), sel)
			if err != nil {
				t.Fatalf("%v: read: %v", format, err)
			}
			if len(back.Packets) != len(c.Packets) || back.ClockSteps != c.ClockSteps {
				t.Fatalf("%v: %d packets (%d steps) back, wrote %d (%d)", format, len(back.Packets), back.ClockSteps, len(c.Packets), c.ClockSteps)
			}
			for i := range c.Packets {
				if back.Packets[i] != c.Packets[i] {
					t.Fatalf("%v: packet %d: %+v, wrote %+v", format, i+1, back.Packets[i], c.Packets[i])
				}
			}
		}
	})
}

// oracleCompact parses an uncompressed compact stream independently of
// decodeCompact, with math/big for the timestamps so that no sum can
// overflow. ok is false for any malformed or out-of-range input.
func oracleCompact(b []byte) (ts []int64, sizes []uint64, sides, protos []byte, ok bool) {
	p := 0
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(b[p:])
		if n <= 0 {
			return 0, false
		}
		p += n
		return v, true
	}
	sv := func() (int64, bool) {
		v, n := binary.Varint(b[p:])
		if n <= 0 {
			return 0, false
		}
		p += n
		return v, true
	}
	skip := func(n uint64) bool {
		if n > uint64(len(b)-p) {
			return false
		}
		p += int(n)
		return true
	}
	if len(b) < 4 || string(b[:4]) != "SPC1" {
		return nil, nil, nil, nil, false
	}
	p = 4
	if v, good := uv(); !good || v != 1 {
		return nil, nil, nil, nil, false
	}
	str := func() bool { n, good := uv(); return good && n <= 4096 && skip(n) }
	ep := func() bool {
		if p >= len(b) {
			return false
		}
		l := uint64(b[p])
		p++
		if l != 0 && l != 4 && l != 16 || !skip(l) {
			return false
		}
		port, good := uv()
		return good && port <= 65535
	}
	if !str() || !ep() || !ep() || !str() {
		return nil, nil, nil, nil, false
	}
	n, good := uv()
	if !good || n > uint64(len(b)) { // every packet takes at least 4 bytes
		return nil, nil, nil, nil, false
	}
	unit, good := uv()
	if !good || unit != 1 && unit != 1000 {
		return nil, nil, nil, nil, false
	}
	acc, lo, hi := new(big.Int), big.NewInt(0), new(big.Int).Mul(big.NewInt(oracleMaxSec), big.NewInt(1e9))
	for i := uint64(0); i < n; i++ {
		d, good := sv()
		if !good {
			return nil, nil, nil, nil, false
		}
		bd := big.NewInt(d)
		if i > 0 {
			bd.Mul(bd, big.NewInt(int64(unit)))
		}
		acc.Add(acc, bd)
		if acc.Cmp(lo) < 0 || acc.Cmp(hi) >= 0 {
			return nil, nil, nil, nil, false
		}
		ts = append(ts, acc.Int64())
	}
	for i := uint64(0); i < n; i++ {
		v, good := uv()
		if !good || v == 0 || v > 1<<31-1 {
			return nil, nil, nil, nil, false
		}
		sizes = append(sizes, v)
	}
	if uint64(len(b)-p) != 2*n {
		return nil, nil, nil, nil, false
	}
	sides, protos = b[p:p+int(n)], b[p+int(n):]
	for _, s := range sides {
		if s > 1 {
			return nil, nil, nil, nil, false
		}
	}
	return ts, sizes, sides, protos, true
}

// FuzzCompact: on any uncompressed compact stream the decoder accepts
// exactly what an independent parse (big-integer timestamps, range
// 1970..2199) accepts, with the same packets, and an accepted conversation
// survives an encode/decode round trip; errors name the file.
func FuzzCompact(f *testing.F) {
	raw := func(c *Conversation) []byte {
		var z bytes.Buffer
		if err := EncodeCompact(&z, c); err != nil {
			f.Fatal(err)
		}
		zr, err := gzip.NewReader(&z)
		if err != nil {
			f.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(raw(synthetic(false)))
	f.Add(raw(synthetic(true)))
	c := synthetic(false)
	c.Packets[1].TS += 7 // deltas not whole microseconds: unit 1
	f.Add(raw(c))
	f.Add([]byte("SPC1\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.spc"
		got, err := decodeCompact(bufio.NewReader(bytes.NewReader(data)), name)
		ts, sizes, sides, protos, ok := oracleCompact(data)
		if err != nil {
			checkErr(t, err, name)
			if ok {
				t.Fatalf("decoder refuses what the oracle accepts: %v", err)
			}
			return
		}
		if !ok {
			t.Fatalf("decoder accepts %d packets the oracle refuses", len(got.Packets))
		}
		if len(got.Packets) != len(ts) {
			t.Fatalf("%d packets, oracle %d", len(got.Packets), len(ts))
		}
		for i, p := range got.Packets {
			if p.TS != ts[i] || uint64(p.Size) != sizes[i] || byte(p.From) != sides[i] || p.Proto != protos[i] {
				t.Fatalf("packet %d: %+v, oracle ts %d size %d side %d proto %d", i+1, p, ts[i], sizes[i], sides[i], protos[i])
			}
		}
		var z bytes.Buffer
		if err := EncodeCompact(&z, got); err != nil {
			t.Fatalf("decoded conversation does not encode: %v", err)
		}
		back, err := DecodeCompact(&z, "rt.spc")
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if len(back.Packets) != len(got.Packets) || back.ClockSteps != got.ClockSteps || back.Server != got.Server || back.Client != got.Client || back.Proto != got.Proto || back.Source != got.Source {
			t.Fatalf("round trip changed the conversation")
		}
		for i := range got.Packets {
			if back.Packets[i] != got.Packets[i] {
				t.Fatalf("round trip packet %d: %+v, was %+v", i+1, back.Packets[i], got.Packets[i])
			}
		}
	})
}
