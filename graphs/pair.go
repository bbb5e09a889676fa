package graphs

import (
	"errors"
	"math"
	"slices"
)

// The pair critic (Config.Pair) judges two consecutive packets of a burst
// together: the first drawn for a real condition, the second drawn for the
// condition the first one leaves, as generation draws them. The second
// packet's condition is the real one except for the columns that describe
// the previous packet (last_size, prev_size, last_size_pair, last_dt_us),
// which take the first packet's generated values. Those columns are
// functions of the first packet's network-space outputs through the
// target's inverse transform and the condition feature's forward
// transform; Pairs tabulates them per row at the knots PairKnots, and the
// training graph interpolates linearly between knots (clamped outside), so
// the generator's gradient flows from the second packet to the first.

// PairKnotN is the number of knots of a pair row's maps, PairKnotStep
// their spacing in network space and PairKnotLo the first knot: -3 to 3.
const (
	PairKnotN    = 25
	PairKnotStep = 0.25
	PairKnotLo   = -3.0
)

// PairKnot returns knot k.
func PairKnot(k int) float64 { return PairKnotLo + float64(k)*PairKnotStep }

// PairMap says that condition column Col of a pair's second packet is a
// function of target Src (0 size, 1 time) of the first packet.
type PairMap struct{ Src, Col int }

// PairSupported lists the condition features a pair's second packet reads
// from the first packet's draw, and the target each reads.
var PairSupported = map[string]int{"last_size": 0, "prev_size": 0, "last_size_pair": 0, "last_dt_us": 1}

// pairUnsupported are sequential features the pair critic cannot rebuild
// in the graph.
var pairUnsupported = []string{"last_size_triple"}

// Pairs is the pair critic's training table: N pairs of consecutive rows
// (First[i] and First[i]+1) of a Dataset, with, for each of Maps, the
// tabulated map of every pair: V0[m][i] its value at the first knot and
// D[m][(PairKnotN-1)*i+k] its increment from knot k to k+1.
type Pairs struct {
	N     int
	First []int
	Maps  []PairMap
	V0    [][]float32
	D     [][]float32
}

// ErrPairKeyed is returned by Dataset.Pairs for a side whose size has
// keyed quantile tables (Config.FirstGiven): the second packet's
// network-space size would be read through a table chosen by the first
// packet's generated size, which the graph cannot select.
var ErrPairKeyed = errors.New("graphs: the pair critic does not apply to keyed sizes")

// Pairs builds the pair table of raw, the table d was fitted on (or
// scaled from): every row followed in the table by the next packet of its
// burst (pos one higher; count, where it is a feature, the same).
func (d *Dataset) Pairs(cfg Config, raw *Raw) (*Pairs, error) {
	if d.Target.Keyed != nil {
		return nil, ErrPairKeyed
	}
	pos := slices.Index(cfg.Cond, "pos")
	if pos < 0 {
		return nil, errors.New("graphs: the pair critic needs the pos condition feature")
	}
	cnt := slices.Index(cfg.Cond, "count")
	p := &Pairs{Maps: cfg.PairMaps()}
	if len(p.Maps) == 0 {
		return nil, errors.New("graphs: the pair critic needs a condition feature of the previous packet (last_size, prev_size, last_size_pair or last_dt_us)")
	}
	p.V0 = make([][]float32, len(p.Maps))
	p.D = make([][]float32, len(p.Maps))
	n := len(raw.X[0])
	if n != d.N {
		return nil, errors.New("graphs: pairs: the raw table is not the dataset's")
	}
	vals := make([]float64, PairKnotN)
	for i := 0; i+1 < n; i++ {
		if raw.Cond[pos][i+1] != raw.Cond[pos][i]+1 || (cnt >= 0 && raw.Cond[cnt][i+1] != raw.Cond[cnt][i]) {
			continue
		}
		p.First = append(p.First, i)
		size := d.Target.keyTable(raw.Cond, i) // nil unless FirstPos
		tm := d.Target.timeTableAt(raw.X[0][i], raw.Cond, i)
		if tm == nil {
			tm = d.Target.Given.table(raw.X[0][i])
		}
		for m, pm := range p.Maps {
			name := cfg.Cond[pm.Col]
			next := raw.Cond[pm.Col][i+1] // the real value
			for k := range vals {
				t := PairKnot(k)
				var v float64
				switch {
				case pm.Src == 1 && raw.Cond[pos][i] == 0:
					// After a burst's first packet, last_dt_us is the
					// reply gap, which the turn drew: not the packet
					// model's time (a stand-in under InBurstDt).
					v = next
				case pm.Src == 1 && tm != nil:
					v = tm.Inverse(t)
				case pm.Src == 0 && size != nil:
					v = size.Inverse(t)
				default:
					v = d.Target.Inverse(pm.Src, t)
				}
				if pm.Src == 0 {
					v = math.Min(math.Max(v, d.Target.Min[0]), d.Target.Max[0])
					if name == "last_size_pair" {
						// The opponent's last size is the real one: the
						// opponent sent nothing in between.
						v = v*65536 + (next - raw.X[0][i]*65536)
					}
				} else {
					v = math.Max(v, 0)
				}
				vals[k] = d.Cond.Forward(pm.Col, v)
			}
			p.V0[m] = append(p.V0[m], float32(vals[0]))
			for k := 1; k < PairKnotN; k++ {
				p.D[m] = append(p.D[m], float32(vals[k]-vals[k-1]))
			}
		}
	}
	p.N = len(p.First)
	return p, nil
}

// At evaluates map q of pair j at network value x as the training graph
// does: linear between knots, constant outside them.
func (p *Pairs) At(q, j int, x float64) float64 {
	v := float64(p.V0[q][j])
	for k := 0; k < PairKnotN-1; k++ {
		u := (x - PairKnot(k)) / PairKnotStep
		v += math.Min(math.Max(u, 0), 1) * float64(p.D[q][(PairKnotN-1)*j+k])
	}
	return v
}
