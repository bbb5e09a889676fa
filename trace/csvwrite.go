package trace

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"
)

// WriteCSV writes c in the CSV format of shared/data
// (number,src,dst,size,clean_size,date,time), one row per packet in order,
// so that Load reads it back to the same packets. number counts from 1;
// clean_size is the header length of the frame PcapWriter would build
// (42 UDP, 54 TCP, 34 other protocols over IPv4; 62, 74, 54 over IPv6),
// which maps back to the protocol for UDP and TCP (other protocols read
// back as 0); date and time are UTC, with 6 fractional digits when the
// timestamp is a whole microsecond and 9 otherwise. Rows end in CRLF like
// the shared files. Rows are streamed: memory does not grow with c. (This
// writer does not go through a gota DataFrame, which would box every cell
// of a conversation of millions of packets; the feature tables of the
// features package do.)
func WriteCSV(w io.Writer, c *Conversation) error {
	if c.Server.Addr.Is6() != c.Client.Addr.Is6() || !c.Server.Addr.IsValid() || !c.Client.Addr.IsValid() {
		return fmt.Errorf("trace: csv: %s: server %s and client %s must be valid addresses of one family", c.Source, c.Server, c.Client)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString("number,src,dst,size,clean_size,date,time\r\n")
	srv, cli := c.Server.Addr.String(), c.Client.Addr.String()
	v6 := c.Server.Addr.Is6()
	var b []byte
	for i, p := range c.Packets {
		src, dst := srv, cli
		if p.From == Client {
			src, dst = cli, srv
		}
		if p.Size <= 0 {
			return fmt.Errorf("trace: csv: %s: packet %d: size %d is not positive", c.Source, i+1, p.Size)
		}
		b = strconv.AppendInt(b[:0], int64(i+1), 10)
		b = append(b, ',')
		b = append(b, src...)
		b = append(b, ',')
		b = append(b, dst...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(p.Size), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(headerLen(p.Proto, v6)), 10)
		b = append(b, ',')
		b = appendCSVTime(b, p.TS)
		b = append(b, '\r', '\n')
		if _, err := bw.Write(b); err != nil {
			return fmt.Errorf("trace: csv: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("trace: csv: %w", err)
	}
	return nil
}

// appendCSVTime appends "YYYY-MM-DD,HH:MM:SS.ffffff" (or 9 digits) in UTC.
func appendCSVTime(b []byte, ts int64) []byte {
	t := time.Unix(0, ts).UTC()
	b = t.AppendFormat(b, "2006-01-02,15:04:05")
	ns := t.Nanosecond()
	digits, v := 9, ns
	if ns%1000 == 0 {
		digits, v = 6, ns/1000
	}
	b = append(b, '.')
	s := strconv.Itoa(v)
	for i := len(s); i < digits; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
