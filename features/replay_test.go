package features

import (
	"strings"
	"testing"

	"github.com/spatgan/spatgan/trace"
)

// The clock-step rule and the original condition features have one
// implementation, Replay and the feature registry. This file keeps a second,
// independent one (the trace package's former BurstRows and PacketRows,
// written directly over the bursts, and checked against fidelity.md's
// reference numbers before they moved here) only to cross-check the first.

// refCond is the original SPATGAN's condition.
type refCond struct {
	OppCount, OppBytes, OppDurUS, OppMeanDtUS float64
	First, PrevSize                           float64
}

type refBurstRow struct {
	Count int
	GapUS float64
	Cond  refCond
}

type refPacketRow struct {
	Size int32
	DtUS float64
	Cond refCond
}

func refOpp(b *trace.Burst) refCond {
	c := refCond{OppCount: float64(b.Count), OppBytes: float64(b.Bytes), OppDurUS: float64(b.DurNS()) / 1e3}
	if b.Count > 1 {
		c.OppMeanDtUS = c.OppDurUS / float64(b.Count-1)
	}
	return c
}

// refRows returns side's burst and packet rows: a burst row per burst of
// side after an opponent burst, unless its reply gap is negative or the
// opponent burst holds a clock step; a packet row per packet of such
// bursts, unless its merged delta is negative or the opponent burst holds a
// clock step. It also counts the rows left out.
func refRows(c *trace.Conversation, side trace.Side) (br []refBurstRow, pr []refPacketRow, exclB, exclP int) {
	bursts := c.Bursts()
	p := c.Packets
	for k := 1; k < len(bursts); k++ {
		b, opp := &bursts[k], &bursts[k-1]
		if b.From != side {
			continue
		}
		gap := b.FirstTS - opp.LastTS
		if gap < 0 || opp.ClockSteps > 0 {
			exclB++
		} else {
			br = append(br, refBurstRow{Count: b.Count, GapUS: float64(gap) / 1e3, Cond: refOpp(opp)})
		}
		if opp.ClockSteps > 0 {
			exclP += b.Count
			continue
		}
		cond := refOpp(opp)
		for i := b.Start; i < b.End; i++ {
			dt := p[i].TS - p[i-1].TS
			if dt < 0 {
				exclP++
				continue
			}
			cond.First, cond.PrevSize = 0, float64(p[i-1].Size)
			if i == b.Start {
				cond.First, cond.PrevSize = 1, 0
			}
			pr = append(pr, refPacketRow{Size: p[i].Size, DtUS: float64(dt) / 1e3, Cond: cond})
		}
	}
	return br, pr, exclB, exclP
}

var (
	origTurnCond   = []string{"opp_count", "opp_bytes", "opp_dur_us", "opp_mean_dt_us"}
	origPacketCond = []string{"opp_count", "opp_bytes", "opp_dur_us", "opp_mean_dt_us", "first", "prev_size"}
)

// checkAgainstRef compares Rows and Count with refRows on conv.
func checkAgainstRef(t *testing.T, conv *trace.Conversation) {
	t.Helper()
	for _, side := range []trace.Side{trace.Server, trace.Client} {
		want, pw, exclB, exclP := refRows(conv, side)
		tb, err := Rows(conv, side, TurnDecision, mustResolve(origTurnCond, TurnDecision))
		if err != nil {
			t.Fatal(err)
		}
		if tb.Len() != len(want) {
			t.Fatalf("%s turns: %d rows, reference %d", side, tb.Len(), len(want))
		}
		for i, r := range want {
			got := []float64{tb.X[0][i], tb.X[1][i], tb.Cond[0][i], tb.Cond[1][i], tb.Cond[2][i], tb.Cond[3][i]}
			exp := []float64{float64(r.Count), r.GapUS, r.Cond.OppCount, r.Cond.OppBytes, r.Cond.OppDurUS, r.Cond.OppMeanDtUS}
			for j := range got {
				if !close(got[j], exp[j]) {
					t.Fatalf("%s turn row %d col %d: %v, reference %v", side, i, j, got[j], exp[j])
				}
			}
		}
		pt, err := Rows(conv, side, PacketDecision, mustResolve(origPacketCond, PacketDecision))
		if err != nil {
			t.Fatal(err)
		}
		if pt.Len() != len(pw) {
			t.Fatalf("%s packets: %d rows, reference %d", side, pt.Len(), len(pw))
		}
		for i, r := range pw {
			got := []float64{pt.X[0][i], pt.X[1][i], pt.Cond[0][i], pt.Cond[1][i], pt.Cond[2][i], pt.Cond[3][i], pt.Cond[4][i], pt.Cond[5][i]}
			exp := []float64{float64(r.Size), r.DtUS, r.Cond.OppCount, r.Cond.OppBytes, r.Cond.OppDurUS, r.Cond.OppMeanDtUS, r.Cond.First, r.Cond.PrevSize}
			for j := range got {
				if !close(got[j], exp[j]) {
					t.Fatalf("%s packet row %d col %d: %v, reference %v", side, i, j, got[j], exp[j])
				}
			}
		}
		wantCount := Counts{Turns: len(want), Packets: len(pw), TurnsLeftOut: exclB, PacketsLeftOut: exclP}
		if got := Count(conv, side); got != wantCount {
			t.Errorf("%s: Count %+v, reference %+v", side, got, wantCount)
		}
	}
}

// The replayed tables, with the original condition features, equal the
// reference implementation's row for row on the embedded trace, which has
// a clock step.
func TestRowsMatchReference(t *testing.T) {
	conv, err := trace.Default()
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstRef(t, conv)
}

func close(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-9*(1+max(a, -a, b, -b))
}

// A hand-built conversation: client sends 2 packets, server answers 1, the
// client 3. Features derived by hand.
// handPackets is a small conversation worked through by hand: a client
// burst of 2, a server burst of 1, a client burst of 3.
func handPackets() []trace.Packet {
	ms := int64(1e6)
	return []trace.Packet{
		{TS: 0, Size: 100, From: trace.Client},
		{TS: 2 * ms, Size: 120, From: trace.Client},
		{TS: 10 * ms, Size: 500, From: trace.Server},
		{TS: 15 * ms, Size: 60, From: trace.Client},
		{TS: 16 * ms, Size: 70, From: trace.Client},
		{TS: 18 * ms, Size: 80, From: trace.Client},
	}
}

func TestFeaturesByHand(t *testing.T) {
	conv := &trace.Conversation{Source: "hand", Packets: handPackets()}
	names := []string{"opp_count", "opp_gap_us", "own_count", "own_bytes", "own_gap_us", "own_count_avg", "pos", "count", "left", "gap_us", "last_size", "last_dt_us"}
	set, err := Resolve(names, PacketDecision)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := Rows(conv, trace.Client, PacketDecision, set)
	if err != nil {
		t.Fatal(err)
	}
	// Rows: the client's second burst only (the opening burst gives none).
	want := [][]float64{
		// opp_count opp_gap own_count own_bytes own_gap avg pos count left gap last_size last_dt
		{1, 8000, 2, 220, 0, 2, 0, 3, 2, 5000, 120, 2000},
		{1, 8000, 2, 220, 0, 2, 1, 3, 1, 5000, 60, 5000},
		{1, 8000, 2, 220, 0, 2, 2, 3, 0, 5000, 70, 1000},
	}
	wantX := [][2]float64{{60, 5000}, {70, 1000}, {80, 2000}}
	if tb.Len() != len(want) {
		t.Fatalf("%d rows, want %d", tb.Len(), len(want))
	}
	for i := range want {
		if tb.X[0][i] != wantX[i][0] || tb.X[1][i] != wantX[i][1] {
			t.Errorf("row %d targets (%v, %v), want %v", i, tb.X[0][i], tb.X[1][i], wantX[i])
		}
		for j, n := range names {
			if tb.Cond[j][i] != want[i][j] {
				t.Errorf("row %d %s = %v, want %v", i, n, tb.Cond[j][i], want[i][j])
			}
		}
	}
	if _, err := Resolve([]string{"pos"}, TurnDecision); err == nil {
		t.Error("a turn model accepted a packet-only feature")
	}
	if _, err := Resolve([]string{"nope"}, PacketDecision); err == nil {
		t.Error("an unknown feature was accepted")
	}
}

// TestPrimeByHand checks the History a generator continues a conversation
// from, and the per-lag burst features, against values worked out by hand.
func TestPrimeByHand(t *testing.T) {
	ms := int64(1e6)
	// handPackets, then a server burst of 2.
	conv := &trace.Conversation{Source: "hand", Packets: append(handPackets(),
		trace.Packet{TS: 30 * ms, Size: 900, From: trace.Server},
		trace.Packet{TS: 31 * ms, Size: 40, From: trace.Server})}
	h := Prime(conv)
	if got := [2]int{h.Bursts(trace.Server), h.Bursts(trace.Client)}; got != [2]int{2, 2} {
		t.Fatalf("bursts per side (server, client) %v, want [2 2]", got)
	}
	if next, ok := h.Next(); !ok || next != trace.Client {
		t.Errorf("next side %v (%v), want the client: the server's burst was the last", next, ok)
	}
	last, _ := h.Last(trace.Server, 0)
	if want := (Burst{Count: 2, Bytes: 940, DurNS: 1 * ms, GapNS: 12 * ms, LastSize: 40, LastDtNS: 1 * ms, PrevSize: 900}); last != want {
		t.Errorf("server's last burst %+v, want %+v", last, want)
	}
	if _, _, open := h.Open(); open {
		t.Error("a primed History has an open burst")
	}
	if _, ok := (&History{}).Next(); ok {
		t.Error("an empty History names a next side")
	}
	// The lag features, for the client's next turn: its bursts back are
	// 3 packets / 210 B (1 back) and 2 / 220 B (2 back); the server has 2.
	set, err := Resolve([]string{"own_count", "own_count_2", "own_bytes_2", "own_count_3", "opp_bytes", "opp_bytes_2"}, TurnDecision)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float64, set.Len())
	set.To(got, &Ctx{H: &h, Side: trace.Client})
	want := []float64{3, 2, 220, 0, 940, 500}
	for j := range want {
		if got[j] != want[j] {
			t.Errorf("%s = %v, want %v", set.Names[j], got[j], want[j])
		}
	}
}

// TestKnownCompactsLags: each per-lag family is listed once, and every
// other name as it is.
func TestKnownCompactsLags(t *testing.T) {
	k := Known()
	for _, want := range []string{"own_bytes_2..8", "opp_count_2..8", "own_gap_2..8_us", "own_bytes, ", "own_gap_us", "pos"} {
		if !strings.Contains(k, want) {
			t.Errorf("Known() = %q lacks %q", k, want)
		}
	}
	if strings.Contains(k, "own_bytes_3") || strings.Contains(k, "own_gap_3_us") {
		t.Errorf("Known() = %q lists a lag one by one", k)
	}
}

// TestOwnSinceByHand: own_since_us at a turn is the time from this side's
// last packet to the opponent's last packet, and 0 before this side has
// sent anything.
func TestOwnSinceByHand(t *testing.T) {
	conv := &trace.Conversation{Source: "hand", Packets: handPackets()}
	set, err := Resolve([]string{"own_since_us", "opp_gap_us", "opp_dur_us"}, TurnDecision)
	if err != nil {
		t.Fatal(err)
	}
	// The client's second burst (at 15 ms) answers the server's packet at
	// 10 ms; the client's last packet was at 2 ms.
	tb, err := Rows(conv, trace.Client, TurnDecision, set)
	if err != nil {
		t.Fatal(err)
	}
	if tb.Len() != 1 || tb.Cond[0][0] != 8000 {
		t.Fatalf("client turn rows %v, want one with own_since_us 8000", tb.Cond)
	}
	// The server answers the opening burst: it has sent nothing before.
	tb, err = Rows(conv, trace.Server, TurnDecision, set)
	if err != nil {
		t.Fatal(err)
	}
	if tb.Len() != 1 || tb.Cond[0][0] != 0 {
		t.Fatalf("server turn rows %v, want one with own_since_us 0", tb.Cond)
	}
}

// TestLastSizePairByHand: the client's second burst (60, 70, 80 after the
// server's 500) reads its own previous size and the server's last size.
func TestLastSizePairByHand(t *testing.T) {
	conv := &trace.Conversation{Source: "hand", Packets: handPackets()}
	set, err := Resolve([]string{"last_size_pair"}, PacketDecision)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := Rows(conv, trace.Client, PacketDecision, set)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{120*65536 + 500, 60*65536 + 500, 70*65536 + 500}
	if tb.Len() != 3 {
		t.Fatalf("%d client packet rows, want 3", tb.Len())
	}
	for i, w := range want {
		if got := tb.Cond[0][i]; got != w {
			t.Errorf("row %d: last_size_pair %v, want %v", i, got, w)
		}
	}
}

// TestLastSizeTripleByHand: the key holds this side's previous size, the
// size before it and the opponent's last size. In the client's second burst
// (60, 70, 80 after the server's 500) the packet before the previous is
// unknown for the first packet (its previous burst had two packets), the
// previous burst's last packet for the second, the burst's own first for
// the third; between one-packet bursts it is the burst before.
func TestLastSizeTripleByHand(t *testing.T) {
	const a, b = 1 << 34, 1 << 17
	ms := int64(1e6)
	oneEach := []trace.Packet{
		{TS: 0, Size: 10, From: trace.Client},
		{TS: 1 * ms, Size: 20, From: trace.Server},
		{TS: 2 * ms, Size: 30, From: trace.Client},
		{TS: 3 * ms, Size: 40, From: trace.Server},
		{TS: 4 * ms, Size: 50, From: trace.Client},
	}
	for _, c := range []struct {
		pkts []trace.Packet
		want []float64
	}{
		{handPackets(), []float64{120*a + 500, 60*a + 120*b + 500, 70*a + 60*b + 500}},
		{oneEach, []float64{10*a + 20, 30*a + 10*b + 40}},
	} {
		clientPacketFeature(t, "last_size_triple", c.pkts, c.want)
	}
}

// clientPacketFeature checks one packet feature over the client's packet
// rows of pkts, and that it makes a set sequential (it reads the drawn
// packets).
func clientPacketFeature(t *testing.T, name string, pkts []trace.Packet, want []float64) {
	t.Helper()
	set, err := Resolve([]string{name}, PacketDecision)
	if err != nil {
		t.Fatal(err)
	}
	if !set.Sequential() {
		t.Errorf("%s reads the burst's drawn packets: the set must be sequential", name)
	}
	tb, err := Rows(&trace.Conversation{Source: "hand", Packets: pkts}, trace.Client, PacketDecision, set)
	if err != nil {
		t.Fatal(err)
	}
	if tb.Len() != len(want) {
		t.Fatalf("%s: %d client packet rows, want %d", name, tb.Len(), len(want))
	}
	for i, w := range want {
		if got := tb.Cond[0][i]; got != w {
			t.Errorf("row %d: %s %v, want %v", i, name, got, w)
		}
	}
}

// TestGapLagsByHand: own_gap_2_us is the reply gap before this side's
// burst two back. The client's bursts at 3, 7 and 12 ms answer the server's
// at 1, 4 and 8 ms; its own earlier gaps are none (the opening burst),
// 2 ms and 3 ms.
func TestGapLagsByHand(t *testing.T) {
	ms := int64(1e6)
	pkts := []trace.Packet{
		{TS: 0, Size: 10, From: trace.Client}, {TS: 1 * ms, Size: 20, From: trace.Server},
		{TS: 3 * ms, Size: 30, From: trace.Client}, {TS: 4 * ms, Size: 40, From: trace.Server},
		{TS: 7 * ms, Size: 50, From: trace.Client}, {TS: 8 * ms, Size: 60, From: trace.Server},
		{TS: 12 * ms, Size: 70, From: trace.Client},
	}
	set, err := Resolve([]string{"own_gap_us", "own_gap_2_us", "own_gap_3_us"}, TurnDecision)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := Rows(&trace.Conversation{Source: "hand", Packets: pkts}, trace.Client, TurnDecision, set)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{0, 2000, 3000}, {0, 0, 2000}, {0, 0, 0}}
	if tb.Len() != 3 {
		t.Fatalf("%d client turn rows, want 3", tb.Len())
	}
	for f, w := range want {
		for i := range w {
			if got := tb.Cond[f][i]; got != w[i] {
				t.Errorf("%s row %d: %v, want %v", set.Names[f], i, got, w[i])
			}
		}
	}
}

// TestLastSize2ByHand: last_size_2 is the size two packets back on this
// side, across bursts. In the client's second burst (60, 70, 80 after
// 100, 120): 100 before its first packet (the previous burst's packet
// before its last), 120 before its second, 60 before its third; between
// one-packet bursts it is the burst before's.
func TestLastSize2ByHand(t *testing.T) {
	ms := int64(1e6)
	oneEach := []trace.Packet{
		{TS: 0, Size: 10, From: trace.Client}, {TS: 1 * ms, Size: 20, From: trace.Server},
		{TS: 2 * ms, Size: 30, From: trace.Client}, {TS: 3 * ms, Size: 40, From: trace.Server},
		{TS: 4 * ms, Size: 50, From: trace.Client},
	}
	for _, c := range []struct {
		pkts []trace.Packet
		want []float64
	}{
		{handPackets(), []float64{100, 120, 60}},
		{oneEach, []float64{0, 10}},
	} {
		clientPacketFeature(t, "last_size_2", c.pkts, c.want)
	}
}
