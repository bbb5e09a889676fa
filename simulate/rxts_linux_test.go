//go:build linux

package simulate

import (
	"encoding/binary"
	"net"
	"syscall"
	"testing"
	"time"
)

func cmsg(level, typ int32, data []byte) []byte {
	// 64-bit layout: len (8), level (4), type (4), data, padded to 8.
	n := 16 + len(data)
	b := make([]byte, (n+7)&^7)
	binary.NativeEndian.PutUint64(b[0:], uint64(n))
	binary.NativeEndian.PutUint32(b[8:], uint32(level))
	binary.NativeEndian.PutUint32(b[12:], uint32(typ))
	copy(b[16:], data)
	return b
}

func TestRxTimestampParse(t *testing.T) {
	if wordSize != 8 {
		t.Skip("hand-built control messages assume a 64-bit layout")
	}
	ts := make([]byte, 16)
	binary.NativeEndian.PutUint64(ts[0:], 1700000000)
	binary.NativeEndian.PutUint64(ts[8:], 123456789)
	want := int64(1700000000)*1e9 + 123456789
	one := cmsg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, ts)
	if got, ok := rxTimestamp(one); !ok || got != want {
		t.Fatalf("got %d %v", got, ok)
	}
	two := append(cmsg(syscall.IPPROTO_IP, 8, []byte{1, 2, 3, 4}), one...)
	if got, ok := rxTimestamp(two); !ok || got != want {
		t.Fatalf("after another message: got %d %v", got, ok)
	}
	for _, bad := range [][]byte{nil, one[:10], cmsg(syscall.SOL_SOCKET, 99, ts), func() []byte {
		b := append([]byte(nil), one...)
		binary.NativeEndian.PutUint64(b, 1000) // length beyond the buffer
		return b
	}()} {
		if _, ok := rxTimestamp(bad); ok {
			t.Fatalf("accepted %x", bad)
		}
	}
}

// TestKernelReceiveTime reads a datagram 50 ms after it arrived: the
// receive time must be the arrival, not the read.
func TestKernelReceiveTime(t *testing.T) {
	rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	clk := newClock()
	rd := newUDPReader(rc, clk)
	if !rd.kernel {
		t.Skip("SO_TIMESTAMPNS unavailable")
	}
	sc, err := net.DialUDP("udp", nil, rc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	// The kernel may switch its receive stamping on lazily (a deferred
	// static key): datagrams arriving before that are stamped when read.
	// Warm up first.
	buf := make([]byte, 16)
	for i := 0; i < 3; i++ {
		time.Sleep(20 * time.Millisecond)
		if _, err := sc.Write([]byte("w")); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := rd.read(buf); err != nil {
			t.Fatal(err)
		}
	}
	sent := clk.now()
	if _, err := sc.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	n, _, ts, err := rd.read(buf)
	read := clk.now()
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	if ts < sent-int64(time.Millisecond) || ts > sent+int64(20*time.Millisecond) || read-ts < int64(40*time.Millisecond) {
		t.Fatalf("sent at 0, stamped at %v, read at %v", time.Duration(ts-sent), time.Duration(read-sent))
	}
}
