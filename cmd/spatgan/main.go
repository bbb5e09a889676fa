// Command spatgan trains, runs and evaluates SPATGAN synthetic traffic
// generators. Run `spatgan help` for the subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// version is stamped by the Makefile with -ldflags -X.
var version = "dev"

// command is one subcommand. Each lives in its own file and registers itself
// in an init function, so that subcommands can be added independently.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, stdout, stderr io.Writer, args []string) error
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// errUsage marks an error already explained by printed usage.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "spatgan:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitCode is 1, or the status an error asks for (an interrupted training
// run: 130).
func exitCode(err error) int {
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) && ec.ExitCode() > 0 {
		return ec.ExitCode()
	}
	return 1
}

func run(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "spatgan", version)
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return c.run(ctx, stdout, stderr, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: spatgan <command> [arguments]  (spatgan <command> --help for details)")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "version", "print the version")
}
