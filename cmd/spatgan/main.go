package main

import (
	"os"
	"strings"
	"syscall"

	"github.com/spatgan/spatgan/cmd/internal/cli"
)

func main() {
	oneDNNForTraining()
	os.Exit(cli.Main("spatgan", cli.Run))
}

// oneDNNVar is read by TensorFlow once, while its libraries load (before
// any Go code runs), so a process can only get it from its environment.
const oneDNNVar = "TF_ENABLE_ONEDNN_OPTS"

// oneDNNForTraining restarts `spatgan train` with oneDNN's kernels on when
// the environment does not choose. TensorFlow turns them on by itself only
// on CPUs with AVX-512 VNNI or newer. On an AVX2 machine they trained the
// default configuration at 32-35 generator steps/s against 25-27 with
// TensorFlow's own kernels (500-step runs; BENCHMARKS.md, "Training on an
// AVX2 machine"), while the fused generator's batch-1 draws, as the live
// agents make them, ran at 10-11 thousand rows/s against 20-27 thousand, so
// only training asks for them. Setting the variable (0 or 1) disables this.
func oneDNNForTraining() {
	if !isTrain(os.Args[1:]) {
		return
	}
	if _, set := os.LookupEnv(oneDNNVar); set {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	// On success Exec does not return; on failure training goes on with
	// TensorFlow's choice.
	_ = syscall.Exec(exe, os.Args, append(os.Environ(), oneDNNVar+"=1"))
}

// isTrain reports whether a command line is `spatgan train`: its first
// argument that is not a flag (such as --verbose) names the command.
func isTrain(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if !strings.HasPrefix(a, "-") {
			return a == "train"
		}
	}
	return false
}
