// Package cli is the command line of SPATGAN: the spatgan command and the
// per-side simulation binaries spatgan-server and spatgan-client, which are
// thin mains over it. Each entry point is run(ctx, stdout, stderr, args)
// error, so that tests drive it as a user would.
//
// The commands use cobra with pflag: GNU-style --flags, one help layout,
// command suggestions and shell completion (spatgan completion bash|zsh|fish)
// come with it, and a flag error is one line naming the flag, the closest
// valid one and where the help is (see flagError).
package cli
