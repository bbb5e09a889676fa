package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spatgan/spatgan/simulate"
)

const simulateLong = `The two agents exchange real synthetic packets and condition every burst on
what they received. Run the server and the client in two terminals (or on
two hosts: give the server --listen 0.0.0.0:PORT), with the same model:
--bundle DIR, or --sampler NAME fitted on the same --trace. The transport is
the protocol of the capture the model learnt from unless --net says
otherwise. With --out each agent records what it sent and received to a
pcap (and with --csv a CSV flow log next to it); at the end it prints pacing
error and decision latency. With --bundle the process loads the model once
and all its conversations share it, their decisions batched together.
SIGINT/SIGTERM stop both agents cleanly (the
files are complete). The same two sides are the binaries spatgan-server and
spatgan-client.`

func simulateCmd() *cobra.Command {
	return group("simulate", "run a live closed-loop conversation over UDP or TCP (server, client, or both locally)", simulateLong,
		simulateRoleCmd("server"), simulateRoleCmd("client"), simulateRoleCmd("local"))
}

// speedFlag parses a positive float or "inf".
type speedFlag float64

func (s *speedFlag) String() string { return strconv.FormatFloat(float64(*s), 'g', -1, 64) }
func (s *speedFlag) Type() string   { return "factor" }
func (s *speedFlag) Set(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) {
		return fmt.Errorf("want a number > 0 or inf")
	}
	*s = speedFlag(f)
	return nil
}

// recFlags are the recording flags of one agent.
type recFlags struct {
	out string
	csv bool
}

// paths returns the pcap and CSV paths ("" for none).
func (r recFlags) paths() (string, string) {
	if r.out == "" {
		return "", ""
	}
	c := ""
	if r.csv {
		c = csvNextTo(r.out)
	}
	return r.out, c
}

// csvNextTo is the CSV flow log written beside a pcap: same name, .csv.
func csvNextTo(pcap string) string {
	c := strings.TrimSuffix(pcap, ".pcap") + ".csv"
	if c == pcap {
		c = pcap + ".csv"
	}
	return c
}

// sideFile inserts -server or -client before a pcap's extension.
func sideFile(path, side string) string {
	if path == "" {
		return ""
	}
	if i := strings.LastIndex(path, ".pcap"); i >= 0 && i == len(path)-5 {
		return path[:i] + "-" + side + ".pcap"
	}
	return path + "-" + side
}

func simulateRoleCmd(role string) *cobra.Command {
	summary := map[string]string{
		"server": "play the server side: serve --pairs conversations on --listen",
		"client": "play the client side: open --pairs conversations with the server at --connect",
		"local":  "run a server and a client in this process on a loopback port (for load tests: --pairs N)",
	}[role]
	cmd := &cobra.Command{Use: role + " [flags]", Short: summary, Long: strings.ToUpper(summary[:1]) + summary[1:] + ".\n\n" + simulateLong,
		Args: noArgs}
	fs := cmd.Flags()
	var mf modelFlags
	mf.register(fs)
	defAddr := simulate.DefaultListen
	if role == "local" {
		defAddr = "127.0.0.1:0"
	}
	addr := defAddr
	if role == "server" || role == "local" {
		fs.StringVar(&addr, "listen", defAddr, "address to listen on (loopback unless a host is given)")
	} else {
		fs.StringVar(&addr, "connect", defAddr, "server address")
	}
	pairs := fs.Int("pairs", 1, "number of concurrent conversations")
	duration := fs.Duration("duration", 0, "end each conversation after this long, e.g. 30s or 5m (0: no limit)")
	packets := fs.Int64("packets", 0, "end each conversation after this many packets, both directions (0: no limit)")
	speed := speedFlag(1)
	fs.Var(&speed, "speedup", "divide all sampled times by this factor (inf: as fast as possible); the client's value applies")
	turnTO := fs.Duration("turn-timeout", simulate.DefaultTurnTimeout, "silence before a waiting agent re-synchronises the turn")
	peerTO := fs.Duration("peer-timeout", simulate.DefaultPeerTimeout, "silence after which the peer is declared gone")
	connTO := fs.Duration("connect-timeout", simulate.DefaultConnectTimeout, "how long the client retries a server that is not up")
	spin := fs.Duration("spin", 0, "busy-wait this long before each deadline for tighter pacing, e.g. 300us for a few pairs (costs a core while it spins; at most one conversation per spare core spins at a time, and with many pairs it slows the decisions)")
	batchWait := fs.Duration("batch-wait", 0, "with --bundle: how long the shared model waits to batch decisions of several conversations (0: batch only what is pending)")
	keepWarm := fs.Duration("keep-warm", simulate.DefaultKeepWarm, "with --bundle: after this long without a decision, draw a scratch one to keep the model in the caches, for up to a second after the last (0: never)")
	var rec, srec, crec recFlags
	var oldPcap, oldCSV, oldPcap2, oldCSV2 string
	if role == "local" {
		fs.StringVar(&rec.out, "out", "", "record to FILE-server.pcap and FILE-client.pcap for --out FILE.pcap (default: no recording)")
		fs.BoolVar(&rec.csv, "csv", false, "also write each agent's CSV flow log next to its pcap (same name, .csv)")
		hiddenString(fs, &oldPcap, "server-pcap", "server's pcap recording")
		hiddenString(fs, &oldCSV, "server-csv", "server's CSV flow log")
		hiddenString(fs, &oldPcap2, "client-pcap", "client's pcap recording")
		hiddenString(fs, &oldCSV2, "client-csv", "client's CSV flow log")
	} else {
		fs.StringVar(&rec.out, "out", "", "pcap recording of the packets sent and received (default: no recording)")
		fs.BoolVar(&rec.csv, "csv", false, "also write a CSV flow log next to --out (same name, .csv)")
		alias(fs, "pcap", "out")
		hiddenString(fs, &oldCSV, "csv-file", "CSV flow log file")
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx, stdout, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
		if err := atLeast("simulate "+role, bound{"pairs", int64(*pairs), 1, ""}, bound{"packets", *packets, 0, "0 for no limit"}); err != nil {
			return err
		}
		for _, d := range []struct {
			name string
			v    time.Duration
		}{{"duration", *duration}, {"turn-timeout", *turnTO}, {"peer-timeout", *peerTO}, {"connect-timeout", *connTO}, {"spin", *spin}, {"batch-wait", *batchWait}, {"keep-warm", *keepWarm}} {
			if d.v < 0 {
				return fmt.Errorf("simulate %s: --%s %v: want a duration >= 0", role, d.name, d.v)
			}
		}
		if rec.csv && rec.out == "" {
			return fmt.Errorf("simulate %s: --csv writes next to the pcap: give --out FILE.pcap too", role)
		}
		var set samplerSet
		defer set.close()
		mod, err := mf.open(stderr, &set)
		if err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		cfg := simulate.Config{Transport: mod.transport, NewSampler: mod.newSampler, Fingerprint: mod.fingerprint, Pairs: *pairs,
			MaxPackets: *packets, Duration: *duration, Speedup: float64(speed),
			TurnTimeout: *turnTO, PeerTimeout: *peerTO, ConnectTimeout: *connTO, Spin: *spin, Log: stderr}
		if math.IsInf(float64(speed), 1) {
			cfg.Speedup = math.Inf(1)
		}
		var agentDispatchers [2]*simulate.Dispatcher // one per agent of this process (local: the server's, then the client's)
		if mf.bundle != "" {
			// One model per agent: every conversation of an agent draws
			// from one bundle through one batching dispatcher. With local,
			// each of the two agents has its own, as two processes would:
			// the two models then decide in parallel on two cores (at 100
			// pairs the median decision is about twice as fast as with one
			// shared model, for some megabytes more; BENCHMARKS.md).
			agents := []string{role}
			if role == "local" {
				agents = []string{"server", "client"}
			}
			defer func() {
				for i, who := range agents {
					d := agentDispatchers[i]
					if d == nil {
						continue
					}
					d.Close()
					st := d.Stats()
					if len(agents) > 1 {
						fmt.Fprintf(stdout, "%s ", who)
					}
					fmt.Fprintf(stdout, "model calls: %d decisions", st.Decisions)
					if st.Draws > 0 {
						fmt.Fprintf(stdout, " and %d later draws", st.Draws)
					}
					fmt.Fprintf(stdout, " in %d batches (mean %.1f, max %d requests per batch)", st.Batches, st.MeanBatch(), st.MaxBatch)
					if st.Warm > 0 {
						fmt.Fprintf(stdout, "; %d keep-warm draws", st.Warm)
					}
					fmt.Fprintln(stdout)
				}
			}()
			for i := range agents {
				smp, err := mod.newSampler(i)
				if err != nil {
					return fmt.Errorf("simulate: %w", err)
				}
				if err := simulate.WarmUp(smp); err != nil {
					return fmt.Errorf("simulate: %w", err)
				}
				agentDispatchers[i] = simulate.NewDispatcher(smp, simulate.DispatchOptions{MaxWait: *batchWait, KeepWarm: *keepWarm})
			}
			cfg.NewSampler, cfg.Dispatcher = nil, agentDispatchers[0]
		}
		fmt.Fprintf(stderr, "model: %s\ntransport: %s (%s)\n", mod.fingerprint, mod.transport, mod.why)
		if role == "local" {
			srec, crec = recFlags{sideFile(rec.out, "server"), rec.csv}, recFlags{sideFile(rec.out, "client"), rec.csv}
			sp, sc := srec.paths()
			cp, cc := crec.paths()
			if changed(fs, "server-pcap", "server-csv", "client-pcap", "client-csv") {
				sp, sc, cp, cc = pick(oldPcap, sp), pick(oldCSV, sc), pick(oldPcap2, cp), pick(oldCSV2, cc)
			}
			return runLocal(ctx, stdout, stderr, addr, cfg, agentDispatchers[1], *pairs, [2]string{sp, sc}, [2]string{cp, cc})
		}
		p, c := rec.paths()
		if changed(fs, "csv-file") {
			c = oldCSV
		}
		return runAgent(ctx, stdout, stderr, role, addr, cfg, p, c)
	}
	return cmd
}

func pick(old, cur string) string {
	if old != "" {
		return old
	}
	return cur
}

// hiddenString registers a hidden string flag kept for old command lines.
func hiddenString(fs *pflag.FlagSet, p *string, name, usage string) {
	fs.StringVar(p, name, "", usage)
	fs.MarkHidden(name)
}

func openRec(p, c string) (*simulate.FileRecorder, error) {
	if p == "" && c == "" {
		return nil, nil
	}
	return simulate.NewFileRecorder(p, c, 0)
}

func closeRec(r *simulate.FileRecorder, err *error) {
	if r == nil {
		return
	}
	if cerr := r.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

func finishAgent(stdout, stderr io.Writer, rep *simulate.Report, err error) error {
	if rep != nil {
		rep.WriteText(stdout)
	}
	if err != nil && onlyInterrupted(err) {
		fmt.Fprintln(stderr, "interrupted; recordings flushed")
		return nil
	}
	return err
}

func recordingNote(stderr io.Writer, p, c string) {
	switch {
	case p != "" && c != "":
		fmt.Fprintf(stderr, "recording to %s and %s\n", p, c)
	case p != "" || c != "":
		fmt.Fprintf(stderr, "recording to %s%s\n", p, c)
	}
}

// runAgent runs one side.
func runAgent(ctx context.Context, stdout, stderr io.Writer, role, addr string, cfg simulate.Config, pcapPath, csvPath string) error {
	rec, err := openRec(pcapPath, csvPath)
	if err != nil {
		return err
	}
	if rec != nil {
		cfg.Recorder = rec
		recordingNote(stderr, pcapPath, csvPath)
	}
	if role == "server" {
		s, err := simulate.Listen(addr, cfg)
		if err != nil {
			closeRec(rec, &err)
			return err
		}
		fmt.Fprintf(stderr, "server listening on %s (%s), waiting for %d conversation(s)\n", s.Addr(), cfg.Transport, cfg.Pairs)
		rep, err := s.Serve(ctx)
		closeRec(rec, &err)
		return finishAgent(stdout, stderr, rep, err)
	}
	rep, err := simulate.Dial(ctx, addr, cfg)
	closeRec(rec, &err)
	return finishAgent(stdout, stderr, rep, err)
}

// runLocal runs a server and a client in this process; with a bundle, cfg
// holds the server's dispatcher and client the client's.
func runLocal(ctx context.Context, stdout, stderr io.Writer, addr string, cfg simulate.Config, client *simulate.Dispatcher, pairs int, sfiles, cfiles [2]string) error {
	srec, err := openRec(sfiles[0], sfiles[1])
	if err != nil {
		return err
	}
	crec, err := openRec(cfiles[0], cfiles[1])
	if err != nil {
		closeRec(srec, &err)
		return err
	}
	scfg, ccfg := cfg, cfg
	if client != nil {
		ccfg.Dispatcher = client
	}
	if srec != nil {
		scfg.Recorder = srec
		recordingNote(stderr, sfiles[0], sfiles[1])
	}
	if crec != nil {
		ccfg.Recorder = crec
		recordingNote(stderr, cfiles[0], cfiles[1])
	}
	s, err := simulate.Listen(addr, scfg)
	if err != nil {
		closeRec(srec, &err)
		closeRec(crec, &err)
		return err
	}
	var srep *simulate.Report
	var serr error
	var wg sync.WaitGroup
	wg.Add(1)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer wg.Done()
		srep, serr = s.Serve(sctx)
	}()
	crep, cerr := simulate.Dial(ctx, s.Addr().String(), ccfg)
	if cerr != nil && !onlyInterrupted(cerr) {
		// The server would wait for conversations that never come.
		time.AfterFunc(500*time.Millisecond, cancel)
	}
	wg.Wait()
	closeRec(srec, &serr)
	closeRec(crec, &cerr)
	e1 := finishAgent(stdout, stderr, srep, serr)
	e2 := finishAgent(stdout, stderr, crep, cerr)
	if srep != nil && crep != nil {
		el := max(srep.Elapsed, crep.Elapsed)
		tot := srep.Totals().Sent + crep.Totals().Sent
		var pace simulate.Histogram
		st, ct := srep.Totals(), crep.Totals()
		pace.Merge(&st.Pacing)
		pace.Merge(&ct.Pacing)
		ps := pace.Summary()
		fmt.Fprintf(stdout, "aggregate: %d packets in %v, %.0f packets/s; pacing error p50 %v p99 %v p99.9 %v max %v over %d pairs\n",
			tot, el.Round(time.Millisecond), float64(tot)/el.Seconds(), ps.P50, ps.P99, ps.P999, ps.Max, pairs)
	}
	return errors.Join(e1, e2)
}

// onlyInterrupted reports whether err says nothing but that the run was
// interrupted.
func onlyInterrupted(err error) bool {
	if !errors.Is(err, simulate.ErrInterrupted) {
		return false
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !onlyInterrupted(e) {
				return false
			}
		}
		return true
	}
	return err == simulate.ErrInterrupted || errors.Is(errors.Unwrap(err), simulate.ErrInterrupted)
}
