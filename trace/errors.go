package trace

import (
	"errors"
	"strconv"
	"strings"
)

// ErrNoConversation is wrapped by errors about a capture that has no usable
// two-way conversation (no IP packets, only one-sided traffic, or nothing
// that matches the selection).
var ErrNoConversation = errors.New("no two-way conversation")

// ErrTruncated is wrapped by errors about a capture that ends inside a
// record (a file cut short, e.g. with head -c, or still being written).
// Unless Select.Strict or ListOptions.Strict is set, such a file is read up
// to its last whole record and the error is kept in Conversation.Truncated
// or Listing.Truncated instead.
var ErrTruncated = errors.New("the file ends inside a record")

// ErrNotCapture is wrapped by errors about a file that is none of the
// formats read here (an image, a text file, ...).
var ErrNotCapture = errors.New("not a capture (pcap, pcapng or CSV)")

// truncated is a cause that wraps ErrTruncated without repeating its text.
type truncated string

func (t truncated) Error() string        { return string(t) }
func (t truncated) Is(target error) bool { return target == ErrTruncated }

// Error is a problem with an input file, located as precisely as the format
// allows. Record is the 1-based packet record (pcap, pcapng) or data row
// (CSV); Line is the CSV line (the header is line 1); Field names the field
// or header at fault. Zero values mean "not applicable".
type Error struct {
	File   string
	Record int
	Line   int
	Field  string
	Err    error
}

// Error formats the error as "trace: FILE: line L (record R): field F: cause".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("trace: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		if e.Record > 0 {
			b.WriteString(" (record ")
			b.WriteString(strconv.Itoa(e.Record))
			b.WriteString(")")
		}
		b.WriteString(": ")
	} else if e.Record > 0 {
		b.WriteString("record ")
		b.WriteString(strconv.Itoa(e.Record))
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString("field ")
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }
