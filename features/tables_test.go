package features

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/spatgan/spatgan/trace"
)

// mk builds a conversation from (ts in µs, size, side) triples.
func mk(pk ...[3]int64) *trace.Conversation {
	c := &trace.Conversation{
		Server: trace.Endpoint{Addr: netip.MustParseAddr("10.0.0.1")},
		Client: trace.Endpoint{Addr: netip.MustParseAddr("10.0.0.2")},
		Proto:  "any", Source: "test",
	}
	for i, p := range pk {
		c.Packets = append(c.Packets, trace.Packet{TS: p[0] * 1000, Size: int32(p[1]), From: trace.Side(p[2]), Proto: 17})
		if i > 0 && p[0] < pk[i-1][0] {
			c.ClockSteps++
		}
	}
	return c
}

const (
	srv = int64(trace.Server)
	cli = int64(trace.Client)
)

// handConv has a clock step: the server's burst 3 starts before the
// client's burst 2 ends.
func handConv() *trace.Conversation {
	// t(µs) size side
	return mk(
		[3]int64{0, 100, cli},  // client burst 0: packets 0,1
		[3]int64{10, 200, cli}, //
		[3]int64{40, 50, srv},  // server burst 1: packets 2,3,4 (gap 30)
		[3]int64{45, 60, srv},  //
		[3]int64{55, 70, srv},  //
		[3]int64{100, 80, cli}, // client burst 2: packet 5 (gap 45)
		[3]int64{90, 90, srv},  // server burst 3: packet 6, clock step (gap -10)
		[3]int64{95, 91, srv},  //               packet 7
		[3]int64{120, 99, cli}, // client burst 4: packet 8 (gap 25)
	)
}

// TestTablesByHand checks the training tables with the original condition
// (opponent burst; first, prev_size) against values derived by hand in the
// comments, and the reference implementation on the same conversation.
func TestTablesByHand(t *testing.T) {
	c := handConv()
	type row []float64
	table := func(side trace.Side, kind Kind, names []string) []row {
		tb, err := Rows(c, side, kind, mustResolve(names, kind))
		if err != nil {
			t.Fatal(err)
		}
		out := make([]row, tb.Len())
		for i := range out {
			out[i] = row{tb.X[0][i], tb.X[1][i]}
			for j := range tb.Cond {
				out[i] = append(out[i], tb.Cond[j][i])
			}
		}
		return out
	}
	check := func(what string, got, want []row) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s\n got %v\nwant %v", what, got, want)
		}
	}
	// Server turns: burst 1 after burst 0 (gap 40-10 = 30; opp 2 pkts,
	// 300 B, dur 10, mean dt 10); burst 3 has gap 90-100 = -10: left out.
	// Columns: count, gap, opp_count, opp_bytes, opp_dur_us, opp_mean_dt_us.
	check("server turns", table(trace.Server, TurnDecision, origTurnCond), []row{{3, 30, 2, 300, 10, 10}})
	// Client turns: burst 2 after burst 1 (gap 100-55 = 45; opp 3 pkts,
	// 180 B, dur 15, mean 7.5); burst 4 after burst 3 (gap 120-95 = 25; opp
	// 2 pkts, 181 B, dur 5, mean 5).
	check("client turns", table(trace.Client, TurnDecision, origTurnCond), []row{{1, 45, 3, 180, 15, 7.5}, {1, 25, 2, 181, 5, 5}})
	// Server packets: packets 2,3,4 (dt 30, 5, 10); packet 6 has dt -10:
	// left out; packet 7 (dt 5, prev 90, opponent burst 2: 1 packet, 80 B)
	// kept. Columns: size, dt, opp_count, opp_bytes, opp_dur_us,
	// opp_mean_dt_us, first, prev_size.
	check("server packets", table(trace.Server, PacketDecision, origPacketCond), []row{
		{50, 30, 2, 300, 10, 10, 1, 0},
		{60, 5, 2, 300, 10, 10, 0, 50},
		{70, 10, 2, 300, 10, 10, 0, 60},
		{91, 5, 1, 80, 0, 0, 0, 90},
	})
	if got, want := Count(c, trace.Server), (Counts{Turns: 1, Packets: 4, TurnsLeftOut: 1, PacketsLeftOut: 1}); got != want {
		t.Errorf("server counts %+v, want %+v", got, want)
	}
	if got, want := Count(c, trace.Client), (Counts{Turns: 2, Packets: 2}); got != want {
		t.Errorf("client counts %+v, want %+v", got, want)
	}
	checkAgainstRef(t, c)
}

// TestSkypeCounts checks the table sizes of the embedded trace against
// counts derived independently (a plain-Python pass over the CSV,
// trace/testdata/skype_reference.txt): the first burst is a 1-packet client
// burst; the clock step is the third packet of a 3-packet client burst,
// followed by a 3-packet server burst.
func TestSkypeCounts(t *testing.T) {
	c, err := trace.Default()
	if err != nil {
		t.Fatal(err)
	}
	// Client: 5408 bursts, the first opens the conversation -> 5407 rows;
	// none left out (server bursts have no clock step, no gap is negative).
	// Server: 5407 bursts all follow a client burst; one follows the
	// stepped client burst -> 5406 rows.
	// Packet rows: client 24273 - 1 (first burst) - 1 (negative delta);
	// server 16424 - 3 (the burst after the stepped one).
	for _, tc := range []struct {
		side trace.Side
		want Counts
	}{
		{trace.Client, Counts{Turns: 5407, Packets: 24271, TurnsLeftOut: 0, PacketsLeftOut: 1}},
		{trace.Server, Counts{Turns: 5406, Packets: 16421, TurnsLeftOut: 1, PacketsLeftOut: 3}},
	} {
		if got := Count(c, tc.side); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.side, got, tc.want)
		}
	}
	// First server turn row: the opening client burst is one 74-byte TCP
	// SYN at 19:47:34.193906; the server answers at .263601 (gap 69695 µs).
	tb, err := Rows(c, trace.Server, TurnDecision, mustResolve(origTurnCond, TurnDecision))
	if err != nil {
		t.Fatal(err)
	}
	got := []float64{tb.X[0][0], tb.X[1][0], tb.Cond[0][0], tb.Cond[1][0], tb.Cond[2][0], tb.Cond[3][0]}
	if want := []float64{1, 69695, 1, 74, 0, 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("first server turn row %v, want %v", got, want)
	}
}

func TestRequireRows(t *testing.T) {
	c := mk([3]int64{0, 1, cli}, [3]int64{10, 2, srv}, [3]int64{20, 3, cli})
	if err := RequireRows(c, 1); err != nil {
		t.Errorf("RequireRows(1): %v", err)
	}
	if err := RequireRows(c, 2); err == nil {
		t.Error("RequireRows(2) on 3 packets: no error")
	}
}

// TestExportByHand checks the exported tables' condition columns and row
// flags on the hand conversation (values from TestTablesByHand's comments).
func TestExportByHand(t *testing.T) {
	c := handConv()
	read := func(table string) (map[string]int, [][]string) {
		var buf bytes.Buffer
		if err := trace.ExportFeatures(&buf, c, table); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := map[string]int{}
		for i, n := range recs[0] {
			col[n] = i
		}
		return col, recs[1:]
	}
	col, rows := read(trace.TablePackets)
	if len(rows) != len(c.Packets) {
		t.Fatalf("%d packet rows, want %d", len(rows), len(c.Packets))
	}
	// Rows: packets 2,3,4 (server), 5 (client), 7 (server), 8 (client);
	// not 0,1 (opening burst) nor 6 (negative delta).
	var flags []string
	for _, r := range rows {
		flags = append(flags, r[col["row"]])
	}
	if got := strings.Join(flags, ""); got != "001111011" {
		t.Errorf("packet row flags %s, want 001111011", got)
	}
	if r := rows[0]; r[col["opp_count"]] != "NaN" || r[col["first"]] != "1" || r[col["dt_us"]] != "NaN" {
		t.Errorf("first packet %v", r)
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if r := rows[7]; num(r[col["opp_count"]]) != 1 || num(r[col["opp_bytes"]]) != 80 || num(r[col["prev_size"]]) != 90 || r[col["burst"]] != "3" {
		t.Errorf("packet 7 %v", r)
	}
	col, rows = read(trace.TableBursts)
	flags = flags[:0]
	for _, r := range rows {
		flags = append(flags, r[col["row"]])
	}
	if got := strings.Join(flags, ""); got != "01101" {
		t.Errorf("burst row flags %s, want 01101", got)
	}
	if r := rows[2]; num(r[col["gap_us"]]) != 45 || num(r[col["opp_mean_dt_us"]]) != 7.5 {
		t.Errorf("burst 2 %v", r)
	}
	if g := rows[0][col["gap_us"]]; g != "NaN" {
		t.Errorf("opening burst gap %s, want NaN", g)
	}
	if err := trace.ExportFeatures(&bytes.Buffer{}, c, "nope"); err == nil {
		t.Error("unknown table: no error")
	}
}

// BenchmarkRows measures replaying the embedded trace (40,697 packets) into
// one side's packet table with the original condition, in packets per
// second.
func BenchmarkRows(b *testing.B) {
	c, err := trace.Default()
	if err != nil {
		b.Fatal(err)
	}
	set := mustResolve(origPacketCond, PacketDecision)
	b.ReportAllocs()
	for range b.N {
		if _, err := Rows(c, trace.Server, PacketDecision, set); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(c.Packets))*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
