package trace

import (
	"fmt"
	"io"
	"math"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"
)

// Feature tables ExportFeatures can write.
const (
	TablePackets      = "packets"      // one row per packet, every feature
	TableBursts       = "bursts"       // one row per burst
	TableConversation = "conversation" // the packets in the CSV format of shared/data (WriteCSV)
)

// PacketFeatures returns a DataFrame with one row per packet of c in file
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
//	first         1 for the first packet of its burst
//	prev_size     size of the previous packet of the same burst (0 for the first)
//	opp_count, opp_bytes, opp_dur_us, opp_mean_dt_us
//	              the opponent burst before this packet's burst (NaN for the
//	              conversation's first burst)
//	row           1 if the packet is a row of PacketRows(side), else 0
//	              (first burst, or excluded for a clock step)
//
// Times in microseconds are float64 with nanosecond resolution.
func PacketFeatures(c *Conversation) dataframe.DataFrame {
	n := len(c.Packets)
	idx, ts, proto, size, burst, first, row := make([]int, n), make([]int, n), make([]int, n), make([]int, n), make([]int, n), make([]int, n), make([]int, n)
	side := make([]string, n)
	dt, iat, prev := make([]float64, n), make([]float64, n), make([]float64, n)
	oc, ob, od, om := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	bursts := c.Bursts()
	var last [2]int64
	var seen [2]bool
	for k, b := range bursts {
		cond := Cond{OppCount: math.NaN(), OppBytes: math.NaN(), OppDurUS: math.NaN(), OppMeanDtUS: math.NaN()}
		if k > 0 {
			cond = bursts[k-1].cond()
		}
		for i := b.Start; i < b.End; i++ {
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
			if i == b.Start {
				first[i] = 1
			} else {
				prev[i] = float64(c.Packets[i-1].Size)
			}
			oc[i], ob[i], od[i], om[i] = cond.OppCount, cond.OppBytes, cond.OppDurUS, cond.OppMeanDtUS
			if k > 0 && bursts[k-1].ClockSteps == 0 && p.TS >= c.Packets[i-1].TS {
				row[i] = 1
			}
		}
	}
	return dataframe.New(
		series.New(idx, series.Int, "index"), series.New(ts, series.Int, "ts_ns"), series.New(side, series.String, "side"),
		series.New(proto, series.Int, "proto"), series.New(size, series.Int, "size"),
		series.New(dt, series.Float, "dt_us"), series.New(iat, series.Float, "iat_us"), series.New(burst, series.Int, "burst"),
		series.New(first, series.Int, "first"), series.New(prev, series.Float, "prev_size"),
		series.New(oc, series.Float, "opp_count"), series.New(ob, series.Float, "opp_bytes"), series.New(od, series.Float, "opp_dur_us"), series.New(om, series.Float, "opp_mean_dt_us"),
		series.New(row, series.Int, "row"),
	)
}

// BurstFeatures returns a DataFrame with one row per burst of c:
//
//	burst         0-based burst index
//	side          "server" or "client"
//	start_ns      timestamp of its first packet
//	count, bytes  packets and frame bytes
//	dur_us        last minus first packet's timestamp
//	gap_us        reply gap before it (NaN for the first burst)
//	opp_count, opp_bytes, opp_dur_us, opp_mean_dt_us
//	              the opponent burst before it (NaN for the first burst)
//	row           1 if the burst is a row of BurstRows(side)
func BurstFeatures(c *Conversation) dataframe.DataFrame {
	bursts := c.Bursts()
	n := len(bursts)
	idx, start, count, bytes, row := make([]int, n), make([]int, n), make([]int, n), make([]int, n), make([]int, n)
	side := make([]string, n)
	dur, gap := make([]float64, n), make([]float64, n)
	oc, ob, od, om := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for k, b := range bursts {
		idx[k], start[k], count[k], bytes[k] = k, int(b.FirstTS), b.Count, int(b.Bytes)
		side[k] = b.From.String()
		dur[k] = float64(b.DurNS()) / 1e3
		gap[k], oc[k], ob[k], od[k], om[k] = math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()
		if k > 0 {
			opp := &bursts[k-1]
			cond := opp.cond()
			gap[k] = float64(b.FirstTS-opp.LastTS) / 1e3
			oc[k], ob[k], od[k], om[k] = cond.OppCount, cond.OppBytes, cond.OppDurUS, cond.OppMeanDtUS
			if b.FirstTS >= opp.LastTS && opp.ClockSteps == 0 {
				row[k] = 1
			}
		}
	}
	return dataframe.New(
		series.New(idx, series.Int, "burst"), series.New(side, series.String, "side"), series.New(start, series.Int, "start_ns"),
		series.New(count, series.Int, "count"), series.New(bytes, series.Int, "bytes"), series.New(dur, series.Float, "dur_us"), series.New(gap, series.Float, "gap_us"),
		series.New(oc, series.Float, "opp_count"), series.New(ob, series.Float, "opp_bytes"), series.New(od, series.Float, "opp_dur_us"), series.New(om, series.Float, "opp_mean_dt_us"),
		series.New(row, series.Int, "row"),
	)
}

// ExportFeatures writes one of the tables (TablePackets, TableBursts,
// TableConversation) of c as CSV with a header row.
func ExportFeatures(w io.Writer, c *Conversation, table string) error {
	var df dataframe.DataFrame
	switch table {
	case TablePackets, "":
		df = PacketFeatures(c)
	case TableBursts:
		df = BurstFeatures(c)
	case TableConversation:
		return WriteCSV(w, c)
	default:
		return fmt.Errorf("trace: unknown table %q: want %s, %s or %s", table, TablePackets, TableBursts, TableConversation)
	}
	if df.Err != nil {
		return fmt.Errorf("trace: export: %w", df.Err)
	}
	if err := df.WriteCSV(w); err != nil {
		return fmt.Errorf("trace: export: %w", err)
	}
	return nil
}
