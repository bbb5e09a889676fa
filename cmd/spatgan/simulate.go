package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/simulate"
)

func init() {
	register(command{name: "simulate", summary: "run a live closed-loop conversation over UDP or TCP (server, client, or both locally)", run: runSimulate})
}

// openBundleSampler opens a trained model bundle as a sampler seeded with
// seed, and returns the bundle's fingerprint. It is set by the file that
// wires the GAN in; while nil, --bundle is refused.
var openBundleSampler func(dir string, seed int64) (s sampler.Sampler, fingerprint string, err error)

const simulateUsage = `usage: spatgan simulate server [flags]   (listens, default 127.0.0.1:7400)
       spatgan simulate client [flags]   (connects, default 127.0.0.1:7400)
       spatgan simulate local  [flags]   (both agents in this process, on loopback)

The two agents exchange real synthetic packets and condition every burst on
what they received. Run the server and the client in two terminals (or on
two hosts: give the server --listen 0.0.0.0:PORT), with the same model:
--bundle DIR, or --sampler NAME fitted on the same --trace. Each agent
writes what it sent and received to a pcap and a CSV flow log, and prints
pacing error and decision latency at the end. With --bundle the process
loads the model once and all its conversations share it, their decisions
batched together. SIGINT/SIGTERM stop both
agents cleanly (the files are complete). Run "spatgan simulate server
--help" for the flags.
`

func runSimulate(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, simulateUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "server", "client", "local":
		return runSimulateRole(ctx, stdout, stderr, args[0], args[1:])
	}
	fmt.Fprint(stderr, simulateUsage)
	return fmt.Errorf("simulate: unknown role %q (want server, client or local)", args[0])
}

// modelFlags choose the sampler: a bundle, or a baseline fitted on a trace.
type modelFlags struct {
	bundle  string
	sampler string
	seed    int64
	tr      traceFlags
}

func (m *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.bundle, "bundle", "", "trained model bundle directory (the GAN)")
	fs.StringVar(&m.sampler, "sampler", "markov", "baseline when no --bundle: "+strings.Join(sampler.Names(), ", "))
	fs.Int64Var(&m.seed, "seed", 1, "random seed; conversation i (from 0) uses seed+i")
	m.tr.register(fs)
}

// samplerSet makes and keeps the samplers of the conversations, to close
// those that hold resources (an io.Closer, such as a bundle's sessions).
type samplerSet struct {
	mu   sync.Mutex
	made []sampler.Sampler
}

func (s *samplerSet) add(x sampler.Sampler) sampler.Sampler {
	s.mu.Lock()
	s.made = append(s.made, x)
	s.mu.Unlock()
	return x
}

func (s *samplerSet) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.made {
		if c, ok := x.(io.Closer); ok {
			c.Close()
		}
	}
	s.made = nil
}

// factory returns a function making conversation i's sampler (seeded with
// seed+i) and the model fingerprint.
func (m *modelFlags) factory(stderr io.Writer, set *samplerSet) (func(i int) (sampler.Sampler, error), string, error) {
	if m.bundle != "" {
		if openBundleSampler == nil {
			return nil, "", errors.New("--bundle: bundle support not built into this binary; use --sampler")
		}
		first, fp, err := openBundleSampler(m.bundle, m.seed)
		if err != nil {
			return nil, "", err
		}
		set.add(first)
		var mu sync.Mutex
		return func(i int) (sampler.Sampler, error) {
			mu.Lock()
			if i == 0 && first != nil {
				s := first
				first = nil
				mu.Unlock()
				return s, nil
			}
			mu.Unlock()
			s, fp2, err := openBundleSampler(m.bundle, m.seed+int64(i))
			if err != nil {
				return nil, err
			}
			set.add(s)
			if fp2 != fp {
				return nil, fmt.Errorf("bundle %s changed while running (fingerprint %s, was %s)", m.bundle, fp2, fp)
			}
			return s, nil
		}, fp, nil
	}
	conv, err := m.tr.load(stderr)
	if err != nil {
		return nil, "", err
	}
	model, err := sampler.Fit(m.sampler, conv)
	if err != nil {
		return nil, "", err
	}
	return func(i int) (sampler.Sampler, error) { return model.New(m.seed + int64(i)), nil }, model.Fingerprint(), nil
}

// speedFlag parses a positive float or "inf".
type speedFlag float64

func (s *speedFlag) String() string { return strconv.FormatFloat(float64(*s), 'g', -1, 64) }
func (s *speedFlag) Set(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) {
		return fmt.Errorf("want a number > 0 or inf, got %q", v)
	}
	*s = speedFlag(f)
	return nil
}

func runSimulateRole(ctx context.Context, stdout, stderr io.Writer, role string, args []string) error {
	summary := map[string]string{
		"server": "Serve --pairs conversations on --listen, playing the server side.",
		"client": "Open --pairs conversations with the server at --connect, playing the client side.",
		"local":  "Run a server and a client in this process on a loopback port (for load tests: --pairs N).",
	}[role]
	fs := newFlagSet("simulate "+role, "[flags]", summary, stderr)
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
	netName := fs.String("net", "udp", "transport: udp or tcp")
	pairs := fs.Int("pairs", 1, "number of concurrent conversations")
	duration := fs.Duration("duration", 0, "end each conversation after this long (0: no limit)")
	packets := fs.Int64("packets", 0, "end each conversation after this many packets, both directions (0: no limit)")
	speed := speedFlag(1)
	fs.Var(&speed, "speedup", "divide all sampled times by this factor (inf: as fast as possible); the client's value applies")
	turnTO := fs.Duration("turn-timeout", simulate.DefaultTurnTimeout, "silence before a waiting agent re-synchronises the turn")
	peerTO := fs.Duration("peer-timeout", simulate.DefaultPeerTimeout, "silence after which the peer is declared gone")
	connTO := fs.Duration("connect-timeout", simulate.DefaultConnectTimeout, "how long the client retries a server that is not up")
	spin := fs.Duration("spin", 0, "busy-wait this long before each deadline for tighter pacing (costs CPU)")
	batchWait := fs.Duration("batch-wait", 0, "with --bundle: how long the shared model waits to batch decisions of several conversations (0: batch only what is pending)")
	var pcapPath, csvPath, pcapPath2, csvPath2 string
	if role == "local" {
		fs.StringVar(&pcapPath, "server-pcap", "spatgan-server.pcap", "server's pcap recording (empty: none)")
		fs.StringVar(&csvPath, "server-csv", "spatgan-server.csv", "server's CSV flow log (empty: none)")
		fs.StringVar(&pcapPath2, "client-pcap", "spatgan-client.pcap", "client's pcap recording (empty: none)")
		fs.StringVar(&csvPath2, "client-csv", "spatgan-client.csv", "client's CSV flow log (empty: none)")
	} else {
		fs.StringVar(&pcapPath, "pcap", "spatgan-"+role+".pcap", "pcap recording of the packets sent and received (empty: none)")
		fs.StringVar(&csvPath, "csv", "spatgan-"+role+".csv", "CSV flow log of the packets sent and received (empty: none)")
	}
	if err := parseFlags(fs, args); err != nil {
		return ignoreHelp(err)
	}
	tr, err := simulate.ParseTransport(*netName)
	if err != nil {
		return err
	}
	if *pairs < 1 {
		return fmt.Errorf("simulate: --pairs %d: want at least 1", *pairs)
	}
	if *duration < 0 || *packets < 0 {
		return errors.New("simulate: --duration and --packets must not be negative")
	}
	var set samplerSet
	defer set.close()
	newSampler, fp, err := mf.factory(stderr, &set)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	cfg := simulate.Config{Transport: tr, NewSampler: newSampler, Fingerprint: fp, Pairs: *pairs,
		MaxPackets: *packets, Duration: *duration, Speedup: float64(speed),
		TurnTimeout: *turnTO, PeerTimeout: *peerTO, ConnectTimeout: *connTO, Spin: *spin}
	if mf.bundle != "" {
		// One model per process: every conversation (of both agents, when
		// local) draws from one bundle through one batching dispatcher.
		smp, err := newSampler(0)
		if err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		if err := simulate.WarmUp(smp); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		d := simulate.NewDispatcher(smp, simulate.DispatchOptions{MaxWait: *batchWait})
		defer func() {
			d.Close()
			st := d.Stats()
			fmt.Fprintf(stdout, "model calls: %d decisions in %d batches (mean %.1f, max %d per batch)\n",
				st.Decisions, st.Batches, st.MeanBatch(), st.MaxBatch)
		}()
		cfg.NewSampler, cfg.Dispatcher = nil, d
	}
	if math.IsInf(float64(speed), 1) {
		cfg.Speedup = math.Inf(1)
	}
	fmt.Fprintf(stderr, "model: %s\n", fp)

	openRec := func(p, c string) (*simulate.FileRecorder, error) {
		if p == "" && c == "" {
			return nil, nil
		}
		return simulate.NewFileRecorder(p, c, 0)
	}
	closeRec := func(r *simulate.FileRecorder, err *error) {
		if r == nil {
			return
		}
		if cerr := r.Close(); cerr != nil && *err == nil {
			*err = cerr
		}
	}
	finish := func(rep *simulate.Report, err error) error {
		if rep != nil {
			rep.WriteText(stdout)
		}
		if err != nil && onlyInterrupted(err) {
			fmt.Fprintln(stderr, "interrupted; recordings flushed")
			return nil
		}
		return err
	}

	switch role {
	case "server":
		rec, err := openRec(pcapPath, csvPath)
		if err != nil {
			return err
		}
		if rec != nil {
			cfg.Recorder = rec
		}
		s, err := simulate.Listen(addr, cfg)
		if err != nil {
			closeRec(rec, &err)
			return err
		}
		fmt.Fprintf(stderr, "server listening on %s (%s), waiting for %d conversation(s)\n", s.Addr(), tr, *pairs)
		rep, err := s.Serve(ctx)
		closeRec(rec, &err)
		return finish(rep, err)
	case "client":
		rec, err := openRec(pcapPath, csvPath)
		if err != nil {
			return err
		}
		if rec != nil {
			cfg.Recorder = rec
		}
		rep, err := simulate.Dial(ctx, addr, cfg)
		closeRec(rec, &err)
		return finish(rep, err)
	}
	// local: both agents in this process.
	srec, err := openRec(pcapPath, csvPath)
	if err != nil {
		return err
	}
	crec, err := openRec(pcapPath2, csvPath2)
	if err != nil {
		closeRec(srec, &err)
		return err
	}
	scfg, ccfg := cfg, cfg
	if srec != nil {
		scfg.Recorder = srec
	}
	if crec != nil {
		ccfg.Recorder = crec
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
	e1 := finish(srep, serr)
	e2 := finish(crep, cerr)
	if srep != nil && crep != nil {
		el := max(srep.Elapsed, crep.Elapsed)
		tot := srep.Totals().Sent + crep.Totals().Sent
		var pace simulate.Histogram
		st, ct := srep.Totals(), crep.Totals()
		pace.Merge(&st.Pacing)
		pace.Merge(&ct.Pacing)
		ps := pace.Summary()
		fmt.Fprintf(stdout, "aggregate: %d packets in %v, %.0f packets/s; pacing error p50 %v p99 %v p99.9 %v max %v over %d pairs\n",
			tot, el.Round(time.Millisecond), float64(tot)/el.Seconds(), ps.P50, ps.P99, ps.P999, ps.Max, *pairs)
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
