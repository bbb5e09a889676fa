package features

import (
	"fmt"
	"io"
	"math"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/spatgan/spatgan/trace"
)

// The tables trace.ExportFeatures writes besides the conversation itself;
// this package registers them (trace.RegisterTable), since their condition
// columns and row flags are this package's definitions.
func init() {
	trace.RegisterTable(trace.TablePackets, func(w io.Writer, c *trace.Conversation) error {
		return writeFrame(w, PacketTable(c))
	})
	trace.RegisterTable(trace.TableBursts, func(w io.Writer, c *trace.Conversation) error {
		return writeFrame(w, BurstTable(c))
	})
}

func writeFrame(w io.Writer, df dataframe.DataFrame) error {
	if df.Err != nil {
		return fmt.Errorf("features: export: %w", df.Err)
	}
	if err := df.WriteCSV(w); err != nil {
		return fmt.Errorf("features: export: %w", err)
	}
	return nil
}

// exportCond are the condition columns of the exported tables, the
// original SPATGAN's condition: the opponent's preceding burst and, for
// packets, the position in the own burst.
var (
	exportTurnCond   = []string{"opp_count", "opp_bytes", "opp_dur_us", "opp_mean_dt_us"}
	exportPacketCond = []string{"opp_count", "opp_bytes", "opp_dur_us", "opp_mean_dt_us", "first", "prev_size"}
)

// PacketTable returns a DataFrame with one row per packet of c in file
// order and the columns:
//
//	index         0-based position in the merged stream
//	ts_ns         timestamp, ns since the epoch
//	side          "server" or "client" (the sender)
//	proto         IP protocol number
//	size          frame length, bytes
//	dt_us         merged delta (NaN for the first packet)
//	iat_us        time since the same side's previous packet (NaN for its first)
//	burst         0-based burst index
//	first         1 for the first packet of its burst (feature first)
//	prev_size     size of the previous packet of the same burst, 0 for the
//	              first (feature prev_size)
//	opp_count, opp_bytes, opp_dur_us, opp_mean_dt_us
//	              the features of the opponent burst before this packet's
//	              burst (NaN for the conversation's first burst)
//	row           1 if the packet is a row of the packet table (Rows), else
//	              0 (first burst, or left out for a clock step: Replay)
//
// Times in microseconds are float64 with nanosecond resolution.
func PacketTable(c *trace.Conversation) dataframe.DataFrame {
	n := len(c.Packets)
	idx, ts, proto, size, burst, first, row := make([]int, n), make([]int, n), make([]int, n), make([]int, n), make([]int, n), make([]int, n), make([]int, n)
	side := make([]string, n)
	dt, iat, prev := make([]float64, n), make([]float64, n), make([]float64, n)
	opp := [4][]float64{make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)}
	set := mustResolve(exportPacketCond, PacketDecision)
	vec := make([]float64, set.Len())
	var last [2]int64
	var seen [2]bool
	i, k := 0, -1
	Replay(c, func(e *Event) {
		if e.Pos < 0 {
			k++
			return
		}
		p := c.Packets[i]
		idx[i], ts[i], proto[i], size[i], burst[i] = i, int(p.TS), int(p.Proto), int(p.Size), k
		side[i] = p.From.String()
		dt[i], iat[i] = math.NaN(), math.NaN()
		if i > 0 {
			dt[i] = float64(p.TS-c.Packets[i-1].TS) / 1e3
		}
		if seen[p.From] {
			iat[i] = float64(p.TS-last[p.From]) / 1e3
		}
		last[p.From], seen[p.From] = p.TS, true
		set.To(vec, &e.Ctx)
		for j := range opp {
			opp[j][i] = vec[j]
			if e.Opening {
				opp[j][i] = math.NaN()
			}
		}
		first[i], prev[i] = int(vec[4]), vec[5]
		if !e.Skip {
			row[i] = 1
		}
		i++
	})
	return dataframe.New(
		series.New(idx, series.Int, "index"), series.New(ts, series.Int, "ts_ns"), series.New(side, series.String, "side"),
		series.New(proto, series.Int, "proto"), series.New(size, series.Int, "size"),
		series.New(dt, series.Float, "dt_us"), series.New(iat, series.Float, "iat_us"), series.New(burst, series.Int, "burst"),
		series.New(first, series.Int, "first"), series.New(prev, series.Float, "prev_size"),
		series.New(opp[0], series.Float, "opp_count"), series.New(opp[1], series.Float, "opp_bytes"), series.New(opp[2], series.Float, "opp_dur_us"), series.New(opp[3], series.Float, "opp_mean_dt_us"),
		series.New(row, series.Int, "row"),
	)
}

// BurstTable returns a DataFrame with one row per burst of c:
//
//	burst         0-based burst index
//	side          "server" or "client"
//	start_ns      timestamp of its first packet
//	count, bytes  packets and frame bytes
//	dur_us        last minus first packet's timestamp
//	gap_us        reply gap before it (NaN for the first burst)
//	opp_count, opp_bytes, opp_dur_us, opp_mean_dt_us
//	              the features of the opponent burst before it (NaN for the
//	              first burst)
//	row           1 if the burst is a row of the turn table (Rows), else 0
func BurstTable(c *trace.Conversation) dataframe.DataFrame {
	bursts := c.Bursts()
	n := len(bursts)
	idx, start, count, bytes, row := make([]int, n), make([]int, n), make([]int, n), make([]int, n), make([]int, n)
	side := make([]string, n)
	dur, gap := make([]float64, n), make([]float64, n)
	opp := [4][]float64{make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)}
	set := mustResolve(exportTurnCond, TurnDecision)
	vec := make([]float64, set.Len())
	k := 0
	Replay(c, func(e *Event) {
		if e.Pos >= 0 {
			return
		}
		b := &bursts[k]
		idx[k], start[k], count[k], bytes[k] = k, int(b.FirstTS), b.Count, int(b.Bytes)
		side[k] = b.From.String()
		dur[k] = float64(b.DurNS()) / 1e3
		set.To(vec, &e.Ctx)
		gap[k] = us(e.Turn.GapNS)
		for j := range opp {
			opp[j][k] = vec[j]
		}
		if e.Opening {
			gap[k] = math.NaN()
			for j := range opp {
				opp[j][k] = math.NaN()
			}
		}
		if !e.Skip {
			row[k] = 1
		}
		k++
	})
	return dataframe.New(
		series.New(idx, series.Int, "burst"), series.New(side, series.String, "side"), series.New(start, series.Int, "start_ns"),
		series.New(count, series.Int, "count"), series.New(bytes, series.Int, "bytes"), series.New(dur, series.Float, "dur_us"), series.New(gap, series.Float, "gap_us"),
		series.New(opp[0], series.Float, "opp_count"), series.New(opp[1], series.Float, "opp_bytes"), series.New(opp[2], series.Float, "opp_dur_us"), series.New(opp[3], series.Float, "opp_mean_dt_us"),
		series.New(row, series.Int, "row"),
	)
}

// mustResolve resolves built-in feature names (a failure is a programming
// error).
func mustResolve(names []string, kind Kind) *Set {
	s, err := Resolve(names, kind)
	if err != nil {
		panic(err)
	}
	return s
}
