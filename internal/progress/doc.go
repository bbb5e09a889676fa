// Package progress draws a one-line progress bar with rate, ETA and a
// free-form status (for example the current losses). On a terminal the line
// is redrawn in place; otherwise a line is printed at most every Interval.
//
// The rate and ETA are measured from the first Add on, not from New: the
// time before the first unit (building graphs, opening sessions, loading a
// model) says nothing about the speed of the units, and counting it made
// the first ETA of a training run read hours for minutes. Until the first
// Add is a quarter of a second old the ETA reads "?".
package progress
