package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/spatgan/spatgan/features"
	"io"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/spatgan/spatgan/internal/progress"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/trace"
)

func generateCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "generate --packets N | --duration T --out trace.pcap [flags]",
		Short: "generate a synthetic two-party conversation offline into a pcap",
		Long: "Generate a two-party conversation without sockets, as fast as possible, with the same closed-loop\n" +
			"logic as \"spatgan simulate\" over a virtual clock. The same model and --seed give the same file.\n" +
			"Frames go between 192.0.2.1:40000 (server) and 192.0.2.2:50000 (client) (2001:db8::1/::2 with\n" +
			"--ipv6), each payload starting with the simulation protocol's in-band header. The transport is\n" +
			"the protocol of the capture the model learnt from unless --net says otherwise.",
		Args: noArgs}
	fs := cmd.Flags()
	var mf modelFlags
	mf.register(fs)
	packets := fs.Int64("packets", 0, "number of packets to generate (both directions)")
	duration := fs.Duration("duration", 0, "virtual duration to generate, e.g. 20s or 5m")
	out := fs.String("out", "", "pcap file to write (required)")
	csvOut := fs.Bool("csv", false, "also write a CSV flow log next to --out (same name, .csv)")
	ipv6 := fs.Bool("ipv6", false, "write IPv6 frames")
	start := fs.String("start", "", "virtual start time, RFC 3339 (default 2020-01-01T00:00:00Z)")
	convs := fs.Int("conversations", 1, "number of concurrent conversations in the capture (limits apply to each); conversation i uses client port 50000+i")
	stagger := fs.Duration("stagger", 10*time.Millisecond, "with --conversations: conversation i starts i times this after --start")
	quiet := fs.Bool("quiet", false, "no progress bar")
	cont := fs.Bool("continue", false, "continue the conversation of --trace: every conversation starts from its last bursts per side (what a party that saw it remembers), with the side that comes next")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx, stdout, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
		if *out == "" {
			return errors.New("generate: --out FILE is required (see spatgan generate --help)")
		}
		if err := atLeast("generate", bound{"packets", *packets, 0, ""}, bound{"conversations", int64(*convs), 1, ""}); err != nil {
			return err
		}
		if *duration < 0 {
			return fmt.Errorf("generate: --duration %v: want a positive duration", *duration)
		}
		if *packets == 0 && *duration == 0 {
			return errors.New("generate: give --packets N or --duration T (or both: the first limit reached ends it)")
		}
		if *convs > 1<<16 || *stagger < 0 {
			return fmt.Errorf("generate: --conversations %d must be in 1..65536, --stagger not negative", *convs)
		}
		opt := simulate.GenOptions{Packets: *packets, Duration: *duration, Stagger: *stagger, Ordered: *convs > 1}
		if *start != "" {
			t, err := time.Parse(time.RFC3339Nano, *start)
			if err != nil {
				return fmt.Errorf("generate: --start %q: want RFC 3339, e.g. 2020-01-01T00:00:00Z", *start)
			}
			opt.StartNS = t.UnixNano()
			if opt.StartNS <= 0 {
				return fmt.Errorf("generate: --start %q: must be after 1970", *start)
			}
		}
		if *cont {
			conv, err := mf.tr.load(stderr)
			if err != nil {
				return fmt.Errorf("generate: --continue: %w", err)
			}
			h := features.Prime(conv) // the loader refuses a capture without a two-way conversation
			opt.Prime = &h
		}
		csvPath := ""
		if *csvOut {
			csvPath = csvNextTo(*out)
		}
		return runGenerate(ctx, stdout, stderr, &mf, opt, *convs, *ipv6, *out, csvPath, *quiet)
	}
	return cmd
}

func runGenerate(ctx context.Context, stdout, stderr io.Writer, mf *modelFlags, opt simulate.GenOptions, convs int, ipv6 bool, out, csvPath string, quiet bool) error {
	var set samplerSet
	defer set.close()
	mod, err := mf.open(stderr, &set)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	tr := mod.transport
	fmt.Fprintf(stderr, "transport: %s (%s)\n", tr, mod.why)
	// Offline: frames as the model drew them (no in-band header floor, no
	// MTU ceiling).
	opt.Framing = simulate.NewFraming(tr, ipv6)
	opt.Framing.Offline = true
	s, err := mod.newSampler(0)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	rec, err := simulate.NewFileRecorder(out, csvPath, time.Second)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	server, client := trace.DefaultServer, trace.DefaultClient
	if ipv6 {
		server.Addr, client.Addr = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	}
	sap := netip.AddrPortFrom(server.Addr, server.Port)
	var bar *genBar
	if !quiet {
		bar = newGenBar(stderr, "generate", opt, convs)
	}
	st, err := simulate.GenerateMany(ctx, s, convs, opt, func(c int, e simulate.Event) error {
		bar.add(e.Packet.TS)
		cip := clientEndpoint(client, c)
		r := simulate.Rec{Sent: true, Conv: uint32(c + 1), TS: e.Packet.TS, Size: e.Packet.Size, Header: e.Header,
			Src: cip, Dst: sap, Transport: tr, From: e.Packet.From}
		if e.Packet.From == trace.Server {
			r.Src, r.Dst = sap, cip
		}
		return rec.Record(r)
	})
	bar.finish(err == nil)
	if cerr := rec.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("generate: interrupted after %d packets; %s holds them", st.Packets, out)
		}
		return fmt.Errorf("generate: %w", err)
	}
	fmt.Fprintf(stdout, "generated %d packets (%d server, %d client) in %d bursts of %d conversation(s), %.3f s of traffic, model %s\n",
		st.Packets, st.PerSide[trace.Server], st.PerSide[trace.Client], st.Bursts, convs, float64(st.LastNS-st.FirstNS)/1e9, mod.fingerprint)
	fmt.Fprintf(stdout, "%.0f packets/s (%v), %d sampler calls; clamped: size %d, count %d, time %d\n",
		st.PacketsPerSecond(), st.Elapsed.Round(time.Millisecond), st.SamplerCalls, st.Clamps.Size, st.Clamps.Count, st.Clamps.Time)
	fmt.Fprintf(stdout, "wrote %s", out)
	if csvPath != "" {
		fmt.Fprintf(stdout, " and %s", csvPath)
	}
	fmt.Fprintln(stdout)
	return nil
}

// genBar is the progress bar of an offline generation: packets against
// --packets, else virtual seconds against --duration. A nil *genBar does
// nothing.
type genBar struct {
	bar     *progress.Bar
	byTime  bool
	startNS int64
	last    int64 // whole virtual seconds counted
	total   int64
}

func newGenBar(w io.Writer, label string, opt simulate.GenOptions, convs int) *genBar {
	if opt.Packets > 0 {
		return &genBar{bar: progress.New(w, label, opt.Packets*int64(convs), "packets")}
	}
	start := opt.StartNS
	if start == 0 {
		start = simulate.DefaultStartNS
	}
	total := int64(opt.Duration / time.Second)
	return &genBar{bar: progress.New(w, label, total, "s of traffic"), byTime: true, startNS: start, total: total}
}

func (g *genBar) add(ts int64) {
	if g == nil {
		return
	}
	if !g.byTime {
		g.bar.Add(1, "")
		return
	}
	if s := (ts - g.startNS) / 1e9; s > g.last {
		g.bar.Add(s-g.last, "")
		g.last = s
	}
}

// finish ends the bar; done says the generation reached its end, so a
// duration bar shows the last partial second as done.
func (g *genBar) finish(done bool) {
	if g == nil {
		return
	}
	if done && g.byTime {
		g.bar.SetDone(int64(g.total))
	}
	g.bar.Finish()
}

// clientEndpoint returns conversation c's client endpoint: base's address
// and port base.Port+c, moving to the next address every time the ports
// run out (conversation 0 is base itself).
func clientEndpoint(base trace.Endpoint, c int) netip.AddrPort {
	span := 65536 - int(base.Port)
	a := base.Addr
	for i := 0; i < c/span; i++ {
		a = a.Next()
	}
	return netip.AddrPortFrom(a, base.Port+uint16(c%span))
}
