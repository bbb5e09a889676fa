package simulate

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

func TestHistogramQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]int64, 0, 20000)
	for i := 0; i < 20000; i++ {
		// Log-uniform over 1 ns .. 10 s, plus exact small values.
		v := int64(math.Exp(r.Float64() * math.Log(1e10)))
		if i%10 == 0 {
			v = int64(i % 100)
		}
		vals = append(vals, v)
		h.Add(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		// Nearest rank, computed independently on the sorted values.
		rank := int(math.Ceil(q * float64(len(vals))))
		want := vals[rank-1]
		got := h.Quantile(q)
		if d := math.Abs(float64(got - want)); d > float64(want)/128+0.5 {
			t.Errorf("q%.3f: got %d want %d (error %.0f)", q, got, want, d)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] || h.Count() != uint64(len(vals)) {
		t.Fatalf("max/min/count %d %d %d", h.Max(), h.Min(), h.Count())
	}
	var a, b Histogram
	for i, v := range vals {
		if i%2 == 0 {
			a.Add(v)
		} else {
			b.Add(v)
		}
	}
	a.Merge(&b)
	if a.Quantile(0.5) != h.Quantile(0.5) || a.Count() != h.Count() || a.Max() != h.Max() {
		t.Fatal("merge differs from adding all values")
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 {
		t.Fatal("empty histogram quantile")
	}
}

func collect(t *testing.T, s sampler.Sampler, opt GenOptions) []Event {
	t.Helper()
	var evs []Event
	_, err := Generate(context.Background(), s, opt, func(e Event) error {
		evs = append(evs, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestGenerateDeterministicAndBatchInvariant(t *testing.T) {
	opt := GenOptions{Packets: 5000}
	a := collect(t, newToy(7, 3e6, 1e6), opt)
	b := collect(t, newToy(7, 3e6, 1e6), opt)
	if !slices.Equal(a, b) {
		t.Fatal("same seed gave different output")
	}
	if c := collect(t, newToy(8, 3e6, 1e6), GenOptions{Packets: 5000}); slices.Equal(a, c) {
		t.Fatal("another seed gave the same output")
	}
	if len(a) != 5000 {
		t.Fatalf("%d packets, want 5000", len(a))
	}
	// Structure: time order, sides alternate per burst, seq per side counts
	// up, the last packet of each burst is flagged, sizes in range.
	var seq [2]uint32
	for i, e := range a {
		p := e.Packet
		if i > 0 && p.TS < a[i-1].Packet.TS {
			t.Fatalf("packet %d goes back in time", i)
		}
		if e.Header.Seq != seq[p.From] {
			t.Fatalf("packet %d: seq %d want %d", i, e.Header.Seq, seq[p.From])
		}
		seq[p.From]++
		wantSide := trace.Client
		if e.Header.Burst%2 == 1 {
			wantSide = trace.Server
		}
		if p.From != wantSide {
			t.Fatalf("packet %d: burst %d sent by %v", i, e.Header.Burst, p.From)
		}
		last := i == len(a)-1 || a[i+1].Header.Burst != e.Header.Burst
		if last != (e.Header.Flags&FlagLast != 0) {
			t.Fatalf("packet %d: last flag %v, ends burst %v", i, e.Header.Flags&FlagLast != 0, last)
		}
		if p.Size < 70 || p.Size > 1514 || int(e.Header.Length) != int(p.Size)-42 {
			t.Fatalf("packet %d: size %d, header length %d", i, p.Size, e.Header.Length)
		}
	}
	if a[0].Packet.From != trace.Client || a[0].Packet.TS < DefaultStartNS+3e6 {
		t.Fatalf("first packet %+v: the client starts, a reply gap (>= 3 ms) after the start", a[0].Packet)
	}
}

// TestGenerateClosedLoop checks that each decision sees the opponent's
// preceding burst as sent: the echo sampler's server repeats the client's
// burst length and mean size and waits the client burst's duration.
func TestGenerateClosedLoop(t *testing.T) {
	const dt = 250_000
	evs := collect(t, newEcho(3, 2e6, dt), GenOptions{Packets: 20000})
	bursts := splitBursts(evs)
	if len(bursts) < 100 {
		t.Fatalf("only %d bursts", len(bursts))
	}
	for k := 1; k+1 < len(bursts); k++ { // the final burst may be truncated
		b := bursts[k]
		prev := bursts[k-1]
		if b[0].Packet.From == trace.Client {
			for i := 1; i < len(b); i++ {
				if want := min(b[i-1].Packet.Size+7, 1514); b[i].Packet.Size != want {
					t.Fatalf("burst %d packet %d: size %d, want previous+7 = %d", k, i, b[i].Packet.Size, want)
				}
			}
			continue
		}
		if len(b) != len(prev) {
			t.Fatalf("server burst %d has %d packets, client's had %d", k, len(b), len(prev))
		}
		var sum int64
		for _, e := range prev {
			sum += int64(e.Packet.Size)
		}
		mean := int32(math.Round(float64(sum) / float64(len(prev))))
		dur := prev[len(prev)-1].Packet.TS - prev[0].Packet.TS
		if want := int64(len(prev)-1) * dt; dur != want {
			t.Fatalf("client burst %d lasts %d ns, want %d", k-1, dur, want)
		}
		if gap := b[0].Packet.TS - prev[len(prev)-1].Packet.TS; gap != dur {
			t.Fatalf("server burst %d: gap %d, want the client burst's duration %d", k, gap, dur)
		}
		for i, e := range b {
			if e.Packet.Size != mean {
				t.Fatalf("server burst %d packet %d: size %d, want mean %d", k, i, e.Packet.Size, mean)
			}
			if i > 0 && e.Packet.TS-b[i-1].Packet.TS != dt {
				t.Fatalf("server burst %d packet %d: dt %d", k, i, e.Packet.TS-b[i-1].Packet.TS)
			}
		}
	}
}

func splitBursts(evs []Event) [][]Event {
	var out [][]Event
	for i := 0; i < len(evs); {
		j := i
		for j < len(evs) && evs[j].Header.Burst == evs[i].Header.Burst {
			j++
		}
		out = append(out, evs[i:j])
		i = j
	}
	return out
}

func TestGenerateLimits(t *testing.T) {
	evs := collect(t, newToy(1, 3e6, 1e6), GenOptions{Duration: 2 * time.Second, StartNS: 1e18})
	if len(evs) == 0 {
		t.Fatal("nothing generated")
	}
	last := evs[len(evs)-1].Packet.TS
	if last > 1e18+2e9 {
		t.Fatalf("last packet at +%d ns, beyond the 2 s duration", last-1e18)
	}
	// Mean burst: 2.5 packets over (gap 4.5 ms + 1.5 dt 1 ms) => about 400
	// packets/s; a 2 s run cannot end before 1.9 s unless it stopped early.
	if last < 1e18+19e8 {
		t.Fatalf("last packet at +%d ns, stopped early", last-1e18)
	}
	for _, n := range []int64{1, 2, 3, 17} {
		if got := len(collect(t, newToy(2, 1e6, 1e6), GenOptions{Packets: n})); int64(got) != n {
			t.Fatalf("packet limit %d gave %d", n, got)
		}
	}
	ctx := context.Background()
	if _, err := Generate(ctx, newToy(1, 1, 1), GenOptions{}, func(Event) error { return nil }); err == nil {
		t.Fatal("no limit accepted")
	}
	bad := newToy(1, 1, 1)
	bad.failTurn = true
	_, err := Generate(ctx, bad, GenOptions{Packets: 10}, func(Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "failing on purpose") {
		t.Fatalf("sampler error not returned: %v", err)
	}
	stop := errors.New("stop")
	if _, err := Generate(ctx, newToy(1, 1, 1), GenOptions{Packets: 10}, func(Event) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("emit error not returned: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Generate(cctx, newToy(1, 1, 1), GenOptions{Packets: 10}, func(Event) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// TestGenerateBaselines runs every baseline fitted on the embedded Skype
// conversation through the closed loop: deterministic per seed, both sides
// talking, sizes in the valid range.
func TestGenerateBaselines(t *testing.T) {
	conv, err := trace.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sampler.Names() {
		m, err := sampler.Fit(name, conv)
		if err != nil {
			t.Fatal(err)
		}
		a := collect(t, m.New(4), GenOptions{Packets: 3000})
		b := collect(t, m.New(4), GenOptions{Packets: 3000})
		if !slices.Equal(a, b) {
			t.Fatalf("%s: same seed, different output", name)
		}
		var per [2]int
		for _, e := range a {
			per[e.Packet.From]++
			if e.Packet.Size < 70 || e.Packet.Size > 1514 {
				t.Fatalf("%s: size %d", name, e.Packet.Size)
			}
		}
		if per[0] < 300 || per[1] < 300 {
			t.Fatalf("%s: %v packets per side", name, per)
		}
	}
}

func TestTruncate(t *testing.T) {
	times := []int64{10, 20, 30, 40}
	// Cases derived by hand from the rules in truncate's comment.
	for _, c := range []struct {
		carried, max, end int64
		n                 int
		why               stopReason
	}{
		{0, 0, 0, 4, goOn},
		{0, 10, 0, 4, goOn},
		{6, 10, 0, 4, stopLimit},  // reaches the limit exactly
		{8, 10, 0, 2, stopLimit},  // cut by the limit
		{10, 10, 0, 0, stopLimit}, // already there
		{0, 0, 25, 2, goOn},       // cut by the end: the opponent may answer
		{0, 0, 40, 4, goOn},       // a packet at the end time itself goes out
		{0, 0, 5, 0, stopAtTime},  // nothing before the end
		{8, 10, 15, 1, goOn},      // the end cuts before the limit is reached
		{7, 10, 35, 3, stopLimit}, // the limit cuts before the end
	} {
		n, why := truncate(times, c.carried, c.max, c.end)
		if n != c.n || why != c.why {
			t.Errorf("%+v: got %d, %d", c, n, why)
		}
	}
}

// TestGenerateMany checks lockstep generation: each of many conversations
// follows the closed-loop rules on its own, with its own history.
func TestGenerateMany(t *testing.T) {
	const k = 7
	per := make([][]Event, k)
	st, err := GenerateMany(context.Background(), newEcho(9, 2e6, 250e3), k, GenOptions{Packets: 2000}, func(c int, e Event) error {
		per[c] = append(per[c], e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets != k*2000 {
		t.Fatalf("%d packets, want %d", st.Packets, k*2000)
	}
	for c, evs := range per {
		if len(evs) != 2000 || evs[0].Header.Conv != uint32(c+1) {
			t.Fatalf("conversation %d: %d packets, id %d", c, len(evs), evs[0].Header.Conv)
		}
		for i := 1; i < len(evs); i++ {
			if evs[i].Packet.TS < evs[i-1].Packet.TS {
				t.Fatalf("conversation %d goes back in time at %d", c, i)
			}
		}
		bursts := splitBursts(evs)
		for j := 1; j+1 < len(bursts); j++ {
			if b := bursts[j]; b[0].Packet.From == trace.Server && len(b) != len(bursts[j-1]) {
				t.Fatalf("conversation %d burst %d: %d packets answer %d", c, j, len(b), len(bursts[j-1]))
			}
		}
	}
	if slices.Equal(per[0], per[1]) {
		t.Fatal("two conversations are identical")
	}
	// Batched calls: one TurnsTo and one BurstsTo per step, each over up
	// to k conversations: far fewer calls than packets.
	if st.SamplerCalls*3 > st.Packets {
		t.Fatalf("%d sampler calls for %d packets", st.SamplerCalls, st.Packets)
	}
}

// TestGenerateManyOrdered checks the capture mode: with Ordered the same
// packets come out as without, in global time order; with Stagger each
// conversation starts (and its duration counts) Stagger after the
// previous one.
func TestGenerateManyOrdered(t *testing.T) {
	const k = 5
	opt := GenOptions{Duration: 300 * time.Millisecond, Stagger: 40 * time.Millisecond}
	var plain []Event
	if _, err := GenerateMany(context.Background(), newToy(3, 3e6, 1e6), k, opt, func(_ int, e Event) error {
		plain = append(plain, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	opt.Ordered = true
	var ord []Event
	if _, err := GenerateMany(context.Background(), newToy(3, 3e6, 1e6), k, opt, func(c int, e Event) error {
		if e.Header.Conv != uint32(c+1) {
			t.Fatalf("conversation %d emits id %d", c, e.Header.Conv)
		}
		ord = append(ord, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(ord) != len(plain) || len(ord) < 100*k {
		t.Fatalf("%d ordered packets, %d unordered", len(ord), len(plain))
	}
	for i := 1; i < len(ord); i++ {
		if ord[i].Packet.TS < ord[i-1].Packet.TS {
			t.Fatalf("packet %d goes back in time", i)
		}
	}
	key := func(e Event) [3]int64 {
		return [3]int64{int64(e.Header.Conv), int64(e.Header.Side), int64(e.Header.Seq)}
	}
	set := map[[3]int64]Event{}
	for _, e := range plain {
		set[key(e)] = e
	}
	first, last := map[uint32]int64{}, map[uint32]int64{}
	for _, e := range ord {
		if set[key(e)] != e {
			t.Fatalf("ordered packet %+v not generated unordered", e)
		}
		if _, ok := first[e.Header.Conv]; !ok {
			first[e.Header.Conv] = e.Packet.TS
		}
		last[e.Header.Conv] = e.Packet.TS
	}
	for c := uint32(1); c <= k; c++ {
		from := DefaultStartNS + int64(c-1)*int64(opt.Stagger)
		if first[c] < from || last[c] > from+int64(opt.Duration) {
			t.Fatalf("conversation %d spans %d..%d, want within %d..%d", c, first[c], last[c], from, from+int64(opt.Duration))
		}
	}
}

// TestGeneratePrimed checks that a primed generation continues the
// conversation it was primed with: its first burst is the side that comes
// next, drawn from the primed History (the echo server answers the
// client's last real burst), in every conversation of GenerateMany.
func TestGeneratePrimed(t *testing.T) {
	ms := int64(1e6)
	real := &trace.Conversation{Source: "hand", Packets: []trace.Packet{
		{TS: 0, Size: 500, From: trace.Server},
		{TS: 5 * ms, Size: 60, From: trace.Client},
		{TS: 6 * ms, Size: 70, From: trace.Client},
		{TS: 7 * ms, Size: 80, From: trace.Client},
		{TS: 8 * ms, Size: 90, From: trace.Client},
	}}
	h := features.Prime(real)
	const dt = 250_000
	var first [3][]Event
	_, err := GenerateMany(context.Background(), newEcho(3, 2e6, dt), 3, GenOptions{Packets: 50, Prime: &h}, func(c int, e Event) error {
		first[c] = append(first[c], e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for c, evs := range first {
		b := splitBursts(evs)[0]
		if len(b) != 4 || b[0].Packet.From != trace.Server {
			t.Fatalf("conversation %d: first burst %d packets from %v, want the server answering the client's 4", c, len(b), b[0].Packet.From)
		}
		for i, e := range b {
			if e.Packet.Size != 75 {
				t.Errorf("conversation %d packet %d: size %d, want the client's mean 75", c, i, e.Packet.Size)
			}
		}
		if gap := b[0].Packet.TS - DefaultStartNS; gap != 3*ms {
			t.Errorf("conversation %d: first gap %d ns, want the client burst's duration %d", c, gap, 3*ms)
		}
	}
	// Unprimed, the same sampler opens with the client.
	cold := collect(t, newEcho(3, 2e6, dt), GenOptions{Packets: 50})
	if cold[0].Packet.From != trace.Client {
		t.Errorf("an unprimed generation opens with %v, want the client", cold[0].Packet.From)
	}
}
