package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/spatgan/spatgan/trace"
)

// traceFlags are the flags every command that reads a real conversation
// takes: the capture and how to pick the conversation in it.
type traceFlags struct {
	path, server, client, proto string
}

func (t *traceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.path, "trace", "default", "capture to read (pcap, pcapng or CSV), or \"default\" for the embedded Skype call")
	fs.StringVar(&t.server, "server", "", "the server of the conversation to read in --trace, ADDR[:PORT] (default: chosen automatically)")
	fs.StringVar(&t.client, "client", "", "the client of the conversation to read in --trace, ADDR[:PORT] (default: chosen automatically)")
	fs.StringVar(&t.proto, "proto", "any", "protocol of the conversation: udp, tcp or any")
}

// load reads the conversation and says which one was chosen.
func (t *traceFlags) load(stderr io.Writer) (*trace.Conversation, error) {
	var c *trace.Conversation
	var err error
	if t.path == "default" || t.path == "" {
		if t.server != "" || t.client != "" {
			return nil, fmt.Errorf("--server and --client apply to --trace FILE, not to the embedded trace")
		}
		c, err = trace.Default()
	} else {
		c, err = trace.Load(t.path, trace.Select{Server: t.server, Client: t.client, Proto: t.proto})
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "conversation: %s, server %s, client %s, %s, %d packets\n", c.Source, c.Server, c.Client, c.Proto, len(c.Packets))
	return c, nil
}

// newFlagSet returns a flag set whose usage names the command and summary.
func newFlagSet(name, args, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: spatgan %s %s\n\n%s\n\nflags:\n", name, args, summary)
		fs.PrintDefaults()
	}
	return fs
}

// errHelp means --help was asked for and printed: the command ends with
// success and does nothing else.
var errHelp = errors.New("help printed")

// parseFlags parses a command's flags and allows no positional argument.
// It returns errHelp after --help, errUsage for bad flags (the flag package
// has printed why), and an error naming the command for a stray argument.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// ignoreHelp turns errHelp into success.
func ignoreHelp(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}
