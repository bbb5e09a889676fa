// Command spatgan-server is the server side of a live SPATGAN conversation: the same command and flags as `spatgan simulate server`.
package main
