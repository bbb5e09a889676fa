package graphs

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKeyedTransform: with first_given, the size maps through its
// distribution given the key condition feature, so any network value under
// a key whose sizes were always the same maps back to that size, a key
// without a table of its own uses the pooled table, and a training pair
// survives the round trip.
func TestKeyedTransform(t *testing.T) {
	cfg := Default(Packet)
	cfg.FirstGiven = []string{"last_size"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	key := slices.Index(cfg.Cond, "last_size")
	// A request cycle: 100, 200, 300, 100, ... (the size after 100 is
	// always 200), times 50 + 10*size.
	raw := &Raw{}
	raw.Cond = make([][]float64, len(cfg.Cond))
	cycle := []float64{100, 200, 300}
	for i := 0; i < 300; i++ {
		size, last := cycle[i%3], cycle[(i+2)%3]
		addRow(raw, size, 50+10*size+float64(i%7), float64(i%5), map[int]float64{key: last})
	}
	d, err := NewDataset(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Target.Keyed) != 1 || d.Target.KeyCols[0] != key {
		t.Fatalf("keyed tables %v, key columns %v (want [%d])", d.Target.Keyed, d.Target.KeyCols, key)
	}
	row := func(last float64) []float64 {
		r := make([]float64, len(cfg.Cond))
		r[key] = last
		return r
	}
	for _, z := range []float32{-3, -1, 0, 0.5, 2.5} {
		for last, want := range map[float64]float64{100: 200, 200: 300, 300: 100} {
			if got, _ := d.Target.ValidCond(Packet, z, 0, row(last)); got != want {
				t.Errorf("z %v after %v: size %v, want %v", z, last, got, want)
			}
		}
	}
	// Unkeyed (NaN) and unseen keys use the pooled table: all three sizes.
	seen := map[float64]bool{}
	for _, z := range []float32{-2, 0, 2} {
		a, _ := d.Target.ValidCond(Packet, z, 0, row(999))
		b, _ := d.Target.Valid(Packet, z, 0)
		if a != b {
			t.Errorf("z %v: unseen key gives %v, no key %v", z, a, b)
		}
		seen[a] = true
	}
	if len(seen) != 3 {
		t.Errorf("pooled table gave %v, want all three sizes", seen)
	}
	// The training rows' network values under their keys map back.
	for i := 0; i < 6; i++ {
		x0, x1 := raw.X[0][i], raw.X[1][i]
		z0, z1 := d.Target.ForwardTargetsCond(x0, x1, row(raw.Cond[key][i]))
		if math.Abs(float64(d.X[2*i])-z0) > 3 { // the training row is jittered inside its step
			t.Errorf("row %d: training value %v, forward %v", i, d.X[2*i], z0)
		}
		a, b := d.Target.ValidCond(Packet, float32(z0), float32(z1), row(raw.Cond[key][i]))
		if a != x0 || math.Abs(b-x1) > 1e-6*x1+1 {
			t.Errorf("row %d: (%v, %v) -> (%v, %v)", i, x0, x1, a, b)
		}
	}
}

func TestFirstGivenValidate(t *testing.T) {
	cfg := Default(Packet)
	cfg.FirstGiven = []string{"own_count_avg"} // not in the packet condition
	if err := cfg.Validate(); err == nil {
		t.Error("first_given outside the condition accepted")
	}
	cfg = V1(Packet)
	cfg.FirstGiven = []string{"opp_count"}
	if err := cfg.Validate(); err == nil {
		t.Error("first_given without the quantile transform accepted")
	}
}

// TestKeyedBackOff: with two key features the first one's table wins where
// its value has one, the second's where only it has one.
func TestKeyedBackOff(t *testing.T) {
	cfg := Default(Packet)
	cfg.FirstGiven = []string{"last_size_pair", "last_size"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	pair, last := -1, -1
	for j, n := range cfg.Cond {
		switch n {
		case "last_size":
			last = j
		case "last_size_pair":
			pair = j
		}
	}
	if pair < 0 || last < 0 {
		t.Fatalf("condition %v lacks last_size_pair or last_size", cfg.Cond)
	}
	// After own size 100: size 200 when the pair key is 1 (frequent),
	// else 300; the pair keys 2..99 each occur once (no table of their own).
	raw := &Raw{}
	raw.Cond = make([][]float64, len(cfg.Cond))
	add := func(size, l, p float64) {
		raw.X[0] = append(raw.X[0], size)
		raw.X[1] = append(raw.X[1], 10)
		for j := range raw.Cond {
			v := 0.0
			switch j {
			case last:
				v = l
			case pair:
				v = p
			}
			raw.Cond[j] = append(raw.Cond[j], v)
		}
	}
	for i := 0; i < 100; i++ {
		add(200, 100, 1)
		add(300, 100, float64(2+i))
		add(100, 300, 0)
	}
	d, err := NewDataset(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	row := func(l, p float64) []float64 {
		r := make([]float64, len(cfg.Cond))
		r[last], r[pair] = l, p
		return r
	}
	for _, z := range []float32{-2, 0, 2} {
		if got, _ := d.Target.ValidCond(Packet, z, 0, row(100, 1)); got != 200 {
			t.Errorf("z %v, pair key 1: size %v, want 200 (its own table)", z, got)
		}
		if got, _ := d.Target.ValidCond(Packet, z, 0, row(300, 7)); got != 100 {
			t.Errorf("z %v, rare pair key after 300: size %v, want 100 (last_size's table)", z, got)
		}
	}
	// A rare pair key after 100 backs off to last_size's table: 200 or 300.
	seen := map[float64]bool{}
	for _, z := range []float32{-2, 2} {
		got, _ := d.Target.ValidCond(Packet, z, 0, row(100, 5))
		seen[got] = true
	}
	if !seen[200] || !seen[300] || len(seen) != 2 {
		t.Errorf("rare pair key after 100 gave %v, want 200 and 300", seen)
	}
}

// TestKeyedVocabulary: a first target with more than MaxKeyedValues
// distinct values gets no keyed tables (the pooled table serves every row).
func TestKeyedVocabulary(t *testing.T) {
	cfg := Default(Packet)
	cfg.FirstGiven = []string{"last_size"}
	raw := &Raw{}
	raw.Cond = make([][]float64, len(cfg.Cond))
	for i := 0; i < 4000; i++ {
		raw.X[0] = append(raw.X[0], float64(100+i%(MaxKeyedValues+1)))
		raw.X[1] = append(raw.X[1], 10)
		for j := range raw.Cond {
			raw.Cond[j] = append(raw.Cond[j], float64(i%3))
		}
	}
	d, err := NewDataset(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Target.Keyed) != 0 || len(d.Target.KeyCols) != 0 {
		t.Errorf("%d distinct sizes keyed (%d tables)", MaxKeyedValues+1, len(d.Target.Keyed))
	}
	// One value fewer is keyed.
	for i := range raw.X[0] {
		raw.X[0][i] = float64(100 + i%MaxKeyedValues)
	}
	if d, err = NewDataset(cfg, raw); err != nil {
		t.Fatal(err)
	}
	if len(d.Target.Keyed) != 1 {
		t.Errorf("%d distinct sizes not keyed", MaxKeyedValues)
	}
}

// TestTimeKeyedTransform: with time_given, the time maps through its
// distribution given the first target's value and the decile of the key
// feature. Pauses follow pauses: after a previous gap in the top decile
// the gap is always long (1e6 + i), otherwise short (10 + i%10); a network
// value maps back to a long gap exactly when the previous one was long,
// whatever the value, and a training pair survives the round trip.
func TestTimeKeyedTransform(t *testing.T) {
	cfg := Default(Burst)
	cfg.TimeGiven = "own_gap_us"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	key := slices.Index(cfg.Cond, "own_gap_us")
	raw := &Raw{}
	raw.Cond = make([][]float64, len(cfg.Cond))
	for i := 0; i < 1000; i++ {
		prevLong := i%10 == 0 // the top decile
		prev, gap := 10+float64(i%10), 10+float64(i%10)
		if prevLong {
			prev, gap = 1e6+float64(i), 1e6+float64(i)
		}
		raw.X[0] = append(raw.X[0], 1)
		raw.X[1] = append(raw.X[1], gap)
		for j := range raw.Cond {
			v := float64(i % 3)
			if j == key {
				v = prev
			}
			raw.Cond[j] = append(raw.Cond[j], v)
		}
	}
	d, err := NewDataset(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.Target.TimeKeyed == nil || d.Target.TimeKeyCol != key || len(d.Target.TimeKeyEdges) == 0 {
		t.Fatalf("time keyed tables %v, column %d (want %d), edges %v", d.Target.TimeKeyed, d.Target.TimeKeyCol, key, d.Target.TimeKeyEdges)
	}
	row := func(prev float64) []float64 {
		r := make([]float64, len(cfg.Cond))
		r[key] = prev
		return r
	}
	for _, z := range []float32{-3, -1, 0, 1, 3} {
		if _, gap := d.Target.ValidCond(Burst, 0, z, row(1e6+5)); gap < 1e6 {
			t.Errorf("after a long gap, network value %v gives gap %v, want a long one", z, gap)
		}
		if _, gap := d.Target.ValidCond(Burst, 0, z, row(12)); gap >= 20 {
			t.Errorf("after a short gap, network value %v gives gap %v, want a short one", z, gap)
		}
	}
	// Without a condition row: the table given the count alone.
	if _, gap := d.Target.ValidCond(Burst, 0, 3, nil); gap < 1e6 {
		t.Errorf("no condition row: top network value gives %v, want the pooled table's long gap", gap)
	}
	for i := 0; i < 1000; i += 37 {
		r := row(raw.Cond[key][i])
		z0, z1 := d.Target.ForwardTargetsCond(raw.X[0][i], raw.X[1][i], r)
		if _, b := d.Target.ValidCond(Burst, float32(z0), float32(z1), r); math.Abs(b-raw.X[1][i]) > 1e-6*raw.X[1][i]+1e-6 {
			t.Errorf("row %d: gap %v -> %v -> %v", i, raw.X[1][i], z1, b)
		}
	}
	bad := cfg
	bad.Joint = false
	if err := bad.Validate(); err == nil {
		t.Error("time_given without joint accepted")
	}
	bad = cfg
	bad.TimeGiven = "no_such"
	if err := bad.Validate(); err == nil {
		t.Error("time_given of a feature not in the condition accepted")
	}
}

// TestKeyedBins: a codec's large vocabulary (400 sizes) that drifts slowly
// (each size within 5 of the previous) is not keyed by exact value, but
// with first_bins it is keyed by the bin of the previous size: any network
// value maps to a size near the previous one, at most the bin's width plus
// the drift away, where the pooled table spans the whole range; a training
// pair survives the round trip; and without bins nothing is keyed.
func TestKeyedBins(t *testing.T) {
	cfg := Default(Packet)
	cfg.FirstGiven = []string{"last_size_pair", "last_size"}
	cfg.FirstBins = 10
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	key := slices.Index(cfg.Cond, "last_size")
	raw := &Raw{}
	raw.Cond = make([][]float64, len(cfg.Cond))
	last := 300.0
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		// A walk between 100 and 499, held at the ends.
		size := min(max(last+float64(rng.IntN(11)-5), 100), 499)
		addRow(raw, size, 10+float64(i%13), float64(i%3), map[int]float64{key: last})
		last = size
	}
	d, err := NewDataset(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Target.Keyed) != 1 || d.Target.KeyCols[0] != key || len(d.Target.KeyEdges) == 0 || len(d.Target.KeyEdges) > cfg.FirstBins-1 {
		t.Fatalf("keyed tables %d, key columns %v (want [%d]), edges %v", len(d.Target.Keyed), d.Target.KeyCols, key, d.Target.KeyEdges)
	}
	row := func(last float64) []float64 {
		r := make([]float64, len(cfg.Cond))
		r[key] = last
		return r
	}
	// The widest bin, from the edges (the outer bins end at 100 and 499).
	edges := append(append([]float64{100}, d.Target.KeyEdges...), 499)
	width := 0.0
	for k := 1; k < len(edges); k++ {
		width = max(width, edges[k]-edges[k-1])
	}
	for _, prev := range []float64{120, 300, 480} {
		for _, z := range []float32{-3, -1, 0, 1, 3} {
			if got, _ := d.Target.ValidCond(Packet, z, 0, row(prev)); math.Abs(got-prev) > width+5 {
				t.Errorf("after %v, network value %v gives size %v: more than the widest bin (%v) + 5 away", prev, z, got, width)
			}
		}
	}
	lo, _ := d.Target.ValidCond(Packet, -3, 0, nil)
	hi, _ := d.Target.ValidCond(Packet, 3, 0, nil)
	if hi-lo < 300 {
		t.Errorf("pooled table spans %v to %v, want the whole range", lo, hi)
	}
	for i := 0; i < len(raw.X[0]); i += 997 {
		r := row(raw.Cond[key][i])
		z0, z1 := d.Target.ForwardTargetsCond(raw.X[0][i], raw.X[1][i], r)
		if a, _ := d.Target.ValidCond(Packet, float32(z0), float32(z1), r); a != raw.X[0][i] {
			t.Errorf("row %d: size %v -> %v -> %v", i, raw.X[0][i], z0, a)
		}
	}
	cfg.FirstBins = 0
	if d, err = NewDataset(cfg, raw); err != nil {
		t.Fatal(err)
	}
	if len(d.Target.Keyed) != 0 || d.Target.KeyEdges != nil {
		t.Errorf("no bins: %d keyed tables, edges %v", len(d.Target.Keyed), d.Target.KeyEdges)
	}
	bad := Default(Packet)
	bad.FirstGiven, bad.FirstBins = nil, 10
	if err := bad.Validate(); err == nil {
		t.Error("first_bins without first_given accepted")
	}
	bad.FirstGiven, bad.FirstBins = []string{"last_size"}, MaxFirstBins+1
	if err := bad.Validate(); err == nil {
		t.Errorf("first_bins %d accepted", MaxFirstBins+1)
	}
}

// TestLRScale: with lr_end the rate falls linearly from 1 at the first
// generator step to lr_end at the last; without, it stays 1.
func TestLRScale(t *testing.T) {
	c := Default(Packet)
	c.Steps = 1001
	if got := c.LRScale(500); got != 1 {
		t.Errorf("no schedule: scale %v at step 500", got)
	}
	c.LREnd = 0.1
	for _, w := range []struct {
		step int64
		want float64
	}{{0, 1}, {500, 0.55}, {1000, 0.1}, {5000, 0.1}} {
		if got := c.LRScale(w.step); math.Abs(got-w.want) > 1e-12 {
			t.Errorf("step %d: scale %v, want %v", w.step, got, w.want)
		}
	}
	c.LREnd = 1.5
	if err := c.Validate(); err == nil {
		t.Error("lr_end 1.5 accepted")
	}
}

// TestFirstPos: a burst opens with a small frame (60 or 70 B) and goes on
// with media frames (100 to 199 B). Under first_pos, any network value of
// a first packet maps to a small frame and of a later packet to a media
// frame, where the pooled table maps z = -3 and 3 to both kinds; a training
// pair survives the round trip; the Keyed tables of a small vocabulary
// win where they have one, keyed by the position too; and first_pos without the quantile
// transform or the pos feature is refused.
func TestFirstPos(t *testing.T) {
	cfg := Default(Packet)
	cfg.FirstGiven, cfg.FirstPos = nil, true
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	pos := slices.Index(cfg.Cond, "pos")
	raw := &Raw{}
	raw.Cond = make([][]float64, len(cfg.Cond))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 12000; i++ {
		p := float64(i % 4)
		size := 100 + float64(rng.IntN(100))
		if p == 0 {
			size = 60 + 10*float64(rng.IntN(2))
		}
		addRow(raw, size, 10+float64(i%13), float64(i%5), map[int]float64{pos: p})
	}
	d, err := NewDataset(cfg, raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.Target.PosKeyed == nil || d.Target.PosCol != pos || !slices.Equal(d.Target.PosKeyed.Values, []float64{0, 1}) {
		t.Fatalf("tables given the position: %+v at column %d (want keys 0 and 1 at %d)", d.Target.PosKeyed, d.Target.PosCol, pos)
	}
	row := func(p float64) []float64 {
		r := make([]float64, len(cfg.Cond))
		r[pos] = p
		return r
	}
	for _, z := range []float32{-3, -1, 0, 1, 3} {
		if got, _ := d.Target.ValidCond(Packet, z, 0, row(0)); got != 60 && got != 70 {
			t.Errorf("first packet, network value %v: size %v, want 60 or 70", z, got)
		}
		for _, p := range []float64{1, 2, 3} {
			if got, _ := d.Target.ValidCond(Packet, z, 0, row(p)); got < 100 || got > 199 {
				t.Errorf("packet %v of its burst, network value %v: size %v, want 100 to 199", p, z, got)
			}
		}
	}
	if lo, _ := d.Target.ValidCond(Packet, -3, 0, nil); lo > 70 {
		t.Errorf("pooled table at -3: %v, want a small frame", lo)
	}
	if hi, _ := d.Target.ValidCond(Packet, 3, 0, nil); hi < 100 {
		t.Errorf("pooled table at 3: %v, want a media frame", hi)
	}
	for i := 0; i < len(raw.X[0]); i += 331 {
		r := row(raw.Cond[pos][i])
		z0, z1 := d.Target.ForwardTargetsCond(raw.X[0][i], raw.X[1][i], r)
		if a, _ := d.Target.ValidCond(Packet, float32(z0), float32(z1), r); a != raw.X[0][i] {
			t.Errorf("row %d: size %v -> %v -> %v", i, raw.X[0][i], z0, a)
		}
	}
	// A small vocabulary keyed by the last size: its table, split by
	// opening or later, wins.
	small := Default(Packet)
	small.FirstGiven, small.FirstPos = []string{"last_size"}, true
	last := slices.Index(small.Cond, "last_size")
	raw2 := &Raw{}
	raw2.Cond = make([][]float64, len(small.Cond))
	for i := 0; i < 4000; i++ {
		p, prev := float64(i%4), float64(10*(i%3+1))
		size := prev + 1 // 11, 21, 31
		if p == 0 && prev == 10 {
			size = 66 // an opening acknowledgement after 10
		}
		addRow(raw2, size, 5, 0, map[int]float64{pos: p, last: prev})
	}
	if d, err = NewDataset(small, raw2); err != nil {
		t.Fatal(err)
	}
	r := make([]float64, len(small.Cond))
	for _, c := range []struct{ last, pos, want float64 }{{20, 0, 21}, {20, 2, 21}, {10, 0, 66}, {10, 1, 11}, {10, 3, 11}} {
		r[last], r[pos] = c.last, c.pos
		for _, z := range []float32{-3, 0, 3} {
			if got, _ := d.Target.ValidCond(Packet, z, 0, r); got != c.want {
				t.Errorf("after a last size of %v at position %v, network value %v: size %v, want %v (the keyed table)", c.last, c.pos, z, got, c.want)
			}
		}
	}
	bad := Default(Packet)
	bad.FirstPos, bad.Transform = true, ""
	if err := bad.Validate(); err == nil {
		t.Error("first_pos without the quantile transform accepted")
	}
	bad = Default(Burst)
	bad.FirstPos = true
	if err := bad.Validate(); err == nil {
		t.Error("first_pos without the pos feature accepted")
	}
}

// TestJointBins: 4,000 rows whose sizes are each rarer than MinGroup
// (sizes 400 to 2,399, two rows each): sizes up to 1,400 come 10-11 ms
// after the previous packet, larger ones 1-2 ms after (1,400 is a bin
// edge of 8 equally filled bins). Without bins every
// size gets the pooled time table, which spans both; with joint_bins a
// size's table is its bin's, so any network value maps into its range. A
// training pair survives the round trip, and joint_bins without joint is
// refused.
func TestJointBins(t *testing.T) {
	cfg := Default(Packet)
	cfg.FirstGiven, cfg.JointBins = nil, 8
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	raw := &Raw{}
	raw.Cond = make([][]float64, len(cfg.Cond))
	rng := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 4000; i++ {
		size := 400 + float64(i%2000)
		dt := 10_000 + float64(rng.IntN(1000))
		if size > 1400 {
			dt = 1000 + float64(rng.IntN(1000))
		}
		addRow(raw, size, dt, float64(i%7), nil)
	}
	for _, bins := range []int{0, 8} {
		cfg.JointBins = bins
		d, err := NewDataset(cfg, raw)
		if err != nil {
			t.Fatal(err)
		}
		g := d.Target.Given
		if len(g.Values) != 0 || (bins == 0) != (g.Edges == nil) {
			t.Fatalf("bins %d: %d value tables, edges %v", bins, len(g.Values), g.Edges)
		}
		if err := g.Check(); err != nil {
			t.Fatal(err)
		}
		// Network values of a size: the size's z from the pooled size
		// table, the time's from -2.5 to 2.5.
		for _, size := range []float64{500, 1300, 1500, 2300} {
			z0 := d.Target.Forward(0, size)
			lo, hi := 10_000.0, 11_000.0
			if size > 1400 {
				lo, hi = 1000, 2000
			}
			var out int
			for _, z1 := range []float32{-2.5, -1, 0, 1, 2.5} {
				s, dt := d.Target.ValidCond(Packet, float32(z0), z1, nil)
				if s != size {
					t.Fatalf("size %v came back as %v", size, s)
				}
				if dt < lo || dt > hi {
					out++
				}
			}
			if bins > 0 && out > 0 {
				t.Errorf("bins %d, size %v: %d of 5 times outside %v-%v", bins, size, out, lo, hi)
			}
			if bins == 0 && out == 0 {
				t.Errorf("no bins, size %v: every time inside its range, want the pooled table's spread", size)
			}
		}
		for i := 0; i < len(raw.X[0]); i += 397 {
			z0, z1 := d.Target.ForwardTargetsCond(raw.X[0][i], raw.X[1][i], nil)
			a, b := d.Target.ValidCond(Packet, float32(z0), float32(z1), nil)
			if a != raw.X[0][i] || math.Abs(b-raw.X[1][i]) > 1 {
				t.Errorf("bins %d, row %d: (%v, %v) came back as (%v, %v)", bins, i, raw.X[0][i], raw.X[1][i], a, b)
			}
		}
	}
	bad := Default(Packet)
	bad.Joint, bad.JointBins = false, 8
	if err := bad.Validate(); err == nil {
		t.Error("joint_bins without joint accepted")
	}
}

// addRow appends the row (x0, x1) to raw, with every condition feature
// fill but those in set (column: value).
func addRow(raw *Raw, x0, x1, fill float64, set map[int]float64) {
	raw.X[0] = append(raw.X[0], x0)
	raw.X[1] = append(raw.X[1], x1)
	for j := range raw.Cond {
		v, ok := set[j]
		if !ok {
			v = fill
		}
		raw.Cond[j] = append(raw.Cond[j], v)
	}
}
