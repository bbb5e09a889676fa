package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/spatgan/spatgan/internal/atomicfile"
	"github.com/spatgan/spatgan/trace"
)

func init() {
	register(command{name: "trace", summary: "inspect a capture and export its conversation features", run: runTrace})
}

const traceUsage = `usage: spatgan trace inspect FILE [flags]
       spatgan trace export FILE --out features.csv [flags]

inspect prints the capture's conversations (busiest first), the chosen one
with explicit server and client roles, and per direction the packet count,
size, inter-arrival, burst-length and reply-gap statistics.
export writes the chosen conversation's features as CSV.

FILE is a pcap, pcapng or CSV (format detected from the content, gzip
allowed), or "default" for the embedded Skype call. Run
"spatgan trace inspect --help" for the flags.
`

func runTrace(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, traceUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "inspect":
		return runTraceInspect(stdout, stderr, args[1:])
	case "export":
		return runTraceExport(stdout, stderr, args[1:])
	}
	fmt.Fprint(stderr, traceUsage)
	return fmt.Errorf("trace: unknown subcommand %q (want inspect or export)", args[0])
}

// selFlags are the conversation selection flags of both subcommands.
type selFlags struct {
	server, client, proto string
}

func (s *selFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.server, "server", "", "server endpoint ADDR, ADDR:PORT or [V6ADDR]:PORT (default: chosen automatically)")
	fs.StringVar(&s.client, "client", "", "client endpoint, same forms (default: chosen automatically)")
	fs.StringVar(&s.proto, "proto", "any", "protocol of the conversation: udp, tcp or any")
}

// parseWithFile parses flags placed before and after the one positional
// FILE argument.
func parseWithFile(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return "", fmt.Errorf("trace: missing FILE (a capture, or \"default\")")
	}
	file := rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return "", err
	}
	if len(fs.Args()) > 0 {
		fs.Usage()
		return "", fmt.Errorf("trace: unexpected arguments %q", fs.Args())
	}
	return file, nil
}

// loadListed lists the capture's conversations and loads the chosen one:
// two passes over the file. For "default" the listing is nil.
func loadListed(file string, sel selFlags, ports bool) (*trace.Listing, *trace.Conversation, string, error) {
	if file == "default" {
		if sel.server != "" || sel.client != "" {
			return nil, nil, "", errors.New("trace: --server and --client apply to a capture FILE, not to the embedded trace")
		}
		c, err := trace.Default()
		return nil, c, "embedded default trace", err
	}
	s := trace.Select{Server: sel.server, Client: sel.client, Proto: sel.proto}
	wantPorts := ports
	for _, e := range []string{sel.server, sel.client} {
		if e != "" {
			ep, err := trace.ParseEndpoint(e)
			if err != nil {
				return nil, nil, "", err
			}
			wantPorts = wantPorts || ep.Port != 0
		}
	}
	l, err := trace.List(file, trace.ListOptions{Ports: wantPorts, Proto: sel.proto})
	if err != nil {
		return nil, nil, "", err
	}
	resolved, err := l.Resolve(s)
	if err != nil {
		return l, nil, "", err
	}
	how := "given by --server and --client"
	switch {
	case sel.server == "" && sel.client == "":
		how = "automatic: the busiest two-way pair; the client sent its first packet"
	case sel.server == "":
		how = "server chosen automatically: the busiest two-way peer of the client"
	case sel.client == "":
		how = "client chosen automatically: the busiest two-way peer of the server"
	}
	c, err := trace.Load(file, resolved)
	return l, c, how, err
}

func runTraceInspect(stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("trace inspect", "FILE [flags]", "Print the conversations of a capture and statistics of the chosen one.", stderr)
	var sel selFlags
	sel.register(fs)
	all := fs.Bool("all", false, "list every conversation (default: the 10 busiest)")
	ports := fs.Bool("ports", false, "list conversations by protocol and address:port pairs instead of address pairs")
	file, err := parseWithFile(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	l, c, how, err := loadListed(file, sel, *ports)
	if err != nil {
		if l != nil {
			// Still show what the capture holds, to help pick --server/--client.
			trace.Inspect(stdout, l, nil, trace.InspectOptions{MaxConvs: -1})
		}
		return err
	}
	opt := trace.InspectOptions{How: how}
	if *all {
		opt.MaxConvs = -1
	}
	return trace.Inspect(stdout, l, c, opt)
}

func runTraceExport(stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("trace export", "FILE --out features.csv [flags]", "Write the chosen conversation's features as CSV.", stderr)
	var sel selFlags
	sel.register(fs)
	out := fs.String("out", "", "output CSV file (\"-\" for standard output)")
	table := fs.String("table", trace.TablePackets, "table to write: packets (one row per packet, every feature), bursts (one row per burst), or conversation (the packets in the shared/data CSV format)")
	file, err := parseWithFile(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *out == "" {
		fs.Usage()
		return errors.New("trace: export needs --out FILE")
	}
	_, c, how, err := loadListed(file, sel, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "conversation: %s, server %s, client %s, protocol %s, %d packets (%s)\n", c.Source, c.Server, c.Client, c.Proto, len(c.Packets), how)
	if *out == "-" {
		return trace.ExportFeatures(stdout, c, *table)
	}
	if err := atomicfile.Write(*out, func(w io.Writer) error { return trace.ExportFeatures(w, c, *table) }); err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	return nil
}
