package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spatgan/spatgan/bench"
)

func main() {
	if err := run(context.Background(), os.Stdout, os.Stderr, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fidelitysummary:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("fidelitysummary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	comps := fs.String("comparators", strings.Join(bench.SummaryComparators, ","), "comma-separated comparators to show, in order")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: fidelitysummary [-comparators real,gan,...] REPORT.json...")
	}
	var reps []bench.NamedReport
	for _, path := range fs.Args() {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		r, err := bench.ReadJSON(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		reps = append(reps, bench.NamedReport{Name: strings.TrimSuffix(filepath.Base(path), ".json"), Report: r})
	}
	return bench.WriteSummary(stdout, reps, strings.Split(*comps, ","))
}
