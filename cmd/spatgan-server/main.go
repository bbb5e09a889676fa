// Command spatgan-server is the server side of a live SPATGAN conversation: the same command and flags as `spatgan simulate server`.
package main

import (
	"os"

	"github.com/spatgan/spatgan/cmd/internal/cli"
)

func main() { os.Exit(cli.Main("spatgan-server", cli.RunServer)) }
