//go:build linux

package simulate

import (
	"syscall"
	"time"
)

// tightSlack makes fineSleep set the sleeping thread's timer slack to 1 ns
// first (prctl PR_SET_TIMERSLACK): Linux otherwise lets a nanosleep end up
// to the thread's slack, 50 µs by default, after its deadline. Benchmarks
// turn it off (the default slack is then restored on each sleep, as
// threads are reused) to measure that error source.
var tightSlack = true

const prSetTimerSlack = 29

// fineSleep sleeps d with a nanosleep system call, which on Linux wakes
// within the timer slack of the deadline, where Go's timers wake on the
// network poller's millisecond-resolution timeout. It blocks an OS thread,
// so it is used only for the last FineSleep before a deadline.
func fineSleep(d time.Duration) {
	// Per thread, and Go moves goroutines between threads: set it each
	// time (one cheap system call). 0 restores the thread's default.
	slack := uintptr(1)
	if !tightSlack {
		slack = 0
	}
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, slack, 0)
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
