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

// FuzzDecodeHeader checks that any input either is refused or decodes to a
// header that encodes back to the same bytes, with Length = len(input).
func FuzzDecodeHeader(f *testing.F) {
	good := make([]byte, 64)
	_ = (Header{Flags: FlagLast, Length: 64, Side: 1, Conv: 9, Seq: 3, Burst: 2, SendNS: 12345}).Encode(good)
	f.Add(good)
	f.Add(good[:HeaderLen])
	f.Add([]byte{0x53, 0x47, 2})
	f.Add([]byte("not a header at all, but long enough to be read"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := DecodeHeader(msg)
		if err != nil {
			return
		}
		if int(h.Length) != len(msg) || len(msg) < HeaderLen {
			t.Fatalf("accepted length %d for a %d-byte message", h.Length, len(msg))
		}
		if h.Flags&^flagsKnown != 0 || h.Side > 1 {
			t.Fatalf("accepted flags %#x side %d", h.Flags, h.Side)
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
