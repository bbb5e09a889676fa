package main

import (
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
	fs.StringVar(&t.server, "server", "", "server endpoint ADDR[:PORT] (default: chosen automatically)")
	fs.StringVar(&t.client, "client", "", "client endpoint ADDR[:PORT] (default: chosen automatically)")
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
