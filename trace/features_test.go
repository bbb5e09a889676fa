package trace

import (
	"math"
	"net/netip"
	"reflect"
	"testing"
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
		return Floats(v, 1e3)
	}
	gaps := func(s Side) []float64 {
		v, neg := c.ReplyGaps(s)
		if neg != 0 {
			t.Errorf("gaps after %s: %d negative, want 0", s, neg)
		}
		return Floats(v, 1e3)
	}
	cases := []struct {
		name   string
		xs     []float64
		want   Summary
		tolAvg float64 // tolerance on mean and std (printed precision)
	}{
		{"A->B size", Floats(c.Sizes(Client), 1), Summary{24273, 54, 99, 104, 112, 1442, 186.9, 242.3}, 0.05},
		{"B->A size", Floats(c.Sizes(Server), 1), Summary{16424, 64, 181, 247, 353, 1118, 264.1, 109.5}, 0.05},
		{"A->B IAT", iat(Client), Summary{24271, 13, 11177.5, 19588, 20174, 22248336, 25796.7, 302129}, 0.5},
		{"B->A IAT", iat(Server), Summary{16422, 18, 90, 211, 41928, 22241123, 38119.4, 371840}, 0.5},
		{"A->B burst", Floats(c.BurstLengths(Client), 1), Summary{5408, 1, 2, 3, 4, 134, 4.49, 5.91}, 0.005},
		{"B->A burst", Floats(c.BurstLengths(Server), 1), Summary{5407, 1, 1, 2, 3, 30, 3.04, 2.83}, 0.005},
		{"gap after A burst", gaps(Client), Summary{5407, 0, 2955.5, 10662, 13283, 1659143, 13343.9, 51497.5}, 0.05},
		{"gap after B burst", gaps(Server), Summary{5407, 0, 801, 5282, 8036, 18253591, 32111.1, 499774}, 0.5},
	}
	for _, tc := range cases {
		got := Summarize(tc.xs)
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

// TestSkypeTables checks the model tables of the embedded trace against
// counts derived independently (a plain-Python pass over the CSV, see
// testdata/README.md): the first burst is a 1-packet client burst; the clock
// step is the third packet of a 3-packet client burst, followed by a
// 3-packet server burst.
func TestSkypeTables(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	// Client: 5408 bursts, the first opens the conversation -> 5407 rows;
	// none excluded (server bursts have no clock step, no gap is negative).
	// Server: 5407 bursts all follow a client burst; one follows the
	// stepped client burst -> 5406 rows.
	// Packet rows: client 24273 - 1 (first burst) - 1 (negative delta);
	// server 16424 - 3 (the burst after the stepped one).
	for _, tc := range []struct {
		side                  Side
		bursts, packets       int
		exclBurst, exclPacket int
	}{{Client, 5407, 24271, 0, 1}, {Server, 5406, 16421, 1, 3}} {
		if got := len(c.BurstRows(tc.side)); got != tc.bursts {
			t.Errorf("%s burst rows %d, want %d", tc.side, got, tc.bursts)
		}
		if got := len(c.PacketRows(tc.side)); got != tc.packets {
			t.Errorf("%s packet rows %d, want %d", tc.side, got, tc.packets)
		}
		eb, ep := c.Excluded(tc.side)
		if eb != tc.exclBurst || ep != tc.exclPacket {
			t.Errorf("%s excluded %d burst rows, %d packet rows; want %d, %d", tc.side, eb, ep, tc.exclBurst, tc.exclPacket)
		}
	}
	// First server burst row: the opening client burst is one 74-byte TCP
	// SYN at 19:47:34.193906; the server answers at .263601 (gap 69695 us).
	r := c.BurstRows(Server)[0]
	want := BurstRow{Count: 1, GapUS: 69695, Bytes: 74, Cond: Cond{OppCount: 1, OppBytes: 74}}
	if r != want {
		t.Errorf("first server burst row %+v, want %+v", r, want)
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

// TestFeaturesByHand checks every feature on a small conversation whose
// values are derived by hand in the comments.
func TestFeaturesByHand(t *testing.T) {
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
	// Server burst rows: burst 1 after burst 0 (gap 40-10 = 30; opp 2 pkts,
	// 300 B, dur 10, mean dt 10); burst 3 has gap 90-100 = -10: excluded.
	wantSB := []BurstRow{{Count: 3, GapUS: 30, Bytes: 180, Cond: Cond{OppCount: 2, OppBytes: 300, OppDurUS: 10, OppMeanDtUS: 10}}}
	if got := c.BurstRows(Server); !reflect.DeepEqual(got, wantSB) {
		t.Errorf("server burst rows\n got %+v\nwant %+v", got, wantSB)
	}
	// Client burst rows: burst 2 after burst 1 (gap 100-55 = 45; opp 3 pkts,
	// 180 B, dur 15, mean 7.5); burst 4 after burst 3 (gap 120-95 = 25; opp
	// 2 pkts, 181 B, dur 5, mean 5).
	wantCB := []BurstRow{
		{Count: 1, GapUS: 45, Bytes: 80, Cond: Cond{OppCount: 3, OppBytes: 180, OppDurUS: 15, OppMeanDtUS: 7.5}},
		{Count: 1, GapUS: 25, Bytes: 99, Cond: Cond{OppCount: 2, OppBytes: 181, OppDurUS: 5, OppMeanDtUS: 5}},
	}
	if got := c.BurstRows(Client); !reflect.DeepEqual(got, wantCB) {
		t.Errorf("client burst rows\n got %+v\nwant %+v", got, wantCB)
	}
	// Server packet rows: packets 2,3,4 (dt 30, 5, 10); packet 6 has dt -10:
	// excluded; packet 7 (dt 5, prev 90) kept.
	c0 := Cond{OppCount: 2, OppBytes: 300, OppDurUS: 10, OppMeanDtUS: 10}
	c2 := Cond{OppCount: 1, OppBytes: 80}
	with := func(c Cond, first, prev float64) Cond { c.First, c.PrevSize = first, prev; return c }
	wantSP := []PacketRow{
		{Size: 50, DtUS: 30, Cond: with(c0, 1, 0)},
		{Size: 60, DtUS: 5, Cond: with(c0, 0, 50)},
		{Size: 70, DtUS: 10, Cond: with(c0, 0, 60)},
		{Size: 91, DtUS: 5, Cond: with(c2, 0, 90)},
	}
	if got := c.PacketRows(Server); !reflect.DeepEqual(got, wantSP) {
		t.Errorf("server packet rows\n got %+v\nwant %+v", got, wantSP)
	}
	if eb, ep := c.Excluded(Server); eb != 1 || ep != 1 {
		t.Errorf("server excluded %d, %d; want 1, 1", eb, ep)
	}
	if eb, ep := c.Excluded(Client); eb != 0 || ep != 0 {
		t.Errorf("client excluded %d, %d; want 0, 0", eb, ep)
	}
	// Series.
	if d, neg := c.Deltas(); !reflect.DeepEqual(d, []int64{10e3, 30e3, 5e3, 10e3, 45e3, 5e3, 25e3}) || neg != 1 {
		t.Errorf("deltas %v (%d negative)", d, neg)
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

func TestSummarizeByHand(t *testing.T) {
	// 1..10: h = 9p; Q1 = x[2.25] = 3.25, median 5.5, Q3 = x[6.75] = 7.75;
	// mean 5.5; variance sum (i-5.5)^2 = 82.5 over 9 -> std sqrt(82.5/9).
	xs := []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	got := Summarize(xs)
	want := Summary{10, 1, 3.25, 5.5, 7.75, 10, 5.5, math.Sqrt(82.5 / 9)}
	if math.Abs(got.Std-want.Std) > 1e-12 {
		t.Errorf("std %v want %v", got.Std, want.Std)
	}
	got.Std, want.Std = 0, 0
	if got != want {
		t.Errorf("summary %+v want %+v", got, want)
	}
	if xs[0] != 10 {
		t.Error("Summarize modified its input")
	}
}

func TestRequireRows(t *testing.T) {
	c := mk([3]int64{0, 1, k}, [3]int64{10, 2, s}, [3]int64{20, 3, k})
	if err := c.RequireRows(1); err != nil {
		t.Errorf("RequireRows(1): %v", err)
	}
	if err := c.RequireRows(2); err == nil {
		t.Error("RequireRows(2) on 3 packets: no error")
	}
}
