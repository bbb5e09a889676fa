package trace

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// csvSource reads the CSV format of shared/data:
//
//	number,src,dst,size,clean_size,date,time
//
// Columns are found by header name, in any order; src, dst, size, date and
// time are required, number and clean_size optional, other columns ignored.
type csvSource struct {
	name string
	r    *csv.Reader
	row  int
	col  struct{ src, dst, size, clean, date, time int }
}

func newCSVSource(r io.Reader, name string) (*csvSource, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, with a clearer message
	cr.ReuseRecord = true
	s := &csvSource{name: name, r: cr}
	hdr, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Err: errors.New("empty file")}
		}
		return nil, s.csvErr(err)
	}
	s.col.src, s.col.dst, s.col.size, s.col.clean, s.col.date, s.col.time = -1, -1, -1, -1, -1, -1
	for i, h := range hdr {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "src":
			s.col.src = i
		case "dst":
			s.col.dst = i
		case "size":
			s.col.size = i
		case "clean_size":
			s.col.clean = i
		case "date":
			s.col.date = i
		case "time":
			s.col.time = i
		}
	}
	if s.col.src < 0 && s.col.dst < 0 && s.col.size < 0 && s.col.date < 0 && s.col.time < 0 {
		first := strings.Join(hdr, ",")
		if len(first) > 40 {
			first = first[:40] + "..."
		}
		return nil, &Error{File: name, Err: fmt.Errorf("%w: the first line %q is not the CSV header number,src,dst,size,clean_size,date,time", ErrNotCapture, first)}
	}
	for _, c := range []struct {
		name string
		i    int
	}{{"src", s.col.src}, {"dst", s.col.dst}, {"size", s.col.size}, {"date", s.col.date}, {"time", s.col.time}} {
		if c.i < 0 {
			return nil, &Error{File: name, Line: 1, Field: c.name,
				Err: fmt.Errorf("missing column in header %q (want number,src,dst,size,clean_size,date,time)", strings.Join(hdr, ","))}
		}
	}
	return s, nil
}

func (s *csvSource) csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		rec := 0
		if pe.Line > 1 {
			rec = s.row + 1
		}
		return &Error{File: s.name, Line: pe.Line, Record: rec, Err: pe.Err}
	}
	return &Error{File: s.name, Record: s.row + 1, Err: err}
}

func (s *csvSource) next(rec *Record) error {
	var f []string
	for {
		var err error
		f, err = s.r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			return s.csvErr(err)
		}
		if len(f) == 1 && strings.TrimSpace(f[0]) == "" {
			continue // blank line with whitespace
		}
		break
	}
	s.row++
	line, _ := s.r.FieldPos(0)
	bad := func(field string, err error) error {
		return &Error{File: s.name, Line: line, Record: s.row, Field: field, Err: err}
	}
	need := max(s.col.src, s.col.dst, s.col.size, s.col.clean, s.col.date, s.col.time) + 1
	if len(f) < need {
		return bad("", fmt.Errorf("short row: %d fields, want at least %d", len(f), need))
	}
	*rec = Record{Kind: KindIP}
	var err error
	if rec.Src, err = parseCSVAddr(f[s.col.src]); err != nil {
		return bad("src", err)
	}
	if rec.Dst, err = parseCSVAddr(f[s.col.dst]); err != nil {
		return bad("dst", err)
	}
	if rec.Src.Is4() != rec.Dst.Is4() {
		return bad("dst", fmt.Errorf("address family of %s differs from src %s", rec.Dst, rec.Src))
	}
	size, err := strconv.ParseInt(strings.TrimSpace(f[s.col.size]), 10, 32)
	if err != nil || size <= 0 {
		return bad("size", fmt.Errorf("want a positive integer, got %q", f[s.col.size]))
	}
	rec.Size = int32(size)
	if s.col.clean >= 0 {
		clean, err := strconv.ParseInt(strings.TrimSpace(f[s.col.clean]), 10, 32)
		if err != nil || clean < 0 {
			return bad("clean_size", fmt.Errorf("want a non-negative integer, got %q", f[s.col.clean]))
		}
		rec.Proto = protoFromHeaderLen(int(clean), rec.Src.Is6())
	}
	var field string
	if rec.TS, field, err = parseCSVTime(strings.TrimSpace(f[s.col.date]), strings.TrimSpace(f[s.col.time])); err != nil {
		return bad(field, err)
	}
	return nil
}

func parseCSVAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("not an IP address: %q", s)
	}
	return a.Unmap(), nil
}

// protoFromHeaderLen maps the CSV clean_size (the header length of an
// Ethernet frame) to an IP protocol: 42..53 (IPv4) or 62..73 (IPv6) is UDP,
// 54..94 (IPv4) or 74..114 (IPv6) is TCP with 0..40 bytes of options, and
// anything else 0 (unknown). The CSV carries no other protocol information.
func protoFromHeaderLen(clean int, v6 bool) uint8 {
	base := 14 + 20
	if v6 {
		base = 14 + 40
	}
	switch {
	case clean >= base+8 && clean < base+20:
		return protoUDP
	case clean >= base+20 && clean <= base+60:
		return protoTCP
	}
	return 0
}

// headerLen is the inverse used by the CSV writer: the Ethernet header
// length of a frame with this protocol as WriteCSV reports it in clean_size.
func headerLen(proto uint8, v6 bool) int {
	base := 14 + 20
	if v6 {
		base = 14 + 40
	}
	switch proto {
	case protoUDP:
		return base + 8
	case protoTCP:
		return base + 20
	}
	return base
}

// parseCSVTime parses date YYYY-MM-DD and time HH:MM:SS[.fffffffff] (0 to 9
// fractional digits; none means .000000) as UTC, to nanoseconds since the
// epoch, with integer arithmetic only.
func parseCSVTime(date, clock string) (ts int64, field string, err error) {
	if len(date) != 10 || date[4] != '-' || date[7] != '-' {
		return 0, "date", fmt.Errorf("date %q: want YYYY-MM-DD", date)
	}
	y, ok1 := digits(date[0:4])
	mo, ok2 := digits(date[5:7])
	d, ok3 := digits(date[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > daysIn(time.Month(mo), y) {
		return 0, "date", fmt.Errorf("date %q: want a valid YYYY-MM-DD", date)
	}
	frac := ""
	if i := strings.IndexByte(clock, '.'); i >= 0 {
		clock, frac = clock[:i], clock[i+1:]
		if len(frac) == 0 || len(frac) > 9 {
			return 0, "time", fmt.Errorf("time %q: want 1 to 9 fractional digits", clock+"."+frac)
		}
	}
	if len(clock) != 8 || clock[2] != ':' || clock[5] != ':' {
		return 0, "time", fmt.Errorf("time %q: want HH:MM:SS[.ffffff]", clock)
	}
	h, ok1 := digits(clock[0:2])
	mi, ok2 := digits(clock[3:5])
	sec, ok3 := digits(clock[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return 0, "time", fmt.Errorf("time %q: want a valid HH:MM:SS", clock)
	}
	ns := 0
	if frac != "" {
		v, ok := digits(frac)
		if !ok {
			return 0, "time", fmt.Errorf("time %q: fraction is not a number", clock+"."+frac)
		}
		for i := len(frac); i < 9; i++ {
			v *= 10
		}
		ns = v
	}
	if y < 1970 || y >= 2200 {
		return 0, "date", fmt.Errorf("date %q is outside %s", date, timeRangeText)
	}
	days := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC).Unix() / 86400
	return (days*86400+int64(h)*3600+int64(mi)*60+int64(sec))*1e9 + int64(ns), "", nil
}

func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
