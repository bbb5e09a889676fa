package simulate

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/spatgan/spatgan/trace"
)

// DefaultListen is the server's default address: loopback only.
const DefaultListen = "127.0.0.1:7400"

// Server is the responding agent. It plays trace.Server against each client
// that completes the handshake, up to Config.Pairs conversations.
type Server struct {
	cfg   Config
	clk   clock
	fr    Framing
	udp   *net.UDPConn
	tcp   *net.TCPListener
	laddr netip.AddrPort
	drops dropCounters

	mu       sync.Mutex
	ctx      context.Context
	convs    map[convKey]*serverConv
	accepted int
	wg       sync.WaitGroup
	done     chan *serverConv

	rejectMu     sync.Mutex
	rejectTime   time.Time
	lastRefuse   string // the last refusal logged, and when
	lastRefuseAt time.Time
	rejects      int
}

type convKey struct {
	addr netip.AddrPort
	conv uint32
}

type serverConv struct {
	index int
	c     *conv
	ack   []byte
	err   error
	fin   chan struct{} // closed when the conversation has ended
	ended bool
}

// Listen binds the server's socket. An address without a host ("":PORT" or
// ":PORT") binds to loopback 127.0.0.1; to accept remote peers, give the
// host explicitly (0.0.0.0, or an interface address).
func Listen(addr string, cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("simulate: listen address %q: %v", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	addr = net.JoinHostPort(host, port)
	s := &Server{cfg: cfg, clk: newClock(), convs: map[convKey]*serverConv{}, done: make(chan *serverConv, cfg.Pairs)}
	switch cfg.Transport {
	case UDP:
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("simulate: listen address %q: %v", addr, err)
		}
		s.udp, err = net.ListenUDP("udp", ua)
		if err != nil {
			return nil, fmt.Errorf("simulate: %v", err)
		}
		_ = s.udp.SetReadBuffer(4 << 20)
		_ = s.udp.SetWriteBuffer(4 << 20)
		s.laddr = unmap(s.udp.LocalAddr().(*net.UDPAddr).AddrPort())
	case TCP:
		ta, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("simulate: listen address %q: %v", addr, err)
		}
		s.tcp, err = net.ListenTCP("tcp", ta)
		if err != nil {
			return nil, fmt.Errorf("simulate: %v", err)
		}
		s.laddr = unmap(s.tcp.Addr().(*net.TCPAddr).AddrPort())
	default:
		return nil, fmt.Errorf("simulate: unknown transport %d", cfg.Transport)
	}
	s.fr = NewFraming(cfg.Transport, s.laddr.Addr().Is6() || cfg.IPv6)
	s.fr.Max = PathMaxFrame(s.laddr.Addr(), netip.Addr{})
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, "simulate: server on %v sends frames of %d to %d bytes (larger draws are clamped to the path MTU and counted)\n",
			s.laddr, s.fr.MinFrame(), s.fr.MaxFrame())
	}
	return s, nil
}

// Addr returns the bound address.
func (s *Server) Addr() netip.AddrPort { return s.laddr }

// Framing returns the frame accounting in use.
func (s *Server) Framing() Framing { return s.fr }

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// byeGrace bounds how long a cancelled agent waits for its conversations to
// say goodbye before it closes its sockets.
const byeGrace = 2 * time.Second

// Serve runs conversations until Pairs of them have ended or ctx is
// cancelled (each running conversation then sends Bye), then closes the
// socket. It returns the report and, if any
// conversation failed, an error (ErrInterrupted after a cancellation).
func (s *Server) Serve(ctx context.Context) (*Report, error) {
	start := time.Now()
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	var readers sync.WaitGroup
	readers.Add(1)
	if s.udp != nil {
		go func() { defer readers.Done(); s.readUDP() }()
	} else {
		go func() { defer readers.Done(); s.acceptTCP() }()
	}
	var errs []error
	ended := 0
	interrupted := false
wait:
	for ended < s.cfg.Pairs {
		select {
		case sc := <-s.done:
			ended++
			if sc.err != nil {
				errs = append(errs, fmt.Errorf("conversation %d with %v: %w", sc.c.id, sc.c.l.remote(), sc.err))
			}
		case <-ctx.Done():
			interrupted = true
			break wait
		}
	}
	if interrupted {
		// Let the running conversations see the cancellation and say
		// goodbye (Bye, then an orderly close over TCP) before the socket
		// goes: a peer told nothing would wait for PeerTimeout and fail.
		ended := make(chan struct{})
		go func() { s.wg.Wait(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(byeGrace):
		}
	}
	s.close()
	s.wg.Wait()
	readers.Wait()
	rep := &Report{Side: trace.Server, Transport: s.cfg.Transport, Framing: s.fr, Drops: s.drops.snapshot(), Elapsed: time.Since(start)}
	s.mu.Lock()
	all := make([]*serverConv, 0, len(s.convs))
	for _, sc := range s.convs {
		all = append(all, sc)
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].index < all[j].index })
	for _, sc := range all {
		rep.Convs = append(rep.Convs, sc.c.rep)
	}
	if interrupted {
		// Conversations that ended on their own before the cancellation
		// may have failed too.
		for len(s.done) > 0 {
			if sc := <-s.done; sc.err != nil && !errors.Is(sc.err, ErrInterrupted) {
				errs = append(errs, fmt.Errorf("conversation %d with %v: %w", sc.c.id, sc.c.l.remote(), sc.err))
			}
		}
		errs = append(errs, ErrInterrupted)
	}
	return rep, errors.Join(errs...)
}

func (s *Server) close() {
	if s.udp != nil {
		s.udp.Close()
	}
	if s.tcp != nil {
		s.tcp.Close()
	}
}

// Close releases the socket of a server that is not serving.
func (s *Server) Close() error {
	s.close()
	return nil
}

func (s *Server) countDecode(err error) {
	switch {
	case errors.Is(err, ErrVersion):
		s.drops.badVersion.Add(1)
	case errors.Is(err, ErrLength):
		s.drops.badLength.Add(1)
	default:
		s.drops.badHeader.Add(1)
	}
}

// allowReject rate-limits handshake refusals to 20 per second, so that a
// flood of bad handshakes is not answered by a flood.
func (s *Server) allowReject() bool {
	s.rejectMu.Lock()
	defer s.rejectMu.Unlock()
	now := time.Now()
	if now.Sub(s.rejectTime) > time.Second {
		s.rejectTime, s.rejects = now, 0
	}
	s.rejects++
	return s.rejects <= 20
}

// refuse logs a refused handshake (see Config.Log) and returns the
// answer that tells the client why.
func (s *Server) refuse(key convKey, reason string) []byte {
	if s.cfg.Log != nil {
		line := fmt.Sprintf("server: refused client %s (conversation %d): %s", key.addr, key.conv, reason)
		s.rejectMu.Lock()
		now := time.Now()
		if line != s.lastRefuse || now.Sub(s.lastRefuseAt) > time.Second {
			s.lastRefuse, s.lastRefuseAt = line, now
			fmt.Fprintln(s.cfg.Log, line)
		}
		s.rejectMu.Unlock()
	}
	return rejectMsg(key.conv, reason)
}

func rejectMsg(conv uint32, reason string) []byte {
	if len(reason) > 512 {
		reason = reason[:512]
	}
	msg := make([]byte, HeaderLen, HeaderLen+len(reason))
	msg = append(msg, reason...)
	h := Header{Flags: FlagHandshake | FlagReject, Side: uint8(trace.Server), Conv: conv, Length: uint16(len(msg))}
	_ = h.Encode(msg)
	return msg
}

// hello handles a handshake request. It returns the conversation to feed
// (nil if refused) and the answer to send.
func (s *Server) hello(key convKey, h Header, body []byte, ts int64, l link) (*serverConv, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc := s.convs[key]; sc != nil {
		return nil, sc.ack // our acceptance was lost: repeat it
	}
	m, err := DecodeHello(body)
	if err != nil {
		s.drops.badHeader.Add(1)
		return nil, s.refuse(key, "bad handshake: "+err.Error())
	}
	if m.Fingerprint != s.cfg.Fingerprint {
		return nil, s.refuse(key, fmt.Sprintf("model fingerprint mismatch: server has %q, client has %q", s.cfg.Fingerprint, m.Fingerprint))
	}
	if s.accepted >= s.cfg.Pairs {
		return nil, s.refuse(key, fmt.Sprintf("server is full (%d conversations)", s.cfg.Pairs))
	}
	if s.ctx == nil || s.ctx.Err() != nil {
		return nil, s.refuse(key, "server is shutting down")
	}
	pl, err := s.cfg.planner(s.accepted, trace.Server, s.fr, m.TimeScale)
	if err != nil {
		return nil, s.refuse(key, "server cannot create its sampler: "+err.Error())
	}
	agreed := Hello{Fingerprint: s.cfg.Fingerprint, MaxPackets: combine(m.MaxPackets, uint64(s.cfg.MaxPackets)),
		DurationNS: combine(m.DurationNS, uint64(s.cfg.Duration)), TimeScale: m.TimeScale}
	ack := make([]byte, HeaderLen, HeaderLen+64+len(agreed.Fingerprint))
	ack, _ = AppendHello(ack, agreed)
	ah := Header{Flags: FlagHandshake | FlagAck, Side: uint8(trace.Server), Conv: h.Conv, Length: uint16(len(ack))}
	_ = ah.Encode(ack)
	c := newConv(h.Conv, trace.Server, &s.cfg, s.clk, l, make(chan inbound, s.cfg.QueueLen), pl, s.fr, s.cfg.Recorder)
	sc := &serverConv{index: s.accepted, c: c, ack: ack, fin: make(chan struct{})}
	s.accepted++
	s.convs[key] = sc
	s.wg.Add(1)
	ctx := s.ctx
	go func() {
		defer s.wg.Done()
		sc.err = c.run(ctx, ts, agreed)
		s.mu.Lock()
		sc.ended = true
		s.mu.Unlock()
		close(sc.fin)
		s.done <- sc
	}()
	return sc, ack
}

// readUDP receives datagrams and hands them to their conversations.
func (s *Server) readUDP() {
	buf := make([]byte, 1<<16)
	rd := newUDPReader(s.udp, s.clk)
	for {
		n, from, ts, err := rd.read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		from = unmap(from)
		msg := buf[:n]
		h, err := DecodeHeader(msg)
		if err != nil {
			s.countDecode(err)
			if errors.Is(err, ErrVersion) && s.allowReject() {
				var ve *VersionError
				errors.As(err, &ve)
				_, _ = s.udp.WriteToUDPAddrPort(rejectMsg(0, ve.Error()), from)
			}
			continue
		}
		key := convKey{from, h.Conv}
		if h.Flags&FlagHandshake != 0 && h.Flags&(FlagAck|FlagReject) == 0 {
			if h.Side != uint8(trace.Client) {
				s.drops.badHeader.Add(1)
				continue
			}
			_, answer := s.hello(key, h, msg[HeaderLen:], ts, &udpServerLink{conn: s.udp, laddr: s.laddr, peer: from})
			if answer != nil && (answer[3]&FlagReject == 0 || s.allowReject()) {
				_, _ = s.udp.WriteToUDPAddrPort(answer, from)
			}
			continue
		}
		s.mu.Lock()
		sc := s.convs[key]
		ended := sc != nil && sc.ended
		s.mu.Unlock()
		if ended && h.IsControl() {
			continue // the peer's goodbye or sync after the end: expected
		}
		if sc == nil || ended {
			s.drops.noConv.Add(1)
			continue
		}
		if h.Side != uint8(trace.Client) {
			s.drops.badHeader.Add(1)
			continue
		}
		select {
		case sc.c.in <- inbound{h: h, frame: s.fr.FrameLen(n), ts: ts}:
		default:
			s.drops.overflow.Add(1)
		}
	}
}

type udpServerLink struct {
	conn  *net.UDPConn
	laddr netip.AddrPort
	peer  netip.AddrPort
}

func (l *udpServerLink) send(msg []byte) error {
	_, err := l.conn.WriteToUDPAddrPort(msg, l.peer)
	return err
}
func (l *udpServerLink) local() netip.AddrPort  { return l.laddr }
func (l *udpServerLink) remote() netip.AddrPort { return l.peer }

// acceptTCP accepts connections until the listener is closed.
func (s *Server) acceptTCP() {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := s.tcp.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			s.serveTCP(c)
		}()
	}
}

// serveTCP runs the handshake and then feeds the records of one connection
// to its conversation.
func (s *Server) serveTCP(nc *net.TCPConn) {
	defer nc.Close()
	_ = nc.SetNoDelay(true)
	l := newTCPLink(nc)
	// Close the connection if the server stops during the handshake, to
	// end blocked reads. Once a conversation runs, a stop ends it with a
	// Bye and the orderly close below instead.
	stop := make(chan struct{})
	defer close(stop)
	shook := make(chan struct{})
	s.mu.Lock()
	ctx := s.ctx
	s.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			nc.Close()
		case <-shook:
		case <-stop:
		}
	}()
	r := bufio.NewReaderSize(nc, 1<<16)
	buf := make([]byte, LargestFrame)
	_ = nc.SetReadDeadline(time.Now().Add(s.cfg.ConnectTimeout))
	var sc *serverConv
	for sc == nil {
		msg, err := readRecord(r, buf)
		if err != nil {
			if errors.Is(err, ErrLength) {
				s.drops.badLength.Add(1)
			}
			return
		}
		ts := s.clk.now()
		h, err := DecodeHeader(msg)
		if err != nil {
			s.countDecode(err)
			if errors.Is(err, ErrVersion) {
				var ve *VersionError
				errors.As(err, &ve)
				_ = l.send(rejectMsg(0, ve.Error()))
				return
			}
			continue
		}
		if h.Flags&FlagHandshake == 0 || h.Flags&(FlagAck|FlagReject) != 0 || h.Side != uint8(trace.Client) {
			s.drops.noConv.Add(1)
			continue
		}
		var answer []byte
		sc, answer = s.hello(convKey{l.remote(), h.Conv}, h, msg[HeaderLen:], ts, l)
		if answer != nil {
			if err := l.send(answer); err != nil {
				return
			}
		}
		if sc == nil {
			return // refused
		}
	}
	close(shook)
	_ = nc.SetReadDeadline(time.Time{})
	go func() {
		select {
		case <-sc.fin:
		case <-ctx.Done():
			// The conversation says goodbye; one stuck writing to a
			// client that stopped reading is cut off after the grace.
			select {
			case <-sc.fin:
			case <-time.After(byeGrace):
				nc.Close()
				return
			}
		case <-stop:
			return
		}
		// Half-close and drain briefly, so that our last records are
		// not cut off by a reset.
		_ = nc.CloseWrite()
		_ = nc.SetReadDeadline(time.Now().Add(time.Second))
	}()
	feedTCP(r, buf, sc.c.in, sc.fin, s.fr, s.clk, &s.drops, uint8(trace.Client))
	// The client's end of stream (after its Bye) must not close the
	// connection under a conversation still sending, unless that
	// conversation is stuck writing to a client that stopped reading.
	awaitFin(sc.fin, nc, s.cfg.PeerTimeout)
	drainClose(nc, r)
}

// awaitFin waits for a conversation to end; if it has not ended after
// timeout, it closes the connection (ending a write blocked on a peer that
// does not read) and waits for the end.
func awaitFin(fin <-chan struct{}, nc *net.TCPConn, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-fin:
	case <-t.C:
		nc.Close()
		<-fin
	}
}

// drainClose ends a TCP connection in order after the conversation: it
// half-closes, reads and discards what the peer still sends until the peer
// closes too (or a second passes), then closes. Closing with unread data
// would reset the connection and fail a peer still sending its burst.
func drainClose(nc *net.TCPConn, r io.Reader) {
	_ = nc.CloseWrite()
	_ = nc.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, r)
	nc.Close()
}

// feedTCP reads records until the connection ends and hands them to a
// conversation; the end of the stream is handed over as an error.
func feedTCP(r *bufio.Reader, buf []byte, in chan<- inbound, fin <-chan struct{}, fr Framing, clk clock, drops *dropCounters, peerSide uint8) {
	for {
		msg, err := readRecord(r, buf)
		ts := clk.now()
		if err != nil {
			if errors.Is(err, ErrLength) {
				drops.badLength.Add(1)
			}
			if errors.Is(err, io.EOF) {
				err = errors.New("connection closed by peer")
			}
			select {
			case in <- inbound{err: err, ts: ts}:
			case <-fin:
			}
			return
		}
		h, err := DecodeHeader(msg)
		if err != nil {
			switch {
			case errors.Is(err, ErrVersion):
				drops.badVersion.Add(1)
				select {
				case in <- inbound{err: err, ts: ts}:
				case <-fin:
					return
				}
			case errors.Is(err, ErrLength):
				drops.badLength.Add(1)
			default:
				drops.badHeader.Add(1)
			}
			continue
		}
		if h.Side != peerSide {
			drops.badHeader.Add(1)
			continue
		}
		m := inbound{h: h, frame: fr.FrameLen(len(msg)), ts: ts}
		if h.Flags&FlagHandshake != 0 {
			m.body = append([]byte(nil), msg[HeaderLen:]...)
		}
		select {
		case in <- m:
		case <-fin:
			return
		}
	}
}

// readRecord reads one length-prefixed record into buf.
func readRecord(r *bufio.Reader, buf []byte) ([]byte, error) {
	var p [RecordPrefixLen]byte
	if _, err := io.ReadFull(r, p[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(p[:]))
	if n < HeaderLen || n > len(buf) {
		return nil, fmt.Errorf("%w: TCP record length %d outside %d..%d", ErrLength, n, HeaderLen, len(buf))
	}
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf[:n], nil
}

// tcpLink writes each message as one length-prefixed record in one write.
type tcpLink struct {
	conn         *net.TCPConn
	laddr, raddr netip.AddrPort
	mu           sync.Mutex
	wbuf         []byte
}

func newTCPLink(c *net.TCPConn) *tcpLink {
	return &tcpLink{conn: c, laddr: unmap(c.LocalAddr().(*net.TCPAddr).AddrPort()),
		raddr: unmap(c.RemoteAddr().(*net.TCPAddr).AddrPort()), wbuf: make([]byte, RecordPrefixLen+DefaultMaxFrame)}
}

func (l *tcpLink) send(msg []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := RecordPrefixLen + len(msg); n > len(l.wbuf) {
		l.wbuf = make([]byte, n)
	}
	b := l.wbuf[:RecordPrefixLen+len(msg)]
	binary.BigEndian.PutUint16(b, uint16(len(msg)))
	copy(b[RecordPrefixLen:], msg)
	_, err := l.conn.Write(b)
	return err
}
func (l *tcpLink) local() netip.AddrPort  { return l.laddr }
func (l *tcpLink) remote() netip.AddrPort { return l.raddr }
