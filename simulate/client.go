package simulate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/spatgan/spatgan/trace"
)

// Dial runs Config.Pairs client conversations with the server at addr
// concurrently, each from its own socket with conversation id i+1, and
// returns when all have ended. A server that is not up yet is retried every
// RetryInterval until ConnectTimeout. It returns the report and, if any
// conversation failed, an error (ErrInterrupted after a cancellation).
func Dial(ctx context.Context, addr string, cfg Config) (*Report, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	start := time.Now()
	clk := newClock()
	var drops dropCounters
	convs := make([]*conv, cfg.Pairs)
	errs := make([]error, cfg.Pairs)
	var fr Framing
	var frMu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < cfg.Pairs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, f, err := dialOne(ctx, addr, &cfg, clk, &drops, i)
			convs[i] = c
			if err != nil {
				errs[i] = fmt.Errorf("conversation %d: %w", i+1, err)
			}
			if c != nil {
				frMu.Lock()
				fr = f
				frMu.Unlock()
			}
		}()
	}
	wg.Wait()
	rep := &Report{Side: trace.Client, Transport: cfg.Transport, Framing: fr, Drops: drops.snapshot(), Elapsed: time.Since(start)}
	interrupted := false
	var out []error
	for i, c := range convs {
		if c != nil {
			rep.Convs = append(rep.Convs, c.rep)
		}
		if errs[i] != nil {
			if errors.Is(errs[i], ErrInterrupted) {
				interrupted = true
				continue
			}
			out = append(out, errs[i])
		}
	}
	if interrupted {
		out = append(out, ErrInterrupted)
	}
	return rep, errors.Join(out...)
}

// dialOne connects, shakes hands and runs one conversation. The returned
// conv is nil if the handshake did not complete.
func dialOne(ctx context.Context, addr string, cfg *Config, clk clock, drops *dropCounters, index int) (*conv, Framing, error) {
	id := uint32(index + 1)
	in := make(chan inbound, cfg.QueueLen)
	fin := make(chan struct{})
	defer close(fin)
	var l link
	var closeConn func()
	deadline := time.Now().Add(cfg.ConnectTimeout)
	switch cfg.Transport {
	case UDP:
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return nil, Framing{}, fmt.Errorf("simulate: server address %q: %v", addr, err)
		}
		uc, err := net.DialUDP("udp", nil, ua)
		if err != nil {
			return nil, Framing{}, fmt.Errorf("simulate: %v", err)
		}
		_ = uc.SetReadBuffer(1 << 20)
		ul := &udpClientLink{conn: uc, laddr: unmap(uc.LocalAddr().(*net.UDPAddr).AddrPort()), raddr: unmap(uc.RemoteAddr().(*net.UDPAddr).AddrPort())}
		l = ul
		closeConn = func() { uc.Close() }
		fr := NewFraming(UDP, ul.laddr.Addr().Is6() || cfg.IPv6)
		go readUDPClient(uc, in, fr, clk, drops)
	case TCP:
		tc, err := dialTCPRetry(ctx, addr, deadline, cfg.RetryInterval)
		if err != nil {
			return nil, Framing{}, err
		}
		_ = tc.SetNoDelay(true)
		tl := newTCPLink(tc)
		l = tl
		closeConn = func() {
			// Half-close, drain briefly, then close, so that our last
			// records are not cut off by a reset.
			// The reader closes the connection at the end of the stream.
			_ = tc.CloseWrite()
			_ = tc.SetReadDeadline(time.Now().Add(time.Second))
		}
		fr := NewFraming(TCP, tl.laddr.Addr().Is6() || cfg.IPv6)
		// A cancellation ends the handshake or the conversation, which
		// says goodbye; closeConn then closes in order. Closing the
		// connection at once would lose the Bye and fail the peer.
		go func() {
			r := bufio.NewReaderSize(tc, 1<<16)
			feedTCP(r, make([]byte, LargestFrame), in, fin, fr, clk, drops, uint8(trace.Server))
			// The peer's end of stream (after its Bye) must not close
			// the connection under a conversation still sending, unless
			// it is stuck writing to a peer that stopped reading.
			awaitFin(fin, tc, cfg.PeerTimeout)
			drainClose(tc, r)
		}()
		go func() {
			// A cancelled conversation says goodbye; one stuck writing
			// to a peer that stopped reading is cut off after the grace.
			select {
			case <-ctx.Done():
				select {
				case <-fin:
				case <-time.After(byeGrace):
					tc.Close()
				}
			case <-fin:
			}
		}()
	default:
		return nil, Framing{}, fmt.Errorf("simulate: unknown transport %d", cfg.Transport)
	}
	defer closeConn()
	fr := NewFraming(cfg.Transport, l.local().Addr().Is6() || cfg.IPv6)
	fr.Max = PathMaxFrame(l.local().Addr(), l.remote().Addr())
	if cfg.Log != nil && index == 0 {
		fmt.Fprintf(cfg.Log, "simulate: client on %v sends frames of %d to %d bytes (larger draws are clamped to the path MTU and counted)\n",
			l.local(), fr.MinFrame(), fr.MaxFrame())
	}

	hello := Hello{Fingerprint: cfg.Fingerprint, MaxPackets: uint64(cfg.MaxPackets), DurationNS: uint64(cfg.Duration),
		TimeScale: timeScale(cfg.Speedup)}
	agreed, start, err := handshake(ctx, l, in, id, hello, deadline, cfg.RetryInterval, cfg.Transport == UDP, clk)
	if err != nil {
		return nil, fr, err
	}
	pl, err := cfg.planner(index, trace.Client, fr, agreed.TimeScale)
	if err != nil {
		return nil, fr, err
	}
	c := newConv(id, trace.Client, cfg, clk, l, in, pl, fr, cfg.Recorder)
	return c, fr, c.run(ctx, start, agreed)
}

// handshake sends Hello until the server accepts or refuses it, or the
// deadline passes. It returns the agreed limits and the time of acceptance.
func handshake(ctx context.Context, l link, in <-chan inbound, id uint32, hello Hello, deadline time.Time, retry time.Duration, resend bool, clk clock) (Hello, int64, error) {
	msg := make([]byte, HeaderLen, HeaderLen+64+len(hello.Fingerprint))
	msg, err := AppendHello(msg, hello)
	if err != nil {
		return Hello{}, 0, err
	}
	h := Header{Flags: FlagHandshake, Side: uint8(trace.Client), Conv: id, Length: uint16(len(msg))}
	_ = h.Encode(msg)
	tick := time.NewTicker(retry)
	defer tick.Stop()
	timeout := time.NewTimer(time.Until(deadline))
	defer timeout.Stop()
	var lastErr error
	if err := l.send(msg); err != nil {
		lastErr = err
	}
	for {
		select {
		case <-ctx.Done():
			return Hello{}, 0, ErrInterrupted
		case <-timeout.C:
			why := ""
			if lastErr != nil {
				why = " (last error: " + lastErr.Error() + ")"
			}
			return Hello{}, 0, fmt.Errorf("simulate: no handshake answer from %v within the connect timeout%s; is the server running?", l.remote(), why)
		case <-tick.C:
			if resend {
				if err := l.send(msg); err != nil {
					lastErr = err
				}
			}
		case m := <-in:
			if m.err != nil {
				if errors.Is(m.err, ErrVersion) {
					return Hello{}, 0, fmt.Errorf("simulate: server %v refused: %w", l.remote(), m.err)
				}
				return Hello{}, 0, fmt.Errorf("simulate: handshake with %v: %v", l.remote(), m.err)
			}
			if m.h.Flags&FlagHandshake == 0 {
				continue
			}
			if m.h.Flags&FlagReject != 0 {
				return Hello{}, 0, fmt.Errorf("simulate: server %v refused the handshake: %s", l.remote(), string(m.body))
			}
			if m.h.Flags&FlagAck == 0 {
				continue
			}
			agreed, err := DecodeHello(m.body)
			if err != nil {
				return Hello{}, 0, fmt.Errorf("simulate: handshake answer from %v: %v", l.remote(), err)
			}
			if agreed.Fingerprint != hello.Fingerprint {
				return Hello{}, 0, fmt.Errorf("simulate: model fingerprint mismatch: server has %q, client has %q", agreed.Fingerprint, hello.Fingerprint)
			}
			return agreed, m.ts, nil
		}
	}
}

// readUDPClient reads the datagrams of a connected socket (the kernel
// drops datagrams from other addresses) and hands them to the conversation.
func readUDPClient(uc *net.UDPConn, in chan<- inbound, fr Framing, clk clock, drops *dropCounters) {
	buf := make([]byte, 1<<16)
	rd := newUDPReader(uc, clk)
	for {
		n, _, ts, err := rd.read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ECONNREFUSED while the server is not up yet
		}
		msg := buf[:n]
		h, err := DecodeHeader(msg)
		if err != nil {
			switch {
			case errors.Is(err, ErrVersion):
				drops.badVersion.Add(1)
				select {
				case in <- inbound{err: err, ts: ts}:
				default:
				}
			case errors.Is(err, ErrLength):
				drops.badLength.Add(1)
			default:
				drops.badHeader.Add(1)
			}
			continue
		}
		if h.Side != uint8(trace.Server) {
			drops.badHeader.Add(1)
			continue
		}
		m := inbound{h: h, frame: fr.FrameLen(n), ts: ts}
		if h.Flags&FlagHandshake != 0 {
			m.body = append([]byte(nil), msg[HeaderLen:]...)
		}
		select {
		case in <- m:
		default:
			drops.overflow.Add(1)
		}
	}
}

type udpClientLink struct {
	conn         *net.UDPConn
	laddr, raddr netip.AddrPort
}

func (l *udpClientLink) send(msg []byte) error {
	_, err := l.conn.Write(msg)
	return err
}
func (l *udpClientLink) local() netip.AddrPort  { return l.laddr }
func (l *udpClientLink) remote() netip.AddrPort { return l.raddr }

// dialTCPRetry connects, retrying refused attempts until the deadline.
func dialTCPRetry(ctx context.Context, addr string, deadline time.Time, retry time.Duration) (*net.TCPConn, error) {
	var d net.Dialer
	for {
		dctx, cancel := context.WithDeadline(ctx, deadline)
		c, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			return c.(*net.TCPConn), nil
		}
		if ctx.Err() != nil {
			return nil, ErrInterrupted
		}
		if time.Now().Add(retry).After(deadline) {
			return nil, fmt.Errorf("simulate: cannot connect to %s within the connect timeout; is the server running? (%v)", addr, err)
		}
		select {
		case <-ctx.Done():
			return nil, ErrInterrupted
		case <-time.After(retry):
		}
	}
}
