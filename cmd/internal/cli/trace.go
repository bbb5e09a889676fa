package cli

import (
	"errors"
	"fmt"
	"github.com/spatgan/spatgan/internal/atomicfile"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spatgan/spatgan/trace"
)

const traceLong = `inspect prints the capture's conversations (busiest first), the chosen one
with explicit server and client roles, and per direction the packet count,
size, inter-arrival, burst-length and reply-gap statistics.
export writes the chosen conversation's features as CSV.

--trace FILE is a pcap, pcapng or CSV (format detected from the content,
gzip allowed), or "default" for the embedded Skype call.`

func traceCmd() *cobra.Command {
	return group("trace", "inspect a capture and export its conversation features", traceLong,
		traceInspectCmd(), traceExportCmd())
}

// selFlags are the capture and conversation selection flags of both
// subcommands: traceFlags with no default capture. The capture may also be
// given as the one argument (the older form).
type selFlags struct{ traceFlags }

func (s *selFlags) register(fs *pflag.FlagSet) {
	s.registerTrace(fs, "", "capture to read (pcap, pcapng or CSV), or \"default\" for the embedded Skype call (required)")
}

func (s *selFlags) resolveFile(cmd string, args []string) error {
	switch {
	case len(args) > 1:
		return fmt.Errorf("%s: unexpected arguments %q", cmd, args[1:])
	case len(args) == 1 && s.path != "":
		return fmt.Errorf("%s: the capture is given twice (--trace %s and %s)", cmd, s.path, args[0])
	case len(args) == 1:
		s.path = args[0]
	case s.path == "":
		return fmt.Errorf("%s: --trace FILE is required (a capture, or \"default\")", cmd)
	}
	return nil
}

// loadListed lists the capture's conversations and loads the chosen one:
// two passes over the file. For "default" the listing is nil.
func loadListed(sel selFlags, ports bool) (*trace.Listing, *trace.Conversation, string, error) {
	file := sel.path
	if file == "default" {
		if sel.server != "" || sel.client != "" {
			return nil, nil, "", errors.New("trace: --server and --client apply to a capture FILE, not to the embedded trace")
		}
		c, err := trace.Default()
		return nil, c, "embedded default trace", err
	}
	s := trace.Select{Server: sel.server, Client: sel.client, Proto: sel.proto, Strict: sel.strict}
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
	l, err := trace.List(file, trace.ListOptions{Ports: wantPorts, Proto: sel.proto, Strict: sel.strict})
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

func traceInspectCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "inspect --trace FILE [flags]", Short: "print the conversations of a capture and statistics of the chosen one",
		Args: cobra.ArbitraryArgs}
	fs := cmd.Flags()
	var sel selFlags
	sel.register(fs)
	all := fs.Bool("all", false, "list every conversation (default: the 10 busiest)")
	ports := fs.Bool("ports", false, "list conversations by protocol and address:port pairs instead of address pairs")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := sel.resolveFile("trace inspect", args); err != nil {
			return err
		}
		stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
		l, c, how, err := loadListed(sel, *ports)
		if err != nil {
			if l != nil {
				// Still show what the capture holds, to help pick --server/--client.
				trace.Inspect(stdout, l, nil, trace.InspectOptions{MaxConvs: -1})
			}
			return err
		}
		if l != nil && l.Truncated != nil {
			fmt.Fprintf(stderr, "warning: %v; read up to the last whole record before it (--strict refuses such a file)\n", l.Truncated)
		}
		opt := trace.InspectOptions{How: how}
		if *all {
			opt.MaxConvs = -1
		}
		return trace.Inspect(stdout, l, c, opt)
	}
	return cmd
}

func traceExportCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "export --trace FILE --out features.csv [flags]", Short: "write the chosen conversation's features as CSV",
		Args: cobra.ArbitraryArgs}
	fs := cmd.Flags()
	var sel selFlags
	sel.register(fs)
	out := fs.String("out", "", "output CSV file (\"-\" for standard output)")
	table := fs.String("table", trace.TablePackets, "table to write: packets (one row per packet, every feature), bursts (one row per burst), or conversation (the packets in the shared/data CSV format)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := sel.resolveFile("trace export", args); err != nil {
			return err
		}
		if *out == "" {
			return errors.New("trace export: --out FILE is required")
		}
		return runTraceExport(cmd.OutOrStdout(), cmd.ErrOrStderr(), sel, *out, *table)
	}
	return cmd
}

func runTraceExport(stdout, stderr io.Writer, sel selFlags, out, table string) error {
	_, c, how, err := loadListed(sel, false)
	if err != nil {
		return err
	}
	warnTruncated(stderr, c)
	fmt.Fprintf(stderr, "conversation: %s, server %s, client %s, protocol %s, %d packets (%s)\n", c.Source, c.Server, c.Client, c.Proto, len(c.Packets), how)
	if out == "-" {
		return trace.ExportFeatures(stdout, c, table)
	}
	if err := atomicfile.Write(out, func(w io.Writer) error { return trace.ExportFeatures(w, c, table) }); err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	return nil
}
