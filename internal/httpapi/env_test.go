package httpapi

import (
	"github.com/authserve/authserve/internal/logtest"

	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/logging"
	"github.com/authserve/authserve/internal/ratelimit"
	"github.com/authserve/authserve/internal/sqlstore"
	"github.com/authserve/authserve/internal/token"
)

// testSecret signs the test environment's access tokens.
var testSecret = []byte("httpapi-test-secret-0123456789abcdef")

// testPassword satisfies the default password policy.
const testPassword = "Correct-Horse-42"

// env is a server through NewHandler on a fresh SQLite database.
type env struct {
	t       testing.TB
	srv     *httptest.Server
	handler http.Handler
	svc     *auth.Service
	store   *sqlstore.Store
	tokens  *token.Manager
	logs    *logtest.Buffer
	// now is the domain's clock; tests move it to expire tokens.
	clock *testClock
}

type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

type envConfig struct {
	opts    Options
	authCfg *auth.Config
	extra   func(*server)
	store   func(auth.Store) auth.Store
}

func newEnv(t testing.TB, configure ...func(*envConfig)) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "auth.db")})
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	hasher, err := auth.NewHasher(4, 2, time.Second, nil)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	keys, err := token.NewHMACKeySet(testSecret)
	if err != nil {
		t.Fatalf("NewHMACKeySet: %v", err)
	}
	clock := &testClock{}
	tokens, err := token.NewManager(token.Config{Issuer: "authserve", TTL: 15 * time.Minute}, keys)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	logs := &logtest.Buffer{}
	h, err := logging.NewHandler(logs, slog.LevelDebug, "json")
	if err != nil {
		t.Fatalf("logging.NewHandler: %v", err)
	}
	logger := slog.New(h)

	cfg := envConfig{opts: Options{Logger: logger, JWKS: keys.JWKS, Version: "test"}}
	for _, c := range configure {
		c(&cfg)
	}
	authCfg := auth.Config{
		Password:             auth.PasswordPolicy{MinLength: 8, MinClasses: 3},
		RefreshTokenTTL:      720 * time.Hour,
		SessionMaxLifetime:   2160 * time.Hour,
		RefreshReuseInterval: 0,
	}
	if cfg.authCfg != nil {
		authCfg = *cfg.authCfg
	}
	var st auth.Store = store
	if cfg.store != nil {
		st = cfg.store(store)
	}
	svc := auth.NewService(authCfg, auth.Deps{
		Store: st, Hasher: hasher, Tokens: tokens, Lockout: store, Logger: logger, Now: clock.now,
	})
	cfg.opts.Service = svc
	handler := newServer(cfg.opts, cfg.extra)
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, handler: handler, svc: svc, store: store, tokens: tokens, logs: logs, clock: clock}
}

// response is a finished exchange, body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do sends a request; body may be nil, a string (sent as is) or any value
// (sent as JSON). Headers are name, value pairs.
func (e *env) do(method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatalf("NewRequest: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// register creates an account and fails the test otherwise.
func (e *env) register(email string) map[string]any {
	e.t.Helper()
	r := e.do("POST", "/api/auth/register", map[string]any{"email": email, "password": testPassword})
	if r.status != http.StatusCreated {
		e.t.Fatalf("register %s: status %d, body %s", email, r.status, r.body)
	}
	return r.json(e.t)
}

// login logs in and returns the token response.
func (e *env) login(email string, headers ...string) map[string]any {
	e.t.Helper()
	r := e.do("POST", "/api/auth/login", map[string]any{"email": email, "password": testPassword}, headers...)
	if r.status != http.StatusOK {
		e.t.Fatalf("login %s: status %d, body %s", email, r.status, r.body)
	}
	return r.json(e.t)
}

// fakeLimiter allows limit requests per key, then refuses; err, when set,
// is returned instead of a decision.
type fakeLimiter struct {
	mu    sync.Mutex
	limit int
	seen  map[string]int
	err   error
}

func (l *fakeLimiter) Allow(_ context.Context, key string) (ratelimit.Decision, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return ratelimit.Decision{}, l.err
	}
	if l.seen == nil {
		l.seen = map[string]int{}
	}
	l.seen[key]++
	n := l.seen[key]
	d := ratelimit.Decision{Allowed: n <= l.limit, Limit: l.limit, Remaining: max(l.limit-n, 0), ResetAfter: 30 * time.Second}
	if !d.Allowed {
		d.RetryAfter = 1500 * time.Millisecond
	}
	return d, nil
}
