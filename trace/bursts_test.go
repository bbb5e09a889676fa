package trace

import (
	"math"
	"net/netip"
	"reflect"
	"testing"

	"github.com/spatgan/spatgan/internal/stat"
)

// TestReferenceTable reproduces the reference table of
// shared/docs/fidelity.md (computed there by an independent program) from
// the embedded skype_eth_5 conversation. A = client 192.168.1.133, B =
// server 124.123.243.15. Tolerances are half a unit of the last printed
// digit.
func TestReferenceTable(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Packets) != 40697 || c.Count(Client) != 24273 || c.Count(Server) != 16424 {
		t.Fatalf("packets %d (client %d, server %d), want 40697 (24273, 16424)", len(c.Packets), c.Count(Client), c.Count(Server))
	}
	if got := float64(c.Duration()) / 1e9; math.Abs(got-624.324) > 0.0005 {
		t.Errorf("duration %.6f s, want 624.324", got)
	}
	if c.ClockSteps != 1 {
		t.Errorf("clock steps %d, want 1 (frame 61679)", c.ClockSteps)
	}
	protoCount := func(side Side, proto uint8) int {
		n := 0
		for _, p := range c.Packets {
			if p.From == side && p.Proto == proto {
				n++
			}
		}
		return n
	}
	for _, pc := range []struct {
		side        Side
		proto       uint8
		want        int
		description string
	}{{Client, 17, 22845, "A->B UDP"}, {Client, 6, 1428, "A->B TCP"}, {Server, 17, 15131, "B->A UDP"}, {Server, 6, 1293, "B->A TCP"}} {
		if got := protoCount(pc.side, pc.proto); got != pc.want {
			t.Errorf("%s: %d packets, want %d", pc.description, got, pc.want)
		}
	}

	iat := func(s Side) []float64 {
		v, neg := c.IATs(s)
		if neg != 1 {
			t.Errorf("%s IAT: %d negative, want 1", s, neg)
		}
		return stat.Floats(v, 1e3)
	}
	gaps := func(s Side) []float64 {
		v, neg := c.ReplyGaps(s)
		if neg != 0 {
			t.Errorf("gaps after %s: %d negative, want 0", s, neg)
		}
		return stat.Floats(v, 1e3)
	}
	ref := func(n int, min, q1, median, q3, max, mean, std float64) stat.Summary {
		return stat.Summary{N: n, Min: min, Q1: q1, Median: median, Q3: q3, Max: max, Mean: mean, Std: std}
	}
	cases := []struct {
		name   string
		xs     []float64
		want   stat.Summary
		tolAvg float64 // tolerance on mean and std (printed precision)
	}{
		{"A->B size", stat.Floats(c.Sizes(Client), 1), ref(24273, 54, 99, 104, 112, 1442, 186.9, 242.3), 0.05},
		{"B->A size", stat.Floats(c.Sizes(Server), 1), ref(16424, 64, 181, 247, 353, 1118, 264.1, 109.5), 0.05},
		{"A->B IAT", iat(Client), ref(24271, 13, 11177.5, 19588, 20174, 22248336, 25796.7, 302129), 0.5},
		{"B->A IAT", iat(Server), ref(16422, 18, 90, 211, 41928, 22241123, 38119.4, 371840), 0.5},
		{"A->B burst", stat.Floats(c.BurstLengths(Client), 1), ref(5408, 1, 2, 3, 4, 134, 4.49, 5.91), 0.005},
		{"B->A burst", stat.Floats(c.BurstLengths(Server), 1), ref(5407, 1, 1, 2, 3, 30, 3.04, 2.83), 0.005},
		{"gap after A burst", gaps(Client), ref(5407, 0, 2955.5, 10662, 13283, 1659143, 13343.9, 51497.5), 0.05},
		{"gap after B burst", gaps(Server), ref(5407, 0, 801, 5282, 8036, 18253591, 32111.1, 499774), 0.5},
	}
	for _, tc := range cases {
		got := stat.Summarize(tc.xs)
		if got.N != tc.want.N {
			t.Errorf("%s: n = %d, want %d", tc.name, got.N, tc.want.N)
		}
		// Quantiles are exact: integer microseconds interpolated at .0 or .5.
		for _, q := range []struct {
			what      string
			got, want float64
		}{{"min", got.Min, tc.want.Min}, {"Q1", got.Q1, tc.want.Q1}, {"median", got.Median, tc.want.Median},
			{"Q3", got.Q3, tc.want.Q3}, {"max", got.Max, tc.want.Max}} {
			if math.Abs(q.got-q.want) > 1e-9 {
				t.Errorf("%s: %s = %v, want %v", tc.name, q.what, q.got, q.want)
			}
		}
		if math.Abs(got.Mean-tc.want.Mean) > tc.tolAvg || math.Abs(got.Std-tc.want.Std) > tc.tolAvg {
			t.Errorf("%s: mean %.4f std %.4f, want %v %v (+-%v)", tc.name, got.Mean, got.Std, tc.want.Mean, tc.want.Std, tc.tolAvg)
		}
	}
}

// mk builds a conversation from (ts in us, size, side) triples.
func mk(pk ...[3]int64) *Conversation {
	c := &Conversation{
		Server: Endpoint{Addr: netip.MustParseAddr("10.0.0.1")},
		Client: Endpoint{Addr: netip.MustParseAddr("10.0.0.2")},
		Proto:  "any", Source: "test",
	}
	for i, p := range pk {
		c.Packets = append(c.Packets, Packet{TS: p[0] * 1000, Size: int32(p[1]), From: Side(p[2]), Proto: 17})
		if i > 0 && p[0] < pk[i-1][0] {
			c.ClockSteps++
		}
	}
	return c
}

const (
	s = int64(Server)
	k = int64(Client)
)

// TestSeriesByHand checks the bursts and series on a small conversation
// whose values are derived by hand in the comments (the model tables of the
// same conversation are checked in the features package).
func TestSeriesByHand(t *testing.T) {
	// t(us) size side
	c := mk(
		[3]int64{0, 100, k},  // client burst 0: packets 0,1
		[3]int64{10, 200, k}, //
		[3]int64{40, 50, s},  // server burst 1: packets 2,3,4 (gap 30)
		[3]int64{45, 60, s},  //
		[3]int64{55, 70, s},  //
		[3]int64{100, 80, k}, // client burst 2: packet 5 (gap 45)
		[3]int64{90, 90, s},  // server burst 3: packet 6, clock step (gap -10)
		[3]int64{95, 91, s},  //               packet 7
		[3]int64{120, 99, k}, // client burst 4: packet 8 (gap 25)
	)
	wantBursts := []Burst{
		{From: Client, Start: 0, End: 2, Count: 2, Bytes: 300, FirstTS: 0, LastTS: 10000},
		{From: Server, Start: 2, End: 5, Count: 3, Bytes: 180, FirstTS: 40000, LastTS: 55000},
		{From: Client, Start: 5, End: 6, Count: 1, Bytes: 80, FirstTS: 100000, LastTS: 100000},
		{From: Server, Start: 6, End: 8, Count: 2, Bytes: 181, FirstTS: 90000, LastTS: 95000},
		{From: Client, Start: 8, End: 9, Count: 1, Bytes: 99, FirstTS: 120000, LastTS: 120000},
	}
	if got := c.Bursts(); !reflect.DeepEqual(got, wantBursts) {
		t.Errorf("bursts\n got %+v\nwant %+v", got, wantBursts)
	}
	// Series.
	if d, neg := c.Deltas(); !reflect.DeepEqual(d, []int64{10e3, 30e3, 5e3, 10e3, 45e3, 5e3, 25e3}) || neg != 1 {
		t.Errorf("deltas %v (%d negative)", d, neg)
	}
	// Per side: the server's packets 2,3,4,6,7 follow 1,2,3,5,6 (6 by -10);
	// the client's 1,5,8 follow 0,4,7.
	if d, neg := c.SideDeltas(Server); !reflect.DeepEqual(d, []int64{30e3, 5e3, 10e3, 5e3}) || neg != 1 {
		t.Errorf("server deltas %v (%d negative)", d, neg)
	}
	if d, neg := c.SideDeltas(Client); !reflect.DeepEqual(d, []int64{10e3, 45e3, 25e3}) || neg != 0 {
		t.Errorf("client deltas %v (%d negative)", d, neg)
	}
	if d, neg := c.IATs(Server); !reflect.DeepEqual(d, []int64{5e3, 10e3, 35e3, 5e3}) || neg != 0 {
		t.Errorf("server IATs %v (%d negative)", d, neg)
	}
	if d, neg := c.IATs(Client); !reflect.DeepEqual(d, []int64{10e3, 90e3, 20e3}) || neg != 0 {
		t.Errorf("client IATs %v (%d negative)", d, neg)
	}
	if g, neg := c.ReplyGaps(Client); !reflect.DeepEqual(g, []int64{30e3}) || neg != 1 {
		t.Errorf("gaps after client %v (%d negative)", g, neg)
	}
	if g, neg := c.ReplyGaps(Server); !reflect.DeepEqual(g, []int64{45e3, 25e3}) || neg != 0 {
		t.Errorf("gaps after server %v (%d negative)", g, neg)
	}
	if got := c.BurstLengths(Server); !reflect.DeepEqual(got, []int{3, 2}) {
		t.Errorf("server burst lengths %v", got)
	}
	if c.Duration() != 120e3 || c.Start() != 0 {
		t.Errorf("start %d duration %d", c.Start(), c.Duration())
	}
}

func TestSplitAt(t *testing.T) {
	c := mk(
		[3]int64{0, 1, k}, [3]int64{10, 2, s}, [3]int64{20, 3, k},
		[3]int64{30, 4, s}, [3]int64{40, 5, k}, [3]int64{50, 6, s},
		[3]int64{60, 7, k}, [3]int64{70, 8, s}, [3]int64{80, 9, k},
	)
	// Start 0, duration 80 us: frac 0.5 cuts at 40 us, so packets at
	// 0..30 us train, 40..80 us test.
	train, test, err := c.SplitAt(0.5)
	if err != nil {
		t.Fatal(err)
	}
	if len(train.Packets) != 4 || len(test.Packets) != 5 || test.Packets[0].TS != 40e3 {
		t.Errorf("split sizes %d/%d, test starts at %d", len(train.Packets), len(test.Packets), test.Packets[0].TS)
	}
	// Cut at 0.1*80 = 8 us leaves a single client packet in train.
	if _, _, err := c.SplitAt(0.1); err == nil {
		t.Error("split leaving a one-sided train part: no error")
	}
	for _, f := range []float64{0, 1, -0.5, math.NaN()} {
		if _, _, err := c.SplitAt(f); err == nil {
			t.Errorf("SplitAt(%v): no error", f)
		}
	}
	train.Packets[0].Size = 999
	if c.Packets[0].Size == 999 {
		t.Error("split parts share memory with the original")
	}
}
