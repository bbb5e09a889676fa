//go:build !linux

package simulate

import "time"

var tightSlack = true

// fineSleep sleeps d with the Go runtime's timers (no finer sleep is
// wired on this platform).
func fineSleep(d time.Duration) { time.Sleep(d) }
