package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Version is stamped by the Makefile with -ldflags -X.
var Version = "dev"

// errUsage marks an error already explained by printed usage: main prints
// nothing more.
var errUsage = errors.New("usage")

// Main runs an entry point with the process's arguments, stops it on SIGINT
// or SIGTERM, and returns the exit code: 0, or 1 after printing the error.
func Main(name string, run func(ctx context.Context, stdout, stderr io.Writer, args []string) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, name+":", err)
		}
		return exitCode(err)
	}
	return 0
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

// Run is the spatgan command.
func Run(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	root := &cobra.Command{
		Use:   "spatgan",
		Short: "Train, run and evaluate SPATGAN synthetic traffic generators",
		Long: "SPATGAN trains conditional WGAN-GP generators on a two-party conversation and replays it\n" +
			"as synthetic traffic, offline (generate) or on real sockets (simulate).\n\n" +
			"Every command reading a capture takes --trace FILE (pcap, pcapng or CSV; \"default\" is the\n" +
			"embedded Skype call). TensorFlow's own log lines are hidden unless --verbose or SPATGAN_TF_LOG=1.",
		Version: Version,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				cmd.SetOut(cmd.ErrOrStderr())
				cmd.Help()
				return errUsage
			}
			return unknownCommand(cmd, args[0])
		},
	}
	root.SetVersionTemplate("spatgan {{.Version}}\n")
	root.AddCommand(trainCmd(), generateCmd(), traceCmd(), plotCmd(), simulateCmd(), benchCmd(), versionCmd())
	return execute(ctx, root, stdout, stderr, args)
}

// RunServer is the spatgan-server command: spatgan simulate server.
func RunServer(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	c := simulateRoleCmd("server")
	c.Use = "spatgan-server"
	c.Version = Version
	return execute(ctx, c, stdout, stderr, args)
}

// RunClient is the spatgan-client command: spatgan simulate client.
func RunClient(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	c := simulateRoleCmd("client")
	c.Use = "spatgan-client"
	c.Version = Version
	return execute(ctx, c, stdout, stderr, args)
}

func versionCmd() *cobra.Command {
	return &cobra.Command{Use: "version", Short: "print the version", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "spatgan", Version)
			return nil
		}}
}

// execute runs root with the shared settings: output streams, the global
// --verbose flag, one-line flag errors, and no usage dump on errors.
func execute(ctx context.Context, root *cobra.Command, stdout, stderr io.Writer, args []string) error {
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.CompletionOptions.HiddenDefaultCmd = true
	// quiet.c in tf/ reads --verbose from the raw command line before
	// TensorFlow loads; here it only has to be accepted.
	root.PersistentFlags().Bool("verbose", false, "show TensorFlow's own log lines (also SPATGAN_TF_LOG=1)")
	root.SetFlagErrorFunc(flagError)
	return root.ExecuteContext(ctx)
}

// group returns a command that only holds subcommands: without one it
// prints its help and fails; with an unknown one it names the closest.
func group(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Long: long, Args: cobra.ArbitraryArgs,
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				cmd.SetOut(cmd.ErrOrStderr())
				cmd.Help()
				return errUsage
			}
			return unknownCommand(cmd, args[0])
		}}
	c.AddCommand(subs...)
	return c
}

// unknownCommand names the closest subcommand of cmd.
func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("%sunknown command %q", errPrefix(cmd), name)
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(s, " or "))
	} else {
		var names []string
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				names = append(names, c.Name())
			}
		}
		msg += " (want " + strings.Join(names, ", ") + ")"
	}
	return fmt.Errorf("%s; see %s --help", msg, cmd.CommandPath())
}

// noArgs refuses positional arguments with a one-line error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%sunexpected argument %q (flags start with --; see %s --help)", errPrefix(cmd), args[0], cmd.CommandPath())
	}
	return nil
}
