//go:build linux

package simulate

import (
	"syscall"
	"time"
)

// fineSleep sleeps d with a nanosleep system call, which on Linux wakes
// within the timer slack (50 us by default) of the deadline, where Go's
// timers wake on the network poller's millisecond-resolution timeout. It
// blocks an OS thread, so it is used only for the last FineSleep before a
// deadline.
func fineSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var rem syscall.Timespec
		err := syscall.Nanosleep(&ts, &rem)
		if err != syscall.EINTR {
			return
		}
		ts = rem
	}
}
