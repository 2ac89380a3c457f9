package loadtest

import (
	"math"
	"slices"
	"time"
)

// Latency summarises the recorded durations of a set of requests, in
// milliseconds.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, the smallest value that at least p percent of the values do not
// exceed. It returns 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Summarize sorts d in place and returns its percentiles. Exact
// percentiles from every recorded duration are affordable because the
// number of requests per phase is capped.
func Summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Latency{
		P50:  ms(Percentile(d, 50)),
		P95:  ms(Percentile(d, 95)),
		P99:  ms(Percentile(d, 99)),
		Max:  ms(d[len(d)-1]),
		Mean: ms(sum / time.Duration(len(d))),
	}
}

// Efficiency returns rate ÷ bound, the share of the machine's bcrypt
// capacity a password path turned into answers, and false when there is no
// bound to divide by.
func Efficiency(rate, bound float64) (float64, bool) {
	if bound <= 0 || math.IsNaN(bound) || math.IsNaN(rate) {
		return 0, false
	}
	return rate / bound, true
}

// PerSecond returns n events over elapsed as a rate, 0 for no time.
func PerSecond(n int, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(n) / elapsed.Seconds()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
