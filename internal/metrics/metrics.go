// Package metrics exposes authserve's Prometheus metrics on a registry of its
// own: HTTP requests, authentication events, password-hashing load, database
// calls and the circuit breaker's state, next to the Go runtime and process
// collectors.
//
// *Metrics implements auth.Observer and, structurally, the breaker package's
// Observer, so the domain and the breaker report to it without importing it.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/authserve/authserve/internal/auth"
)

// UnmatchedRoute is the route label of requests that matched no route, so a
// scanner probing random paths cannot create new series.
const UnmatchedRoute = "unmatched"

// Breaker states as the breaker reports them, and their numeric encoding in
// authserve_breaker_state.
var breakerStates = []struct {
	name  string
	value float64
}{
	{"closed", 0},
	{"half-open", 1},
	{"open", 2},
}

// authEvents are the authentication events of docs/deployment.md "Logs", exported at zero from
// the start so that rate() and alerts work before the first occurrence.
var authEvents = []string{
	"user.registered",
	"user.login_succeeded",
	"user.login_failed",
	"user.locked",
	"token.refreshed",
	"token.reuse_detected",
	"user.logged_out",
	// Section 8: email verification, password reset and change.
	"email.queued",
	"email.sent",
	"email.failed",
	"user.email_verified",
	"password.reset_requested",
	"password.reset",
	"password.changed",
	// CONTRACT section 9.
	"mfa.enrolled",
	"mfa.verified",
	"mfa.failed",
	"mfa.removed",
	"mfa.recovery_code_used",
}

// Bucket layouts, in seconds.
var (
	// httpBuckets span a health check to a login queued behind bcrypt work.
	httpBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	// dbBuckets span a fast indexed query to AUTH_DB_TIMEOUT's default (3s).
	dbBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	// hashBuckets span bcrypt from test cost 4 to costs well above the default 12.
	hashBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	// waitBuckets span an immediate slot to AUTH_HASH_QUEUE_TIMEOUT's default (2s).
	waitBuckets = []float64{.0001, .0005, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2, 5}
)

// Metrics holds every authserve metric and the registry that serves them. It
// is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	authEvents  *prometheus.CounterVec
	hashQueue   prometheus.Gauge
	hashWait    prometheus.Histogram
	hashLatency *prometheus.HistogramVec

	dbDuration  *prometheus.HistogramVec
	dbCalls     *prometheus.CounterVec
	dbFailures  *prometheus.CounterVec
	state       prometheus.Gauge
	inState     *prometheus.GaugeVec
	transitions *prometheus.CounterVec

	rateLimitFallback prometheus.Counter
	limitsFallback    *prometheus.GaugeVec
	logDropped        atomic.Pointer[func() uint64]

	mu        sync.Mutex
	lastState string
}

var _ auth.Observer = (*Metrics)(nil)

// New returns Metrics registered on a fresh registry together with the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authserve_http_requests_total",
		Help: "HTTP requests answered, by route pattern, method and status code.",
	}, []string{"route", "method", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "authserve_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern and method.",
		Buckets: httpBuckets,
	}, []string{"route", "method"})
	m.authEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authserve_auth_events_total",
		Help: "Authentication events, such as user.login_failed, by event name.",
	}, []string{"event"})
	m.hashQueue = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "authserve_hash_queue_length",
		Help: "Callers waiting for a password-hashing slot.",
	})
	m.hashWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "authserve_hash_wait_seconds",
		Help:    "Time spent waiting for a password-hashing slot.",
		Buckets: waitBuckets,
	})
	m.hashLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "authserve_hash_duration_seconds",
		Help:    "Time to compute one password hash or comparison, by op (hash or compare).",
		Buckets: hashBuckets,
	}, []string{"op"})
	m.dbDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "authserve_db_call_duration_seconds",
		Help:    "Duration of database calls through the circuit breaker, by operation and outcome.",
		Buckets: dbBuckets,
	}, []string{"op", "outcome"})
	m.dbCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authserve_db_calls_total",
		Help: "Database calls through the circuit breaker, by operation and outcome (ok, domain, failure, rejected, canceled, panic).",
	}, []string{"op", "outcome"})
	m.dbFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authserve_db_failures_total",
		Help: "Database calls that failed for infrastructure reasons (unreachable, timed out), by operation.",
	}, []string{"op"})
	m.state = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "authserve_breaker_state",
		Help: "State of the database circuit breaker: 0 closed, 1 half-open, 2 open.",
	})
	m.inState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "authserve_breaker_in_state",
		Help: "1 for the database circuit breaker's current state, 0 for the others.",
	}, []string{"state"})
	m.transitions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authserve_breaker_transitions_total",
		Help: "State changes of the database circuit breaker, by previous and new state.",
	}, []string{"from", "to"})
	m.rateLimitFallback = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "authserve_ratelimit_fallback_total",
		Help: "Rate-limit decisions taken in process because the shared store (Redis) failed.",
	})
	m.limitsFallback = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "authserve_limits_fallback",
		Help: "1 while a limit shared through Redis (rate_limit, lockout) runs on its fallback because Redis failed, else 0.",
	}, []string{"limit"})
	logDropped := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "authserve_log_lines_dropped_total",
		Help: "Log lines dropped because a log writer could not keep up or failed.",
	}, m.readLogDropped)

	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration,
		m.authEvents, m.hashQueue, m.hashWait, m.hashLatency,
		m.dbDuration, m.dbCalls, m.dbFailures, m.state, m.inState, m.transitions,
		m.rateLimitFallback, m.limitsFallback, logDropped,
	)

	for _, e := range authEvents {
		m.authEvents.WithLabelValues(e)
	}
	for _, op := range []string{"hash", "compare"} {
		m.hashLatency.WithLabelValues(op)
	}
	m.setState("closed")
	return m
}

// Registry returns the registry the metrics live on, for tests and for
// registering further collectors (such as a database pool's statistics).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A failing collector should cost its own series, not the scrape.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg, // exposes promhttp_metric_handler_errors_total
	})
}

// ObserveRequest counts one answered HTTP request. route is the matched
// route pattern (such as "POST /api/auth/login"), never a raw path; an empty
// route counts as UnmatchedRoute.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	if route == "" {
		route = UnmatchedRoute
	}
	method = methodLabel(method)
	m.httpRequests.WithLabelValues(route, method, statusLabel(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// Event counts an authentication event; it implements auth.Observer.
func (m *Metrics) Event(name string) {
	m.authEvents.WithLabelValues(name).Inc()
}

// HashQueued tracks the number of callers waiting for a hashing slot; it
// implements auth.Observer.
func (m *Metrics) HashQueued(delta int) {
	m.hashQueue.Add(float64(delta))
}

// HashDone records one hash or comparison's wait and duration; it implements
// auth.Observer.
func (m *Metrics) HashDone(op string, wait, took time.Duration) {
	m.hashWait.Observe(wait.Seconds())
	m.hashLatency.WithLabelValues(op).Observe(took.Seconds())
}

// DBCall records one database call through the breaker; outcome "failure"
// (an infrastructure fault) also counts in authserve_db_failures_total. It
// implements the breaker package's Observer.
func (m *Metrics) DBCall(op string, d time.Duration, outcome string) {
	m.dbDuration.WithLabelValues(op, outcome).Observe(d.Seconds())
	m.dbCalls.WithLabelValues(op, outcome).Inc()
	if outcome == "failure" {
		m.dbFailures.WithLabelValues(op).Inc()
	}
}

// BreakerState records the circuit breaker's state ("closed", "half-open" or
// "open") and counts the transition from the previous one; it implements the
// breaker package's Observer. Unknown states are ignored.
func (m *Metrics) BreakerState(state string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.setState(state) {
		return
	}
	if m.lastState != "" && m.lastState != state {
		m.transitions.WithLabelValues(m.lastState, state).Inc()
	}
	m.lastState = state
}

// setState sets the state gauges and reports whether state is known.
func (m *Metrics) setState(state string) bool {
	known := false
	for _, s := range breakerStates {
		if s.name == state {
			known = true
			m.state.Set(s.value)
		}
	}
	if !known {
		return false
	}
	for _, s := range breakerStates {
		v := 0.0
		if s.name == state {
			v = 1
		}
		m.inState.WithLabelValues(s.name).Set(v)
	}
	return true
}

// RateLimitFallback counts one rate-limit decision taken in process because
// the shared store failed.
func (m *Metrics) RateLimitFallback() {
	m.rateLimitFallback.Inc()
}

// LimitFallback records whether limit ("rate_limit" or "lockout") runs on
// its fallback because the shared store (Redis) failed.
func (m *Metrics) LimitFallback(limit string, active bool) {
	v := 0.0
	if active {
		v = 1
	}
	m.limitsFallback.WithLabelValues(limit).Set(v)
}

// LogDropped makes authserve_log_lines_dropped_total report f's count of
// dropped log lines; until it is called the counter reads zero. A later call
// replaces f.
func (m *Metrics) LogDropped(f func() uint64) {
	m.logDropped.Store(&f)
}

func (m *Metrics) readLogDropped() float64 {
	f := m.logDropped.Load()
	if f == nil || *f == nil {
		return 0
	}
	return float64((*f)())
}

// methodLabel keeps the method label to the standard methods: a client
// sending made-up methods must not create series.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// statusLabels holds the decimal form of every valid status code, so that
// labelling a request allocates nothing.
var statusLabels = func() []string {
	s := make([]string, 600)
	for code := 100; code < len(s); code++ {
		s[code] = strconv.Itoa(code)
	}
	return s
}()

func statusLabel(code int) string {
	if code < 100 || code >= len(statusLabels) {
		return "other"
	}
	return statusLabels[code]
}
