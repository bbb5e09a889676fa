package cli

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spatgan/spatgan/trace"
)

// flagError turns pflag's parse errors into one line: the command, the
// flag, the closest valid flag or how to write the value, and where the
// help is.
func flagError(cmd *cobra.Command, err error) error {
	path, prefix := cmd.CommandPath(), errPrefix(cmd)
	msg := err.Error()
	help := fmt.Sprintf("see %s --help", path)
	switch {
	case strings.HasPrefix(msg, "unknown flag: "):
		name := strings.TrimPrefix(msg, "unknown flag: ")
		if s := suggestFlag(cmd, strings.TrimLeft(name, "-")); s != "" {
			return fmt.Errorf("%sunknown flag %s; did you mean --%s? (%s)", prefix, name, s, help)
		}
		return fmt.Errorf("%sunknown flag %s (%s)", prefix, name, help)
	case strings.HasPrefix(msg, "unknown shorthand flag: "):
		// "unknown shorthand flag: 't' in -trace": a long flag with one dash.
		word := msg[strings.LastIndex(msg, " in -")+5:]
		name, _, _ := strings.Cut(word, "=")
		if f := cmd.Flags().Lookup(name); f != nil {
			return fmt.Errorf("%s-%s: long flags take two dashes: --%s (%s)", prefix, word, name, help)
		}
		if s := suggestFlag(cmd, name); s != "" {
			return fmt.Errorf("%sunknown flag -%s; did you mean --%s? (%s)", prefix, word, s, help)
		}
		return fmt.Errorf("%sunknown flag -%s (%s)", prefix, word, help)
	}
	if m := invalidArg.FindStringSubmatch(msg); m != nil {
		val, flag, why := m[1], m[2], m[3]
		f := cmd.Flags().Lookup(strings.TrimLeft(flag, "-"))
		typ := ""
		if f != nil {
			typ = f.Value.Type()
		}
		switch {
		case typ == "duration" && strings.Contains(why, "missing unit"):
			return fmt.Errorf("%s%s %q: a duration needs a unit, e.g. %ss, 1m30s or 500ms (%s)", prefix, flag, val, val, help)
		case typ == "duration":
			return fmt.Errorf("%s%s %q: not a duration; write e.g. 20s, 1m30s or 500ms (%s)", prefix, flag, val, help)
		case strings.HasPrefix(typ, "int") || strings.HasPrefix(typ, "uint"):
			return fmt.Errorf("%s%s %q: not a whole number (%s)", prefix, flag, val, help)
		case strings.HasPrefix(typ, "float"):
			return fmt.Errorf("%s%s %q: not a number (%s)", prefix, flag, val, help)
		case typ == "bool":
			return fmt.Errorf("%s%s %q: want true or false (%s)", prefix, flag, val, help)
		}
		return fmt.Errorf("%s%s %q: %s (%s)", prefix, flag, val, why, help)
	}
	return fmt.Errorf("%s%s (%s)", prefix, msg, help)
}

var invalidArg = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?(--[\w-]+)" flag: (.*)$`)

// errPrefix is the start of a command's error messages: its path without
// the program's name, which main prints ("spatgan: plot flow: ..."), or
// nothing for the program itself.
func errPrefix(cmd *cobra.Command) string {
	_, rest, ok := strings.Cut(cmd.CommandPath(), " ")
	if !ok {
		return ""
	}
	return rest + ": "
}

// suggestFlag returns the visible flag of cmd closest to name (by edit
// distance, or a prefix), or "".
func suggestFlag(cmd *cobra.Command, name string) string {
	best, bestD := "", 3
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(name, f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// alias adds old as a hidden alias of the flag name (same value), for
// flags that were renamed.
func alias(fs *pflag.FlagSet, old, name string) {
	f := fs.Lookup(name)
	fs.Var(f.Value, old, "alias of --"+name)
	fs.MarkHidden(old)
}

// changed reports whether any of the named flags was set.
func changed(fs *pflag.FlagSet, names ...string) bool {
	for _, n := range names {
		if f := fs.Lookup(n); f != nil && f.Changed {
			return true
		}
	}
	return false
}

// atLeast checks integer flags against their lower bounds, in order.
func atLeast(cmd string, checks ...bound) error {
	for _, c := range checks {
		if c.v < c.min {
			what := fmt.Sprintf("at least %d", c.min)
			if c.min == 0 {
				what = "a number >= 0"
			}
			if c.note != "" {
				what += " (" + c.note + ")"
			}
			return fmt.Errorf("%s: --%s %d: want %s", cmd, c.name, c.v, what)
		}
	}
	return nil
}

type bound struct {
	name   string
	v, min int64
	note   string
}

// traceFlags are the flags of every command that reads a real
// conversation: the capture and how to pick the conversation in it.
type traceFlags struct {
	path, server, client, proto string
	strict                      bool
}

func (t *traceFlags) register(fs *pflag.FlagSet) {
	t.registerTrace(fs, "default", "capture to read (pcap, pcapng or CSV), or \"default\" for the embedded Skype call")
}

// registerTrace registers the flags with --trace's default and usage.
func (t *traceFlags) registerTrace(fs *pflag.FlagSet, def, usage string) {
	fs.StringVar(&t.path, "trace", def, usage)
	fs.StringVar(&t.server, "server", "", "the server of the conversation to read in --trace, ADDR, ADDR:PORT or [V6ADDR]:PORT (default: chosen automatically)")
	fs.StringVar(&t.client, "client", "", "the client of the conversation to read in --trace, in the forms of --server (default: chosen automatically)")
	fs.StringVar(&t.proto, "proto", "any", "protocol of the conversation to read in --trace: udp, tcp or any")
	fs.BoolVar(&t.strict, "strict", false, "refuse a capture cut short (default: read it up to its last whole record, with a warning)")
}

func (t *traceFlags) isDefault() bool { return t.path == "default" || t.path == "" }

func (t *traceFlags) sel() trace.Select {
	return trace.Select{Server: t.server, Client: t.client, Proto: t.proto, Strict: t.strict}
}

// load reads the conversation and says which one was chosen.
func (t *traceFlags) load(stderr io.Writer) (*trace.Conversation, error) {
	var c *trace.Conversation
	var err error
	if t.isDefault() {
		if t.server != "" || t.client != "" {
			return nil, fmt.Errorf("--server and --client apply to --trace FILE, not to the embedded trace")
		}
		c, err = trace.Default()
	} else {
		c, err = trace.Load(t.path, t.sel())
	}
	if err != nil {
		return nil, err
	}
	warnTruncated(stderr, c)
	fmt.Fprintf(stderr, "conversation: %s, server %s, client %s, %s, %d packets\n", c.Source, c.Server, c.Client, c.Proto, len(c.Packets))
	return c, nil
}

// warnTruncated says where a capture cut short was read up to.
func warnTruncated(stderr io.Writer, c *trace.Conversation) {
	if c.Truncated != nil {
		fmt.Fprintf(stderr, "warning: %v; read up to the last whole record before it (--strict refuses such a file)\n", c.Truncated)
	}
}
