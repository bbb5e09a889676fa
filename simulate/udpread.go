package simulate

import (
	"net"
	"net/netip"
	"time"
)

// udpReader reads datagrams and their receive times: the kernel's
// timestamp where the platform provides one (SO_TIMESTAMPNS on Linux),
// which excludes the delay before this goroutine ran, else the time the
// read returned.
type udpReader struct {
	conn   *net.UDPConn
	clk    clock
	kernel bool
	oob    []byte
}

func newUDPReader(c *net.UDPConn, clk clock) *udpReader {
	r := &udpReader{conn: c, clk: clk}
	if oobLen > 0 && enableRxTimestamps(c) {
		r.kernel = true
		r.oob = make([]byte, oobLen)
	}
	return r
}

// read reads one datagram into buf.
func (r *udpReader) read(buf []byte) (n int, from netip.AddrPort, ts int64, err error) {
	if !r.kernel {
		n, from, err = r.conn.ReadFromUDPAddrPort(buf)
		return n, from, r.clk.now(), err
	}
	n, oobn, _, from, err := r.conn.ReadMsgUDPAddrPort(buf, r.oob)
	now := time.Now() // one reading for both clocks
	ts = r.clk.at(now)
	if err == nil {
		if k, ok := rxTimestamp(r.oob[:oobn]); ok {
			// The kernel stamps with the real-time clock; convert through
			// the delay since then, measured on the same clock.
			if d := now.UnixNano() - k; d > 0 && d < int64(time.Second) {
				ts -= d
			}
		}
	}
	return n, from, ts, err
}
