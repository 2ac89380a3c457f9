//go:build race

package main

// raceEnabled is true under the race detector, whose instrumentation
// multiplies the cost of Go code several times but not that of the
// database's fsync: timing ratios between paths that differ in Go work are
// not meaningful then.
const raceEnabled = true
