package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/breaker"
	"github.com/authserve/authserve/internal/metrics"
)

// Metrics must satisfy the breaker's Observer without either package
// importing the other.
var (
	_ breaker.Observer = (*metrics.Metrics)(nil)
	_ auth.Observer    = (*metrics.Metrics)(nil)
)

// scrape fetches m's handler the way Prometheus does and parses the text.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics status = %d, want %d", rec.Code, http.StatusOK)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics Content-Type = %q, want text/plain", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sample returns the value of the series name{labels}: a counter's or
// gauge's value, or a histogram's observation count. labels must name every
// label of the series.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	fam, ok := fams[name]
	if !ok {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range fam.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if want[l.GetName()] != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// series names one series, for tables.
type series struct {
	name   string
	labels []string
}

func (s series) String() string { return fmt.Sprintf("%s%q", s.name, s.labels) }

// delta is a series' expected change.
type delta struct {
	series
	by float64
}

func TestSeriesMove(t *testing.T) {
	tests := []struct {
		name string
		act  func(m *metrics.Metrics)
		// want lists series with their change across act.
		want []delta
	}{
		{
			name: "request to a route",
			act: func(m *metrics.Metrics) {
				m.ObserveRequest("POST /api/auth/login", "POST", 200, 30*time.Millisecond)
				m.ObserveRequest("POST /api/auth/login", "POST", 401, 20*time.Millisecond)
				m.ObserveRequest("POST /api/auth/login", "POST", 401, 20*time.Millisecond)
			},
			want: []delta{
				{series{"authserve_http_requests_total", []string{"route", "POST /api/auth/login", "method", "POST", "status", "200"}}, 1},
				{series{"authserve_http_requests_total", []string{"route", "POST /api/auth/login", "method", "POST", "status", "401"}}, 2},
				{series{"authserve_http_request_duration_seconds", []string{"route", "POST /api/auth/login", "method", "POST"}}, 3},
			},
		},
		{
			name: "unmatched route and made-up method",
			act: func(m *metrics.Metrics) {
				m.ObserveRequest("", "GET", 404, time.Millisecond)
				m.ObserveRequest("", "BREW", 405, time.Millisecond)
				m.ObserveRequest("", "GET", 999, time.Millisecond)
			},
			want: []delta{
				{series{"authserve_http_requests_total", []string{"route", "unmatched", "method", "GET", "status", "404"}}, 1},
				{series{"authserve_http_requests_total", []string{"route", "unmatched", "method", "other", "status", "405"}}, 1},
				{series{"authserve_http_requests_total", []string{"route", "unmatched", "method", "GET", "status", "other"}}, 1},
				{series{"authserve_http_request_duration_seconds", []string{"route", "unmatched", "method", "GET"}}, 2},
				{series{"authserve_http_request_duration_seconds", []string{"route", "unmatched", "method", "other"}}, 1},
			},
		},
		{
			name: "authentication events",
			act: func(m *metrics.Metrics) {
				m.Event("user.registered")
				m.Event("user.login_failed")
				m.Event("user.login_failed")
				m.Event("session.revoked")
			},
			want: []delta{
				{series{"authserve_auth_events_total", []string{"event", "user.registered"}}, 1},
				{series{"authserve_auth_events_total", []string{"event", "user.login_failed"}}, 2},
				{series{"authserve_auth_events_total", []string{"event", "session.revoked"}}, 1},
				{series{"authserve_auth_events_total", []string{"event", "token.refreshed"}}, 0},
			},
		},
		{
			name: "hashing",
			act: func(m *metrics.Metrics) {
				m.HashQueued(1)
				m.HashQueued(1)
				m.HashQueued(1)
				m.HashQueued(-1)
				m.HashDone("hash", 5*time.Millisecond, 250*time.Millisecond)
				m.HashDone("compare", 0, 240*time.Millisecond)
				m.HashDone("compare", time.Second, 260*time.Millisecond)
			},
			want: []delta{
				{series{"authserve_hash_queue_length", nil}, 2},
				{series{"authserve_hash_wait_seconds", nil}, 3},
				{series{"authserve_hash_duration_seconds", []string{"op", "hash"}}, 1},
				{series{"authserve_hash_duration_seconds", []string{"op", "compare"}}, 2},
			},
		},
		{
			name: "database calls",
			act: func(m *metrics.Metrics) {
				m.DBCall("user_by_email", 2*time.Millisecond, "ok")
				m.DBCall("user_by_email", 2*time.Millisecond, "domain")
				m.DBCall("user_by_email", 3*time.Second, "failure")
				m.DBCall("ping", time.Second, "failure")
				m.DBCall("ping", time.Microsecond, "rejected")
			},
			want: []delta{
				{series{"authserve_db_calls_total", []string{"op", "user_by_email", "outcome", "ok"}}, 1},
				{series{"authserve_db_calls_total", []string{"op", "user_by_email", "outcome", "domain"}}, 1},
				{series{"authserve_db_calls_total", []string{"op", "user_by_email", "outcome", "failure"}}, 1},
				{series{"authserve_db_calls_total", []string{"op", "ping", "outcome", "rejected"}}, 1},
				{series{"authserve_db_call_duration_seconds", []string{"op", "user_by_email", "outcome", "ok"}}, 1},
				{series{"authserve_db_call_duration_seconds", []string{"op", "ping", "outcome", "failure"}}, 1},
				{series{"authserve_db_failures_total", []string{"op", "user_by_email"}}, 1},
				{series{"authserve_db_failures_total", []string{"op", "ping"}}, 1},
			},
		},
		{
			name: "breaker opens",
			act: func(m *metrics.Metrics) {
				m.BreakerState("closed") // the breaker's report at start is no transition
				m.BreakerState("open")
			},
			want: []delta{
				{series{"authserve_breaker_state", nil}, 2},
				{series{"authserve_breaker_in_state", []string{"state", "open"}}, 1},
				{series{"authserve_breaker_in_state", []string{"state", "closed"}}, -1},
				{series{"authserve_breaker_transitions_total", []string{"from", "closed", "to", "open"}}, 1},
			},
		},
		{
			name: "breaker goes round",
			act: func(m *metrics.Metrics) {
				for _, s := range []string{"closed", "open", "half-open", "open", "half-open", "closed", "closed", "bogus"} {
					m.BreakerState(s)
				}
			},
			want: []delta{
				{series{"authserve_breaker_state", nil}, 0},
				{series{"authserve_breaker_in_state", []string{"state", "closed"}}, 0},
				{series{"authserve_breaker_transitions_total", []string{"from", "closed", "to", "open"}}, 1},
				{series{"authserve_breaker_transitions_total", []string{"from", "open", "to", "half-open"}}, 2},
				{series{"authserve_breaker_transitions_total", []string{"from", "half-open", "to", "open"}}, 1},
				{series{"authserve_breaker_transitions_total", []string{"from", "half-open", "to", "closed"}}, 1},
			},
		},
		{
			name: "rate-limit fallback and dropped log lines",
			act: func(m *metrics.Metrics) {
				m.RateLimitFallback()
				m.RateLimitFallback()
				m.LogDropped(func() uint64 { return 7 })
			},
			want: []delta{
				{series{"authserve_ratelimit_fallback_total", nil}, 2},
				{series{"authserve_log_lines_dropped_total", nil}, 7},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New()
			before := scrape(t, m)
			tt.act(m)
			after := scrape(t, m)
			for _, w := range tt.want {
				b, _ := sample(before, w.name, w.labels...)
				a, ok := sample(after, w.name, w.labels...)
				if !ok {
					t.Errorf("series %v missing after the calls", w.series)
					continue
				}
				if got := a - b; got != w.by {
					t.Errorf("series %v moved by %v, want %v", w.series, got, w.by)
				}
			}
		})
	}
}

func TestFreshRegistry(t *testing.T) {
	m := metrics.New()
	fams := scrape(t, m)
	// Present before anything happens, so that dashboards and rate() work
	// from the first scrape.
	want := []struct {
		series
		value float64
	}{
		{series{"authserve_breaker_state", nil}, 0},
		{series{"authserve_breaker_in_state", []string{"state", "closed"}}, 1},
		{series{"authserve_breaker_in_state", []string{"state", "open"}}, 0},
		{series{"authserve_breaker_in_state", []string{"state", "half-open"}}, 0},
		{series{"authserve_auth_events_total", []string{"event", "user.login_failed"}}, 0},
		{series{"authserve_auth_events_total", []string{"event", "token.reuse_detected"}}, 0},
		{series{"authserve_hash_queue_length", nil}, 0},
		{series{"authserve_hash_wait_seconds", nil}, 0},
		{series{"authserve_ratelimit_fallback_total", nil}, 0},
		{series{"authserve_log_lines_dropped_total", nil}, 0},
	}
	for _, w := range want {
		got, ok := sample(fams, w.name, w.labels...)
		if !ok || got != w.value {
			t.Errorf("series %v = %v (present %v), want %v", w.series, got, ok, w.value)
		}
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Errorf("go_goroutines missing: Go runtime collector not registered")
	}
	if runtime.GOOS == "linux" {
		if _, ok := fams["process_resident_memory_bytes"]; !ok {
			t.Errorf("process_resident_memory_bytes missing: process collector not registered")
		}
	}
}

func TestOwnRegistry(t *testing.T) {
	// Two instances must not collide, and neither may touch the global
	// registry that libraries write to.
	a, b := metrics.New(), metrics.New()
	a.Event("user.registered")
	if got, _ := sample(scrape(t, b), "authserve_auth_events_total", "event", "user.registered"); got != 0 {
		t.Errorf("second instance sees the first one's event: %v, want 0", got)
	}
	fams, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatalf("gather default registry: %v", err)
	}
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "authserve_") {
			t.Errorf("%s is on the global registry", f.GetName())
		}
	}
}

func TestLogDroppedReplaced(t *testing.T) {
	m := metrics.New()
	var n uint64 = 3
	m.LogDropped(func() uint64 { return n })
	n = 5
	if got, _ := sample(scrape(t, m), "authserve_log_lines_dropped_total"); got != 5 {
		t.Errorf("authserve_log_lines_dropped_total = %v, want 5 (read at scrape time)", got)
	}
	m.LogDropped(func() uint64 { return 11 })
	if got, _ := sample(scrape(t, m), "authserve_log_lines_dropped_total"); got != 11 {
		t.Errorf("authserve_log_lines_dropped_total after replacement = %v, want 11", got)
	}
}

func TestObserveRequestAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count is not interesting in -short runs")
	}
	m := metrics.New()
	m.ObserveRequest("POST /api/auth/login", "POST", 401, time.Millisecond)
	allocs := testing.AllocsPerRun(1000, func() {
		m.ObserveRequest("POST /api/auth/login", "POST", 401, time.Millisecond)
	})
	// An existing series is found without building label strings.
	if allocs > 0 {
		t.Errorf("ObserveRequest allocates %v times per call, want 0", allocs)
	}
}

// downStore is a database that refuses every connection.
type downStore struct {
	auth.Store // never reached: only Ping is called
}

func (downStore) Ping(context.Context) error {
	return fmt.Errorf("ping: connection refused: %w", auth.ErrUnavailable)
}

func TestBreakerReportsToMetrics(t *testing.T) {
	m := metrics.New()
	s := breaker.NewStore(downStore{}, nil, breaker.Options{MaxFailures: 2, OpenTimeout: time.Minute, Observer: m})
	for range 3 {
		_ = s.Ping(t.Context())
	}
	fams := scrape(t, m)
	want := []struct {
		series
		value float64
	}{
		{series{"authserve_breaker_state", nil}, 2},
		{series{"authserve_breaker_transitions_total", []string{"from", "closed", "to", "open"}}, 1},
		{series{"authserve_db_failures_total", []string{"op", "ping"}}, 2},
		{series{"authserve_db_calls_total", []string{"op", "ping", "outcome", "rejected"}}, 1},
	}
	for _, w := range want {
		if got, ok := sample(fams, w.name, w.labels...); !ok || got != w.value {
			t.Errorf("series %v = %v (present %v), want %v", w.series, got, ok, w.value)
		}
	}
}

func TestHelpOnEveryMetric(t *testing.T) {
	var missing []string
	for name, f := range scrape(t, metrics.New()) {
		if strings.HasPrefix(name, "authserve_") && f.GetHelp() == "" {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("metrics without help text: %v", missing)
	}
}

func BenchmarkObserveRequest(b *testing.B) {
	m := metrics.New()
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRequest("POST /api/auth/login", "POST", 401, time.Millisecond)
	}
}
