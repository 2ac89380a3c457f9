package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/logging"
	"github.com/authserve/authserve/internal/ratelimit"
)

// maxLoggedLength bounds the path and user agent in the access log: both
// are chosen by the client.
const maxLoggedLength = 1024

// Security headers (docs/api.md "Security": every response). API responses may not be
// framed nor load anything; /docs gets its own policy from docs.go.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// Shared values of the headers every response carries (ServeHTTP).
var (
	hdrNosniff    = []string{"nosniff"}
	hdrNoReferrer = []string{"no-referrer"}
	hdrDeny       = []string{"DENY"}
	hdrAPICSP     = []string{apiCSP}
	hdrNoStore    = []string{"no-store"}
	hdrNoCache    = []string{"no-cache"}
	hdrJSON       = []string{"application/json"}
)

// responseRecorder remembers the status and size of a response for the
// access log and lets the panic handler know whether it can still write.
type responseRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	bytes       int64
}

func (rw *responseRecorder) WriteHeader(status int) {
	if !rw.wroteHeader && status >= 200 {
		rw.status = status
		rw.wroteHeader = true
	}
	rw.ResponseWriter.WriteHeader(status)
}

func (rw *responseRecorder) Write(b []byte) (int, error) {
	if !rw.wroteHeader {
		rw.status = http.StatusOK
		rw.wroteHeader = true
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (read
// deadlines, flushing).
func (rw *responseRecorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// ServeHTTP is the outermost layer: request id, security headers, panic
// recovery, the access log and the metrics hook. Everything inside it,
// CORS included, sees the request id in the context.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-ID")
	if !validRequestID(id) {
		id = newRequestID()
	}
	ctx, fields := logging.WithFields(logging.WithRequestID(r.Context(), id))
	st := &requestState{id: id, clientIP: s.clientIP(r), userAgent: r.UserAgent(), fields: fields}
	// Who acts, for the audit log; the admin API names its key instead.
	ctx = auth.WithOrigin(ctx, originFor(st, auth.ActorUser))
	r = r.WithContext(withState(ctx, st))

	// The fixed headers share their value slices (keys in canonical form,
	// as Set would write them): one allocation fewer per header and
	// request. A []string of one element has no room to append into, so
	// a later Add cannot touch the shared array.
	h := w.Header()
	h["X-Request-Id"] = []string{id}
	h["X-Content-Type-Options"] = hdrNosniff
	h["Referrer-Policy"] = hdrNoReferrer
	// CSP-aware browsers obey frame-ancestors; X-Frame-Options says the
	// same to the rest. Only the docs may be framed, by their own origin.
	if isDocsPath(r.URL.Path) {
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("Content-Security-Policy", s.docsCSP)
	} else {
		h["X-Frame-Options"] = hdrDeny
		h["Content-Security-Policy"] = hdrAPICSP
	}
	if strings.HasPrefix(r.URL.Path, "/api/auth/") || strings.HasPrefix(r.URL.Path, "/admin/") {
		// Tokens and account data must not be kept by any cache.
		h["Cache-Control"] = hdrNoStore
		h["Pragma"] = hdrNoCache
	}

	rec := &responseRecorder{ResponseWriter: w}
	defer s.finish(rec, r, st, start)
	if headerSize(r) > s.maxHeader {
		rec.Header().Set("Connection", "close")
		writeProblem(rec, headersTooLarge(r.Context()))
		return
	}
	s.inner.ServeHTTP(rec, r)
}

// finish recovers a panic into a 500 problem, then writes the request's
// error line (for a 500) and its access line, and reports the metrics.
func (s *server) finish(rec *responseRecorder, r *http.Request, st *requestState, start time.Time) {
	ctx := r.Context()
	if v := recover(); v != nil {
		if v == http.ErrAbortHandler {
			// The handler asked net/http to abort the response; honour it.
			s.logAccess(rec, r, st, start)
			panic(v)
		}
		st.cause = fmt.Errorf("panic: %v", v)
		st.stack = logging.Stack()
		if !rec.wroteHeader {
			writeProblem(rec, newProblem(ctx, codeInternalError))
		}
	}
	if st.cause != nil {
		logInternal(ctx, s.log, "internal error", st.cause, st.stack)
	}
	s.logAccess(rec, r, st, start)
}

// logAccess writes the one line every request ends with and reports the
// request to the metrics hook.
func (s *server) logAccess(rec *responseRecorder, r *http.Request, st *requestState, start time.Time) {
	d := time.Since(start)
	status := rec.status
	if !rec.wroteHeader {
		// A handler that wrote nothing sent an empty 200.
		status = http.StatusOK
	}
	level := slog.LevelInfo
	if status >= 500 || st.cause != nil {
		level = slog.LevelError
	}
	line := logging.AccessLine{
		Level:     level,
		RequestID: st.id,
		Method:    r.Method,
		// The path only: a query string may carry tokens.
		Path:       clip(r.URL.Path),
		Status:     status,
		DurationMS: float64(d.Microseconds()) / 1000,
		ClientIP:   st.clientIP,
		UserAgent:  clip(st.userAgent),
		Bytes:      rec.bytes,
	}
	line.UserID, line.HasUserID = st.fields.UserID()
	logging.LogAccess(r.Context(), s.log, &line)
	if s.observe != nil {
		route := st.route
		if route == "" {
			route = unmatchedRoute
		}
		s.observe(route, r.Method, status, d)
	}
}

// unmatchedRoute labels requests that matched no route (404, 405,
// preflights), so raw paths never become metric labels.
const unmatchedRoute = "unmatched"

func clip(s string) string {
	if len(s) > maxLoggedLength {
		return s[:maxLoggedLength]
	}
	return s
}

// route is the layer inside CORS: rate limit, router misses, body checks,
// then the mux with huma's operations.
func (s *server) route(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	h, pattern := s.mux.Handler(r)
	if !cleanPath(r.URL.Path) {
		// The mux would redirect a path like //healthz or /a/../healthz
		// to its clean form; no client of this API sends one, so it is
		// answered as the unknown route it is.
		pattern = ""
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		stateFrom(ctx).route = path
	}
	// The limit comes before every other check, so that a flood of bad
	// requests is refused as cheaply as a flood of good ones.
	if s.limiter != nil && r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/auth/") {
		if !s.allow(w, r) {
			return
		}
	}
	if pattern == "" {
		s.unmatched(w, r, h)
		return
	}
	if pattern == mePattern && !s.humaMe {
		s.serveMe(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		if err := s.readBody(w, r); err != nil {
			if errors.Is(err, errPayloadTooLarge) {
				// The rest of the body is not worth reading.
				w.Header().Set("Connection", "close")
			}
			writeProblem(w, problemFor(ctx, err))
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// headerCapture records what one of the mux's own error handlers would
// write, without writing it.
type headerCapture struct {
	header http.Header
	status int
}

func (c *headerCapture) Header() http.Header         { return c.header }
func (c *headerCapture) Write(b []byte) (int, error) { return len(b), nil }
func (c *headerCapture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

// unmatched answers a request no pattern matched. The mux's handler for it
// writes plain text; it is run against a capture and its verdict (404, or
// 405 with Allow) re-sent as a problem.
func (s *server) unmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	c := &headerCapture{header: http.Header{}}
	h.ServeHTTP(c, r)
	if c.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", c.header.Get("Allow"))
		writeProblem(w, newProblem(r.Context(), codeMethodNotAllowed))
		return
	}
	writeProblem(w, newProblem(r.Context(), codeNotFound))
}

// allow applies the per-client rate limit and sets its headers. A limiter
// failure lets the request through: rate limiting is a defence, not a
// dependency.
func (s *server) allow(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	st := stateFrom(ctx)
	d, err := s.limiter.Allow(ctx, "ip:"+st.clientIP)
	if err != nil {
		s.log.WarnContext(ctx, "rate limiter failed; request let through", slog.String("error", err.Error()))
		return true
	}
	ratelimit.SetHeaders(w.Header(), d)
	if d.Allowed {
		return true
	}
	writeProblem(w, newProblem(ctx, codeRateLimited).withRetryAfter(d.RetryAfter))
	return false
}

// cleanPath reports whether p is already in the form the mux would
// redirect it to: no empty, "." or ".." segments.
func cleanPath(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// isDocsPath reports whether path belongs to the Swagger UI.
func isDocsPath(path string) bool {
	return path == docsPath || strings.HasPrefix(path, docsPath+"/")
}
