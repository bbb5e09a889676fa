//go:build !linux

package simulate

import "net"

const oobLen = 0

func enableRxTimestamps(c *net.UDPConn) bool { return false }

func rxTimestamp(oob []byte) (int64, bool) { return 0, false }
