package graphs

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/spatgan/spatgan/trace"
)

// TestInBurstDt: with InBurstDt, every packet row that opens a burst gets
// one of its side's in-burst times (the reply gap is gone), the other rows
// keep theirs, the draw is the same on every call, and a side with fewer
// than MinInBurst in-burst times gets 0; without it, the first packet's
// time is the reply gap.
func TestInBurstDt(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := &trace.Conversation{Proto: "udp", Source: "hand"}
	ts := int64(1e9)
	// The client sends bursts of 3 (in-burst times 100-199 µs) after gaps
	// of 50-60 ms; the server answers with single packets after 20 ms, and
	// every tenth answer has a second packet 7 µs later (too few in-burst
	// times for the server).
	var gaps []float64
	for b := 0; b < 60; b++ {
		gap := int64(50_000+rng.IntN(10_000)) * 1000
		ts += gap
		if b > 0 {
			gaps = append(gaps, float64(gap/1000))
		}
		for i := 0; i < 3; i++ {
			if i > 0 {
				ts += int64(100+rng.IntN(100)) * 1000
			}
			c.Packets = append(c.Packets, trace.Packet{TS: ts, Size: 300, From: trace.Client, Proto: 17})
		}
		ts += 20_000_000
		c.Packets = append(c.Packets, trace.Packet{TS: ts, Size: 100, From: trace.Server, Proto: 17})
		if b%10 == 0 {
			ts += 7000
			c.Packets = append(c.Packets, trace.Packet{TS: ts, Size: 100, From: trace.Server, Proto: 17})
		}
	}
	cfg := Default(Packet)
	off := cfg
	off.InBurstDt = false
	plain, err := RawRows(off, c, trace.Client)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := RawRows(cfg, c, trace.Client)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := RawRows(cfg, c, trace.Client)
	if !slices.Equal(rows.X[1], again.X[1]) {
		t.Error("two calls drew different times")
	}
	var firsts []float64
	for i, p := range rows.Pos {
		x, y := plain.X[1][i], rows.X[1][i]
		switch {
		case p > 0 && (x != y || x < 100 || x >= 200):
			t.Errorf("row %d (position %d): time %v, was %v; want the in-burst time unchanged", i, p, y, x)
		case p == 0 && !(y >= 100 && y < 200):
			t.Errorf("row %d opens a burst: time %v, want one of the in-burst times (100-199 µs)", i, y)
		case p == 0:
			firsts = append(firsts, x)
		}
	}
	// Without InBurstDt the first packets' times are the reply gaps (the
	// conversation's opening burst gives no rows).
	if !slices.Equal(firsts, gaps) {
		t.Errorf("first packets' times without InBurstDt %v, want the reply gaps %v", firsts, gaps)
	}
	srv, err := RawRows(cfg, c, trace.Server)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range srv.Pos {
		if p == 0 && srv.X[1][i] != 0 {
			t.Fatalf("server row %d opens a burst with time %v; want 0 (only %d in-burst times)", i, srv.X[1][i], 6)
		}
	}
}

// TestInBurstBySize: the client's bursts open with a 66-byte frame or a
// 300-byte one and go on with 66-byte frames 1-2 ms apart and 300-byte
// frames 20-21 ms apart. With InBurstBySize a first packet's stand-in time
// comes from the in-burst times of its size; without, from every size's.
func TestInBurstBySize(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	c := &trace.Conversation{Proto: "udp", Source: "hand"}
	ts := int64(1e9)
	for b := 0; b < 200; b++ {
		ts += 50_000_000
		for i := 0; i < 4; i++ {
			size := int32(300)
			if (i+b)%2 == 0 {
				size = 66
			}
			if i > 0 {
				dt := 20_000 + rng.IntN(1000)
				if size == 66 {
					dt = 1000 + rng.IntN(1000)
				}
				ts += int64(dt) * 1000
			}
			c.Packets = append(c.Packets, trace.Packet{TS: ts, Size: size, From: trace.Client, Proto: 17})
		}
		ts += 5_000_000
		c.Packets = append(c.Packets, trace.Packet{TS: ts, Size: 100, From: trace.Server, Proto: 17})
	}
	cfg := Default(Packet)
	cfg.InBurstBySize = true
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, by := range []bool{true, false} {
		cfg.InBurstBySize = by
		rows, err := RawRows(cfg, c, trace.Client)
		if err != nil {
			t.Fatal(err)
		}
		var mixed int
		for i, p := range rows.Pos {
			if p != 0 {
				continue
			}
			size, dt := rows.X[0][i], rows.X[1][i]
			own := (size == 66 && dt >= 1000 && dt < 2000) || (size == 300 && dt >= 20_000 && dt < 21_000)
			other := (size == 66 && dt >= 20_000 && dt < 21_000) || (size == 300 && dt >= 1000 && dt < 2000)
			switch {
			case !own && !other:
				t.Errorf("by size %v: row %d (size %v) opens a burst with time %v, not an in-burst time", by, i, size, dt)
			case by && other:
				t.Errorf("by size: row %d (size %v) opens a burst with time %v, another size's", i, size, dt)
			case other:
				mixed++
			}
		}
		if !by && mixed < 50 {
			t.Errorf("without by size: %d first packets have another size's time, want about half of 199", mixed)
		}
	}
	bad := Default(Packet)
	bad.InBurstDt, bad.InBurstBySize = false, true
	if err := bad.Validate(); err == nil {
		t.Error("in_burst_by_size without in_burst_dt accepted")
	}
}
