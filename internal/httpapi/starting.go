package httpapi

import (
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultStartingWait bounds how long a request that arrives while the
// process is still starting waits for the API before it is answered 503.
const DefaultStartingWait = 10 * time.Second

// healthBody is GET /healthz's answer, written by hand while starting
// (huma writes the same bytes once the API is up).
var healthBody = []byte("{\"status\":\"ok\"}\n")

// StartingOptions configures NewStarting.
type StartingOptions struct {
	// Logger receives the access lines of requests answered while
	// starting; discarded when nil.
	Logger *slog.Logger
	// ClientIP returns the client address of a request; the socket's
	// address when nil.
	ClientIP func(*http.Request) string
	// Wait bounds how long a request waits for the API; DefaultStartingWait
	// when zero.
	Wait time.Duration
}

// Starting is the handler of a listener opened before the API is built, so
// that nothing slow stands between the process starting and its liveness
// probe answering: GET /healthz answers 200 at once (the process serves
// HTTP), GET /readyz 503 service_unavailable until the API is ready, and
// every other request waits, bounded, for Ready and is then served by the
// API as if it had arrived later (or answered 503 with Retry-After when
// the API is not ready in time or start-up failed). Once ready, a request
// costs one atomic load more than the API alone.
type Starting struct {
	early *server
	api   atomic.Pointer[http.Handler]
	done  chan struct{}
	once  sync.Once
	wait  time.Duration
}

// NewStarting returns a handler that serves the probes until Ready.
func NewStarting(o StartingOptions) *Starting {
	s := &Starting{done: make(chan struct{}), wait: o.Wait}
	if s.wait <= 0 {
		s.wait = DefaultStartingWait
	}
	e := &server{log: o.Logger, clientIP: o.ClientIP, maxHeader: DefaultMaxHeaderBytes, docsCSP: apiCSP}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.clientIP == nil {
		e.clientIP = remoteIP
	}
	e.inner = http.HandlerFunc(startingRoute)
	s.early = e
	return s
}

// Ready hands every later request, and those waiting, to api.
func (s *Starting) Ready(api http.Handler) {
	s.api.Store(&api)
	s.once.Do(func() { close(s.done) })
}

// Fail releases the waiting requests with 503: start-up did not finish.
func (s *Starting) Fail() {
	s.once.Do(func() { close(s.done) })
}

// ServeHTTP serves r through the API once it is ready, and the probes
// before.
func (s *Starting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := s.api.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet || (r.URL.Path != "/healthz" && r.URL.Path != "/readyz") {
		t := time.NewTimer(s.wait)
		select {
		case <-s.done:
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
		if h := s.api.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
	}
	s.early.ServeHTTP(w, r)
}

// startingRoute answers while the API is not ready: /healthz 200, the
// rest 503 service_unavailable.
func startingRoute(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/healthz" {
		stateFrom(r.Context()).route = "/healthz"
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(healthBody)
		return
	}
	if r.URL.Path == "/readyz" {
		stateFrom(r.Context()).route = "/readyz"
	}
	writeProblem(w, newProblem(r.Context(), codeServiceUnavailable).withRetryAfter(time.Second))
}
