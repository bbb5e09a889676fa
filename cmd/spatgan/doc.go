// Command spatgan trains, runs and evaluates SPATGAN synthetic traffic generators. Run `spatgan help` for the subcommands.
package main
