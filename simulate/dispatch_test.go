package simulate

import (
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// idSampler answers each conversation from its id, so that a test sees
// whether every conversation got its own draws: count id%4+1, gap id µs,
// packet sizes 100+id. It fails the test if called concurrently, and
// sleeps in TurnsTo so that requests pile up into batches.
type idSampler struct {
	t     *testing.T
	busy  atomic.Bool
	sleep time.Duration
	fail  bool
	// turns counts TurnsTo calls per side and conversation id (0 or not).
	turns [2][2]atomic.Int64
}

func (s *idSampler) Name() string { return "id" }

func (s *idSampler) enter() {
	if !s.busy.CompareAndSwap(false, true) {
		s.t.Error("sampler called concurrently")
	}
}

func (s *idSampler) TurnsTo(out []sampler.Turn, side trace.Side, convs []*sampler.Conv) error {
	s.enter()
	defer s.busy.Store(false)
	if s.fail {
		return errors.New("id: failing on purpose")
	}
	time.Sleep(s.sleep)
	for i, c := range convs {
		s.turns[side][min(c.ID, 1)].Add(1)
		out[i] = sampler.Turn{Count: int(c.ID%4) + 1, GapNS: int64(c.ID) * 1000}
	}
	return nil
}

func (s *idSampler) BurstsTo(out [][]sampler.Pkt, side trace.Side, convs []*sampler.Conv) error {
	s.enter()
	defer s.busy.Store(false)
	for i, c := range convs {
		for j := range out[i] {
			out[i][j] = sampler.Pkt{Size: int32(100 + c.ID), DtNS: 1000}
		}
	}
	return nil
}

func TestDispatcherBatches(t *testing.T) {
	const convs, decisions = 16, 20
	s := &idSampler{t: t, sleep: 500 * time.Microsecond}
	d := NewDispatcher(s, DispatchOptions{})
	defer d.Close()
	var wg sync.WaitGroup
	for i := 0; i < convs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			side := trace.Side(i % 2)
			p := newPlanner(nil, side, Framing{}, 1, 0, 0)
			p.d = d
			c := sampler.NewConv(uint64(i + 1))
			var b burstPlan
			for k := 0; k < decisions; k++ {
				if err := p.plan(c, &b); err != nil {
					t.Error(err)
					return
				}
				id := int64(i + 1)
				if len(b.sizes) != int(id%4)+1 || b.gap != id*1000 || b.sizes[0] != int32(100+id) {
					t.Errorf("conversation %d got count %d gap %d size %d", id, len(b.sizes), b.gap, b.sizes[0])
					return
				}
				sent(c, &b, len(b.sizes))
			}
			if p.calls != 2*decisions {
				t.Errorf("conversation %d: %d calls counted, want %d", i+1, p.calls, 2*decisions)
			}
		}()
	}
	wg.Wait()
	st := d.Stats()
	if st.Decisions != convs*decisions {
		t.Fatalf("%d decisions served, want %d", st.Decisions, convs*decisions)
	}
	// 16 conversations asking while the sampler sleeps: batches form.
	if st.MaxBatch < 2 || st.Batches >= st.Decisions {
		t.Fatalf("no batching: %+v", st)
	}
}

// TestDispatcherKeepWarm: an idle dispatcher with KeepWarm draws scratch
// decisions in a conversation of its own (id 0) for the sides it has
// served only, leaves the real conversations alone, and still answers
// them; without KeepWarm it draws nothing.
func TestDispatcherKeepWarm(t *testing.T) {
	for _, kw := range []time.Duration{0, time.Millisecond} {
		s := &idSampler{t: t}
		d := NewDispatcher(s, DispatchOptions{KeepWarm: kw, KeepWarmFor: time.Minute})
		p := newPlanner(nil, trace.Client, Framing{}, 1, 0, 0)
		p.d = d
		c := sampler.NewConv(3)
		var b burstPlan
		if err := p.plan(c, &b); err != nil {
			t.Fatal(err)
		}
		sent(c, &b, len(b.sizes))
		before := c.H
		time.Sleep(40 * time.Millisecond)
		if c.H != before {
			t.Errorf("keep-warm %v: the idle conversation's history changed", kw)
		}
		if err := p.plan(c, &b); err != nil || len(b.sizes) != 4 || b.sizes[0] != 103 {
			t.Errorf("keep-warm %v: decision after idling: %v, %d packets", kw, err, len(b.sizes))
		}
		d.Close()
		st := d.Stats()
		scratch := s.turns[trace.Client][0].Load()
		if kw == 0 && (st.Warm != 0 || scratch != 0) {
			t.Errorf("no keep-warm: %d warm draws, %d scratch turns", st.Warm, scratch)
		}
		// 40 ms idle at 1 ms: about 40 draws; a loaded machine fires fewer.
		if kw > 0 && (st.Warm < 3 || scratch != st.Warm) {
			t.Errorf("keep-warm %v: %d warm draws, %d scratch turns", kw, st.Warm, scratch)
		}
		if n := s.turns[trace.Server][0].Load() + s.turns[trace.Server][1].Load(); n != 0 {
			t.Errorf("keep-warm %v: %d server turns drawn, but no server decision was asked", kw, n)
		}
		if real := s.turns[trace.Client][1].Load(); real != 2 {
			t.Errorf("keep-warm %v: %d real turns, want 2", kw, real)
		}
	}
}

// TestDispatcherKeepWarmStops: the warming stops KeepWarmFor after the last
// request and starts again with the next one.
func TestDispatcherKeepWarmStops(t *testing.T) {
	s := &idSampler{t: t}
	d := NewDispatcher(s, DispatchOptions{KeepWarm: time.Millisecond, KeepWarmFor: 30 * time.Millisecond})
	defer d.Close()
	if n := d.Stats().Warm; n != 0 {
		t.Fatalf("%d warm draws before any request", n)
	}
	p := newPlanner(nil, trace.Server, Framing{}, 1, 0, 0)
	p.d = d
	c := sampler.NewConv(1)
	var b burstPlan
	plan := func() {
		if err := p.plan(c, &b); err != nil {
			t.Fatal(err)
		}
		sent(c, &b, len(b.sizes))
	}
	plan()
	time.Sleep(150 * time.Millisecond) // well past KeepWarmFor
	w1 := d.Stats().Warm
	if w1 == 0 {
		t.Fatal("no warm draw after the first request")
	}
	time.Sleep(100 * time.Millisecond)
	if w2 := d.Stats().Warm; w2 != w1 {
		t.Fatalf("still warming %v after the last request: %d then %d draws", 250*time.Millisecond, w1, w2)
	}
	plan()
	time.Sleep(20 * time.Millisecond)
	if w3 := d.Stats().Warm; w3 == w1 {
		t.Fatal("warming did not start again with the next request")
	}
}

func TestDispatcherErrorsAndClose(t *testing.T) {
	s := &idSampler{t: t, fail: true}
	d := NewDispatcher(s, DispatchOptions{MaxWait: 50 * time.Microsecond})
	p := newPlanner(nil, trace.Client, Framing{}, 1, 0, 0)
	p.d = d
	var b burstPlan
	if err := p.plan(sampler.NewConv(1), &b); err == nil {
		t.Fatal("sampler error not returned")
	}
	d.Close()
	d.Close()
	if err := p.plan(sampler.NewConv(1), &b); !errors.Is(err, ErrDispatcherClosed) {
		t.Fatalf("after Close: %v, want ErrDispatcherClosed", err)
	}
}

// TestSharedDispatcherLive runs server and client conversations of one
// process through one dispatcher over one echo sampler (not safe for
// concurrent use): every conversation's closed loop must still hold.
func TestSharedDispatcherLive(t *testing.T) {
	const pairs, limit = 6, 300
	d := NewDispatcher(newEcho(5, 2e6, 250e3), DispatchOptions{})
	defer d.Close()
	cfg := echoConfig("echo-v1")
	cfg.NewSampler, cfg.Dispatcher = nil, d
	cfg.Pairs = pairs
	o := pairOpts{srv: cfg, cli: cfg, record: true}
	o.cli.MaxPackets = limit
	res := runPair(t, o)
	if res.srvErr != nil || res.cliErr != nil {
		t.Fatalf("server: %v; client: %v", res.srvErr, res.cliErr)
	}
	rows := readFlow(t, filepath.Join(res.dir, "server.csv"))
	for id := uint32(1); id <= pairs; id++ {
		var mine []flowRow
		for _, r := range rows {
			if r.conv == id {
				mine = append(mine, r)
			}
		}
		if len(mine) != limit {
			t.Fatalf("conversation %d: %d packets, want %d", id, len(mine), limit)
		}
		// The packet limit may cut the last burst: check the others.
		last := mine[len(mine)-1].burst
		for len(mine) > 0 && mine[len(mine)-1].burst == last {
			mine = mine[:len(mine)-1]
		}
		checkEcho(t, mine)
	}
	if st := d.Stats(); st.Decisions != res.srv.Totals().Bursts+res.cli.Totals().Bursts {
		t.Fatalf("dispatcher served %d decisions, agents sent %d bursts", st.Decisions, res.srv.Totals().Bursts+res.cli.Totals().Bursts)
	}
}

func TestWarmUp(t *testing.T) {
	s := &idSampler{t: t}
	if err := WarmUp(s); err != nil {
		t.Fatal(err)
	}
	s.fail = true
	if err := WarmUp(s); err == nil {
		t.Fatal("sampler error not returned")
	}
}

// slowServer delays the server's first turn, as a dispatcher busy with
// many conversations would.
type slowServer struct {
	*toySampler
	delay time.Duration
	once  *sync.Once
}

func (s slowServer) TurnsTo(out []sampler.Turn, side trace.Side, convs []*sampler.Conv) error {
	if side == trace.Server {
		s.once.Do(func() { time.Sleep(s.delay) })
	}
	return s.toySampler.TurnsTo(out, side, convs)
}

// TestSlowDecisionKeepsPeer: a decision that takes twice the peer timeout
// does not end the conversation, because the deciding side answers the
// waiting peer's Syncs while its request is pending.
func TestSlowDecisionKeepsPeer(t *testing.T) {
	d := NewDispatcher(slowServer{newToy(1, 1e6, 2e5), 800 * time.Millisecond, new(sync.Once)}, DispatchOptions{})
	defer d.Close()
	cfg := toyConfig(1, 1e6, 2e5)
	cfg.NewSampler, cfg.Dispatcher = nil, d
	cfg.TurnTimeout, cfg.PeerTimeout = 100*time.Millisecond, 400*time.Millisecond
	o := pairOpts{srv: cfg, cli: cfg}
	o.cli.MaxPackets = 20
	res := runPair(t, o)
	if res.srvErr != nil || res.cliErr != nil {
		t.Fatalf("server: %v; client: %v", res.srvErr, res.cliErr)
	}
	if res.cli.Totals().Syncs == 0 {
		t.Fatal("the client never had to wait: the test proves nothing")
	}
}
