package loadtest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr(f float64) *float64 { return &f }

func TestMedian(t *testing.T) {
	run := func(id string, bound, rps, eff, p99, probeP99 float64, extra ...PhaseResult) *Report {
		return &Report{
			RunID: id,
			Bound: &Bound{Cost: 10, Workers: 2, PerSecond: bound, HashMS: 2000 / bound},
			Phases: append([]PhaseResult{{
				Kind: KindLogin, Concurrency: 8, Requests: int(rps * 10), OK: int(rps * 10), Seconds: 10,
				RPS: rps, OKPerSecond: rps, Efficiency: ptr(eff),
				Latency:  Latency{P50: p99 / 2, P95: p99 - 1, P99: p99, Max: p99 + 1, Mean: p99 / 2},
				Statuses: map[string]int{"200": int(rps * 10)},
				Probe:    &ProbeResult{Requests: 500, IntervalMS: 20, Latency: Latency{P99: probeP99}, Statuses: map[string]int{"200": 500}},
			}}, extra...),
		}
	}
	me := PhaseResult{Kind: KindMe, Concurrency: 32, RPS: 20000, OKPerSecond: 20000, Statuses: map[string]int{"200": 5}}
	got, err := Median([]*Report{
		run("a", 26, 25, 0.96, 400, 3, me),
		run("c", 30, 29, 0.97, 300, 9),
		run("b", 28, 27, 0.99, 350, 1, me),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Bound.PerSecond != 28 {
		t.Errorf("bound = %v, want 28 (the median)", got.Bound.PerSecond)
	}
	if got.RunID != "median of 3 runs (a, b, c)" {
		t.Errorf("RunID = %q", got.RunID)
	}
	if len(got.Phases) != 2 {
		t.Fatalf("phases = %d, want 2", len(got.Phases))
	}
	login := got.Phases[0]
	want := Latency{P50: 175, P95: 349, P99: 350, Max: 351, Mean: 175}
	if diff := cmp.Diff(want, login.Latency); diff != "" {
		t.Errorf("login latency (-want +got):\n%s", diff)
	}
	if login.RPS != 27 || *login.Efficiency != 0.97 {
		t.Errorf("login rps, efficiency = %v, %v, want 27, 0.97", login.RPS, *login.Efficiency)
	}
	if login.Statuses["200"] != 810 {
		t.Errorf("login statuses = %v, want the sum 810", login.Statuses)
	}
	if login.Probe == nil || login.Probe.Latency.P99 != 3 || login.Probe.Statuses["200"] != 1500 {
		t.Errorf("probe = %+v, want p99 3 and 1500 answers", login.Probe)
	}
	if mePhase := got.Phases[1]; mePhase.RPS != 20000 || mePhase.Statuses["200"] != 10 {
		t.Errorf("me = %+v, want the two runs that have it", mePhase)
	}
	if len(got.Warnings) != 1 {
		t.Errorf("warnings = %q, want one about the run without a me phase", got.Warnings)
	}
}

func TestMedianOfNothing(t *testing.T) {
	if _, err := Median(nil); err == nil {
		t.Error("Median(nil) = nil error, want one")
	}
}

func TestMedianValue(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
