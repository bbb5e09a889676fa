package simulate

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// Defaults of a Dispatcher.
const (
	// DefaultMaxBatch bounds the decisions of one batch.
	DefaultMaxBatch = 1024
)

// ErrDispatcherClosed is returned for a decision requested from a closed
// Dispatcher.
var ErrDispatcherClosed = errors.New("simulate: dispatcher closed")

// DispatchOptions configure a Dispatcher. The zero value serves each
// batch as soon as the sampler is free.
type DispatchOptions struct {
	// MaxBatch bounds the decisions of one batch (0: DefaultMaxBatch).
	MaxBatch int
	// MaxWait is how long the dispatcher keeps collecting decisions after
	// the first of a batch arrived, while the batch is smaller than
	// MaxBatch, by yielding the processor (a Go timer would sleep for a
	// millisecond). 0 (default): serve at once what has been requested;
	// decisions requested while the sampler runs form the next batch, so
	// batches grow with the load without delaying a lone decision.
	MaxWait time.Duration
	// KeepWarm: when no decision has been requested for this long, the
	// dispatcher draws a scratch decision (one turn and one packet, in a
	// conversation of its own) for each side it has served, and again
	// after each further KeepWarm of idleness. A decision that follows
	// some milliseconds of idleness costs three to four times one made
	// back to back (the model's weights and TensorFlow's code have left
	// the caches); warming every millisecond takes most of that back, at
	// the price of a share of one core while the agent waits. A request
	// arriving during a warm draw waits for at most one model call.
	// 0 (the zero value): no warming; the simulate commands use
	// DefaultKeepWarm.
	KeepWarm time.Duration
	// KeepWarmFor bounds the warming: it stops once no decision has been
	// requested for this long, and starts again with the next one, so an
	// agent left without conversations does not spin (0: DefaultKeepWarmFor).
	KeepWarmFor time.Duration
}

// DefaultKeepWarm is the live agents' default DispatchOptions.KeepWarm
// (the simulate commands' --keep-warm): with one pair it halves the median
// decision for about a third of a core while the pair talks
// (BENCHMARKS.md); busy dispatchers are never idle that long.
const DefaultKeepWarm = time.Millisecond

// DefaultKeepWarmFor is how long an idle dispatcher keeps its model warm
// (DispatchOptions.KeepWarmFor): far longer than the gaps inside a
// conversation, short against a server waiting for clients.
const DefaultKeepWarmFor = time.Second

// Dispatcher serves the decisions of many concurrent conversations from
// one sampler.Sampler (the GAN bundle: one set of TensorFlow sessions per
// agent), which is not safe for concurrent use. A conversation's
// goroutine submits a request for its next burst (its *sampler.Conv and
// planner) and blocks; a single goroutine owning the sampler takes every
// request pending (up to MaxBatch, waiting at most MaxWait for more),
// draws their turns with one TurnsTo call per side, opens the bursts in
// the conversations' histories, draws the packets with BurstsTo calls per
// side (the one-packet bursts first, answered at once, then the longer
// ones), and answers each. Per conversation it costs one request
// record and a one-slot channel; nothing is locked on the packet path.
//
// The draws of one conversation depend on which others share its batches,
// so a run through a Dispatcher is not reproducible by seed (live runs
// are not anyway: their conditions are measured on the network).
type Dispatcher struct {
	s        sampler.Sampler
	maxBatch int
	maxWait  time.Duration
	keepWarm time.Duration
	warmFor  time.Duration
	req      chan *decision
	quit     chan struct{}
	exited   chan struct{}
	once     sync.Once

	batches   atomic.Int64
	decisions atomic.Int64
	draws     atomic.Int64
	serving   atomic.Bool // a batch is being served
	maxSeen   atomic.Int64
	warms     atomic.Int64

	// Owned by the loop: the sides served so far, and the scratch
	// conversation of the warm draws.
	served [2]bool
	warm   warmWork
	// stepwise[side]: the sampler draws side's packets position by
	// position (sampler.Stepper), so conversations draw them as they
	// come due.
	stepwise [2]bool
}

// decision is one conversation's request for its next burst, or for more
// packets of its open burst; each planner owns one and reuses it.
type decision struct {
	p *planner
	c *sampler.Conv
	b *burstPlan
	// more: draw the open burst's packets up to upto (no turn); else
	// draw a turn, then its first packet (first) or all its packets.
	more  bool
	first bool
	upto  int
	err   error
	done  chan struct{}
}

// NewDispatcher starts the goroutine serving decisions from s. The caller
// must not use s until Close has returned.
func NewDispatcher(s sampler.Sampler, opt DispatchOptions) *Dispatcher {
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = DefaultMaxBatch
	}
	if opt.KeepWarmFor <= 0 {
		opt.KeepWarmFor = DefaultKeepWarmFor
	}
	d := &Dispatcher{s: s, maxBatch: opt.MaxBatch, maxWait: max(opt.MaxWait, 0), keepWarm: max(opt.KeepWarm, 0), warmFor: opt.KeepWarmFor,
		req: make(chan *decision, opt.MaxBatch), quit: make(chan struct{}), exited: make(chan struct{})}
	if st, ok := s.(sampler.Stepper); ok {
		for _, side := range []trace.Side{trace.Server, trace.Client} {
			d.stepwise[side] = st.Stepwise(side)
		}
	}
	go d.loop()
	return d
}

// Sampler returns the sampler the dispatcher draws from.
func (d *Dispatcher) Sampler() sampler.Sampler { return d.s }

// Close stops the serving goroutine once its current batch is answered;
// later requests fail with ErrDispatcherClosed. It is safe to call twice.
func (d *Dispatcher) Close() error {
	d.once.Do(func() { close(d.quit) })
	<-d.exited
	return nil
}

// DispatchStats says how the decisions were batched.
type DispatchStats struct {
	Decisions int64 // bursts drawn (their turn, then all or the first of their packets)
	Draws     int64 // later packets of open bursts drawn (stepwise samplers)
	Batches   int64 // batches served (per side present: one TurnsTo call, one or two BurstsTo calls)
	MaxBatch  int64 // most requests in one batch
	Warm      int64 // scratch draws made to keep the model warm (DispatchOptions.KeepWarm)
}

// MeanBatch returns the mean number of requests (decisions and later
// draws) per batch.
func (s DispatchStats) MeanBatch() float64 {
	if s.Batches == 0 {
		return 0
	}
	return float64(s.Decisions+s.Draws) / float64(s.Batches)
}

// Stats returns the counts so far.
func (d *Dispatcher) Stats() DispatchStats {
	return DispatchStats{Decisions: d.decisions.Load(), Draws: d.draws.Load(), Batches: d.batches.Load(), MaxBatch: d.maxSeen.Load(), Warm: d.warms.Load()}
}

// plan draws p's side's next burst in conversation c through the
// dispatcher, as planner.planUpTo does directly.
func (d *Dispatcher) plan(p *planner, c *sampler.Conv, b *burstPlan, first bool) error {
	if err := d.submit(p, c, b, first); err != nil {
		return err
	}
	return d.wait(p, nil, nil)
}

// more draws the packets of b, conversation c's open burst, up to upto
// through the dispatcher, as planner.draw does directly.
func (d *Dispatcher) more(p *planner, c *sampler.Conv, b *burstPlan, upto int) error {
	if err := d.send(p, c, b, decision{more: true, upto: upto}); err != nil {
		return err
	}
	return d.wait(p, nil, nil)
}

// submit queues p's request for conversation c's next burst (only its
// first packet if first), to be written into b; the dispatcher owns c's
// history and b until wait returns.
func (d *Dispatcher) submit(p *planner, c *sampler.Conv, b *burstPlan, first bool) error {
	return d.send(p, c, b, decision{first: first})
}

// send queues p's request what (its kind and upto) for conversation c.
func (d *Dispatcher) send(p *planner, c *sampler.Conv, b *burstPlan, what decision) error {
	r := &p.req
	if r.done == nil {
		r.done = make(chan struct{}, 1)
	}
	r.p, r.c, r.b, r.err = p, c, b, nil
	r.more, r.first, r.upto = what.more, what.first, what.upto
	select {
	case d.req <- r:
		return nil
	case <-d.quit:
		return ErrDispatcherClosed
	}
}

// wait waits for the answer to p's submitted request, handing each
// message arriving on in meanwhile to handle (a conversation answers its
// peer's Syncs while its decision is pending); in may be nil (then
// handle is never called). The first
// error of handle is returned once the answer is in.
func (d *Dispatcher) wait(p *planner, in <-chan inbound, handle func(inbound) error) error {
	r := &p.req
	var herr error
	for {
		select {
		case <-r.done:
			if herr != nil {
				return herr
			}
			return r.err
		case m := <-in:
			if herr == nil {
				herr = handle(m)
			}
		case <-d.exited:
			// The loop may have answered just before it exited.
			select {
			case <-r.done:
				if herr != nil {
					return herr
				}
				return r.err
			default:
				return ErrDispatcherClosed
			}
		}
	}
}

func (d *Dispatcher) loop() {
	defer close(d.exited)
	batch := make([]*decision, 0, d.maxBatch)
	var w dispatchWork
	var idle *time.Timer
	var tick <-chan time.Time
	var last time.Time // when the last request arrived
	if d.keepWarm > 0 {
		idle = time.NewTimer(d.keepWarm)
		defer idle.Stop()
	}
	for {
		var r *decision
		tick = nil
		if idle != nil && !last.IsZero() && time.Since(last) < d.warmFor {
			idle.Reset(d.keepWarm)
			tick = idle.C
		}
		select {
		case r = <-d.req:
			last = time.Now()
		case <-tick:
			d.keepModelWarm()
			continue
		case <-d.quit:
			return
		}
		batch = d.collect(append(batch[:0], r))
		// Counted before the answers go out, so that a caller who has its
		// answer sees it in Stats.
		d.serving.Store(true)
		d.batches.Add(1)
		var more int64
		for _, r := range batch {
			if r.more {
				more++
			}
		}
		d.decisions.Add(int64(len(batch)) - more)
		d.draws.Add(more)
		if n := int64(len(batch)); n > d.maxSeen.Load() {
			d.maxSeen.Store(n)
		}
		d.serve(batch, &w)
		d.serving.Store(false)
	}
}

// idle reports that the dispatcher serves no batch and has no request
// waiting: a decision asked now is served at once.
func (d *Dispatcher) idle() bool { return !d.serving.Load() && len(d.req) == 0 }

// dispatchWork holds the loop's reused buffers.
type dispatchWork struct {
	side        [2][]*decision
	short, long [2][]*decision
	turns       []sampler.Turn
	convs       []*sampler.Conv
	outs        [][]sampler.Pkt
	from        []int
}

// serve draws and answers a batch: the turns of each side (one TurnsTo
// call per side), then the packets of the requests wanting one packet
// (a one-packet burst, a burst's first packet, the next packet of an open
// burst), which are answered at once, then those wanting more (one
// BurstsTo or BurstsFrom call per side and group). A sampler that draws
// packets position by position makes as many model calls as the longest
// request of its group has packets, so a one-packet request does not wait
// for a long one drawn in the same batch; a sampler drawing whole bursts
// at once pays one more call per side and batch.
func (d *Dispatcher) serve(batch []*decision, w *dispatchWork) {
	for s := range w.side {
		w.side[s], w.short[s], w.long[s] = w.side[s][:0], w.short[s][:0], w.long[s][:0]
	}
	answer := func(rs []*decision, err error) {
		for _, r := range rs {
			r.err = err
			r.done <- struct{}{}
		}
	}
	for _, r := range batch {
		if !r.more {
			w.side[r.p.side] = append(w.side[r.p.side], r)
			continue
		}
		if r.upto-r.b.drawn() == 1 {
			w.short[r.p.side] = append(w.short[r.p.side], r)
		} else {
			w.long[r.p.side] = append(w.long[r.p.side], r)
		}
	}
	for s, rs := range w.side {
		if len(rs) == 0 {
			continue
		}
		side := trace.Side(s)
		w.turns, w.convs = grow(w.turns, len(rs)), grow(w.convs, len(rs))
		for i, r := range rs {
			w.convs[i] = r.c
		}
		if err := d.s.TurnsTo(w.turns, side, w.convs); err != nil {
			answer(rs, fmt.Errorf("simulate: %s sampler, %s turns: %w", d.s.Name(), side, err))
			continue
		}
		d.served[s] = true
		for i, r := range rs {
			r.upto = len(r.p.open(r.c, w.turns[i], r.b))
			r.p.calls++
			if r.first {
				r.upto = 1 // a stepwise planner's (planner.planFirst)
			}
			if r.upto == 1 {
				w.short[s] = append(w.short[s], r)
			} else {
				w.long[s] = append(w.long[s], r)
			}
		}
	}
	for _, group := range [][2][]*decision{w.short, w.long} {
		for s, rs := range group {
			if len(rs) > 0 {
				answer(rs, d.bursts(trace.Side(s), rs, w))
			}
		}
	}
}

// bursts draws the packets of the requests of one side up to their upto.
func (d *Dispatcher) bursts(side trace.Side, rs []*decision, w *dispatchWork) error {
	w.convs, w.outs, w.from = grow(w.convs, len(rs)), grow(w.outs, len(rs)), grow(w.from, len(rs))
	for i, r := range rs {
		w.convs[i], w.outs[i], w.from[i] = r.c, r.b.raw[:r.upto], r.b.drawn()
	}
	if err := drawBursts(d.s, d.stepwise[side], w.outs, w.from, side, w.convs); err != nil {
		return fmt.Errorf("simulate: %s sampler, %s bursts: %w", d.s.Name(), side, err)
	}
	for _, r := range rs {
		r.p.fill(r.b, r.upto)
		r.p.calls++
	}
	return nil
}

// collect adds the pending requests to batch, waiting up to maxWait for
// more while it is not full.
func (d *Dispatcher) collect(batch []*decision) []*decision {
	var until time.Time
	for len(batch) < d.maxBatch {
		select {
		case r := <-d.req:
			batch = append(batch, r)
			continue
		default:
		}
		if d.maxWait <= 0 {
			return batch
		}
		now := time.Now()
		if until.IsZero() {
			until = now.Add(d.maxWait)
		}
		if !now.Before(until) {
			return batch
		}
		runtime.Gosched()
	}
	return batch
}

// warmWork is the scratch conversation of the keep-warm draws.
type warmWork struct {
	c     *sampler.Conv
	start features.History
	turn  []sampler.Turn
	convs []*sampler.Conv
	out   [][]sampler.Pkt
	pkt   []sampler.Pkt
}

// keepModelWarm draws, for each side served so far, one turn and one
// packet in a scratch conversation (its history reset each time), and
// stops early when a request is pending. Errors are ignored: the draws
// are thrown away, and a broken model fails the next real decision.
func (d *Dispatcher) keepModelWarm() {
	w := &d.warm
	if w.c == nil {
		w.c = sampler.NewConv(0)
		w.start = w.c.H
		w.turn, w.convs = make([]sampler.Turn, 1), []*sampler.Conv{w.c}
		w.out, w.pkt = make([][]sampler.Pkt, 1), make([]sampler.Pkt, 1)
	}
	for s, ok := range d.served {
		if len(d.req) > 0 {
			return
		}
		if !ok {
			continue
		}
		side := trace.Side(s)
		w.c.H = w.start
		if d.s.TurnsTo(w.turn, side, w.convs) != nil || len(d.req) > 0 {
			return
		}
		w.c.H.Begin(side, sampler.Turn{Count: 1, GapNS: w.turn[0].GapNS})
		w.out[0] = w.pkt
		d.s.BurstsTo(w.out, side, w.convs)
		d.warms.Add(1)
	}
}

// WarmUp draws one burst of each side from s in a scratch conversation,
// so that the first real decision does not pay for the model's start-up
// (TensorFlow optimises a graph on its first run, some 200 ms for a
// bundle). It consumes draws from s.
func WarmUp(s sampler.Sampler) error {
	c := sampler.NewConv(0)
	var b burstPlan
	for _, side := range []trace.Side{trace.Client, trace.Server} {
		p := newPlanner(s, side, Framing{}, 1, 0, 0)
		if err := p.plan(c, &b); err != nil {
			return err
		}
		sent(c, &b, len(b.sizes))
	}
	return nil
}
