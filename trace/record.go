package trace

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
)

// Format is a capture file format, detected from the file's content.
type Format int8

// The formats Open detects. Gzip-compressed files are detected through the
// compression and reported by their inner format.
const (
	FormatUnknown Format = iota
	FormatPcap           // libpcap, microsecond or nanosecond, either byte order
	FormatPcapNG         // pcapng, any number of sections and interfaces
	FormatCSV            // the CSV format of shared/data (number,src,dst,size,clean_size,date,time)
	FormatCompact        // this package's compact conversation format (EncodeCompact)
)

// String returns the format's name: pcap, pcapng, csv, compact or unknown.
func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapNG:
		return "pcapng"
	case FormatCSV:
		return "csv"
	case FormatCompact:
		return "compact"
	}
	return "unknown"
}

// Kind says how far a record could be decoded.
type Kind int8

const (
	// KindIP is an IPv4 or IPv6 packet: Src, Dst and Proto are set, and
	// SrcPort, DstPort for TCP and UDP (0 for other protocols and for
	// non-first IPv4/IPv6 fragments).
	KindIP Kind = iota
	// KindNonIP is a frame that carries no IP packet (ARP, LLDP, ...). It is
	// counted, never part of a conversation.
	KindNonIP
	// KindMalformed is a frame announcing IPv4 or IPv6 whose IP header is
	// invalid (wrong version, header length below the minimum). It is
	// counted, never part of a conversation.
	KindMalformed
)

// Record is one packet record of a capture, decoded as far as conversation
// selection needs.
type Record struct {
	Index   int   // 1-based record number in the file (CSV: data row)
	TS      int64 // capture time, integer nanoseconds since the Unix epoch
	Size    int32 // frame length on the wire (pcap orig_len, CSV size)
	Kind    Kind
	Proto   uint8 // IP protocol number (CSV: 17 or 6 from clean_size, 0 if unknown)
	Src     netip.Addr
	Dst     netip.Addr
	SrcPort uint16
	DstPort uint16
}

// recordSource yields records; it returns io.EOF after the last one.
type recordSource interface {
	next(rec *Record) error
}

// Scanner reads the records of one capture file as a stream: memory use does
// not grow with the file.
type Scanner struct {
	name   string
	format Format
	src    recordSource
	closer io.Closer
	n      int
	prevTS int64
	stats  ScanStats
	err    error
	strict bool
	trunc  error
}

// ScanStats counts what a Scanner has read so far.
type ScanStats struct {
	Records    int   // all packet records
	IP         int   // IPv4 and IPv6 packets
	NonIP      int   // frames without an IP packet
	Malformed  int   // frames with an invalid IP header
	UDP        int   // IP packets carrying UDP
	TCP        int   // IP packets carrying TCP
	OtherIP    int   // IP packets with another protocol (ICMP, ESP, ...)
	ClockSteps int   // records whose timestamp is earlier than the previous record's
	FirstTS    int64 // smallest timestamp seen
	LastTS     int64 // largest timestamp seen
}

// Open opens a capture file and detects its format from its content: pcap,
// pcapng, the CSV of shared/data, or the compact format, each optionally
// gzip-compressed. The caller must Close the scanner.
func Open(path string) (*Scanner, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	s, err := NewScanner(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	s.closer = f
	return s, nil
}

// NewScanner detects the format of r's content and returns a scanner over
// it. name is used in error messages.
func NewScanner(r io.Reader, name string) (*Scanner, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(4)
	if len(head) == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Err: errors.New("empty file")}
		}
		return nil, &Error{File: name, Err: err}
	}
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &Error{File: name, Err: fmt.Errorf("gzip: %w", err)}
		}
		br = bufio.NewReaderSize(zr, 1<<16)
		head, err = br.Peek(4)
		if len(head) == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				return nil, &Error{File: name, Err: errors.New("empty file (after gzip)")}
			}
			return nil, &Error{File: name, Err: fmt.Errorf("gzip: %w", err)}
		}
	}
	s := &Scanner{name: name}
	s.format = detect(head)
	switch s.format {
	case FormatPcap:
		s.src, err = newPcapSource(br, name)
	case FormatPcapNG:
		s.src, err = newPcapNGSource(br, name)
	case FormatCompact:
		s.src, err = newCompactSource(br, name)
	case FormatCSV:
		s.src, err = newCSVSource(br, name)
	default:
		err = &Error{File: name, Err: fmt.Errorf("%w: unknown format (first bytes % x)", ErrNotCapture, head)}
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// detect recognises the format from the first (up to) four bytes.
func detect(head []byte) Format {
	if len(head) >= 4 {
		switch string(head[:4]) {
		case "\xd4\xc3\xb2\xa1", "\xa1\xb2\xc3\xd4", "\x4d\x3c\xb2\xa1", "\xa1\xb2\x3c\x4d":
			return FormatPcap
		case "\x0a\x0d\x0d\x0a":
			return FormatPcapNG
		case compactMagic:
			return FormatCompact
		}
	}
	// CSV: printable text. The header is checked by the CSV reader.
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f {
			return FormatUnknown
		}
	}
	if head[0] >= 0x80 && !bytes.HasPrefix(head, []byte("\ufeff")) {
		// Text starts with ASCII (a header) or a byte order mark; PNG,
		// JPEG, PDF and the like start with a high byte.
		return FormatUnknown
	}
	return FormatCSV
}

// SetStrict makes a record cut short by the end of the file an error. By
// default Next returns io.EOF there instead, and Truncated returns the
// error.
func (s *Scanner) SetStrict(strict bool) { s.strict = strict }

// Truncated returns the error about the record the file ends inside, once
// Next has returned io.EOF there (nil for a whole file or in strict mode).
func (s *Scanner) Truncated() error { return s.trunc }

// Name returns the file name given to Open or NewScanner.
func (s *Scanner) Name() string { return s.name }

// Format returns the detected file format.
func (s *Scanner) Format() Format { return s.format }

// Stats returns the counts of the records read so far.
func (s *Scanner) Stats() ScanStats { return s.stats }

// Next reads the next record into rec. It returns io.EOF after the last
// record, or an *Error naming the file and record. After an error Next keeps
// returning it.
func (s *Scanner) Next(rec *Record) error {
	if s.err != nil {
		return s.err
	}
	if err := s.src.next(rec); err != nil {
		if !s.strict && errors.Is(err, ErrTruncated) {
			s.trunc, err = err, io.EOF
		}
		s.err = err
		return err
	}
	s.n++
	rec.Index = s.n
	st := &s.stats
	st.Records++
	if st.Records == 1 {
		st.FirstTS, st.LastTS = rec.TS, rec.TS
	} else {
		if rec.TS < s.prevTS {
			st.ClockSteps++
		}
		st.FirstTS = min(st.FirstTS, rec.TS)
		st.LastTS = max(st.LastTS, rec.TS)
	}
	s.prevTS = rec.TS
	switch rec.Kind {
	case KindNonIP:
		st.NonIP++
		return nil
	case KindMalformed:
		st.Malformed++
		return nil
	}
	st.IP++
	switch rec.Proto {
	case protoUDP:
		st.UDP++
	case protoTCP:
		st.TCP++
	default:
		st.OtherIP++
	}
	return nil
}

// Close releases the file. It is safe to call more than once.
func (s *Scanner) Close() error {
	if s.closer == nil {
		return nil
	}
	c := s.closer
	s.closer = nil
	return c.Close()
}

const (
	protoTCP = 6
	protoUDP = 17
)
