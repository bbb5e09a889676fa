// Command gendefault converts skype_eth_5.csv into the compact conversation
// embedded by the trace package (trace.Default). Run it with `go generate
// ./trace/` from the repository root, with the shared data at
// ../shared/data; the output is byte-for-byte reproducible.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/spatgan/spatgan/trace"
)

func main() {
	in := flag.String("in", "../../shared/data/skype_eth_5.csv", "input CSV")
	out := flag.String("out", "embedded/skype_eth_5.spc", "output compact file")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gendefault:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	c, err := trace.Load(in, trace.Select{Server: "124.123.243.15", Client: "192.168.1.133", Proto: "any"})
	if err != nil {
		return err
	}
	c.Source = trace.DefaultSource
	var buf bytes.Buffer
	if err := trace.EncodeCompact(&buf, c); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("gendefault: %s: %d packets -> %s (%d bytes)\n", in, len(c.Packets), out, buf.Len())
	return nil
}
