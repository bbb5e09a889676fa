package main

import (
	"os"

	"github.com/spatgan/spatgan/cmd/internal/cli"
)

func main() { os.Exit(cli.Main("spatgan-client", cli.RunClient)) }
