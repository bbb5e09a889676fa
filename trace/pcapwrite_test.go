package trace

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// synthetic returns a small conversation exercising the writer: UDP and
// TCP, the smallest frames (bare headers), large frames, sub-microsecond
// timestamps and a clock step.
func synthetic(v6 bool) *Conversation {
	c := &Conversation{Server: Endpoint{Addr: netip.MustParseAddr("10.1.2.3"), Port: 3478},
		Client: Endpoint{Addr: netip.MustParseAddr("192.168.7.9"), Port: 61000}, Proto: "any", Source: "synthetic"}
	if v6 {
		c.Server.Addr, c.Client.Addr = netip.MustParseAddr("2001:db8::10"), netip.MustParseAddr("2001:db8::20")
	}
	hdr := func(p uint8) int32 { return int32(headerLen(p, v6)) }
	ts := int64(1_700_000_000_123_456_789)
	add := func(dt int64, size int32, from Side, proto uint8) {
		ts += dt
		c.Packets = append(c.Packets, Packet{TS: ts, Size: size, From: from, Proto: proto})
	}
	add(0, hdr(6), Client, 6) // bare TCP header
	add(1500, hdr(6)+100, Server, 6)
	add(1, hdr(17), Client, 17) // bare UDP header
	add(20_000_000, 1514, Server, 17)
	add(-3_000, 200, Server, 17) // clock step
	add(999_999_999, 9000, Client, 17)
	add(7, hdr(6)+1, Client, 6)
	add(12, hdr(17)+18, Server, 17)
	return c
}

// tsharkFrames runs tshark on a file and returns frame lengths, timestamps
// (integer ns, parsed from the decimal text) and expert-info severities,
// with IP, UDP and TCP checksum validation on. stderr must be empty but
// for tshark's warning about running as root.
func tsharkFrames(t *testing.T, tshark, file string) (lens []int32, ts []int64, expert []string) {
	t.Helper()
	cmd := exec.Command(tshark, "-r", file, "-n",
		"-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
		"-T", "fields", "-E", "separator=/t", "-e", "frame.len", "-e", "frame.time_epoch", "-e", "_ws.expert.message")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %s: %v\n%s", file, err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if line != "" && !strings.Contains(line, "This could be dangerous") {
			t.Errorf("tshark stderr on %s: %s", file, line)
		}
	}
	for _, line := range strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			t.Fatalf("tshark line %q", line)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatalf("tshark frame.len %q", f[0])
		}
		sec, frac, _ := strings.Cut(f[1], ".")
		s, err1 := strconv.ParseInt(sec, 10, 64)
		ns, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("tshark frame.time_epoch %q", f[1])
		}
		lens = append(lens, int32(n))
		ts = append(ts, s*1e9+ns)
		if len(f) > 2 && f[2] != "" {
			expert = append(expert, f[2])
		}
	}
	return lens, ts, expert
}

// TestWriterTshark writes conversations in both formats and address
// families and checks with the real tshark that every frame is read with
// the right length and timestamp, valid checksums and no expert info.
func TestWriterTshark(t *testing.T) {
	tshark := lookTool(t, "tshark")
	skype, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	skype.Packets = skype.Packets[:3000] // UDP and TCP, sizes 54..1442
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		c    *Conversation
	}{{"skype", skype}, {"v4", synthetic(false)}, {"v6", synthetic(true)}} {
		for _, f := range []Format{FormatPcap, FormatPcapNG} {
			path := filepath.Join(dir, tc.name+"."+f.String())
			if err := WritePcap(path, tc.c, WriterOptions{Format: f}); err != nil {
				t.Fatal(err)
			}
			lens, ts, expert := tsharkFrames(t, tshark, path)
			if len(lens) != len(tc.c.Packets) {
				t.Fatalf("%s: tshark read %d frames, wrote %d", path, len(lens), len(tc.c.Packets))
			}
			for i, p := range tc.c.Packets {
				if lens[i] != p.Size || ts[i] != p.TS {
					t.Errorf("%s frame %d: tshark len %d ts %d, want %d %d", path, i+1, lens[i], ts[i], p.Size, p.TS)
				}
			}
			if len(expert) > 0 {
				t.Errorf("%s: tshark expert info: %v", path, expert)
			}
		}
	}
}

// TestWriterRoundTrip: writer -> reader -> writer gives the same packets
// and byte-identical files.
func TestWriterRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, v6 := range []bool{false, true} {
		c := synthetic(v6)
		for _, f := range []Format{FormatPcap, FormatPcapNG} {
			p1 := filepath.Join(dir, "a."+f.String())
			p2 := filepath.Join(dir, "b."+f.String())
			if err := WritePcap(p1, c, WriterOptions{Format: f}); err != nil {
				t.Fatal(err)
			}
			auto, err := Load(p1, Select{})
			if err != nil {
				t.Fatal(err)
			}
			// The first packet is the client's: the automatic choice finds
			// the roles (by address: ports are not part of an automatic pick).
			if auto.Server.Addr != c.Server.Addr || auto.Client.Addr != c.Client.Addr || auto.Server.Port != 0 {
				t.Errorf("%v: roles server %v client %v, want %v %v", f, auto.Server, auto.Client, c.Server.Addr, c.Client.Addr)
			}
			back, err := Load(p1, Select{Server: c.Server.String(), Client: c.Client.String()})
			if err != nil {
				t.Fatal(err)
			}
			if back.Server != c.Server || back.Client != c.Client || !reflect.DeepEqual(auto.Packets, back.Packets) {
				t.Errorf("%v: explicit select: server %v client %v, want %v %v", f, back.Server, back.Client, c.Server, c.Client)
			}
			if !reflect.DeepEqual(back.Packets, c.Packets) || back.ClockSteps != 1 {
				t.Errorf("%v v6=%v: read back\n%+v\nwant\n%+v", f, v6, back.Packets, c.Packets)
			}
			if err := WritePcap(p2, back, WriterOptions{Format: f}); err != nil {
				t.Fatal(err)
			}
			b1, _ := os.ReadFile(p1)
			b2, _ := os.ReadFile(p2)
			if !bytes.Equal(b1, b2) {
				t.Errorf("%v v6=%v: second write differs from the first", f, v6)
			}
		}
		// CSV round trip: the CSV keeps UDP/TCP, sizes, times to the ns.
		var buf bytes.Buffer
		if err := WriteCSV(&buf, c); err != nil {
			t.Fatal(err)
		}
		back, err := LoadReader(bytes.NewReader(buf.Bytes()), "mem.csv", Select{Server: c.Server.Addr.String(), Client: c.Client.Addr.String()})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Packets, c.Packets) {
			t.Errorf("csv v6=%v: read back\n%+v\nwant\n%+v", v6, back.Packets, c.Packets)
		}
		var buf2 bytes.Buffer
		if err := WriteCSV(&buf2, back); err != nil || !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
			t.Errorf("csv v6=%v: second write differs (%v)", v6, err)
		}
	}
}

// TestWriterFrames decodes written frames with gopacket's own layer
// decoders (an independent implementation) and checks every header field
// the writer promises.
func TestWriterFrames(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		c := synthetic(v6)
		var buf bytes.Buffer
		w, err := NewPcapWriter(&buf, WriterOptions{Server: c.Server, Client: c.Client})
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("SPAT\x01\x02")
		for i, p := range c.Packets {
			var err error
			if i == 5 {
				err = w.WritePayload(p, prefix)
			} else {
				err = w.WritePacket(p)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range c.Packets {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				t.Fatal(err)
			}
			if ci.Timestamp.UnixNano() != p.TS || ci.Length != int(p.Size) || len(data) != int(p.Size) {
				t.Errorf("frame %d: ts %d len %d/%d, want %d %d", i+1, ci.Timestamp.UnixNano(), ci.Length, len(data), p.TS, p.Size)
			}
			pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
			if el := pkt.ErrorLayer(); el != nil {
				t.Fatalf("frame %d: gopacket: %v", i+1, el.Error())
			}
			src, dst := c.Server, c.Client
			if p.From == Client {
				src, dst = dst, src
			}
			var gotSrc, gotDst netip.Addr
			var ipPayload int
			if v6 {
				ip := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				gotSrc, gotDst = netip.MustParseAddr(ip.SrcIP.String()), netip.MustParseAddr(ip.DstIP.String())
				ipPayload = int(ip.Length)
				if ipPayload != int(p.Size)-14-40 {
					t.Errorf("frame %d: IPv6 payload length %d, want %d", i+1, ipPayload, p.Size-54)
				}
			} else {
				ip := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				gotSrc, gotDst = netip.MustParseAddr(ip.SrcIP.String()), netip.MustParseAddr(ip.DstIP.String())
				if int(ip.Length) != int(p.Size)-14 {
					t.Errorf("frame %d: IPv4 total length %d, want %d", i+1, ip.Length, p.Size-14)
				}
			}
			if gotSrc != src.Addr || gotDst != dst.Addr {
				t.Errorf("frame %d: %v -> %v, want %v -> %v", i+1, gotSrc, gotDst, src.Addr, dst.Addr)
			}
			var payload []byte
			switch p.Proto {
			case 6:
				tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if !ok {
					t.Fatalf("frame %d: no TCP layer", i+1)
				}
				if uint16(tcp.SrcPort) != src.Port || uint16(tcp.DstPort) != dst.Port || !tcp.ACK {
					t.Errorf("frame %d: TCP %d -> %d", i+1, tcp.SrcPort, tcp.DstPort)
				}
				payload = tcp.Payload
			case 17:
				udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
				if !ok {
					t.Fatalf("frame %d: no UDP layer", i+1)
				}
				if uint16(udp.SrcPort) != src.Port || uint16(udp.DstPort) != dst.Port || int(udp.Length) != int(p.Size)-headerLen(17, v6)+8 {
					t.Errorf("frame %d: UDP %d -> %d length %d", i+1, udp.SrcPort, udp.DstPort, udp.Length)
				}
				payload = udp.Payload
			}
			if i == 5 && !bytes.HasPrefix(payload, prefix) {
				t.Errorf("frame %d: payload starts % x, want prefix % x", i+1, payload[:min(len(payload), 8)], prefix)
			}
		}
	}
}

func TestWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	if _, err := NewPcapWriter(&buf, WriterOptions{Server: Endpoint{Addr: netip.MustParseAddr("::1")}, Client: Endpoint{Addr: netip.MustParseAddr("10.0.0.1")}}); err == nil {
		t.Error("mixed families: no error")
	}
	if _, err := NewPcapWriter(&buf, WriterOptions{Proto: "sctp"}); err == nil {
		t.Error("bad proto: no error")
	}
	if _, err := NewPcapWriter(&buf, WriterOptions{Format: FormatCSV}); err == nil {
		t.Error("csv format: no error")
	}
	w, err := NewPcapWriter(&buf, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p      Packet
		prefix []byte
		want   string
	}{
		{Packet{TS: 1, Size: 41, Proto: 17}, nil, "smaller than its 42 header bytes"},
		{Packet{TS: 1, Size: 53, Proto: 6}, nil, "smaller than its 54 header bytes"},
		{Packet{TS: 1, Size: 45, Proto: 17}, []byte("1234"), "plus 4 payload bytes"},
		{Packet{TS: 1, Size: 70000, Proto: 17}, nil, "largest IP packet"},
		{Packet{TS: -1, Size: 100, Proto: 17}, nil, "timestamp"},
		{Packet{TS: 1, Size: 100, Proto: 17, From: 5}, nil, "side"},
	} {
		err := w.WritePayload(tc.p, tc.prefix)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "trace: ") {
			t.Errorf("%+v: error %v, want %q", tc.p, err, tc.want)
		}
	}
	if w.Count() != 0 {
		t.Errorf("%d packets counted after errors", w.Count())
	}
	// Valid after every flush: a reader sees exactly the flushed packets.
	buf.Reset()
	w, _ = NewPcapWriter(&buf, WriterOptions{Format: FormatPcapNG})
	for i := 1; i <= 3; i++ {
		if err := w.WritePacket(Packet{TS: int64(i) * 1e9, Size: 100, Proto: 17, From: Side(i % 2)}); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		l, err := ListReader(bytes.NewReader(buf.Bytes()), "flushed.pcapng", ListOptions{})
		if err != nil || l.Records != i {
			t.Fatalf("after %d flushes: %v records, %v", i, l, err)
		}
	}
}
