package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run, as printed and as written to JSON.
type Report struct {
	Tool         string        `json:"tool"`
	RunID        string        `json:"run_id"`
	Addr         string        `json:"addr"`
	Started      time.Time     `json:"started"`
	GoVersion    string        `json:"go_version"`
	OS           string        `json:"os"`
	Arch         string        `json:"arch"`
	NumCPU       int           `json:"num_cpu"`
	GOMAXPROCS   int           `json:"gomaxprocs"`
	Users        int           `json:"users"`
	PhaseSeconds float64       `json:"phase_duration_seconds"`
	MaxRequests  int           `json:"max_requests_per_phase"`
	Bound        *Bound        `json:"bcrypt_bound,omitempty"`
	IdleLoginMS  float64       `json:"idle_login_ms,omitempty"`
	Phases       []PhaseResult `json:"phases"`
	Warnings     []string      `json:"warnings,omitempty"`
}

// PhaseResult is what one phase measured.
type PhaseResult struct {
	Kind        Kind    `json:"kind"`
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	OK          int     `json:"ok"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"requests_per_second"`
	OKPerSecond float64 `json:"ok_per_second"`
	Latency     Latency `json:"latency"`
	// Statuses counts responses by status and problem code ("200",
	// "503 overloaded") and transport failures ("error: timeout").
	Statuses map[string]int `json:"statuses"`
	// Efficiency is OKPerSecond ÷ the bcrypt bound, for the password paths
	// only. Successful answers are counted because a 503 costs no hash.
	Efficiency *float64 `json:"efficiency,omitempty"`
	// Capped is set when MaxRequests ended the phase before its duration.
	Capped bool `json:"capped,omitempty"`
	// Relogins counts refresh sessions that died and were logged in again.
	Relogins int `json:"relogins,omitempty"`
	// PrepareFailures counts untimed re-logins that failed.
	PrepareFailures int          `json:"prepare_failures,omitempty"`
	SampleError     string       `json:"sample_error,omitempty"`
	Probe           *ProbeResult `json:"healthz_probe,omitempty"`
	// Error says why the phase could not run.
	Error       string `json:"error,omitempty"`
	Interrupted bool   `json:"interrupted,omitempty"`
}

// ProbeResult is what the /healthz prober measured during a phase.
type ProbeResult struct {
	Requests   int            `json:"requests"`
	IntervalMS float64        `json:"interval_ms"`
	Latency    Latency        `json:"latency"`
	Statuses   map[string]int `json:"statuses"`
}

func newReport(cfg Config) *Report {
	return &Report{
		Tool:         "authbench",
		RunID:        cfg.RunID,
		Addr:         cfg.Addr.String(),
		Started:      time.Now().UTC().Truncate(time.Second),
		GoVersion:    runtime.Version(),
		OS:           runtime.GOOS,
		Arch:         runtime.GOARCH,
		NumCPU:       runtime.NumCPU(),
		GOMAXPROCS:   runtime.GOMAXPROCS(0),
		Users:        cfg.Users,
		PhaseSeconds: cfg.Duration.Seconds(),
		MaxRequests:  cfg.MaxRequests,
		Phases:       []PhaseResult{},
	}
}

func (r *Report) warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// addWarnings points at results that measure the server's protections or
// the tool's limits rather than its throughput.
func (r *Report) addWarnings() {
	var limited, locked bool
	for _, p := range r.Phases {
		for k := range p.Statuses {
			limited = limited || k == "429 rate_limited"
			locked = locked || k == "429 account_locked"
		}
		if p.Capped {
			r.warn("phase %s@%d reached the request cap (%d) before its duration ended; raise --max-requests for a full-length phase", p.Kind, p.Concurrency, r.MaxRequests)
		}
	}
	if limited {
		r.warn("the server rate-limited the load (429 rate_limited): run it with AUTH_RATE_LIMIT_PER_MINUTE=0 for load tests")
	}
	if locked {
		r.warn("the server locked accounts (429 account_locked): run it with AUTH_LOCKOUT_THRESHOLD=0 for load tests")
	}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as a header and one table row per phase,
// followed by the /healthz probes and any warnings.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "authbench run %s against %s: %d CPUs (GOMAXPROCS %d), %s, %d users\n",
		r.RunID, r.Addr, r.NumCPU, r.GOMAXPROCS, r.GoVersion, r.Users)
	if r.Bound != nil {
		fmt.Fprintf(&b, "bcrypt bound: %.1f hashes/s at cost %d (%d goroutines, %.1fs, %.1f ms per hash per core)\n",
			r.Bound.PerSecond, r.Bound.Cost, r.Bound.Workers, r.Bound.Seconds, r.Bound.HashMS)
	}
	if r.IdleLoginMS > 0 {
		fmt.Fprintf(&b, "idle login: %.1f ms\n", r.IdleLoginMS)
	}
	b.WriteString("efficiency = successful requests/s ÷ bcrypt bound (password paths only)\n\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Names are padded by hand so that they read left-aligned in a table
	// whose numbers are right-aligned.
	fmt.Fprintln(tw, "phase   \tconc\trequests\tseconds\treq/s\tok/s\tp50 ms\tp95 ms\tp99 ms\tefficiency\t  statuses")
	for _, p := range r.Phases {
		if p.Error != "" {
			fmt.Fprintf(tw, "%-8s\t%d\t-\t-\t-\t-\t-\t-\t-\t-\t  FAILED: %s\n", p.Kind, p.Concurrency, p.Error)
			continue
		}
		eff := "-"
		if p.Efficiency != nil {
			eff = strconv.FormatFloat(*p.Efficiency, 'f', 2, 64)
		}
		status := FormatStatuses(p.Statuses)
		if p.Interrupted {
			status += " (interrupted)"
		}
		fmt.Fprintf(tw, "%-8s\t%d\t%d\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t  %s\n",
			p.Kind, p.Concurrency, p.Requests, p.Seconds, p.RPS, p.OKPerSecond,
			p.Latency.P50, p.Latency.P95, p.Latency.P99, eff, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range r.Phases {
		if p.Probe != nil {
			fmt.Fprintf(&b, "\n/healthz during %s@%d: %d probes every %.0f ms, p50 %.2f ms, p99 %.2f ms, max %.2f ms, %s",
				p.Kind, p.Concurrency, p.Probe.Requests, p.Probe.IntervalMS,
				p.Probe.Latency.P50, p.Probe.Latency.P99, p.Probe.Latency.Max, FormatStatuses(p.Probe.Statuses))
		}
		if p.Relogins > 0 || p.PrepareFailures > 0 {
			fmt.Fprintf(&b, "\n%s@%d: %d sessions logged in again, %d re-logins failed", p.Kind, p.Concurrency, p.Relogins, p.PrepareFailures)
		}
		if p.SampleError != "" {
			fmt.Fprintf(&b, "\n%s@%d: first error: %s", p.Kind, p.Concurrency, p.SampleError)
		}
	}
	b.WriteString("\n")
	for _, msg := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", msg)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FormatStatuses renders status counts in key order: "200=412, 503 overloaded=20".
func FormatStatuses(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedStatuses(m) {
		parts = append(parts, k+"="+strconv.Itoa(m[k]))
	}
	return strings.Join(parts, ", ")
}
