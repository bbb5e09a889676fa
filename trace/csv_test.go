package trace

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestDefaultEqualsCSV checks that the embedded conversation equals
// shared/data/skype_eth_5.csv packet for packet.
func TestDefaultEqualsCSV(t *testing.T) {
	path := sharedData(t, "skype_eth_5.csv")
	want, err := Load(path, Select{Server: "124.123.243.15", Client: "192.168.1.133"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != DefaultSource || got.Server != want.Server || got.Client != want.Client || got.Proto != "any" {
		t.Errorf("embedded header %q %v %v %q, want %q %v %v any", got.Source, got.Server, got.Client, got.Proto, DefaultSource, want.Server, want.Client)
	}
	if got.ClockSteps != want.ClockSteps {
		t.Errorf("clock steps %d, want %d", got.ClockSteps, want.ClockSteps)
	}
	if len(got.Packets) != len(want.Packets) {
		t.Fatalf("%d packets embedded, %d in the CSV", len(got.Packets), len(want.Packets))
	}
	for i := range got.Packets {
		if got.Packets[i] != want.Packets[i] {
			t.Fatalf("packet %d: embedded %+v, CSV %+v", i+1, got.Packets[i], want.Packets[i])
		}
	}
	// First row of the CSV, by hand: 2015-08-25 19:47:34.193906 UTC,
	// 192.168.1.133 -> 124.123.243.15, 74 bytes, clean_size 74 (TCP).
	// 2015-08-25 is day 16672 since the epoch: 16672*86400 + 19*3600 +
	// 47*60 + 34 = 1440532054 s.
	first := Packet{TS: 1440532054193906000, Size: 74, From: Client, Proto: 6}
	if got.Packets[0] != first {
		t.Errorf("first packet %+v, want %+v", got.Packets[0], first)
	}
	if len(defaultData) > 1<<20 {
		t.Errorf("embedded data is %d bytes, want well under 1 MB", len(defaultData))
	}
	// Default returns copies.
	got.Packets[0].Size = 1
	again, _ := Default()
	if again.Packets[0].Size != 74 {
		t.Error("Default shares memory between calls")
	}
}

// TestLoadCSVAuto checks the automatic choice on the three shared CSVs.
// Expected pairs counted with awk over the files (see the data README):
// skype_eth_5 has only its pair; in skype_eth_1 the busiest pair is
// 192.168.1.204 <-> 203.109.93.69 (11620 + 4610 packets), in skype_eth_2
// the same pair with 14570 packets. The client is the first sender.
func TestLoadCSVAuto(t *testing.T) {
	for _, tc := range []struct {
		file           string
		server, client string
		n              int
	}{
		{"skype_eth_5.csv", "124.123.243.15", "192.168.1.133", 40697},
		{"skype_eth_1.csv", "203.109.93.69", "192.168.1.204", 16230},
		{"skype_eth_2.csv", "203.109.93.69", "192.168.1.204", 14570},
	} {
		c, err := Load(sharedData(t, tc.file), Select{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Server.String() != tc.server || c.Client.String() != tc.client || len(c.Packets) != tc.n || c.Proto != "any" {
			t.Errorf("%s: chose server %v client %v (%d packets, %s), want %s %s (%d)", tc.file, c.Server, c.Client, len(c.Packets), c.Proto, tc.server, tc.client, tc.n)
		}
	}
	// Server given, client found; UDP only: 22845 + 15131 packets.
	c, err := Load(sharedData(t, "skype_eth_5.csv"), Select{Server: "192.168.1.133", Proto: "udp"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Client.String() != "124.123.243.15" || len(c.Packets) != 22845+15131 || c.Proto != "udp" {
		t.Errorf("server-only select: client %v, %d packets, proto %s", c.Client, len(c.Packets), c.Proto)
	}
	if c.Count(Server) != 22845 {
		t.Errorf("roles: %d server packets, want 22845 (the given server 192.168.1.133's UDP)", c.Count(Server))
	}
}

func TestCSVListing(t *testing.T) {
	l, err := List(sharedData(t, "skype_eth_1.csv"), ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != FormatCSV || l.Records != 33467 || l.IP != 33467 {
		t.Errorf("format %v records %d IP %d", l.Format, l.Records, l.IP)
	}
	top := l.Convs[0]
	if top.A.String() != "192.168.1.204" || top.B.String() != "203.109.93.69" || top.Packets != [2]int{11620, 4610} {
		t.Errorf("top conversation %+v", top)
	}
	total := 0
	for _, c := range l.Convs {
		total += c.Total()
	}
	if total != l.IP {
		t.Errorf("conversations hold %d packets, the file %d", total, l.IP)
	}
}

func TestCSVTimes(t *testing.T) {
	// Derived by hand: 1970-01-02 is day 1 (86400 s).
	for _, tc := range []struct {
		date, clock string
		want        int64
	}{
		{"1970-01-01", "00:00:00", 0},
		{"1970-01-02", "00:00:01", 86401e9},
		{"1970-01-01", "00:00:01.5", 1_500_000_000},
		{"1970-01-01", "00:00:00.000001", 1000},
		{"1970-01-01", "00:00:00.123456789", 123456789},
		{"1970-01-01", "01:02:03.000000", (3600 + 120 + 3) * 1e9},
		{"2015-08-25", "19:47:34.193906", 1440532054193906000},
	} {
		got, _, err := parseCSVTime(tc.date, tc.clock)
		if err != nil || got != tc.want {
			t.Errorf("%s %s: %d, %v; want %d", tc.date, tc.clock, got, err, tc.want)
		}
	}
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const csvHeader = "number,src,dst,size,clean_size,date,time\r\n"

func TestCSVBadInput(t *testing.T) {
	good := "1,10.0.0.1,10.0.0.2,100,42,2015-08-25,10:00:00.000001\r\n2,10.0.0.2,10.0.0.1,120,42,2015-08-25,10:00:00.000002\r\n"
	for _, tc := range []struct {
		name, content string
		want          []string // substrings of the error
	}{
		{"empty", "", []string{"empty.csv", "empty file"}},
		{"header only", csvHeader, []string{"no IP packets among 0 records"}},
		{"missing column", "number,src,dst,size,date\r\n1,10.0.0.1,10.0.0.2,1,2015-08-25\r\n", []string{"line 1", "field time", "missing column"}},
		{"non-numeric size", csvHeader + good + "3,10.0.0.1,10.0.0.2,abc,42,2015-08-25,10:00:00.1\r\n", []string{"line 4 (record 3)", "field size", `"abc"`}},
		{"zero size", csvHeader + "1,10.0.0.1,10.0.0.2,0,42,2015-08-25,10:00:00\r\n", []string{"line 2 (record 1)", "field size"}},
		{"short row", csvHeader + good + "3,10.0.0.1,10.0.0.2,100\r\n", []string{"line 4 (record 3)", "short row: 4 fields"}},
		{"bad address", csvHeader + "1,10.0.0.300,10.0.0.2,100,42,2015-08-25,10:00:00\r\n", []string{"record 1", "field src", "not an IP address"}},
		{"mixed families", csvHeader + "1,10.0.0.1,::1,100,42,2015-08-25,10:00:00\r\n", []string{"record 1", "field dst", "address family"}},
		{"bad date", csvHeader + "1,10.0.0.1,10.0.0.2,100,42,2015-02-30,10:00:00\r\n", []string{"record 1", "field date"}},
		{"bad time", csvHeader + "1,10.0.0.1,10.0.0.2,100,42,2015-08-25,25:00:00\r\n", []string{"record 1", "field time"}},
		{"bad fraction", csvHeader + "1,10.0.0.1,10.0.0.2,100,42,2015-08-25,10:00:00.12x\r\n", []string{"record 1", "field time", "fraction"}},
		{"long fraction", csvHeader + "1,10.0.0.1,10.0.0.2,100,42,2015-08-25,10:00:00.1234567890\r\n", []string{"record 1", "field time", "1 to 9"}},
		{"bad clean_size", csvHeader + "1,10.0.0.1,10.0.0.2,100,x,2015-08-25,10:00:00\r\n", []string{"record 1", "field clean_size"}},
		{"bad quote", csvHeader + good + "3,\"10.0.0.1,10.0.0.2,100,42,2015-08-25,10:00:00\r\n", []string{"line 4", "record 3"}},
		{"one-sided", csvHeader + "1,10.0.0.1,10.0.0.2,100,42,2015-08-25,10:00:00\r\n2,10.0.0.1,10.0.0.2,100,42,2015-08-25,10:00:01\r\n", []string{"no two-way conversation", "1 one-sided"}},
		{"binary", "\x00\x01\x02\x03garbage", []string{"not a capture (pcap, pcapng or CSV)"}},
		{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", []string{"not a capture (pcap, pcapng or CSV)"}},
		{"text", "hello world\nthis is a note\n", []string{"not a capture (pcap, pcapng or CSV)", "hello world"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := strings.ReplaceAll(tc.name, " ", "_") + ".csv"
			if tc.name == "empty" {
				file = "empty.csv"
			}
			p := writeTemp(t, file, tc.content)
			checkLoadError(t, p, file, tc.want)
		})
	}
}

func TestCSVNoFraction(t *testing.T) {
	// A time without a fractional part means .000000 (data README).
	p := writeTemp(t, "nofrac.csv", csvHeader+
		"1,10.0.0.1,10.0.0.2,100,42,2015-08-25,10:00:00\r\n"+
		"2,10.0.0.2,10.0.0.1,120,66,2015-08-25,10:00:00.5\n")
	c, err := Load(p, Select{Server: "10.0.0.2", Client: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	// 2015-08-25 10:00:00 UTC = 1440496800 s (day 16672 * 86400 + 36000).
	want := []Packet{{TS: 1440496800e9, Size: 100, From: Client, Proto: 17}, {TS: 1440496800e9 + 5e8, Size: 120, From: Server, Proto: 6}}
	if !reflect.DeepEqual(c.Packets, want) {
		t.Errorf("packets %+v, want %+v", c.Packets, want)
	}
}

func TestSelectErrors(t *testing.T) {
	p := sharedData(t, "skype_eth_5.csv")
	for _, sel := range []Select{
		{Proto: "sctp"},
		{Server: "not-an-address"},
		{Server: "10.0.0.1", Client: "10.0.0.1"},
		{Server: "192.0.2.1"}, // not in the trace
		{Server: "124.123.243.15", Client: "192.0.2.1"},
	} {
		_, err := Load(p, sel)
		if err == nil || !strings.HasPrefix(err.Error(), "trace: ") {
			t.Errorf("%+v: error %v", sel, err)
		}
	}
	_, err := Load(p, Select{Server: "192.0.2.1"})
	if !errors.Is(err, ErrNoConversation) {
		t.Errorf("unknown server: %v does not wrap ErrNoConversation", err)
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Endpoint
	}{
		{"10.0.0.1", Endpoint{Addr: netip.MustParseAddr("10.0.0.1")}},
		{"10.0.0.1:53", Endpoint{Addr: netip.MustParseAddr("10.0.0.1"), Port: 53}},
		{"2001:db8::1", Endpoint{Addr: netip.MustParseAddr("2001:db8::1")}},
		{"[2001:db8::1]:443", Endpoint{Addr: netip.MustParseAddr("2001:db8::1"), Port: 443}},
		{"::ffff:10.0.0.1", Endpoint{Addr: netip.MustParseAddr("10.0.0.1")}},
	} {
		got, err := ParseEndpoint(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseEndpoint(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if back, err := ParseEndpoint(got.String()); err != nil || back != got {
			t.Errorf("round trip of %v: %v, %v", got, back, err)
		}
	}
	for _, bad := range []string{"", "host", "10.0.0.1:99999", "[::1]", "fe80::1%eth0"} {
		if _, err := ParseEndpoint(bad); err == nil {
			t.Errorf("ParseEndpoint(%q): no error", bad)
		}
	}
}

func TestCompactRoundTrip(t *testing.T) {
	c := mk([3]int64{0, 100, k}, [3]int64{10, 200, s}, [3]int64{5, 300, k})
	c.Packets[1].TS += 7 // not whole microseconds: unit 1 ns
	c.Packets[2].Proto = 1
	var buf bytes.Buffer
	if err := EncodeCompact(&buf, c); err != nil {
		t.Fatal(err)
	}
	got, err := LoadReader(bytes.NewReader(buf.Bytes()), "mem.spc", Select{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Packets, c.Packets) || got.ClockSteps != 1 || got.Server != c.Server || got.Client != c.Client {
		t.Errorf("round trip\n got %+v\nwant %+v", got, c)
	}
	// Corrupt: truncated stream.
	if _, err := DecodeCompact(bytes.NewReader(buf.Bytes()[:buf.Len()/2]), "cut.spc"); err == nil {
		t.Error("truncated compact file: no error")
	}
}

// checkLoadError loads a bad file and checks that the error starts with the
// package name, names the file and contains every wanted phrase.
func checkLoadError(t *testing.T, path, file string, want []string) {
	t.Helper()
	_, err := Load(path, Select{Strict: true})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "trace: ") || !strings.Contains(msg, file) {
		t.Errorf("error %q does not start with trace: and name the file", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
}
