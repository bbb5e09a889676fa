package simulate

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"testing"
)

func TestHeaderLayout(t *testing.T) {
	// Expected bytes written out by hand from the layout in the Header doc.
	h := Header{Flags: FlagLast | FlagSync, Length: 40, Side: 1, Conv: 0x01020304, Seq: 0x0a0b0c0d, Burst: 7, SendNS: 0x1122334455667788}
	msg := make([]byte, 40)
	if err := h.Encode(msg); err != nil {
		t.Fatal(err)
	}
	want := "5347" + "01" + "21" + "0028" + "01" + "00" + "01020304" + "0a0b0c0d" + "00000007" + "1122334455667788"
	if got := hex.EncodeToString(msg[:HeaderLen]); got != want {
		t.Fatalf("encoded\n got %s\nwant %s", got, want)
	}
	back, err := DecodeHeader(msg)
	if err != nil {
		t.Fatal(err)
	}
	if back != h {
		t.Fatalf("round trip: got %+v want %+v", back, h)
	}
	if h.IsControl() == false || (Header{Flags: FlagLast}).IsControl() {
		t.Fatal("IsControl: Sync is control, Last alone is data")
	}
}

func TestDecodeHeaderErrors(t *testing.T) {
	good := make([]byte, 50)
	if err := (Header{Length: 50, Side: 0}).Encode(good); err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte {
		b := append([]byte(nil), good...)
		return f(b)
	}
	cases := []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"two bytes", good[:2], ErrShort},
		{"short after version", good[:20], ErrShort},
		{"magic", mod(func(b []byte) []byte { b[0] = 'X'; return b }), ErrMagic},
		{"version", mod(func(b []byte) []byte { b[2] = 2; return b }), ErrVersion},
		{"version short", mod(func(b []byte) []byte { b[2] = 9; return b[:3] }), ErrVersion},
		{"length bigger", mod(func(b []byte) []byte { return b[:49] }), ErrLength},
		{"length smaller", append(append([]byte(nil), good...), 0), ErrLength},
		{"undefined flag", mod(func(b []byte) []byte { b[3] = 0x80; return b }), ErrFlags},
		{"side", mod(func(b []byte) []byte { b[6] = 2; return b }), ErrFlags},
		{"reserved", mod(func(b []byte) []byte { b[7] = 1; return b }), ErrFlags},
	}
	for _, c := range cases {
		_, err := DecodeHeader(c.msg)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	_, err := DecodeHeader(mod(func(b []byte) []byte { b[2] = 3; return b }))
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Got != 3 {
		t.Fatalf("version error: %v", err)
	}
}

func TestHelloRoundTrip(t *testing.T) {
	m := Hello{Fingerprint: "normal:abc123", MaxPackets: 1000, DurationNS: 5e9, TimeScale: 0.25}
	b, err := AppendHello(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	// 1 + 13 + 3*8 bytes.
	if len(b) != 38 {
		t.Fatalf("hello of %d bytes, want 38", len(b))
	}
	back, err := DecodeHello(append(b, 0, 0, 0)) // padding is ignored
	if err != nil || back != m {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if _, err := DecodeHello(b[:len(b)-1]); err == nil {
		t.Fatal("truncated hello accepted")
	}
	if _, err := AppendHello(nil, Hello{Fingerprint: string(make([]byte, MaxFingerprint+1))}); err == nil {
		t.Fatal("overlong fingerprint accepted")
	}
	bad, _ := AppendHello(nil, Hello{TimeScale: math.NaN()})
	if _, err := DecodeHello(bad); err == nil {
		t.Fatal("NaN time scale accepted")
	}
}

// FuzzDecodeHeader checks DecodeHeader against an independent parse of the
// documented layout (offsets and limits from the package documentation,
// not from the decoder): it accepts exactly the messages the layout allows,
// with the same fields, and an accepted header re-encodes to the same bytes.
func FuzzDecodeHeader(f *testing.F) {
	good := make([]byte, 64)
	_ = (Header{Flags: FlagLast, Length: 64, Side: 1, Conv: 9, Seq: 3, Burst: 2, SendNS: 12345}).Encode(good)
	f.Add(good)
	f.Add(good[:HeaderLen])
	f.Add([]byte{0x53, 0x47, 2})
	f.Add([]byte("not a header at all, but long enough to be read"))
	neg := append([]byte(nil), good...)
	neg[20] = 0xff // negative send time
	f.Add(neg)
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := DecodeHeader(msg)
		// The oracle: big-endian fields at the documented offsets; magic
		// "SG", version 1, length = message length, flag bits 0..6, side
		// 0 or 1, reserved byte 0, send time in [0, 2200-01-01) (7258118400 s,
		// computed with Python's datetime).
		want := len(msg) >= 28 && msg[0] == 'S' && msg[1] == 'G' && msg[2] == 1 &&
			int(msg[4])<<8|int(msg[5]) == len(msg) && msg[3]&0x80 == 0 && msg[6] <= 1 && msg[7] == 0
		var send uint64
		for i := 20; i < 28 && i < len(msg); i++ {
			send = send<<8 | uint64(msg[i])
		}
		want = want && send < 7258118400*1000000000
		if (err == nil) != want {
			t.Fatalf("DecodeHeader(%x): error %v, the layout says valid=%v", msg, err, want)
		}
		if err != nil {
			return
		}
		be32 := func(o int) uint32 {
			return uint32(msg[o])<<24 | uint32(msg[o+1])<<16 | uint32(msg[o+2])<<8 | uint32(msg[o+3])
		}
		if h.Flags != msg[3] || h.Side != msg[6] || h.Conv != be32(8) || h.Seq != be32(12) || h.Burst != be32(16) || uint64(h.SendNS) != send {
			t.Fatalf("decoded %+v from %x", h, msg[:28])
		}
		out := make([]byte, HeaderLen)
		if err := h.Encode(out); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, msg[:HeaderLen]) {
			t.Fatalf("re-encoded %x, input %x", out, msg[:HeaderLen])
		}
	})
}

// FuzzDecodeHello checks that an accepted body re-encodes to its prefix.
func FuzzDecodeHello(f *testing.F) {
	b, _ := AppendHello(nil, Hello{Fingerprint: "x", MaxPackets: 5, DurationNS: 7, TimeScale: 1})
	f.Add(b)
	f.Add([]byte{200})
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := DecodeHello(body)
		if err != nil {
			return
		}
		out, err := AppendHello(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, body[:len(out)]) {
			t.Fatalf("re-encoded %x, input %x", out, body)
		}
		if !(m.TimeScale >= 0) || math.IsInf(m.TimeScale, 0) {
			t.Fatalf("accepted time scale %v", m.TimeScale)
		}
		if m.MaxPackets > 1<<62 || m.DurationNS > 1<<62 {
			t.Fatalf("accepted limits %d %d beyond 2^62", m.MaxPackets, m.DurationNS)
		}
	})
}

func TestFraming(t *testing.T) {
	// Overheads by hand: Ethernet 14 + IPv4 20 / IPv6 40 + UDP 8 / TCP 20 +
	// options + 2-byte record prefix.
	cases := []struct {
		f        Framing
		overhead int
	}{
		{Framing{Transport: UDP}, 42},
		{Framing{Transport: UDP, IPv6: true}, 62},
		{Framing{Transport: TCP, TCPOptions: 12}, 68},
		{Framing{Transport: TCP, IPv6: true, TCPOptions: 0}, 76},
	}
	for _, c := range cases {
		if got := c.f.Overhead(); got != c.overhead {
			t.Errorf("%v: overhead %d want %d", c.f, got, c.overhead)
		}
		if got := c.f.MinFrame(); got != int32(c.overhead+HeaderLen) {
			t.Errorf("%v: min frame %d", c.f, got)
		}
		if got := c.f.FrameLen(c.f.MessageLen(500)); got != 500 {
			t.Errorf("%v: frame 500 -> message -> frame %d", c.f, got)
		}
	}
	u := Framing{Transport: UDP}
	for _, c := range []struct {
		in, out int32
		clamped bool
	}{{0, 70, true}, {69, 70, true}, {70, 70, false}, {1514, 1514, false}, {1515, 1514, true}, {-5, 70, true}} {
		got, cl := u.Clamp(c.in)
		if got != c.out || cl != c.clamped {
			t.Errorf("clamp %d: got %d,%v want %d,%v", c.in, got, cl, c.out, c.clamped)
		}
	}
	if _, err := ParseTransport("sctp"); err == nil {
		t.Fatal("sctp accepted")
	}
}
