package metrics

import (
	"bufio"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spatgan/spatgan/trace"
)

// A small conversation, derived by hand. Times in microseconds:
//
//	#  side    t(us)  size
//	0  client  0      100
//	1  client  10     110
//	2  server  50     300   burst C(2) ends at 10, S replies after 40
//	3  client  80     120   S(1) ends at 50, C replies after 30
//	4  client  70     130   clock step: merged delta and client IAT -10, dropped
//	5  client  100    140
//	6  server  1100   400   C(3) ends at 100, S replies after 1000
func handPackets() []trace.Packet {
	rows := []struct {
		s    trace.Side
		us   int64
		size int32
	}{
		{trace.Client, 0, 100}, {trace.Client, 10, 110}, {trace.Server, 50, 300},
		{trace.Client, 80, 120}, {trace.Client, 70, 130}, {trace.Client, 100, 140},
		{trace.Server, 1100, 400},
	}
	p := make([]trace.Packet, len(rows))
	for i, r := range rows {
		p[i] = trace.Packet{TS: 1e15 + r.us*1000, Size: r.size, From: r.s, Proto: 17}
	}
	return p
}

func equalFloats(a, b []float64) bool {
	return len(a) == len(b) && slices.Equal(a, b)
}

func TestExtractHand(t *testing.T) {
	s, err := Extract(handPackets())
	if err != nil {
		t.Fatal(err)
	}
	c, v := s[trace.Client], s[trace.Server]
	checks := []struct {
		name      string
		got, want []float64
	}{
		{"client size", c.Size, []float64{100, 110, 120, 130, 140}},
		{"server size", v.Size, []float64{300, 400}},
		// client IATs: 10, 70 (10->80), -10 dropped, 30 (70->100).
		{"client IAT", c.IAT, []float64{10, 70, 30}},
		{"server IAT", v.IAT, []float64{1050}},
		// merged deltas of client packets 1,3,4,5: 10, 30, -10 dropped, 30.
		{"client delta", c.Delta, []float64{10, 30, 30}},
		{"server delta", v.Delta, []float64{40, 1000}},
		{"client burst", c.Burst, []float64{2, 3}},
		{"server burst", v.Burst, []float64{1, 1}},
		{"client reply gap", c.ReplyGap, []float64{30}},
		{"server reply gap", v.ReplyGap, []float64{40, 1000}},
	}
	for _, ch := range checks {
		if !equalFloats(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}

	b, err := Bursts(handPackets())
	if err != nil {
		t.Fatal(err)
	}
	want := []Burst{
		{From: trace.Client, Start: 0, End: 2, Count: 2, Bytes: 210, FirstTS: 1e15, LastTS: 1e15 + 10e3},
		{From: trace.Server, Start: 2, End: 3, Count: 1, Bytes: 300, FirstTS: 1e15 + 50e3, LastTS: 1e15 + 50e3},
		{From: trace.Client, Start: 3, End: 6, Count: 3, Bytes: 390, FirstTS: 1e15 + 80e3, LastTS: 1e15 + 100e3, ClockSteps: 1}, // one packet steps back in time
		{From: trace.Server, Start: 6, End: 7, Count: 1, Bytes: 400, FirstTS: 1e15 + 1100e3, LastTS: 1e15 + 1100e3},
	}
	if !slices.Equal(b, want) {
		t.Errorf("Bursts = %+v, want %+v", b, want)
	}

	// Server replies to client bursts of (2 pkts, 210 B) and (3, 390) with
	// gaps 40 and 1000 us and bursts (1, 300) and (1, 400): count and bytes
	// rise together with the gap, rho = 1; reply counts are constant: NaN;
	// reply bytes rise: 1.
	d := CrossDependence(b, trace.Server)
	if d.N != 2 || d.CountGap != 1 || d.BytesGap != 1 || !math.IsNaN(d.CountCount) || d.BytesBytes != 1 {
		t.Errorf("server dependence = %+v", d)
	}
	// One client reply only: every correlation undefined.
	d = CrossDependence(b, trace.Client)
	if d.N != 1 || !math.IsNaN(d.CountGap) {
		t.Errorf("client dependence = %+v", d)
	}

	rows, err := WindowRows(handPackets(), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Windows start at packets 1 and 4: (client,110,log10 10), (server,300,log10 40);
	// (client,130, delta -10 -> 0), (client,140,log10 30).
	wantRows := [][]float64{
		{1, 110, 1, 0, 300, math.Log10(40)},
		{1, 130, 0, 1, 140, math.Log10(30)},
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("WindowRows = %v", rows)
	}
	for i := range rows {
		if !equalFloats(rows[i], wantRows[i]) {
			t.Errorf("window %d = %v, want %v", i, rows[i], wantRows[i])
		}
	}
	// The same windows with some columns only, in the order direction,
	// size, time.
	for _, c := range []struct {
		cols Columns
		name string
		want [][]float64
	}{
		{ColDirection | ColTime, "direction+time", [][]float64{{1, 1, 0, math.Log10(40)}, {1, 0, 1, math.Log10(30)}}},
		{ColSize, "size", [][]float64{{110, 300}, {130, 140}}},
		{ColDirection, "direction", [][]float64{{1, 0}, {1, 1}}},
	} {
		got, err := WindowRowsOf(handPackets(), 2, 3, c.cols)
		if err != nil {
			t.Fatal(err)
		}
		if c.cols.String() != c.name {
			t.Errorf("columns %#x named %q, want %q", uint8(c.cols), c.cols.String(), c.name)
		}
		if len(got) != len(c.want) {
			t.Fatalf("WindowRowsOf %s = %v", c.name, got)
		}
		for i := range got {
			if !equalFloats(got[i], c.want[i]) {
				t.Errorf("%s window %d = %v, want %v", c.name, i, got[i], c.want[i])
			}
		}
	}
	for _, bad := range []Columns{0, 8, AllColumns | 16} {
		if _, err := WindowRowsOf(handPackets(), 2, 3, bad); err == nil || !strings.Contains(err.Error(), "column set") {
			t.Errorf("columns %#x: %v, want an error naming the column set", uint8(bad), err)
		}
	}
	pr, _ := PacketRows(handPackets())
	if len(pr) != 6 || len(pr[0]) != 3 {
		t.Errorf("PacketRows gave %d rows of %d", len(pr), len(pr[0]))
	}
}

func TestSeriesBadSide(t *testing.T) {
	p := handPackets()
	p[3].From = 5
	if _, err := Extract(p); err == nil || !strings.Contains(err.Error(), "packet 3") {
		t.Errorf("Extract error %v, want one naming packet 3", err)
	}
	if _, err := Bursts(p); err == nil {
		t.Error("Bursts accepted side 5")
	}
	if _, err := WindowRows(p, 1, 1); err == nil {
		t.Error("WindowRows accepted side 5")
	}
	if _, err := WindowRows(p, 1, 0); err == nil {
		t.Error("WindowRows accepted stride 0")
	}
	if s, err := Extract(nil); err != nil || len(s[0].Size) != 0 {
		t.Errorf("Extract(nil) = %v, %v", s, err)
	}
}

// readSkypeCSV is a minimal reader of shared/data's CSV format for this test
// only (number,src,dst,size,clean_size,date,time); client is the capturing
// host 192.168.1.133, as in fidelity.md.
func readSkypeCSV(t *testing.T, path string) []trace.Packet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	var pkts []trace.Packet
	for line := 2; sc.Scan(); line++ {
		fs := strings.Split(sc.Text(), ",")
		if len(fs) != 7 {
			t.Fatalf("%s:%d: %d fields", path, line, len(fs))
		}
		size, err := strconv.Atoi(fs[3])
		if err != nil {
			t.Fatalf("%s:%d: size: %v", path, line, err)
		}
		ts, err := time.Parse("2006-01-02 15:04:05.999999", fs[5]+" "+fs[6])
		if err != nil {
			t.Fatalf("%s:%d: time: %v", path, line, err)
		}
		side := trace.Server
		if fs[1] == "192.168.1.133" {
			side = trace.Client
		}
		pkts = append(pkts, trace.Packet{TS: ts.UnixMicro() * 1000, Size: int32(size), From: side})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return pkts
}

// TestExtractMatchesFidelityTable recomputes the reference table of
// shared/docs/fidelity.md (made by an independent program) from the real
// trace. It needs the shared/ folder beside the repository.
func TestExtractMatchesFidelityTable(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "skype_eth_5.csv")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real trace not found: %v", err)
	}
	pkts := readSkypeCSV(t, path)
	if len(pkts) != 40697 {
		t.Fatalf("%d packets, fidelity.md says 40,697", len(pkts))
	}
	s, err := Extract(pkts)
	if err != nil {
		t.Fatal(err)
	}
	a, b := s[trace.Client], s[trace.Server]
	// Rows of fidelity.md: n, min, Q1, median, Q3, max exact; mean and std to
	// the digits printed there (half a unit of the last digit).
	rows := []struct {
		name            string
		x               []float64
		want            Summary
		meanTol, stdTol float64
	}{
		{"A->B size", a.Size, Summary{24273, 54, 99, 104, 112, 1442, 186.9, 242.3}, 0.05, 0.05},
		{"B->A size", b.Size, Summary{16424, 64, 181, 247, 353, 1118, 264.1, 109.5}, 0.05, 0.05},
		{"A->B IAT", a.IAT, Summary{24271, 13, 11177.5, 19588, 20174, 22248336, 25796.7, 302129}, 0.05, 0.5},
		{"B->A IAT", b.IAT, Summary{16422, 18, 90, 211, 41928, 22241123, 38119.4, 371840}, 0.05, 0.5},
		{"A->B burst", a.Burst, Summary{5408, 1, 2, 3, 4, 134, 4.49, 5.91}, 0.005, 0.005},
		{"B->A burst", b.Burst, Summary{5407, 1, 1, 2, 3, 30, 3.04, 2.83}, 0.005, 0.005},
		// "gap after A burst" is B's reply gap and vice versa.
		{"gap after A burst", b.ReplyGap, Summary{5407, 0, 2955.5, 10662, 13283, 1659143, 13343.9, 51497.5}, 0.05, 0.05},
		{"gap after B burst", a.ReplyGap, Summary{5407, 0, 801, 5282, 8036, 18253591, 32111.1, 499774}, 0.05, 0.5},
	}
	for _, r := range rows {
		got := Summarize(r.x)
		w := r.want
		if got.N != w.N || got.Min != w.Min || got.Q1 != w.Q1 || got.Median != w.Median ||
			got.Q3 != w.Q3 || got.Max != w.Max ||
			math.Abs(got.Mean-w.Mean) > r.meanTol || math.Abs(got.Std-w.Std) > r.stdTol {
			t.Errorf("%s: got %+v\nwant %+v", r.name, got, w)
		}
	}
	// The clock step gives one negative merged delta: 40,696 deltas minus 1.
	if n := len(a.Delta) + len(b.Delta); n != 40695 {
		t.Errorf("%d merged deltas, want 40695", n)
	}
	// Real against real is a sanity check of scale, not a reference: the
	// noise floor in fidelity.md (first half against second half) gives KS
	// on size 0.074 / 0.083 and on burst length 0.036 / 0.180.
	half := len(pkts) / 2
	s1, _ := Extract(pkts[:half])
	s2, _ := Extract(pkts[half:])
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"A->B size", KS(s1[trace.Client].Size, s2[trace.Client].Size), 0.074},
		{"B->A size", KS(s1[trace.Server].Size, s2[trace.Server].Size), 0.083},
		{"A->B IAT", KS(s1[trace.Client].IAT, s2[trace.Client].IAT), 0.017},
		{"B->A IAT", KS(s1[trace.Server].IAT, s2[trace.Server].IAT), 0.074},
		{"A->B burst", KS(s1[trace.Client].Burst, s2[trace.Client].Burst), 0.036},
		{"B->A burst", KS(s1[trace.Server].Burst, s2[trace.Server].Burst), 0.180},
	} {
		t.Logf("noise floor KS %s = %.4f (fidelity.md %.3f)", c.name, c.got, c.want)
		if math.Abs(c.got-c.want) > 0.0005 {
			t.Errorf("noise floor KS %s = %.4f, fidelity.md %.3f", c.name, c.got, c.want)
		}
	}
}

func TestJSONNullForNaN(t *testing.T) {
	d := Compare(nil, []float64{1}, SizeKind)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"size","n_real":0,"n_syn":1,"ks":null,"w1":null,"jsd":null,"w1_log":null}`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
	d = Compare([]float64{1, 2}, []float64{2, 3}, TimeKind)
	b, err = json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back Distances
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !sameDistances(back, d) {
		t.Errorf("round trip %+v -> %s -> %+v", d, b, back)
	}
	var nd Distances
	if err := json.Unmarshal([]byte(`{"kind":"burst","ks":null}`), &nd); err != nil || nd.Kind != BurstKind || !math.IsNaN(nd.KS) {
		t.Errorf("null decodes to %+v, %v", nd, err)
	}
	if err := json.Unmarshal([]byte(`{"kind":"bogus"}`), &nd); err == nil {
		t.Error("unknown kind decoded")
	}
	sb, err := json.Marshal(Summarize([]float64{4}))
	if err != nil || !strings.Contains(string(sb), `"std":null`) || !strings.Contains(string(sb), `"median":4`) {
		t.Errorf("Summary JSON = %s, %v", sb, err)
	}
	db, err := json.Marshal(CrossDependence(nil, trace.Server))
	if err != nil || !strings.Contains(string(db), `"count_gap":null`) {
		t.Errorf("Dependence JSON = %s, %v", db, err)
	}
}

func TestCompareSeries(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	mk := func(n int, phi float64) Series {
		var s Series
		x := 0.0
		for range n {
			x = phi*x + rng.NormFloat64()
			s.Size = append(s.Size, math.Round(300+40*x))
			s.IAT = append(s.IAT, math.Round(math.Exp(8+x)))
			s.Delta = append(s.Delta, math.Round(math.Exp(7+x)))
			s.Burst = append(s.Burst, float64(1+rng.IntN(6)))
			s.ReplyGap = append(s.ReplyGap, math.Round(rng.ExpFloat64()*5000))
		}
		return s
	}
	r, y := mk(500, 0.8), mk(400, 0)
	d := CompareSeries(r, y)
	want := []struct {
		name      string
		got, want Distances
	}{
		{"size", d.Size, Compare(r.Size, y.Size, SizeKind)},
		{"iat", d.IAT, Compare(r.IAT, y.IAT, TimeKind)},
		{"delta", d.Delta, Compare(r.Delta, y.Delta, TimeKind)},
		{"burst", d.Burst, Compare(r.Burst, y.Burst, BurstKind)},
		{"reply gap", d.ReplyGap, Compare(r.ReplyGap, y.ReplyGap, TimeKind)},
	}
	for _, w := range want {
		if !sameDistances(w.got, w.want) {
			t.Errorf("%s: %+v, want %+v", w.name, w.got, w.want)
		}
	}
	es, _ := ACFError(r.Size, y.Size, ACFLags)
	ei, _ := ACFError(LogTimes(r.IAT), LogTimes(y.IAT), ACFLags)
	if d.ACFSize != es || d.ACFLogIAT != ei {
		t.Errorf("ACF errors %v/%v, want %v/%v", d.ACFSize, d.ACFLogIAT, es, ei)
	}
	// An AR(1) with phi 0.8 against white noise: the synthetic ACF is about
	// 0, so the error is about sum(acf^2)/sum(acf^2) = 1.
	if math.Abs(d.ACFSize-1) > 0.2 {
		t.Errorf("ACF error of white noise against AR(1) = %v, want about 1", d.ACFSize)
	}
	short := CompareSeries(r, Series{Size: []float64{1, 2}})
	if !math.IsNaN(short.ACFSize) || short.IAT.NSyn != 0 || !math.IsNaN(short.IAT.KS) {
		t.Errorf("short synthetic series: %+v", short)
	}
	if _, err := json.Marshal(short); err != nil {
		t.Errorf("JSON of NaN fields: %v", err)
	}
}

// sameDistances is == with NaN equal to NaN.
func sameDistances(a, b Distances) bool {
	eq := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	return a.Kind == b.Kind && a.NReal == b.NReal && a.NSyn == b.NSyn &&
		eq(a.KS, b.KS) && eq(a.W1, b.W1) && eq(a.JSD, b.JSD) && eq(a.W1Log, b.W1Log)
}

// TestPacketRowsOfHand: server S, client C; times in µs. Packets
// 0:S@0 100 B, 1:S@10 200, 2:C@1010 300, 3:C@1110 400, 4:S@11110 500,
// 5:C@11120 600. The first packet has no delta and gives no row.
func TestPacketRowsOfHand(t *testing.T) {
	us := []int64{0, 10, 1010, 1110, 11110, 11120}
	from := []trace.Side{trace.Server, trace.Server, trace.Client, trace.Client, trace.Server, trace.Client}
	var pk []trace.Packet
	for i := range us {
		pk = append(pk, trace.Packet{TS: us[i] * 1000, Size: int32(100 * (i + 1)), From: from[i]})
	}
	for _, c := range []struct {
		side    trace.Side
		opening bool
		want    [][]float64
	}{
		{trace.Server, true, [][]float64{{500, 4}}},           // packet 4, 10,000 µs after packet 3
		{trace.Server, false, [][]float64{{200, 1}}},          // packet 1, 10 µs after packet 0
		{trace.Client, true, [][]float64{{300, 3}, {600, 1}}}, // packets 2 (1,000 µs) and 5 (10 µs)
		{trace.Client, false, [][]float64{{400, 2}}},          // packet 3, 100 µs
	} {
		got, err := PacketRowsOf(pk, c.side, c.opening)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, c.want, func(a, b []float64) bool { return slices.Equal(a, b) }) {
			t.Errorf("side %v, opening %v: rows %v, want %v", c.side, c.opening, got, c.want)
		}
	}
	pk[2].From = 7
	if _, err := PacketRowsOf(pk, trace.Client, true); err == nil {
		t.Error("a packet of side 7 accepted")
	}
}
