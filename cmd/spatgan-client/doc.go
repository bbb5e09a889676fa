// Command spatgan-client is the client side of a live SPATGAN conversation: the same command and flags as `spatgan simulate client`.
package main
