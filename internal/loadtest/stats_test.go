package loadtest

import (
	"math"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value p50", []time.Duration{7}, 50, 7},
		{"one value p99", []time.Duration{7}, 99, 7},
		{"two values p50 is the lower", []time.Duration{1, 2}, 50, 1},
		{"two values p51 is the upper", []time.Duration{1, 2}, 51, 2},
		{"1..100 p50", hundred, 50, 50 * time.Millisecond},
		{"1..100 p95", hundred, 95, 95 * time.Millisecond},
		{"1..100 p99", hundred, 99, 99 * time.Millisecond},
		{"1..100 p100", hundred, 100, 100 * time.Millisecond},
		{"1..100 p0 clamps to the minimum", hundred, 0, 1 * time.Millisecond},
		{"1..100 p99.5 rounds the rank up", hundred, 99.5, 100 * time.Millisecond},
		{"ten values p99 is the maximum", hundred[:10], 99, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := Percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("Percentile(%s, %v) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
}

func TestSummarizeSortsAndSummarises(t *testing.T) {
	// 1..200 ms in reverse order: Summarize must sort before ranking.
	d := make([]time.Duration, 200)
	for i := range d {
		d[i] = time.Duration(200-i) * time.Millisecond
	}
	got := Summarize(d)
	want := Latency{P50: 100, P95: 190, P99: 198, Max: 200, Mean: 100.5}
	if got != want {
		t.Errorf("Summarize(200..1 ms) = %+v, want %+v", got, want)
	}
	if got := Summarize(nil); got != (Latency{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", got)
	}
}

func TestEfficiency(t *testing.T) {
	tests := []struct {
		rate, bound float64
		want        float64
		ok          bool
	}{
		{rate: 30, bound: 40, want: 0.75, ok: true},
		{rate: 40, bound: 40, want: 1, ok: true},
		{rate: 0, bound: 40, want: 0, ok: true},
		{rate: 30, bound: 0, ok: false},
		{rate: 30, bound: -1, ok: false},
		{rate: 30, bound: math.NaN(), ok: false},
	}
	for _, tt := range tests {
		got, ok := Efficiency(tt.rate, tt.bound)
		if ok != tt.ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Efficiency(%v, %v) = %v, %v, want %v, %v", tt.rate, tt.bound, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPerSecond(t *testing.T) {
	tests := []struct {
		n       int
		elapsed time.Duration
		want    float64
	}{
		{100, 2 * time.Second, 50},
		{3, 1500 * time.Millisecond, 2},
		{0, time.Second, 0},
		{5, 0, 0},
	}
	for _, tt := range tests {
		if got := PerSecond(tt.n, tt.elapsed); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("PerSecond(%d, %v) = %v, want %v", tt.n, tt.elapsed, got, tt.want)
		}
	}
}
