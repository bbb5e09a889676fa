// Package testconv makes the synthetic conversation of the fidelity tests
// of package bench and package bench/gan.
package testconv
