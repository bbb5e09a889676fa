package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/trace"
)

func init() {
	register(command{name: "generate", summary: "generate a synthetic two-party conversation offline into a pcap", run: runGenerate})
}

func runGenerate(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("generate", "--packets N | --duration T --out trace.pcap [flags]",
		"Generate a two-party conversation without sockets, as fast as possible, with the same closed-loop\n"+
			"logic as \"spatgan simulate\" over a virtual clock. The same model and --seed give the same file.\n"+
			"Frames go between 192.0.2.1:40000 (server) and 192.0.2.2:50000 (client) (2001:db8::1/::2 with\n"+
			"--ipv6), each payload starting with the simulation protocol's in-band header.", stderr)
	var mf modelFlags
	mf.register(fs)
	packets := fs.Int64("packets", 0, "number of packets to generate (both directions)")
	duration := fs.Duration("duration", 0, "virtual duration to generate")
	out := fs.String("out", "", "pcap file to write (required)")
	csvOut := fs.Bool("csv", false, "also write a CSV flow log next to --out (same name, .csv)")
	netName := fs.String("net", "udp", "transport written in the frames: udp or tcp")
	ipv6 := fs.Bool("ipv6", false, "write IPv6 frames")
	start := fs.String("start", "", "virtual start time, RFC 3339 (default 2020-01-01T00:00:00Z)")
	convs := fs.Int("conversations", 1, "number of concurrent conversations in the capture (limits apply to each); conversation i uses client port 50000+i")
	stagger := fs.Duration("stagger", 10*time.Millisecond, "with --conversations: conversation i starts i times this after --start")
	if err := parseFlags(fs, args); err != nil {
		return ignoreHelp(err)
	}
	if *out == "" {
		fs.Usage()
		return errors.New("generate: --out FILE is required")
	}
	if *packets <= 0 && *duration <= 0 {
		fs.Usage()
		return errors.New("generate: give --packets N or --duration T (or both: the first limit reached ends it)")
	}
	if *packets < 0 || *duration < 0 {
		return errors.New("generate: --packets, --duration must not be negative")
	}
	if *convs < 1 || *convs > 1<<16 || *stagger < 0 {
		return fmt.Errorf("generate: --conversations %d must be in 1..65536, --stagger not negative", *convs)
	}
	tr, err := simulate.ParseTransport(*netName)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	// Offline: frames as the model drew them (no in-band header floor, no
	// MTU ceiling).
	fr := simulate.NewFraming(tr, *ipv6)
	fr.Offline = true
	opt := simulate.GenOptions{Packets: *packets, Duration: *duration, Framing: fr, Stagger: *stagger, Ordered: *convs > 1}
	if *start != "" {
		t, err := time.Parse(time.RFC3339Nano, *start)
		if err != nil {
			return fmt.Errorf("generate: --start %q: %v", *start, err)
		}
		opt.StartNS = t.UnixNano()
		if opt.StartNS <= 0 {
			return fmt.Errorf("generate: --start %q: must be after 1970", *start)
		}
	}
	var set samplerSet
	defer set.close()
	newSampler, fp, err := mf.factory(stderr, &set)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	s, err := newSampler(0)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	csvPath := ""
	if *csvOut {
		csvPath = strings.TrimSuffix(*out, ".pcap") + ".csv"
		if csvPath == *out {
			csvPath = *out + ".csv"
		}
	}
	rec, err := simulate.NewFileRecorder(*out, csvPath, time.Second)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	server, client := trace.DefaultServer, trace.DefaultClient
	if *ipv6 {
		server.Addr, client.Addr = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	}
	sap := netip.AddrPortFrom(server.Addr, server.Port)
	st, err := simulate.GenerateMany(ctx, s, *convs, opt, func(c int, e simulate.Event) error {
		cip := clientEndpoint(client, c)
		r := simulate.Rec{Sent: true, Conv: uint32(c + 1), TS: e.Packet.TS, Size: e.Packet.Size, Header: e.Header,
			Src: cip, Dst: sap, Transport: tr, From: e.Packet.From}
		if e.Packet.From == trace.Server {
			r.Src, r.Dst = sap, cip
		}
		return rec.Record(r)
	})
	if cerr := rec.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("generate: interrupted after %d packets; %s holds them", st.Packets, *out)
		}
		return fmt.Errorf("generate: %w", err)
	}
	fmt.Fprintf(stdout, "generated %d packets (%d server, %d client) in %d bursts of %d conversation(s), %.3f s of traffic, model %s\n",
		st.Packets, st.PerSide[trace.Server], st.PerSide[trace.Client], st.Bursts, *convs, float64(st.LastNS-st.FirstNS)/1e9, fp)
	fmt.Fprintf(stdout, "%.0f packets/s (%v), %d sampler calls; clamped: size %d, count %d, time %d\n",
		st.PacketsPerSecond(), st.Elapsed.Round(time.Millisecond), st.SamplerCalls, st.Clamps.Size, st.Clamps.Count, st.Clamps.Time)
	fmt.Fprintf(stdout, "wrote %s", *out)
	if csvPath != "" {
		fmt.Fprintf(stdout, " and %s", csvPath)
	}
	fmt.Fprintln(stdout)
	return nil
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
