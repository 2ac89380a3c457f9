// Package loadtest is the engine of cmd/authbench: it drives a running
// authserve over HTTP in timed, bounded phases, measures the bcrypt bound of
// the machine it runs on, and reports throughput, latency percentiles and
// status counts as a table, JSON and an SVG chart.
//
// Every loop in this package is bounded twice, by a count and by a clock,
// and the HTTP client dials loopback addresses only unless told otherwise.
package loadtest
