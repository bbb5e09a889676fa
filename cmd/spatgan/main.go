// Command spatgan trains, runs and evaluates SPATGAN synthetic traffic generators. Run `spatgan help` for the subcommands.
package main

import (
	"os"

	"github.com/spatgan/spatgan/cmd/internal/cli"
)

func main() { os.Exit(cli.Main("spatgan", cli.Run)) }
