package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/authserve/authserve/internal/auth"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("a", 128)
	tests := []struct {
		name string
		sent string
		keep bool
	}{
		{"plain", "abc-123", true},
		{"all allowed characters", "A-Za_z.0-9", true},
		{"128 characters", long, true},
		{"129 characters", long + "a", false},
		{"space", "abc 123", false},
		{"header injection attempt", "abc\tdef", false},
		{"markup", "<script>", false},
		{"non-ASCII", "abcé", false},
		{"absent", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A 404 and a success must both carry the id.
			for _, path := range []string{"/healthz", "/nope"} {
				r := e.do("GET", path, nil, "X-Request-ID", tc.sent)
				got := r.header.Get("X-Request-ID")
				switch {
				case tc.keep && got != tc.sent:
					t.Errorf("GET %s with X-Request-ID %q answered %q, want it echoed", path, tc.sent, got)
				case !tc.keep && !generatedID.MatchString(got):
					t.Errorf("GET %s with X-Request-ID %q answered %q, want a new id", path, tc.sent, got)
				}
				if path == "/nope" {
					if id := r.json(t)["request_id"]; id != got {
						t.Errorf("problem request_id = %v, want the header's %q", id, got)
					}
				}
			}
		})
	}
	a := e.do("GET", "/healthz", nil)
	b := e.do("GET", "/healthz", nil)
	if a.header.Get("X-Request-ID") == b.header.Get("X-Request-ID") {
		t.Errorf("two requests got the same generated id %q", a.header.Get("X-Request-ID"))
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/healthz"}, {"GET", "/nope"}, {"DELETE", "/healthz"}, {"GET", "/api/auth/me"},
		{"POST", "/api/auth/login"}, {"GET", "/openapi.json"}, {"GET", "/.well-known/jwks.json"},
	} {
		r := e.do(tc.method, tc.path, nil)
		checkCommonHeaders(t, tc.path, r)
	}
	for _, path := range []string{"/docs", "/docs/", "/docs/swagger-ui.css", "/docs/missing.js"} {
		r := e.do("GET", path, nil)
		checkCommonHeaders(t, path, r)
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'self'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s CSP = %q, want the docs policy", path, csp)
		}
	}
}

func TestBodyLimits(t *testing.T) {
	e := newEnv(t)
	big := `{"email":"` + strings.Repeat("a", 70<<10) + `","password":"x"}`
	t.Run("Content-Length over the limit", func(t *testing.T) {
		r := e.do("POST", "/api/auth/login", big)
		checkProblem(t, r, http.StatusRequestEntityTooLarge, codePayloadTooLarge)
	})
	t.Run("chunked body over the limit", func(t *testing.T) {
		// io.MultiReader hides the length, so the client sends it chunked.
		r := e.do("POST", "/api/auth/login", io.MultiReader(strings.NewReader(big)))
		checkProblem(t, r, http.StatusRequestEntityTooLarge, codePayloadTooLarge)
	})
	t.Run("chunked body within the limit", func(t *testing.T) {
		r := e.do("POST", "/api/auth/register", io.MultiReader(strings.NewReader(`{"email":"chunked@example.com","password":"Correct-Horse-42"}`)))
		if r.status != http.StatusCreated {
			t.Errorf("chunked register = %d %s, want 201", r.status, r.body)
		}
	})
	t.Run("chunked body without content type", func(t *testing.T) {
		r := e.do("POST", "/api/auth/login", io.MultiReader(strings.NewReader(`{}`)), "Content-Type", "")
		checkProblem(t, r, http.StatusUnsupportedMediaType, codeUnsupportedMediaType)
	})
	t.Run("declared length over the limit is refused unread", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = 1 << 30
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("declared 1 GiB = %d, want 413", rec.Code)
		}
	})
	t.Run("exactly the limit is read", func(t *testing.T) {
		pad := 64<<10 - len(`{"email":"","password":"x"}`)
		body := `{"email":"` + strings.Repeat("a", pad) + `","password":"x"}`
		r := e.do("POST", "/api/auth/login", body)
		if r.status == http.StatusRequestEntityTooLarge {
			t.Errorf("a body of exactly 64 KiB was refused as too large")
		}
	})
}

func TestCORS(t *testing.T) {
	const origin = "https://app.example.com"
	e := newEnv(t, func(c *envConfig) { c.opts.CORSOrigins = []string{origin, "*", "null"} })

	t.Run("allowed origin", func(t *testing.T) {
		r := e.do("GET", "/api/auth/me", nil, "Origin", origin)
		if got := r.header.Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, origin)
		}
		if got := r.header.Get("Access-Control-Allow-Credentials"); got != "" {
			t.Errorf("Access-Control-Allow-Credentials = %q, want none", got)
		}
		exposed := strings.ToLower(r.header.Get("Access-Control-Expose-Headers"))
		for _, h := range []string{"x-request-id", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} {
			if !strings.Contains(exposed, h) {
				t.Errorf("Access-Control-Expose-Headers = %q, want %s", exposed, h)
			}
		}
		checkProblem(t, r, http.StatusUnauthorized, codeMissingToken)
	})
	for _, bad := range []string{"https://evil.example.com", "null", "https://app.example.com.evil.com", "http://app.example.com", "https://app.example.com:8443", "*"} {
		t.Run("refused origin "+bad, func(t *testing.T) {
			r := e.do("GET", "/healthz", nil, "Origin", bad)
			if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("Access-Control-Allow-Origin = %q, want none", got)
			}
			r = e.do("OPTIONS", "/api/auth/login", nil, "Origin", bad, "Access-Control-Request-Method", "POST")
			for k := range r.header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("preflight from %s got %s: %q", bad, k, r.header.Get(k))
				}
			}
		})
	}
	t.Run("preflight", func(t *testing.T) {
		r := e.do("OPTIONS", "/api/auth/login", nil, "Origin", origin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type, authorization, x-request-id")
		if r.status != http.StatusNoContent {
			t.Fatalf("preflight = %d %s, want 204", r.status, r.body)
		}
		want := map[string]string{
			"Access-Control-Allow-Origin":  origin,
			"Access-Control-Allow-Methods": "POST",
		}
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if got := strings.ToLower(r.header.Get("Access-Control-Allow-Headers")); !strings.Contains(got, "authorization") {
			t.Errorf("Access-Control-Allow-Headers = %q, want authorization", got)
		}
		checkCommonHeaders(t, "/api/auth/login", r)
	})
	t.Run("preflight asking for another header", func(t *testing.T) {
		r := e.do("OPTIONS", "/api/auth/login", nil, "Origin", origin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-evil")
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Access-Control-Allow-Origin = %q, want none", got)
		}
	})
	t.Run("no origins configured", func(t *testing.T) {
		plain := newEnv(t)
		r := plain.do("GET", "/healthz", nil, "Origin", origin)
		for k := range r.header {
			if strings.HasPrefix(k, "Access-Control-") || k == "Vary" {
				t.Errorf("without CORS origins the response has %s: %q", k, r.header.Get(k))
			}
		}
		r = plain.do("OPTIONS", "/api/auth/login", nil, "Origin", origin, "Access-Control-Request-Method", "POST")
		checkProblem(t, r, http.StatusMethodNotAllowed, codeMethodNotAllowed)
	})
}

func TestRateLimit(t *testing.T) {
	lim := &fakeLimiter{limit: 2}
	e := newEnv(t, func(c *envConfig) {
		c.opts.Limiter = lim
		c.opts.ClientIP = func(r *http.Request) string {
			if ip := r.Header.Get("X-Test-IP"); ip != "" {
				return ip
			}
			return remoteIP(r)
		}
	})
	login := map[string]any{"email": "nobody@example.com", "password": testPassword}
	for i, wantRemaining := range []string{"1", "0"} {
		r := e.do("POST", "/api/auth/login", login)
		if r.status != http.StatusUnauthorized {
			t.Fatalf("login #%d = %d %s, want 401", i+1, r.status, r.body)
		}
		checkRateHeaders(t, r, "2", wantRemaining, "30")
	}
	r := e.do("POST", "/api/auth/login", login)
	checkProblem(t, r, http.StatusTooManyRequests, codeRateLimited)
	checkRateHeaders(t, r, "2", "0", "30")
	if got := r.header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2 (1.5 s rounded up)", got)
	}
	// Every POST under /api/auth/ counts, bad requests included.
	r = e.do("POST", "/api/auth/register", `{`)
	checkProblem(t, r, http.StatusTooManyRequests, codeRateLimited)

	// Another client address has its own budget.
	r = e.do("POST", "/api/auth/login", login, "X-Test-IP", "198.51.100.9")
	if r.status != http.StatusUnauthorized {
		t.Errorf("login from another address = %d, want 401", r.status)
	}
	if _, ok := lim.seen["ip:198.51.100.9"]; !ok {
		t.Errorf("limiter keys = %v, want one for 198.51.100.9", lim.seen)
	}
	// GETs are not limited.
	r = e.do("GET", "/api/auth/me", nil)
	if r.header.Get("RateLimit-Limit") != "" || r.status == http.StatusTooManyRequests {
		t.Errorf("GET /api/auth/me = %d with RateLimit-Limit %q, want no rate limiting", r.status, r.header.Get("RateLimit-Limit"))
	}

	t.Run("limiter failure lets requests through", func(t *testing.T) {
		e := newEnv(t, func(c *envConfig) { c.opts.Limiter = &fakeLimiter{err: errors.New("redis down")} })
		r := e.do("POST", "/api/auth/login", login)
		if r.status != http.StatusUnauthorized {
			t.Errorf("login with a failing limiter = %d %s, want 401", r.status, r.body)
		}
		if !strings.Contains(e.logs.String(), "rate limiter failed") {
			t.Errorf("limiter failure not logged: %s", e.logs)
		}
	})
}

func checkRateHeaders(t *testing.T, r response, limit, remaining, reset string) {
	t.Helper()
	for k, want := range map[string]string{"RateLimit-Limit": limit, "RateLimit-Remaining": remaining, "RateLimit-Reset": reset} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// panicRoutes adds a plain route and a huma operation that panic.
func panicRoutes(s *server) {
	s.mux.HandleFunc("GET /test/panic", func(http.ResponseWriter, *http.Request) { panic("boom in a plain handler") })
	huma.Register(s.api, huma.Operation{OperationID: "testPanic", Method: "GET", Path: "/test/panic-op", Hidden: true},
		func(context.Context, *struct{}) (*healthOutput, error) { panic(fmt.Errorf("boom in an operation")) })
}

func TestPanicRecovery(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.extra = panicRoutes })
	for _, path := range []string{"/test/panic", "/test/panic-op"} {
		t.Run(path, func(t *testing.T) {
			r := e.do("GET", path, nil, "X-Request-ID", "crash-"+strings.TrimPrefix(path, "/test/panic"))
			checkProblem(t, r, http.StatusInternalServerError, codeInternalError)
			checkCommonHeaders(t, path, r)
			if strings.Contains(string(r.body), "boom") {
				t.Errorf("panic value leaked into the body: %s", r.body)
			}
			id := r.header.Get("X-Request-ID")
			var sawError, sawAccess bool
			for _, l := range e.logs.Lines(t) {
				if l["request_id"] != id {
					continue
				}
				switch l["msg"] {
				case "internal error":
					sawError = true
					if s, _ := l["stack"].(string); !strings.Contains(s, "goroutine") {
						t.Errorf("error line stack = %.80q, want a stack trace", s)
					}
					if s, _ := l["error"].(string); !strings.Contains(s, "boom") {
						t.Errorf("error line error = %q, want the panic value", s)
					}
				case "request":
					sawAccess = true
					if l["level"] != "ERROR" || l["status"] != float64(500) {
						t.Errorf("access line level %v status %v, want ERROR 500", l["level"], l["status"])
					}
				}
			}
			if !sawError || !sawAccess {
				t.Errorf("logs for %s: error line %v, access line %v; want both:\n%s", id, sawError, sawAccess, e.logs)
			}
		})
	}
	// The server survives.
	if r := e.do("GET", "/healthz", nil); r.status != http.StatusOK {
		t.Errorf("healthz after panics = %d, want 200", r.status)
	}
}

// failingStore makes chosen Store calls fail or slow.
type failingStore struct {
	auth.Store
	mu    sync.Mutex
	err   error
	delay time.Duration
}

func (s *failingStore) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *failingStore) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	s.mu.Lock()
	err, delay := s.err, s.delay
	s.mu.Unlock()
	if err != nil {
		return auth.User{}, err
	}
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return auth.User{}, fmt.Errorf("%w: %w", auth.ErrUnavailable, ctx.Err())
	}
	return s.Store.UserByEmail(ctx, email)
}

// TestSlowHandlerKeepsContext runs a request that outlives the server's
// ReadTimeout and the body deadline after its body was read: its context
// must stay alive, which fails if a read deadline is left on the
// connection.
func TestSlowHandlerKeepsContext(t *testing.T) {
	fs := &failingStore{delay: 700 * time.Millisecond}
	e := newEnv(t, func(c *envConfig) {
		c.store = func(s auth.Store) auth.Store { fs.Store = s; return fs }
		c.extra = func(s *server) { s.bodyTimeout = 200 * time.Millisecond }
	})
	srv := httptest.NewUnstartedServer(e.handler)
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	defer srv.Close()
	e.srv = srv
	r := e.do("POST", "/api/auth/register", map[string]any{"email": "slow@example.com", "password": testPassword})
	if r.status != http.StatusCreated {
		t.Errorf("slow register = %d %s, want 201", r.status, r.body)
	}
}

// TestClientHangsUp: a client that leaves while its login waits on the
// database cancels that call; the request ends as a 499 at info level,
// with no error line and no stack, and the server's metrics see a 499,
// not a 5xx (an operator must not be paged for impatient clients).
func TestClientHangsUp(t *testing.T) {
	fs := &failingStore{delay: time.Minute}
	var mu sync.Mutex
	var statuses []int
	e := newEnv(t, func(c *envConfig) {
		c.store = func(s auth.Store) auth.Store { fs.Store = s; return fs }
		c.extra = func(s *server) {
			s.observe = func(_, _ string, status int, _ time.Duration) {
				mu.Lock()
				statuses = append(statuses, status)
				mu.Unlock()
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/api/auth/login",
		strings.NewReader(`{"email":"gone@example.com","password":"`+testPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-ID", "hung-up")
	if resp, err := e.srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("login answered %d within a minute's delay", resp.StatusCode)
	}
	logs := e.logs.WaitFor(t, "the access line of the abandoned login", func(l string) bool {
		return strings.Contains(l, `"request_id":"hung-up","method"`)
	})
	for _, l := range e.logs.Lines(t) {
		if l["request_id"] != "hung-up" {
			continue
		}
		if l["msg"] == "internal error" || l["stack"] != nil {
			t.Errorf("an abandoned request logged an error: %v", l)
		}
		if l["msg"] == "request" && (l["status"] != float64(statusClientClosed) || l["level"] != "INFO") {
			t.Errorf("access line %v, want status 499 at INFO", l)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(statuses) != 1 || statuses[0] != statusClientClosed {
		t.Errorf("metrics saw statuses %v, want [499]\n%s", statuses, logs)
	}
}

func (s *failingStore) Ping(ctx context.Context) error {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.Store.Ping(ctx)
}

func TestInfrastructureFailures(t *testing.T) {
	fs := &failingStore{}
	e := newEnv(t, func(c *envConfig) {
		c.store = func(s auth.Store) auth.Store { fs.Store = s; return fs }
	})
	const secretSQL = "SELECT password_hash FROM users WHERE email = 'x'"
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantRetry  string
		logged     bool
	}{
		{"outage", fmt.Errorf("query: %w", auth.ErrUnavailable), 503, codeServiceUnavailable, "5", false},
		{"open circuit with a hint", &auth.RetryError{Kind: auth.ErrUnavailable, RetryAfter: 11500 * time.Millisecond}, 503, codeServiceUnavailable, "12", false},
		{"overloaded", &auth.RetryError{Kind: auth.ErrOverloaded, RetryAfter: 300 * time.Millisecond}, 503, codeOverloaded, "1", false},
		{"database fault", fmt.Errorf("%w: %s: syntax error", auth.ErrDatabase, secretSQL), 500, codeDatabaseError, "", true},
		{"unknown error", errors.New("kaboom: " + secretSQL), 500, codeInternalError, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs.fail(tc.err)
			defer fs.fail(nil)
			for _, path := range []string{"/api/auth/login", "/api/auth/register"} {
				r := e.do("POST", path, map[string]any{"email": "x@example.com", "password": testPassword}, "X-Request-ID", "infra-"+strings.ReplaceAll(tc.name, " ", "-"))
				checkProblem(t, r, tc.wantStatus, tc.wantCode)
				if got := r.header.Get("Retry-After"); got != tc.wantRetry {
					t.Errorf("POST %s Retry-After = %q, want %q", path, got, tc.wantRetry)
				}
			}
			id := "infra-" + strings.ReplaceAll(tc.name, " ", "-")
			errorLines := 0
			for _, l := range e.logs.Lines(t) {
				if l["msg"] != "internal error" || l["request_id"] != id {
					continue
				}
				errorLines++
				if s, _ := l["stack"].(string); !strings.Contains(s, "goroutine") {
					t.Errorf("error line has no stack: %v", l)
				}
				if s, _ := l["error"].(string); !strings.Contains(s, "SELECT") {
					t.Errorf("error line error = %q, want the real cause", s)
				}
			}
			// One error line per 500 (two requests); none for a 503.
			if want := map[bool]int{true: 2, false: 0}[tc.logged]; errorLines != want {
				t.Errorf("%d error lines for %s, want %d:\n%s", errorLines, id, want, e.logs)
			}
		})
	}

	t.Run("readyz", func(t *testing.T) {
		fs.fail(fmt.Errorf("ping: %w", auth.ErrUnavailable))
		defer fs.fail(nil)
		r := e.do("GET", "/readyz", nil)
		checkProblem(t, r, http.StatusServiceUnavailable, codeServiceUnavailable)
		if got := r.header.Get("Retry-After"); got != "5" {
			t.Errorf("Retry-After = %q, want 5", got)
		}
		if got := r.json(t)["checks"]; fmt.Sprint(got) != "map[database:unavailable]" {
			t.Errorf("checks = %v, want database unavailable", got)
		}
		// Liveness touches nothing.
		if r := e.do("GET", "/healthz", nil); r.status != http.StatusOK {
			t.Errorf("healthz during an outage = %d, want 200", r.status)
		}
	})
}

func TestReadyAndMetricsOptions(t *testing.T) {
	var mu sync.Mutex
	ready := error(nil)
	e := newEnv(t, func(c *envConfig) {
		c.opts.Ready = func(context.Context) (map[string]string, error) {
			mu.Lock()
			defer mu.Unlock()
			state := "closed"
			if ready != nil {
				state = "open"
			}
			return map[string]string{"database": "ok", "breaker": state}, ready
		}
		c.opts.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			fmt.Fprintln(w, "# HELP authserve_up 1 when up.")
		})
	})
	r := e.do("GET", "/readyz", nil)
	wantJSON(`{"status":"ok","checks":{"database":"ok","breaker":"closed"}}`)(t, r)

	mu.Lock()
	ready = &auth.RetryError{Kind: auth.ErrUnavailable, RetryAfter: 30 * time.Second}
	mu.Unlock()
	r = e.do("GET", "/readyz", nil)
	checkProblem(t, r, http.StatusServiceUnavailable, codeServiceUnavailable)
	if got := r.header.Get("Retry-After"); got != "30" {
		t.Errorf("Retry-After = %q, want 30", got)
	}
	if got := r.json(t)["checks"]; fmt.Sprint(got) != "map[breaker:open database:ok]" {
		t.Errorf("checks = %v, want the breaker open", got)
	}

	r = e.do("GET", "/metrics", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(string(r.body), "# HELP authserve_up") {
		t.Errorf("metrics = %d %q, want the metrics handler's output", r.status, r.body)
	}
	if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
		t.Errorf("metrics Content-Type = %q, want text/plain", got)
	}
}

func TestObserve(t *testing.T) {
	type call struct {
		route, method string
		status        int
	}
	var mu sync.Mutex
	var calls []call
	e := newEnv(t, func(c *envConfig) {
		c.opts.Observe = func(route, method string, status int, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if d < 0 {
				t.Errorf("negative duration %v", d)
			}
			calls = append(calls, call{route, method, status})
		}
	})
	e.do("GET", "/healthz", nil)
	e.do("DELETE", "/api/auth/sessions/abc123", nil)
	e.do("GET", "/no/such/path/12345", nil)
	e.do("PUT", "/healthz", nil)
	e.do("GET", "/docs/swagger-ui.css", nil)
	want := []call{
		{"/healthz", "GET", 200},
		{"/api/auth/sessions/{id}", "DELETE", 401},
		{unmatchedRoute, "GET", 404},
		{unmatchedRoute, "PUT", 405},
		{"/docs/", "GET", 200},
	}
	// A large body reaches the client before the handler returns, so the
	// last call may still be on its way.
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		got := fmt.Sprint(calls)
		mu.Unlock()
		if got == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Observe calls = %v, want %v", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAccessLog(t *testing.T) {
	e := newEnv(t)
	e.register("logger@example.com")
	tr := e.login("logger@example.com", "User-Agent", "log-test/1.0")
	access, refresh := tr["access_token"].(string), tr["refresh_token"].(string)
	e.do("GET", "/api/auth/me?access_token="+access+"&q=1", nil, "Authorization", "Bearer "+access,
		"X-Request-ID", "me-request", "Cookie", "session=cookie-secret-value")
	e.do("POST", "/api/auth/login", map[string]any{"email": "logger@example.com", "password": "Wrong-Horse-99"}, "X-Request-ID", "failed-login")
	e.do("POST", "/api/auth/refresh", map[string]any{"refresh_token": refresh}, "X-Request-ID", "refresh-request")
	e.do("GET", "/nope", nil, "X-Request-ID", "not-found")

	lines := e.logs.Lines(t)
	byID := map[string][]map[string]any{}
	for _, l := range lines {
		if l["msg"] == "request" {
			id, _ := l["request_id"].(string)
			byID[id] = append(byID[id], l)
		}
	}
	for _, id := range []string{"me-request", "failed-login", "refresh-request", "not-found"} {
		if len(byID[id]) != 1 {
			t.Errorf("request %s has %d access lines, want 1", id, len(byID[id]))
		}
	}
	me := byID["me-request"][0]
	want := map[string]any{
		"method": "GET", "path": "/api/auth/me", "status": float64(200),
		"client_ip": "127.0.0.1", "user_agent": "Go-http-client/1.1", "level": "INFO",
	}
	for k, v := range want {
		if me[k] != v {
			t.Errorf("access line %s = %v, want %v", k, me[k], v)
		}
	}
	if _, ok := me["duration_ms"].(float64); !ok {
		t.Errorf("access line duration_ms = %v, want a number", me["duration_ms"])
	}
	if _, ok := me["user_id"].(float64); !ok {
		t.Errorf("access line of an authenticated request lacks user_id: %v", me)
	}
	if _, ok := byID["not-found"][0]["user_id"]; ok {
		t.Errorf("anonymous request logged a user_id: %v", byID["not-found"][0])
	}
	// The failed login's event line carries the same request id.
	sawEvent := false
	for _, l := range lines {
		if l["event"] == "user.login_failed" && l["request_id"] == "failed-login" {
			sawEvent = true
		}
	}
	if !sawEvent {
		t.Errorf("no user.login_failed line with the request's id")
	}

	all := e.logs.String()
	for _, secret := range []string{testPassword, "Wrong-Horse-99", access, refresh, "cookie-secret-value", "Bearer ", "q=1"} {
		if strings.Contains(all, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

func TestCheckUniqueNames(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{`{"a":1,"b":2}`, false},
		{`{"a":1,"a":2}`, true},
		{`{"a":{"a":1},"b":[{"a":1},{"a":2}]}`, false},
		{`{"a":{"x":1,"x":2}}`, true},
		{`[{"a":1,"a":1}]`, true},
		{`{"a":"b","b":"a"}`, false},
		{`{"a":["a","a"],"c":"a"}`, false},
		{`{"a":{},"a":[]}`, true},
		{`{"a":[[],{}],"b":{"c":{"d":"d"}},"d":1}`, false},
		{`"a"`, false},
		{`{"a":1,`, false}, // invalid JSON: the decoder's to report
	}
	for _, tt := range tests {
		if err := checkUniqueNames([]byte(tt.in)); (err != nil) != tt.wantErr {
			t.Errorf("checkUniqueNames(%s) = %v, want error %v", tt.in, err, tt.wantErr)
		}
	}
}

func TestCleanPath(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"/", true}, {"/healthz", true}, {"/docs/", true}, {"/api/auth/me", true},
		{"//healthz", false}, {"/api//auth/me", false}, {"/api/auth/../../healthz", false},
		{"/./healthz", false}, {"/docs//", false},
	}
	for _, tt := range tests {
		if got := cleanPath(tt.in); got != tt.want {
			t.Errorf("cleanPath(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestHeaderLimit(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		size   int
		status int
	}{
		{"well under", 1 << 10, http.StatusOK},
		{"just under", DefaultMaxHeaderBytes - 512, http.StatusOK},
		{"over", DefaultMaxHeaderBytes + 1, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("GET", "/healthz", nil, "X-Padding", strings.Repeat("p", tt.size))
			if r.status != tt.status {
				t.Fatalf("GET /healthz with %d header bytes = %d, want %d", tt.size, r.status, tt.status)
			}
			if tt.status == http.StatusOK {
				return
			}
			checkProblem(t, r, tt.status, codePayloadTooLarge)
			checkCommonHeaders(t, "/healthz", r)
		})
	}
}
