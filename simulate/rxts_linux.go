//go:build linux

package simulate

import (
	"encoding/binary"
	"net"
	"syscall"
)

// oobLen is the control buffer size for one SCM_TIMESTAMPNS message.
const oobLen = 64

// wordSize is the size of size_t and long (the cmsghdr and timespec fields).
const wordSize = (32 << (^uintptr(0) >> 63)) / 8

// enableRxTimestamps asks the kernel to stamp received datagrams
// (SO_TIMESTAMPNS); it reports whether that worked.
func enableRxTimestamps(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return false
	}
	return serr == nil
}

// rxTimestamp extracts the kernel receive time (ns since the epoch, real
// time clock) from a control message buffer.
func rxTimestamp(oob []byte) (int64, bool) {
	// struct cmsghdr { size_t len; int level; int type; } then the data,
	// struct timespec { time_t sec; long nsec; }, all native-endian.
	const hdr = syscall.SizeofCmsghdr
	for len(oob) >= hdr {
		n := int(binary.NativeEndian.Uint64(oob[0:8]))
		if wordSize == 4 {
			n = int(binary.NativeEndian.Uint32(oob[0:4]))
		}
		if n < hdr || n > len(oob) {
			return 0, false
		}
		var level, typ int32
		if wordSize == 8 {
			level = int32(binary.NativeEndian.Uint32(oob[8:12]))
			typ = int32(binary.NativeEndian.Uint32(oob[12:16]))
		} else {
			level = int32(binary.NativeEndian.Uint32(oob[4:8]))
			typ = int32(binary.NativeEndian.Uint32(oob[8:12]))
		}
		data := oob[hdr:n]
		if level == syscall.SOL_SOCKET && typ == syscall.SCM_TIMESTAMPNS && len(data) >= 2*wordSize {
			var sec, nsec int64
			if wordSize == 8 {
				sec = int64(binary.NativeEndian.Uint64(data[0:8]))
				nsec = int64(binary.NativeEndian.Uint64(data[8:16]))
			} else {
				sec = int64(int32(binary.NativeEndian.Uint32(data[0:4])))
				nsec = int64(int32(binary.NativeEndian.Uint32(data[4:8])))
			}
			return sec*1e9 + nsec, true
		}
		// Advance to the next aligned header.
		step := (n + wordSize - 1) &^ (wordSize - 1)
		if step >= len(oob) {
			break
		}
		oob = oob[step:]
	}
	return 0, false
}
