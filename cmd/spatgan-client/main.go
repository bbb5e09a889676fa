// Command spatgan-client is the client side of a live SPATGAN conversation: the same command and flags as `spatgan simulate client`.
package main

import (
	"os"

	"github.com/spatgan/spatgan/cmd/internal/cli"
)

func main() { os.Exit(cli.Main("spatgan-client", cli.RunClient)) }
