package loadtest

// The tests in this file are unit tests of the client engine only. They
// run it against fakeAuth, a minimal in-memory stand-in for four endpoints
// of the API (docs/api.md "Endpoints"), to check what the engine sends and how it counts; they
// say nothing about authserve's performance. The real end-to-end run is
// the built authbench against the built authserve.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newLocalServer serves h on a loopback port for the duration of the test
// and counts the connections clients open to it.
func newLocalServer(t *testing.T, h http.Handler) (string, *atomic.Int64) {
	t.Helper()
	conns := new(atomic.Int64)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, conns
}

// fakeAuth implements register, login, refresh (with rotation and reuse
// detection), me and healthz just far enough to exercise the engine.
type fakeAuth struct {
	overloadEvery     int64 // every n-th login answers 503 overloaded; 0 never
	rateLimitRegister bool  // register answers 429 rate_limited

	mu        sync.Mutex
	passwords map[string]string // email → password
	access    map[string]string // access token → email
	refresh   map[string]string // live refresh token → email
	spent     map[string]bool   // rotated refresh tokens
	reused    int               // spent tokens presented again
	unknown   int               // refresh tokens never issued
	badMedia  int               // POSTs without Content-Type: application/json
	logins    atomic.Int64
	healthz   atomic.Int64
	seq       int
}

func newFakeAuth() *fakeAuth {
	return &fakeAuth{passwords: map[string]string{}, access: map[string]string{}, refresh: map[string]string{}, spent: map[string]bool{}}
}

func problem(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":"about:blank","status":%d,"code":%q,"detail":"fake %s"}`, status, code, code)
}

// issue returns a token response for email; f.mu is held.
func (f *fakeAuth) issue(w http.ResponseWriter, email string) {
	f.seq++
	at, rt := fmt.Sprintf("at-%d", f.seq), fmt.Sprintf("rt-%d", f.seq)
	f.access[at], f.refresh[rt] = email, email
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 900, "refresh_token": rt})
}

func (f *fakeAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/json" {
		f.mu.Lock()
		f.badMedia++
		f.mu.Unlock()
		problem(w, http.StatusUnsupportedMediaType, "unsupported_media_type")
		return
	}
	var body struct {
		Email        string `json:"email"`
		Password     string `json:"password"`
		RefreshToken string `json:"refresh_token"`
	}
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			problem(w, http.StatusBadRequest, "malformed_request")
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch route {
	case "GET /healthz":
		f.healthz.Add(1)
		w.Write([]byte(`{"status":"ok"}`))
	case "POST /api/auth/register":
		switch {
		case f.rateLimitRegister:
			problem(w, http.StatusTooManyRequests, "rate_limited")
		case f.passwords[body.Email] != "":
			problem(w, http.StatusConflict, "user_already_exists")
		default:
			f.passwords[body.Email] = body.Password
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"id":"%d","email":%q}`, len(f.passwords), body.Email)
		}
	case "POST /api/auth/login":
		n := f.logins.Add(1)
		switch {
		case f.overloadEvery > 0 && n%f.overloadEvery == 0:
			problem(w, http.StatusServiceUnavailable, "overloaded")
		case f.passwords[body.Email] == "" || f.passwords[body.Email] != body.Password:
			problem(w, http.StatusUnauthorized, "invalid_credentials")
		default:
			f.issue(w, body.Email)
		}
	case "POST /api/auth/refresh":
		email, ok := f.refresh[body.RefreshToken]
		switch {
		case ok:
			delete(f.refresh, body.RefreshToken)
			f.spent[body.RefreshToken] = true
			f.issue(w, email)
		case f.spent[body.RefreshToken]:
			f.reused++
			problem(w, http.StatusUnauthorized, "refresh_token_reused")
		default:
			f.unknown++
			problem(w, http.StatusUnauthorized, "invalid_token")
		}
	case "GET /api/auth/me":
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		email := f.access[tok]
		if !ok || email == "" {
			problem(w, http.StatusUnauthorized, "invalid_token")
			return
		}
		fmt.Fprintf(w, `{"id":"1","email":%q}`, email)
	default:
		problem(w, http.StatusNotFound, "not_found")
	}
}

// engineConfig is a short run against addr: cost-4 bound, 150ms phases.
func engineConfig(t *testing.T, addr string, phases string) Config {
	t.Helper()
	u, err := CheckAddr(addr, false)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := ParsePhases(phases)
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Addr: u, RunID: "enginetest", Users: 4, Password: "Bench-Passw0rd-{n}", Phases: ph,
		Duration: 150 * time.Millisecond, MaxRequests: 100_000, Timeout: 2 * time.Second,
		BcryptCost: 4, BoundDuration: 100 * time.Millisecond, ProbeHealthz: true,
	}
}

func TestEngineUnitAgainstFakeEndpoints(t *testing.T) {
	fake := newFakeAuth()
	addr, _ := newLocalServer(t, fake)
	rep, err := Run(t.Context(), engineConfig(t, addr, "login:1,4;register:2;me:4;refresh:3;healthz:2"))
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	if rep.Bound == nil || rep.Bound.Hashes < 1 || rep.Bound.PerSecond <= 0 {
		t.Fatalf("Run().Bound = %+v, want a measured bound", rep.Bound)
	}
	if rep.IdleLoginMS <= 0 {
		t.Errorf("Run().IdleLoginMS = %v, want > 0", rep.IdleLoginMS)
	}
	wantKinds := []string{"login@1", "login@4", "register@2", "me@4", "refresh@3", "healthz@2"}
	if len(rep.Phases) != len(wantKinds) {
		t.Fatalf("Run() gave %d phases, want %d", len(rep.Phases), len(wantKinds))
	}
	registered := 0
	for i, p := range rep.Phases {
		name := fmt.Sprintf("%s@%d", p.Kind, p.Concurrency)
		if name != wantKinds[i] {
			t.Errorf("phase %d = %s, want %s", i, name, wantKinds[i])
		}
		okKey := "200"
		if p.Kind == KindRegister {
			okKey = "201"
			registered = p.OK
		}
		if p.Error != "" || p.Requests == 0 || p.OK != p.Requests || p.Statuses[okKey] != p.Requests || len(p.Statuses) != 1 {
			t.Errorf("%s: error %q, %d requests, %d ok, statuses %v; want all %s", name, p.Error, p.Requests, p.OK, p.Statuses, okKey)
		}
		if p.Seconds < 0.15 || p.RPS <= 0 {
			t.Errorf("%s: %v seconds, %v req/s; want at least the phase duration and a rate", name, p.Seconds, p.RPS)
		}
		if l := p.Latency; !(0 < l.P50 && l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max) {
			t.Errorf("%s: latency %+v, want 0 < p50 <= p95 <= p99 <= max", name, l)
		}
		if got := p.Efficiency != nil; got != p.Kind.PasswordPath() {
			t.Errorf("%s: efficiency set = %v, want %v", name, got, p.Kind.PasswordPath())
		} else if got {
			if want := p.OKPerSecond / rep.Bound.PerSecond; *p.Efficiency != want {
				t.Errorf("%s: efficiency = %v, want ok/s ÷ bound = %v", name, *p.Efficiency, want)
			}
		}
		if got := p.Probe != nil; got != (p.Kind == KindLogin) {
			t.Errorf("%s: healthz probe present = %v, want %v", name, got, p.Kind == KindLogin)
		} else if got && (p.Probe.Requests == 0 || p.Probe.Statuses["200"] != p.Probe.Requests) {
			t.Errorf("%s: probe %+v, want some probes, all 200", name, p.Probe)
		}
	}

	fake.mu.Lock()
	defer fake.mu.Unlock()
	if got, want := len(fake.passwords), 4+registered; got != want {
		t.Errorf("fake holds %d accounts, want %d (4 users + %d registered in the phase)", got, want, registered)
	}
	for email := range fake.passwords {
		if !strings.HasPrefix(email, "bench-enginetest-") {
			t.Errorf("account %q does not carry the run id", email)
		}
	}
	if fake.reused != 0 || fake.unknown != 0 {
		t.Errorf("refresh phase presented %d spent and %d unknown tokens, want 0: it must always use the newest token", fake.reused, fake.unknown)
	}
	if fake.badMedia != 0 {
		t.Errorf("%d POSTs lacked Content-Type: application/json", fake.badMedia)
	}
}

func TestEngineUnitCountsOverloadedLogins(t *testing.T) {
	fake := newFakeAuth()
	fake.overloadEvery = 3
	addr, _ := newLocalServer(t, fake)
	cfg := engineConfig(t, addr, "login:4")
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	p := rep.Phases[0]
	if p.Statuses["503 overloaded"] == 0 || p.Statuses["200"] == 0 || p.Statuses["200"]+p.Statuses["503 overloaded"] != p.Requests {
		t.Errorf("login@4 statuses = %v over %d requests, want both 200 and 503 overloaded and nothing else", p.Statuses, p.Requests)
	}
	if p.OK != p.Statuses["200"] || p.OKPerSecond >= p.RPS {
		t.Errorf("login@4: ok %d, ok/s %v, req/s %v; want ok = 200s and ok/s < req/s", p.OK, p.OKPerSecond, p.RPS)
	}
	if want := p.OKPerSecond / rep.Bound.PerSecond; p.Efficiency == nil || *p.Efficiency != want {
		t.Errorf("login@4 efficiency = %v, want ok/s ÷ bound = %v (a 503 costs no hash)", p.Efficiency, want)
	}
}

func TestEngineUnitRequestCap(t *testing.T) {
	fake := newFakeAuth()
	addr, _ := newLocalServer(t, fake)
	cfg := engineConfig(t, addr, "healthz:4")
	cfg.Duration = 10 * time.Second
	cfg.MaxRequests = 50
	start := time.Now()
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run() with a 50-request cap took %v, want it to stop at the cap", d)
	}
	p := rep.Phases[0]
	if p.Requests != 50 || !p.Capped {
		t.Errorf("healthz@4: %d requests, capped %v; want 50, true", p.Requests, p.Capped)
	}
	// One more for the start-up check.
	if got := fake.healthz.Load(); got != 51 {
		t.Errorf("fake saw %d /healthz requests, want 51", got)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "request cap") {
		t.Errorf("Run().Warnings = %q, want one about the cap", rep.Warnings)
	}
}

func TestEngineUnitStopsOnInterrupt(t *testing.T) {
	fake := newFakeAuth()
	addr, _ := newLocalServer(t, fake)
	cfg := engineConfig(t, addr, "me:4;login:2")
	cfg.Duration = 30 * time.Second
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var once sync.Once
	cfg.Progress = writerFunc(func(b []byte) {
		if strings.Contains(string(b), "phase 1/2") {
			once.Do(func() { time.AfterFunc(200*time.Millisecond, cancel) })
		}
	})
	start := time.Now()
	rep, err := Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run() error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run() took %v after an interrupt, want a prompt stop", d)
	}
	if len(rep.Phases) != 1 || !rep.Phases[0].Interrupted || rep.Phases[0].Requests == 0 {
		t.Fatalf("Run() phases = %+v, want the interrupted me phase with its requests", rep.Phases)
	}
	if st := rep.Phases[0].Statuses; len(st) != 1 || st["200"] == 0 {
		t.Errorf("interrupted phase statuses = %v, want only 200s (cut-off requests are not the server's doing)", st)
	}
}

func TestEngineUnitSetupFailureExplainsRateLimit(t *testing.T) {
	fake := newFakeAuth()
	fake.rateLimitRegister = true
	addr, _ := newLocalServer(t, fake)
	_, err := Run(t.Context(), engineConfig(t, addr, "login:1"))
	if err == nil || !strings.Contains(err.Error(), "429 rate_limited") || !strings.Contains(err.Error(), "AUTH_RATE_LIMIT_PER_MINUTE=0") {
		t.Errorf("Run() error = %v, want 429 rate_limited with the AUTH_RATE_LIMIT_PER_MINUTE hint", err)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	u, _ := CheckAddr("http://127.0.0.1:1", false)
	good := Config{Addr: u, RunID: "x", Users: 1, Password: "Bench-Passw0rd-{n}", Phases: []Phase{{KindLogin, 1}},
		Duration: time.Second, MaxRequests: 10, Timeout: time.Second, BcryptCost: 4, BoundDuration: time.Second}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"remote address", func(c *Config) { c.Addr.Host = "192.0.2.1:80" }, "--allow-remote"},
		{"run id with capitals", func(c *Config) { c.RunID = "Run1" }, "run id"},
		{"login without users", func(c *Config) { c.Users = 0 }, "needs registered users"},
		{"password over 72 bytes", func(c *Config) { c.Password = strings.Repeat("Aa1-", 17) + "{n}" }, "72"},
		{"no duration", func(c *Config) { c.Duration = 0 }, "phase duration"},
		{"no request cap", func(c *Config) { c.MaxRequests = 0 }, "max requests"},
		{"huge request cap", func(c *Config) { c.MaxRequests = MaxRequestsCap + 1 }, "max requests"},
		{"no phases", func(c *Config) { c.Phases = nil }, "no phases"},
	}
	for _, tt := range tests {
		cfg := good
		addr := *good.Addr
		cfg.Addr = &addr
		tt.change(&cfg)
		if _, err := Run(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%s) error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestRunReportsMissingServer(t *testing.T) {
	// A port that was just free: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	_, err = Run(t.Context(), engineConfig(t, addr, "healthz:1"))
	if err == nil || !strings.Contains(err.Error(), "no server answering") {
		t.Errorf("Run(no server) error = %v, want one saying no server answers", err)
	}
}

// writerFunc adapts a function to io.Writer for progress output.
type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }
