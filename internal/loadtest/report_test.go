package loadtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteTable(t *testing.T) {
	rep := sampleReport()
	eff := 0.9
	rep.Phases[0].Efficiency = &eff
	rep.Phases[2].Statuses = map[string]int{"200": 300, "503 overloaded": 50}
	rep.Phases[2].Probe = &ProbeResult{Requests: 480, IntervalMS: 20, Latency: Latency{P50: 0.4, P99: 3.25}, Statuses: map[string]int{"200": 480}}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatalf("WriteTable() error = %v", err)
	}
	out := buf.String()
	for _, want := range []string{
		"bcrypt bound: 40.0 hashes/s at cost 10",
		"phase     conc",
		"200=300, 503 overloaded=50",
		"/healthz during login@64: 480 probes every 20 ms, p50 0.40 ms, p99 3.25 ms",
		"FAILED: could not start",
		" 0.90 ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteTable() output lacks %q:\n%s", want, out)
		}
	}
	rows := 0
	for line := range strings.Lines(out) {
		if strings.HasPrefix(strings.TrimSpace(line), "login ") {
			rows++
		}
	}
	if got, want := rows, 4; got != want {
		t.Errorf("WriteTable() has %d login rows, want %d:\n%s", got, want, out)
	}
}

func TestWriteJSONRoundTrip(t *testing.T) {
	rep := sampleReport()
	eff := 0.875
	rep.Phases[0].Efficiency = &eff
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatalf("WriteJSON() error = %v", err)
	}
	var got Report
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("WriteJSON() output does not decode: %v", err)
	}
	if diff := cmp.Diff(rep, &got); diff != "" {
		t.Errorf("WriteJSON() round trip (-want +got):\n%s", diff)
	}
	for _, key := range []string{`"requests_per_second"`, `"p99_ms"`, `"efficiency": 0.875`, `"hashes_per_second"`, `"statuses"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("WriteJSON() output lacks %s", key)
		}
	}
}

func TestAddWarnings(t *testing.T) {
	tests := []struct {
		name   string
		phases []PhaseResult
		want   []string // parts of the warnings, in order
	}{
		{"clean run", []PhaseResult{{Kind: KindLogin, Concurrency: 8, Statuses: map[string]int{"200": 5, "503 overloaded": 2}}}, nil},
		{"rate limited", []PhaseResult{{Kind: KindLogin, Concurrency: 8, Statuses: map[string]int{"429 rate_limited": 5}}}, []string{"AUTH_RATE_LIMIT_PER_MINUTE=0"}},
		{"locked", []PhaseResult{{Kind: KindLogin, Concurrency: 8, Statuses: map[string]int{"429 account_locked": 1}}}, []string{"AUTH_LOCKOUT_THRESHOLD=0"}},
		{"capped", []PhaseResult{{Kind: KindMe, Concurrency: 32, Capped: true, Statuses: map[string]int{"200": 100}}}, []string{"me@32 reached the request cap (100)"}},
	}
	for _, tt := range tests {
		r := &Report{MaxRequests: 100, Phases: tt.phases}
		r.addWarnings()
		if len(r.Warnings) != len(tt.want) {
			t.Errorf("addWarnings(%s) = %q, want %d warnings", tt.name, r.Warnings, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(r.Warnings[i], w) {
				t.Errorf("addWarnings(%s)[%d] = %q, want it to contain %q", tt.name, i, r.Warnings[i], w)
			}
		}
	}
}

func TestFormatStatuses(t *testing.T) {
	tests := []struct {
		in   map[string]int
		want string
	}{
		{nil, "none"},
		{map[string]int{"200": 3}, "200=3"},
		{map[string]int{"503 overloaded": 2, "200": 7, "error: timeout": 1}, "200=7, 503 overloaded=2, error: timeout=1"},
	}
	for _, tt := range tests {
		if got := FormatStatuses(tt.in); got != tt.want {
			t.Errorf("FormatStatuses(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
