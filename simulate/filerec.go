package simulate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spatgan/spatgan/trace"
)

// pcapHeaderLen is the length of a pcap file header.
const pcapHeaderLen = 24

// DefaultFlushEvery is how often a FileRecorder writes buffered records.
const DefaultFlushEvery = 200 * time.Millisecond

// CSVHeader is the header line of the CSV flow log. Columns:
//
//	ts_ns       send time (event "sent") or receive time ("recv"), ns since the Unix epoch
//	event       sent or recv
//	conv        conversation id
//	from        side that sent the packet: server or client
//	src, dst    endpoints ADDR:PORT
//	proto       udp or tcp
//	size        frame length on the wire, bytes
//	seq         sender's sequence number
//	burst       burst number
//	last        1 if the packet ends its burst
//	send_ts_ns  send time from the in-band header (sender's clock)
//	sched_ns    scheduled send time (sent packets; empty for received)
const CSVHeader = "ts_ns,event,conv,from,src,dst,proto,size,seq,burst,last,send_ts_ns,sched_ns\n"

// FileRecorder writes the data packets an agent sends and receives to a
// pcap file (nanosecond timestamps, Ethernet frames of the packets' sizes,
// payload starting with the in-band header, via trace.PcapWriter) and a CSV
// flow log (CSVHeader). Either path may be empty to skip that file.
//
// Record only queues the packet (a copy, under a lock held for an append);
// a background goroutine turns the queue into pcap and CSV records and
// writes them, at least every FlushEvery and whenever the queue holds
// QueueFlush packets, so the packet path neither serialises frames nor
// waits for the disk, and the files are valid (a complete capture and a
// complete CSV of everything written so far) at any time during the run;
// Close writes the rest. An error writing is returned by the next Record,
// Flush or Close. It is safe for concurrent use.
//
// Each conversation gets its own trace.PcapWriter (its own TCP sequence
// numbers) writing into the shared file; their file headers are dropped
// after the first.
type FileRecorder struct {
	mu      sync.Mutex // guards pending, spare, err, closed, n
	pending []Rec      // recorded, not yet serialised
	spare   []Rec
	err     error
	closed  bool
	n       int64
	kick    chan struct{}

	wmu     sync.Mutex // guards what follows: serialising and writing
	pcapF   *os.File
	csvF    *os.File
	pcapBuf []byte // whole records not yet written to pcapF
	csvBuf  []byte
	convs   map[recKey]*convPcap
	hdr     []byte
	stop    chan struct{}
	done    chan struct{}
}

// QueueFlush is the number of queued packets at which a FileRecorder's
// writer goroutine is woken before its FlushEvery tick; at 8 times as many
// Record writes them itself, which bounds the queue.
const QueueFlush = 8192

type recKey struct {
	conv           uint32
	server, client netip.AddrPort
}

type convPcap struct {
	w    *trace.PcapWriter
	sink *skipSink
}

// skipSink appends what it is given to *dst, after dropping the first skip
// bytes of its stream (a per-conversation writer's file header).
type skipSink struct {
	dst  *[]byte
	skip int
}

func (s *skipSink) Write(b []byte) (int, error) {
	n := len(b)
	if s.skip > 0 {
		k := min(s.skip, len(b))
		s.skip -= k
		b = b[k:]
	}
	*s.dst = append(*s.dst, b...)
	return n, nil
}

// NewFileRecorder creates (truncates) the files and writes their headers,
// so that they are valid captures and logs from the start. flushEvery 0
// means DefaultFlushEvery.
func NewFileRecorder(pcapPath, csvPath string, flushEvery time.Duration) (*FileRecorder, error) {
	if flushEvery <= 0 {
		flushEvery = DefaultFlushEvery
	}
	r := &FileRecorder{convs: map[recKey]*convPcap{}, stop: make(chan struct{}), done: make(chan struct{}), kick: make(chan struct{}, 1)}
	if pcapPath != "" {
		var hdr []byte
		w, err := trace.NewPcapWriter(&skipSink{dst: &hdr}, trace.WriterOptions{Format: trace.FormatPcap})
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			return nil, fmt.Errorf("simulate: recorder: %w", err)
		}
		if len(hdr) != pcapHeaderLen {
			return nil, fmt.Errorf("simulate: recorder: pcap file header of %d bytes, expected %d", len(hdr), pcapHeaderLen)
		}
		r.hdr = hdr
		if r.pcapF, err = os.Create(pcapPath); err != nil {
			return nil, fmt.Errorf("simulate: recorder: %w", err)
		}
		r.pcapBuf = append(r.pcapBuf, hdr...)
	}
	if csvPath != "" {
		f, err := os.Create(csvPath)
		if err != nil {
			if r.pcapF != nil {
				r.pcapF.Close()
			}
			return nil, fmt.Errorf("simulate: recorder: %w", err)
		}
		r.csvF = f
		r.csvBuf = append(r.csvBuf, CSVHeader...)
	}
	if err := r.Flush(); err != nil {
		for _, f := range []*os.File{r.pcapF, r.csvF} {
			if f != nil {
				f.Close()
			}
		}
		return nil, err
	}
	go func() {
		defer close(r.done)
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				_ = r.Flush()
			case <-r.kick:
				_ = r.Flush()
			}
		}
	}()
	return r, nil
}

// Record implements Recorder: it queues a copy of x.
func (r *FileRecorder) Record(x Rec) error {
	r.mu.Lock()
	if r.err != nil || r.closed {
		err := r.err
		r.mu.Unlock()
		if err == nil {
			err = errors.New("simulate: recorder: closed")
		}
		return err
	}
	r.pending = append(r.pending, x)
	r.n++
	queued := len(r.pending)
	r.mu.Unlock()
	switch {
	case queued >= 8*QueueFlush:
		// The writer falls behind (offline generation outpacing it):
		// write here rather than let the queue grow.
		return r.Flush()
	case queued >= QueueFlush:
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// serialise appends x's pcap and CSV records to the buffers; the caller
// holds wmu.
func (r *FileRecorder) serialise(x *Rec) error {
	server, client := x.Dst, x.Src
	if x.From == trace.Server {
		server, client = x.Src, x.Dst
	}
	proto := uint8(17)
	if x.Transport == TCP {
		proto = 6
	}
	if r.pcapF != nil {
		key := recKey{x.Conv, server, client}
		cp := r.convs[key]
		if cp == nil {
			sink := &skipSink{dst: &r.pcapBuf, skip: pcapHeaderLen}
			w, err := trace.NewPcapWriter(sink, trace.WriterOptions{Format: trace.FormatPcap,
				Server: trace.Endpoint{Addr: server.Addr(), Port: server.Port()},
				Client: trace.Endpoint{Addr: client.Addr(), Port: client.Port()}, Proto: x.Transport.String(),
				BufferSize: 256}) // flushed after each record: the buffer only batches a record's writes
			if err != nil {
				return fmt.Errorf("simulate: recorder: %w", err)
			}
			cp = &convPcap{w: w, sink: sink}
			r.convs[key] = cp
		}
		var pre [RecordPrefixLen + HeaderLen]byte
		prefix := pre[RecordPrefixLen:]
		if x.Transport == TCP {
			binary.BigEndian.PutUint16(pre[:], x.Header.Length)
			prefix = pre[:]
		}
		_ = x.Header.Encode(prefix[len(prefix)-HeaderLen:])
		// An offline frame smaller than its headers plus the in-band
		// header carries what fits of it.
		if room := int(x.Size) - cp.w.HeaderLen(proto); room < len(prefix) {
			prefix = prefix[:max(room, 0)]
		}
		err := cp.w.WritePayload(trace.Packet{TS: x.TS, Size: x.Size, From: x.From, Proto: proto}, prefix)
		if err == nil {
			err = cp.w.Flush() // one whole record into pcapBuf
		}
		if err != nil {
			return fmt.Errorf("simulate: recorder: %w", err)
		}
	}
	if r.csvF != nil {
		b := r.csvBuf
		b = strconv.AppendInt(b, x.TS, 10)
		if x.Sent {
			b = append(b, ",sent,"...)
		} else {
			b = append(b, ",recv,"...)
		}
		b = strconv.AppendUint(b, uint64(x.Conv), 10)
		b = append(b, ',')
		b = append(b, x.From.String()...)
		b = append(b, ',')
		b = x.Src.AppendTo(b)
		b = append(b, ',')
		b = x.Dst.AppendTo(b)
		b = append(b, ',')
		b = append(b, x.Transport.String()...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(x.Size), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(x.Header.Seq), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(x.Header.Burst), 10)
		if x.Header.Flags&FlagLast != 0 {
			b = append(b, ",1,"...)
		} else {
			b = append(b, ",0,"...)
		}
		b = strconv.AppendInt(b, x.Header.SendNS, 10)
		b = append(b, ',')
		if x.Sent {
			b = strconv.AppendInt(b, x.SchedNS, 10)
		}
		b = append(b, '\n')
		r.csvBuf = b
	}
	return nil
}

// Count returns the number of packets recorded.
func (r *FileRecorder) Count() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Flush writes the queued records to the files.
func (r *FileRecorder) Flush() error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	return r.flushLocked()
}

// flushLocked serialises the queue and writes it; the caller holds wmu.
func (r *FileRecorder) flushLocked() error {
	r.mu.Lock()
	batch := r.pending
	r.pending, r.spare = r.spare[:0], nil
	err := r.err
	r.mu.Unlock()
	if err == nil {
		err = r.writeOut(batch)
	}
	clear(batch) // drop references for the collector
	r.mu.Lock()
	r.spare = batch[:0]
	if err != nil && r.err == nil {
		r.err = err
	}
	err = r.err
	r.mu.Unlock()
	return err
}

func (r *FileRecorder) writeOut(batch []Rec) error {
	for i := range batch {
		if err := r.serialise(&batch[i]); err != nil {
			return err
		}
		if len(r.pcapBuf) > 1<<18 || len(r.csvBuf) > 1<<18 {
			if err := r.writeBufs(); err != nil {
				return err
			}
		}
	}
	return r.writeBufs()
}

func (r *FileRecorder) writeBufs() error {
	if r.pcapF != nil && len(r.pcapBuf) > 0 {
		if _, err := r.pcapF.Write(r.pcapBuf); err != nil {
			return fmt.Errorf("simulate: recorder: %w", err)
		}
		r.pcapBuf = r.pcapBuf[:0]
	}
	if r.csvF != nil && len(r.csvBuf) > 0 {
		if _, err := r.csvF.Write(r.csvBuf); err != nil {
			return fmt.Errorf("simulate: recorder: %w", err)
		}
		r.csvBuf = r.csvBuf[:0]
	}
	return nil
}

// Close writes everything buffered and closes the files. It is safe to
// call twice.
func (r *FileRecorder) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return r.err
	}
	r.closed = true
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	r.wmu.Lock()
	defer r.wmu.Unlock()
	err := r.flushLocked()
	for _, f := range []*os.File{r.pcapF, r.csvF} {
		if f == nil {
			continue
		}
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("simulate: recorder: %w", cerr)
		}
	}
	return err
}
