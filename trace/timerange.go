package trace

import (
	"fmt"
	"time"
)

// Timestamps are integer nanoseconds since the Unix epoch. Every decoder
// accepts only MinTS <= ts < MaxTS (1970-01-01 to the end of 2199), so that
// a timestamp, and the difference of two, never overflows int64 (whose
// nanoseconds end in April 2262) and a date before the epoch is refused
// rather than read as a negative time.
const (
	// MinTS is 1970-01-01T00:00:00Z.
	MinTS int64 = 0
	// MaxTS is 2200-01-01T00:00:00Z (7,258,118,400 s after the epoch).
	MaxTS int64 = 7_258_118_400 * 1e9
)

// timeRangeText describes the accepted range in error messages.
const timeRangeText = "1970-01-01 to 2199-12-31"

// checkTS returns an error if ts is outside [MinTS, MaxTS).
func checkTS(ts int64) error {
	if ts < MinTS || ts >= MaxTS {
		return fmt.Errorf("timestamp %d ns is outside %s", ts, timeRangeText)
	}
	return nil
}

// checkTime returns an error if t is outside [MinTS, MaxTS); it never calls
// t.UnixNano, which overflows outside 1678..2262.
func checkTime(t time.Time) error {
	if s := t.Unix(); s < MinTS/1e9 || s >= MaxTS/1e9 {
		return fmt.Errorf("timestamp %s is outside %s", t.UTC().Format("2006-01-02 15:04:05"), timeRangeText)
	}
	return nil
}
