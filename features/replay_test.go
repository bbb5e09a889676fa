package features

import (
	"testing"

	"github.com/spatgan/spatgan/trace"
)

// The replayed tables, with the original condition features, must equal the
// trace package's BurstRows and PacketRows (an independent implementation
// checked against fidelity.md's reference numbers) row for row.
func TestRowsMatchTraceTables(t *testing.T) {
	conv, err := trace.Default()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"opp_count", "opp_bytes", "opp_dur_us", "opp_mean_dt_us"}
	pnames := append(append([]string{}, names...), "first", "prev_size")
	for _, side := range []trace.Side{trace.Server, trace.Client} {
		set, err := Resolve(names, TurnDecision)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := Rows(conv, side, TurnDecision, set)
		if err != nil {
			t.Fatal(err)
		}
		want := conv.BurstRows(side)
		if tb.Len() != len(want) {
			t.Fatalf("%s turns: %d rows, trace has %d", side, tb.Len(), len(want))
		}
		for i, r := range want {
			got := []float64{tb.X[0][i], tb.X[1][i], tb.Cond[0][i], tb.Cond[1][i], tb.Cond[2][i], tb.Cond[3][i]}
			exp := []float64{float64(r.Count), r.GapUS, r.Cond.OppCount, r.Cond.OppBytes, r.Cond.OppDurUS, r.Cond.OppMeanDtUS}
			for j := range got {
				if !close(got[j], exp[j]) {
					t.Fatalf("%s turn row %d col %d: %v, trace %v", side, i, j, got[j], exp[j])
				}
			}
		}
		pset, err := Resolve(pnames, PacketDecision)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := Rows(conv, side, PacketDecision, pset)
		if err != nil {
			t.Fatal(err)
		}
		pw := conv.PacketRows(side)
		if pt.Len() != len(pw) {
			t.Fatalf("%s packets: %d rows, trace has %d", side, pt.Len(), len(pw))
		}
		for i, r := range pw {
			got := []float64{pt.X[0][i], pt.X[1][i], pt.Cond[0][i], pt.Cond[4][i], pt.Cond[5][i]}
			exp := []float64{float64(r.Size), r.DtUS, r.Cond.OppCount, r.Cond.First, r.Cond.PrevSize}
			for j := range got {
				if !close(got[j], exp[j]) {
					t.Fatalf("%s packet row %d col %d: %v, trace %v", side, i, j, got[j], exp[j])
				}
			}
		}
	}
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
func TestFeaturesByHand(t *testing.T) {
	ms := int64(1e6)
	conv := &trace.Conversation{Source: "hand", Packets: []trace.Packet{
		{TS: 0, Size: 100, From: trace.Client},
		{TS: 2 * ms, Size: 120, From: trace.Client},
		{TS: 10 * ms, Size: 500, From: trace.Server},
		{TS: 15 * ms, Size: 60, From: trace.Client},
		{TS: 16 * ms, Size: 70, From: trace.Client},
		{TS: 18 * ms, Size: 80, From: trace.Client},
	}}
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
