package simulate

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// clock gives wall-clock nanoseconds since the Unix epoch that advance with
// the monotonic clock, so that deadlines are immune to wall-clock steps.
type clock struct {
	base   time.Time
	baseNS int64
}

func newClock() clock {
	t := time.Now()
	return clock{base: t, baseNS: t.UnixNano()}
}

func (c clock) now() int64 { return c.baseNS + int64(time.Since(c.base)) }

// at converts a time read from time.Now (which carries the monotonic
// clock) to the clock's nanoseconds.
func (c clock) at(t time.Time) int64 { return c.baseNS + int64(t.Sub(c.base)) }

// inbound is one received message handed to a conversation.
type inbound struct {
	h     Header
	frame int32  // frame size of the message on the wire
	ts    int64  // receive time
	body  []byte // copy of the bytes after the header, for handshake messages only
	err   error  // a decode error worth reporting (version mismatch), else nil
}

// link sends the messages of one conversation.
type link interface {
	// send transmits one message (header, padding) as one datagram or record.
	send(msg []byte) error
	local() netip.AddrPort
	remote() netip.AddrPort
}

// Errors ending a conversation.
var (
	// ErrPeerGone is returned when the peer fell silent for PeerTimeout or
	// closed its connection without saying goodbye.
	ErrPeerGone = errors.New("simulate: peer vanished")
	// ErrInterrupted is returned when the context was cancelled (SIGINT,
	// SIGTERM); recordings are flushed.
	ErrInterrupted = errors.New("simulate: interrupted")
	// errPeerBye ends a conversation normally when the peer said goodbye.
	errPeerBye = errors.New("peer bye")
)

// conv runs one conversation: the closed loop of turns.
//
// Turn logic (both sides): the client sends burst 0 right after the
// handshake, drawn from the empty history; then the sides alternate. A side
// waiting for burst b collects the data packets with burst number b and
// ends the burst when the packet flagged FlagLast arrives. It then records the
// burst in the conversation's history as it measured it (count, frame
// bytes, first-to-last arrival, reply gap, last packet), draws its answer
// from that history, and sends its first
// packet the drawn reply gap after the arrival of that last packet.
//
// Recovery: a waiting side that hears nothing for TurnTimeout sends
// Sync(b), "I am waiting for burst b". A side that receives Sync(w) while
// itself waiting for burst v ends burst v with what it got if w > v (the
// peer finished v, its last packet was lost) and answers Sync(v) if w < v
// (the peer lost the end of this side's burst v-1, which ends it); a side
// that is sending answers Alive. A peer silent for PeerTimeout is gone.
type conv struct {
	id    uint32
	side  trace.Side
	cfg   *Config
	clk   clock
	l     link
	in    chan inbound
	plan  *planner
	fr    Framing
	rec   Recorder
	proto uint8

	maxPackets int64 // 0 = none
	endNS      int64 // 0 = none

	burst     uint32        // burst being sent or awaited
	seq       uint32        // next data sequence number
	carried   int64         // data packets sent and received
	ref       int64         // time the opponent's burst ended
	sc        *sampler.Conv // the conversation's history, as this side knows it
	lastData  int64         // when this side's last data packet went out (-1: none yet)
	lastHeard int64
	lastSent  int64
	peerSeqs  seqTracker

	msg   []byte // data message buffer, zero padded, grown to the largest message sent
	ctl   []byte // control message buffer
	timer *time.Timer
	bp    burstPlan
	times []int64
	m     meter
	// drawCost: a moving average of the time to draw one more packet of
	// an open burst (stepwise samplers).
	drawCost int64

	rep ConvReport
}

func newConv(id uint32, side trace.Side, cfg *Config, clk clock, l link, in chan inbound, s *planner, fr Framing, rec Recorder) *conv {
	c := &conv{id: id, side: side, cfg: cfg, clk: clk, l: l, in: in, plan: s, fr: fr, rec: rec,
		sc: sampler.NewConv(uint64(id)), lastData: -1,
		msg: make([]byte, DefaultMaxFrame), ctl: make([]byte, HeaderLen+64), timer: time.NewTimer(time.Hour)}
	c.timer.Stop()
	c.proto = 17
	if fr.Transport == TCP {
		c.proto = 6
	}
	c.rep.Conv = id
	c.rep.Local = l.local()
	c.rep.Peer = l.remote()
	return c
}

// run plays the conversation from the handshake (at time start) to its end.
func (c *conv) run(ctx context.Context, start int64, h Hello) (err error) {
	c.rep.Start = time.Now()
	c.ref, c.lastHeard, c.lastSent = start, start, start
	c.maxPackets = int64(h.MaxPackets)
	if h.DurationNS > 0 {
		c.endNS = start + int64(h.DurationNS)
	}
	defer func() {
		c.rep.Stop = time.Now()
		c.rep.Clamps = c.plan.clamps
		c.rep.Calls = c.plan.calls
		c.rep.Lost = c.peerSeqs.lost()
		switch {
		case err == nil:
			c.rep.End = "limit"
		case errors.Is(err, errPeerBye):
			c.rep.End = "peer bye"
			err = nil
		case errors.Is(err, ErrInterrupted):
			c.rep.End = "interrupted"
			c.bye()
		default:
			c.rep.End = err.Error()
		}
	}()
	myTurn := c.side == trace.Client
	for {
		if myTurn {
			done, err := c.sendBurst(ctx)
			if err != nil || done {
				return err
			}
		} else if err := c.awaitBurst(ctx); err != nil {
			return err
		}
		myTurn = !myTurn
	}
}

// sendBurst draws and sends this side's burst; done reports that a limit
// ended the conversation (a Bye was sent). With a stepwise sampler only
// the burst's first packet is drawn before it goes out (the decision);
// each later packet is drawn while the agent waits to send an earlier
// one, when the wait leaves time for a draw, else right after the
// packet before it is sent.
func (c *conv) sendBurst(ctx context.Context) (done bool, err error) {
	if (c.maxPackets > 0 && c.carried >= c.maxPackets) || (c.endNS > 0 && c.clk.now() >= c.endNS) {
		c.bye()
		return true, nil
	}
	t0 := time.Now()
	if err := c.decide(); err != nil {
		return false, err
	}
	c.rep.Decision.Add(int64(time.Since(t0)))
	c.times = c.times[:0]
	n, why := limitCut(c.bp.count(), c.carried, c.maxPackets)
	flagged := false // the last packet sent carried FlagLast
	for i := 0; i < n; i++ {
		if err := c.drawTo(i + 1); err != nil {
			return false, err
		}
		c.times = extend(c.times, c.ref, &c.bp)
		if c.endNS > 0 && c.times[i] > c.endNS {
			// The rest of the burst falls after the end: as truncate.
			n, why = i, goOn
			if i > 0 && !flagged {
				// Packet i-1 went out before packet i was drawn, without
				// FlagLast: end the peer's wait for more with a Sync
				// naming the burst that follows.
				c.control(FlagSync, c.burst+1)
			}
			break
		}
		// Draw ahead while the wait for this packet leaves time for it.
		for c.bp.drawn() < n && c.times[i]-c.clk.now()-int64(c.cfg.Spin)-max(int64(c.cfg.FineSleep), 0) > 2*c.drawCost {
			if err := c.drawTo(c.bp.drawn() + 1); err != nil {
				return false, err
			}
		}
		if err := c.waitUntil(ctx, c.times[i]); err != nil {
			return false, err
		}
		size := c.bp.sizes[i]
		h := Header{Side: uint8(c.side), Conv: c.id, Seq: c.seq, Burst: c.burst,
			Length: uint16(c.fr.MessageLen(size))}
		flagged = i == n-1 || (c.endNS > 0 && i+1 < c.bp.drawn() && c.times[i]+c.bp.dts[i+1] > c.endNS)
		if flagged {
			h.Flags = FlagLast
		}
		now := c.clk.now()
		h.SendNS = now
		if int(h.Length) > len(c.msg) {
			c.msg = make([]byte, h.Length)
		}
		msg := c.msg[:h.Length]
		if err := h.Encode(msg); err != nil {
			return false, err
		}
		if err := c.l.send(msg); err != nil {
			if c.fr.Transport == TCP {
				return false, fmt.Errorf("%w: sending to %v: %v", ErrPeerGone, c.l.remote(), err)
			}
			// UDP: an ICMP error from a closed port; the peer timeout decides.
		}
		c.seq++
		c.lastSent = now
		c.lastData = now
		lag := now - c.times[i]
		c.rep.Pacing.Add(lag)
		if i > 0 {
			c.rep.PacingRest.Add(lag)
		}
		if lag > int64(c.cfg.LateAfter) {
			c.rep.Late++
		}
		c.rep.Sent++
		c.rep.SentBytes += int64(size)
		if c.rec != nil {
			if err := c.rec.Record(Rec{Sent: true, Conv: c.id, TS: now, SchedNS: c.times[i], Size: size, Header: h,
				Src: c.l.local(), Dst: c.l.remote(), Transport: c.fr.Transport, From: c.side}); err != nil {
				return false, err
			}
		}
	}
	if n == 0 && why == goOn {
		// Nothing before the end: stay until the end, as the drawn burst
		// would have, then say goodbye.
		if err := c.waitUntil(ctx, c.endNS); err != nil {
			return false, err
		}
		c.bye()
		return true, nil
	}
	sent(c.sc, &c.bp, n)
	c.carried += int64(n)
	c.burst++
	if n > 0 {
		c.rep.Bursts++
	}
	if why == stopLimit {
		c.bye()
		return true, nil
	}
	return false, nil
}

// decide draws this side's next turn and the first packet of its burst (a
// stepwise sampler) or the whole burst into c.bp. Through a shared
// Dispatcher, which may be busy with other conversations, it answers the
// peer's control messages while it waits (a Sync gets Alive), so that a
// slow decision does not make the peer declare this side gone.
func (c *conv) decide() error {
	d := c.plan.d
	if d == nil {
		return c.plan.planFirst(c.sc, &c.bp)
	}
	// Only the first packet when the dispatcher is idle: when it is busy
	// with other conversations, their draws and this one's later packets
	// would queue behind each other, so the burst is drawn whole, in the
	// model calls that serve the whole batch.
	if err := d.submit(c.plan, c.sc, &c.bp, c.plan.stepwise && d.idle()); err != nil {
		return err
	}
	return d.wait(c.plan, c.in, c.whileSending)
}

// drawTo draws the open burst's packets up to upto (nothing if they are
// drawn), timing the draw for sendBurst's draw-ahead.
func (c *conv) drawTo(upto int) error {
	if upto <= c.bp.drawn() {
		return nil
	}
	t0 := time.Now()
	var err error
	if d := c.plan.d; d == nil {
		err = c.plan.more(c.sc, &c.bp, upto-c.bp.drawn())
	} else if err = d.send(c.plan, c.sc, &c.bp, decision{more: true, upto: upto}); err == nil {
		err = d.wait(c.plan, c.in, c.whileSending)
	}
	if err != nil {
		return err
	}
	dt := int64(time.Since(t0))
	if c.drawCost == 0 {
		c.drawCost = dt
	} else {
		c.drawCost += (dt - c.drawCost) / 8
	}
	c.rep.Draw.Add(dt)
	return nil
}

// waitUntil waits for deadline, answering control messages meanwhile.
func (c *conv) waitUntil(ctx context.Context, deadline int64) error {
	spin := int64(c.cfg.Spin)
	fine := max(int64(c.cfg.FineSleep), 0)
	// Messages already here first, even when the deadline has passed, so
	// that a peer's Bye (or a cancellation) stops a burst sent back to back.
	for pending := true; pending; {
		select {
		case <-ctx.Done():
			return ErrInterrupted
		case m := <-c.in:
			if err := c.whileSending(m); err != nil {
				return err
			}
		default:
			pending = false
		}
	}
	for {
		d := deadline - spin - fine - c.clk.now()
		if d <= 0 {
			break
		}
		c.timer.Reset(time.Duration(d))
		select {
		case <-ctx.Done():
			c.timer.Stop()
			return ErrInterrupted
		case m := <-c.in:
			c.timer.Stop()
			if err := c.whileSending(m); err != nil {
				return err
			}
		case <-c.timer.C:
		}
	}
	if fine > 0 {
		if d := deadline - spin - c.clk.now(); d > 0 {
			fineSleep(time.Duration(d))
		}
	}
	if spin > 0 {
		if !spinners.acquire() {
			// Every spinning slot is taken: sleep to the deadline instead
			// of burning another core.
			if d := deadline - c.clk.now(); d > 0 {
				fineSleep(time.Duration(d))
			}
			return nil
		}
		// A pure busy loop: yielding (runtime.Gosched) would hand this
		// processor to whichever goroutine is runnable, such as one about
		// to enter a model call of a millisecond, and the deadline would
		// wait for it. The budget leaves the other processors free.
		for c.clk.now() < deadline {
		}
		spinners.release()
	}
	return nil
}

// spinBudget bounds how many conversations of the process busy-wait at
// once (Config.Spin): with many conversations their deadlines overlap,
// and unbounded spinning would take every core from the model and the
// other conversations. A conversation that finds no free slot sleeps to
// its deadline instead.
type spinBudget struct {
	busy atomic.Int32
	max  atomic.Int32 // 0: MaxSpinners()
}

var spinners spinBudget

// MaxSpinners is how many conversations of a process may busy-wait at
// once: one fewer than the Go processors, so that one is always left to
// the rest of the process (none with a single processor: Config.Spin then
// only sleeps).
func MaxSpinners() int { return runtime.GOMAXPROCS(0) - 1 }

func (b *spinBudget) acquire() bool {
	limit := b.max.Load()
	if limit <= 0 {
		limit = int32(MaxSpinners())
	}
	for {
		n := b.busy.Load()
		if n >= limit {
			return false
		}
		if b.busy.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (b *spinBudget) release() { b.busy.Add(-1) }

// whileSending handles a message that arrives during this side's turn.
func (c *conv) whileSending(m inbound) error {
	if m.err != nil {
		return c.linkError(m.err)
	}
	c.lastHeard = m.ts
	switch {
	case m.h.Flags&FlagBye != 0:
		return errPeerBye
	case m.h.Flags&FlagSync != 0:
		c.control(FlagAlive, c.burst)
	case m.h.IsControl():
	default:
		c.rep.Unexpected++
		return c.received(m)
	}
	return nil
}

// awaitBurst collects the opponent's burst and sets the condition and
// reference time of this side's answer.
func (c *conv) awaitBurst(ctx context.Context) error {
	c.m.reset()
	quiet := max(c.lastHeard, c.lastSent)
	for {
		c.timer.Reset(time.Duration(quiet + int64(c.cfg.TurnTimeout) - c.clk.now()))
		select {
		case <-ctx.Done():
			c.timer.Stop()
			return ErrInterrupted
		case m := <-c.in:
			c.timer.Stop()
			if m.err != nil {
				if err := c.linkError(m.err); err != nil {
					return err
				}
				continue
			}
			c.lastHeard = m.ts
			quiet = m.ts
			f := m.h.Flags
			switch {
			case f&FlagBye != 0:
				return errPeerBye
			case f&FlagSync != 0:
				if m.h.Burst > c.burst {
					return c.endBurst(m.ts)
				}
				if m.h.Burst < c.burst {
					c.control(FlagSync, c.burst)
				}
			case m.h.IsControl():
			default:
				if err := c.received(m); err != nil {
					return err
				}
				if m.h.Burst != c.burst {
					c.rep.Stale++
					continue
				}
				c.m.add(m.ts, m.frame)
				if f&FlagLast != 0 {
					return c.endBurst(m.ts)
				}
			}
		case <-c.timer.C:
			now := c.clk.now()
			if now-c.lastHeard >= int64(c.cfg.PeerTimeout) {
				return fmt.Errorf("%w: nothing from %v for %v while waiting for burst %d",
					ErrPeerGone, c.l.remote(), time.Duration(now-c.lastHeard).Round(time.Millisecond), c.burst)
			}
			c.control(FlagSync, c.burst)
			c.rep.Syncs++
			quiet = now
		}
	}
}

// linkError turns an error reported by the receiving side of the link into
// the conversation's end: a closed or broken connection means the peer is
// gone; a message of another protocol version (a stray sender) is ignored.
func (c *conv) linkError(err error) error {
	if errors.Is(err, ErrVersion) {
		return nil
	}
	return fmt.Errorf("%w: %v: %v", ErrPeerGone, c.l.remote(), err)
}

func (c *conv) endBurst(ts int64) error {
	c.sc.H.Observe(c.side.Other(), c.m.burst(c.plan, c.lastData))
	c.ref = ts
	c.burst++
	return nil
}

// received accounts for and records a data packet from the peer.
func (c *conv) received(m inbound) error {
	c.carried++
	c.rep.Received++
	c.rep.RecvBytes += int64(m.frame)
	c.peerSeqs.see(m.h.Seq)
	if c.rec == nil {
		return nil
	}
	return c.rec.Record(Rec{Sent: false, Conv: c.id, TS: m.ts, Size: m.frame, Header: m.h,
		Src: c.l.remote(), Dst: c.l.local(), Transport: c.fr.Transport, From: c.side.Other()})
}

// control sends a header-only control message; errors are ignored (the
// peer timeout covers a peer that cannot be reached).
func (c *conv) control(flags uint8, burst uint32) {
	h := Header{Flags: flags, Side: uint8(c.side), Conv: c.id, Burst: burst, Length: HeaderLen, SendNS: c.clk.now()}
	msg := c.ctl[:HeaderLen]
	_ = h.Encode(msg)
	_ = c.l.send(msg)
}

// bye tells the peer that this side sends nothing more. Over UDP it is sent
// three times against loss.
func (c *conv) bye() {
	n := 1
	if c.fr.Transport == UDP {
		n = 3
	}
	for i := 0; i < n; i++ {
		c.control(FlagBye, c.burst)
	}
}

// seqTracker counts the distinct sequence numbers seen and the highest.
type seqTracker struct {
	n    int64
	next uint32 // highest seen + 1
	any  bool
}

func (s *seqTracker) see(seq uint32) {
	s.n++
	if !s.any || seq >= s.next {
		s.next = seq + 1
		s.any = true
	}
}

// lost returns how many sequence numbers below the highest were never seen
// (duplicates, which UDP may deliver, count as seen twice and reduce it).
func (s *seqTracker) lost() int64 {
	if !s.any {
		return 0
	}
	return max(int64(s.next)-s.n, 0)
}
