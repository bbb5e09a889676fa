package trace

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tsharkRecords reads a capture with tshark, an independent reader, and
// returns the fields a Record holds (Index and Kind aside: frames without
// an IP source are returned with Kind KindNonIP).
func tsharkRecords(t *testing.T, file string) []Record {
	t.Helper()
	tshark := lookTool(t, "tshark")
	cmd := exec.Command(tshark, "-r", file, "-n", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f",
		"-e", "frame.len", "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst",
		"-e", "ip.proto", "-e", "ipv6.nxt", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "tcp.srcport", "-e", "tcp.dstport")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	var recs []Record
	for i, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		for len(f) < 12 {
			f = append(f, "")
		}
		n, _ := strconv.Atoi(f[0])
		sec, frac, _ := strings.Cut(f[1], ".")
		s, _ := strconv.ParseInt(sec, 10, 64)
		ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		r := Record{Index: i + 1, TS: s*1e9 + ns, Size: int32(n), Kind: KindNonIP}
		src, dst, proto := f[2], f[3], f[6]
		if src == "" {
			src, dst, proto = f[4], f[5], f[7]
		}
		if src != "" {
			r.Kind = KindIP
			r.Src, r.Dst = netip.MustParseAddr(src), netip.MustParseAddr(dst)
			p, _ := strconv.Atoi(proto)
			r.Proto = uint8(p)
			port := func(a, b string) {
				x, _ := strconv.Atoi(a)
				y, _ := strconv.Atoi(b)
				r.SrcPort, r.DstPort = uint16(x), uint16(y)
			}
			if f[8] != "" {
				port(f[8], f[9])
			} else if f[10] != "" {
				port(f[10], f[11])
			}
		}
		recs = append(recs, r)
	}
	return recs
}

// readRecords reads every record of a file with the package's Scanner.
func readRecords(t *testing.T, file string) ([]Record, Format) {
	t.Helper()
	s, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var recs []Record
	for {
		var r Record
		err := s.Next(&r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return recs, s.Format()
}

// capture runs tcpdump on iface while a UDP client on 127.0.0.1 exchanges
// datagrams with a server on 127.0.0.1, and returns the capture file, the
// client and server endpoints, and the payload sizes in sending order
// (client request, server reply, ...). Bounded by a 20 s timeout.
func capture(t *testing.T, iface string, extra ...string) (file string, client, server Endpoint, payloads []int) {
	t.Helper()
	tcpdump := lookTool(t, "tcpdump")
	srv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	server = Endpoint{Addr: netip.MustParseAddr("127.0.0.1"), Port: uint16(srv.LocalAddr().(*net.UDPAddr).Port)}
	client = Endpoint{Addr: netip.MustParseAddr("127.0.0.1"), Port: uint16(cli.LocalAddr().(*net.UDPAddr).Port)}

	file = filepath.Join(t.TempDir(), "cap.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := append([]string{"-i", iface, "-U", "--immediate-mode", "-n", "-w", file}, extra...)
	args = append(args, fmt.Sprintf("udp and host 127.0.0.1 and port %d", server.Port))
	cmd := exec.CommandContext(ctx, tcpdump, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		skipOrFail(t, "tcpdump: %v", err)
	}
	ready := make(chan string, 1)
	done := make(chan struct{})
	var errText bytes.Buffer // written by the reader goroutine until done
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			errText.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "listening on") {
				ready <- sc.Text()
			}
		}
	}()
	select {
	case <-ready:
	case <-done:
		cmd.Wait()
		skipOrFail(t, "tcpdump did not start capturing: %s", errText.String())
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		cmd.Wait()
		t.Fatal("tcpdump did not start within 10 s")
	}
	// tcpdump says "listening on" a moment before the kernel delivers to
	// its socket: give it time to attach, or the first datagrams can be
	// missed (seen under load).
	time.Sleep(500 * time.Millisecond)
	buf := make([]byte, 2000)
	for _, sz := range [][2]int{{10, 20}, {200, 300}, {1000, 50}} {
		if _, err := cli.Write(make([]byte, sz[0])); err != nil {
			t.Fatal(err)
		}
		srv.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := srv.ReadFromUDP(buf)
		if err != nil || n != sz[0] {
			t.Fatalf("server read %d, %v", n, err)
		}
		if _, err := srv.WriteToUDP(make([]byte, sz[1]), from); err != nil {
			t.Fatal(err)
		}
		cli.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := cli.Read(buf); err != nil || n != sz[1] {
			t.Fatalf("client read %d, %v", n, err)
		}
		payloads = append(payloads, sz[0], sz[1])
	}
	// Let tcpdump write the last packets (-U): wait until the file holds
	// all six (or 5 s pass; the caller's checks then say what is missing).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if st, err := os.Stat(file); err == nil && st.Size() >= int64(24+6*16+len(payloads)*8) {
			if n := countRecords(file); n >= len(payloads) {
				break
			}
		}
	}
	cmd.Process.Signal(os.Interrupt)
	<-done // stderr reaches EOF when tcpdump exits (or the timeout kills it)
	if err := cmd.Wait(); err != nil && ctx.Err() != nil {
		t.Fatalf("tcpdump: %v\n%s", err, errText.String())
	}
	return file, client, server, payloads
}

// TestTcpdumpLoopback: a pcap written by tcpdump on loopback (nanosecond
// timestamps), the pcapng and microsecond pcap editcap converts it to, and
// a big-endian copy all read identically, and as tshark reads them.
func TestTcpdumpLoopback(t *testing.T) {
	before := time.Now().UnixNano()
	file, client, server, payloads := capture(t, "lo", "--time-stamp-precision=nano")
	after := time.Now().UnixNano()

	recs, format := readRecords(t, file)
	if format != FormatPcap {
		t.Errorf("format %v", format)
	}
	if want := tsharkRecords(t, file); !reflect.DeepEqual(recs, want) {
		t.Errorf("records differ from tshark's\n got %+v\nwant %+v", recs, want)
	}
	c, err := Load(file, Select{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != server || c.Client != client {
		t.Errorf("chose server %v client %v, want %v %v", c.Server, c.Client, server, client)
	}
	if len(c.Packets) != len(payloads) {
		t.Fatalf("%d packets, want %d", len(c.Packets), len(payloads))
	}
	for i, p := range c.Packets {
		// Ethernet 14 + IPv4 20 + UDP 8 + payload; client first, alternating.
		want := Packet{TS: p.TS, Size: int32(42 + payloads[i]), From: Side(1 - i%2), Proto: 17}
		if p != want || p.TS < before || p.TS > after {
			t.Errorf("packet %d: %+v, want %+v within [%d, %d]", i+1, p, want, before, after)
		}
	}

	editcap := lookTool(t, "editcap")
	dir := t.TempDir()
	ng := filepath.Join(dir, "cap.pcapng")
	us := filepath.Join(dir, "cap_us.pcap")
	for _, conv := range [][]string{{"-F", "pcapng", file, ng}, {"-F", "pcap", file, us}} {
		if out, err := exec.Command(editcap, conv...).CombinedOutput(); err != nil {
			t.Fatalf("editcap %v: %v\n%s", conv, err, out)
		}
	}
	ngRecs, format := readRecords(t, ng)
	if format != FormatPcapNG || !reflect.DeepEqual(ngRecs, recs) {
		t.Errorf("pcapng from editcap (%v) differs\n got %+v\nwant %+v", format, ngRecs, recs)
	}
	ngConv, err := Load(ng, Select{})
	if err != nil || !reflect.DeepEqual(ngConv.Packets, c.Packets) {
		t.Errorf("pcapng conversation differs (%v)", err)
	}
	usRecs, _ := readRecords(t, us)
	for i := range recs {
		r := recs[i]
		r.TS = r.TS / 1000 * 1000 // microsecond pcap truncates
		if i >= len(usRecs) || usRecs[i] != r {
			t.Errorf("microsecond pcap record %d differs", i+1)
		}
	}
	be := filepath.Join(dir, "cap_be.pcap")
	swapPcap(t, us, be)
	beRecs, _ := readRecords(t, be)
	if !reflect.DeepEqual(beRecs, usRecs) {
		t.Errorf("big-endian copy differs\n got %+v\nwant %+v", beRecs, usRecs)
	}
	if want := tsharkRecords(t, be); !reflect.DeepEqual(beRecs, want) {
		t.Errorf("big-endian records differ from tshark's\n got %+v\nwant %+v", beRecs, want)
	}
}

// TestTcpdumpCooked captures on the "any" device (Linux cooked capture v1
// and v2) and merges the captures into one pcapng with two interfaces of
// different link types; every file must read as tshark reads it.
func TestTcpdumpCooked(t *testing.T) {
	sll2, _, _, _ := capture(t, "any")
	sll, _, _, _ := capture(t, "any", "-y", "LINUX_SLL")
	lo, _, _, _ := capture(t, "lo")
	mergecap := lookTool(t, "mergecap")
	merged := filepath.Join(t.TempDir(), "merged.pcapng")
	if out, err := exec.Command(mergecap, "-a", "-F", "pcapng", "-w", merged, sll2, sll, lo).CombinedOutput(); err != nil {
		t.Fatalf("mergecap: %v\n%s", err, out)
	}
	var all []Record
	for _, f := range []string{sll2, sll, lo, merged} {
		recs, _ := readRecords(t, f)
		if len(recs) == 0 {
			t.Fatalf("%s: no records", f)
		}
		if want := tsharkRecords(t, f); !reflect.DeepEqual(recs, want) {
			t.Errorf("%s: records differ from tshark's\n got %+v\nwant %+v", f, recs, want)
		}
		if f != merged {
			for _, r := range recs {
				r.Index = len(all) + 1
				all = append(all, r)
			}
		} else if !reflect.DeepEqual(recs, all) {
			t.Errorf("merged pcapng differs from its parts")
		}
	}
}

// swapPcap rewrites a little-endian pcap as big-endian (the file header's
// magic, version, snaplen and link type, and each record header).
func swapPcap(t *testing.T, in, out string) {
	t.Helper()
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	le, be := binary.LittleEndian, binary.BigEndian
	sw32 := func(p []byte) { be.PutUint32(p, le.Uint32(p)) }
	sw16 := func(p []byte) { be.PutUint16(p, le.Uint16(p)) }
	sw32(b[0:4])
	sw16(b[4:6])
	sw16(b[6:8])
	for _, o := range []int{8, 12, 16, 20} {
		sw32(b[o : o+4])
	}
	for off := 24; off+16 <= len(b); {
		incl := int(le.Uint32(b[off+8 : off+12]))
		for o := 0; o < 16; o += 4 {
			sw32(b[off+o : off+o+4])
		}
		off += 16 + incl
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// countRecords counts the records of a capture that may still be growing
// (a partial last record is not counted).
func countRecords(file string) int {
	sc, err := Open(file)
	if err != nil {
		return 0
	}
	defer sc.Close()
	n := 0
	var rec Record
	for sc.Next(&rec) == nil {
		n++
	}
	return n
}
