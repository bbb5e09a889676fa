package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/spatgan/spatgan/trace"
)

func main() {
	in := flag.String("in", "../../shared/data/skype_eth_5.csv", "input capture")
	out := flag.String("out", "embedded/skype_eth_5.spc", "output compact file")
	server := flag.String("server", "124.123.243.15", "server endpoint ADDR[:PORT] (empty: chosen automatically)")
	client := flag.String("client", "192.168.1.133", "client endpoint ADDR[:PORT] (empty: chosen automatically)")
	proto := flag.String("proto", "any", "protocol: udp, tcp or any")
	source := flag.String("source", trace.DefaultSource, "source name recorded in the file (empty: the input path)")
	flag.Parse()
	sel := trace.Select{Server: *server, Client: *client, Proto: *proto}
	if err := run(*in, *out, *source, sel); err != nil {
		fmt.Fprintln(os.Stderr, "gendefault:", err)
		os.Exit(1)
	}
}

func run(in, out, source string, sel trace.Select) error {
	c, err := trace.Load(in, sel)
	if err != nil {
		return err
	}
	if source != "" {
		c.Source = source
	}
	var buf bytes.Buffer
	if err := trace.EncodeCompact(&buf, c); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("gendefault: %s: server %s, client %s, %s: %d packets -> %s (%d bytes)\n",
		in, c.Server, c.Client, c.Proto, len(c.Packets), out, buf.Len())
	return nil
}
