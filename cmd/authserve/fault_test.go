package main

// Fault-injection tests: the real service, started through run, talks to
// the real PostgreSQL through a TCP proxy that refuses, resets or
// black-holes connections on command (internal/faultproxy), and to SQLite
// files that turn read-only or locked. They show docs/failures.md:
// 503 service_unavailable with Retry-After (never 500, never a hang), fast
// failure once the circuit is open, /readyz following the database, quick
// recovery, and no acknowledged write lost.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/authserve/authserve/internal/faultproxy"
	"github.com/authserve/authserve/internal/pgtest"
)

// The service's fault settings for these tests: short, so that a run stays
// well under a minute, yet far apart enough to tell a fast failure from a
// timed-out one. The database timeout leaves room for -race on two busy
// cores, where a healthy call can take a few hundred milliseconds: a
// shorter one opens the circuit with no fault injected at all.
const (
	faultDBTimeout   = time.Second
	faultOpenTimeout = time.Second
	faultMaxFailures = 3
	// slack is added to every time bound, besides the worst stall of the
	// test process itself (see timeBounds). The bounds are there to catch
	// hangs and missing circuit breaking, not to measure speed, and -race
	// on two shared cores makes a quick request slow now and then.
	slack = 2 * time.Second
	// fastBound is the generous bound on the median answer while the
	// circuit is open, where no database call is made at all.
	fastBound = 250 * time.Millisecond
)

// faultJWTSecret keeps the service from writing a development key file
// (for PostgreSQL it would land in the working directory).
const faultJWTSecret = "fault-test-secret-0123456789-abcdefghij"

// faultEnv is the service's configuration for fault tests.
func faultEnv(t *testing.T, databaseURL string) map[string]string {
	return testEnv(t, map[string]string{
		"AUTH_DATABASE_URL":              databaseURL,
		"AUTH_DB_TIMEOUT":                faultDBTimeout.String(),
		"AUTH_BREAKER_MAX_FAILURES":      strconv.Itoa(faultMaxFailures),
		"AUTH_BREAKER_OPEN_TIMEOUT":      faultOpenTimeout.String(),
		"AUTH_DB_CONN_MAX_IDLE_TIME":     "1s",
		"AUTH_LOCKOUT_THRESHOLD":         "0",
		"AUTH_LOCKOUT_ACCOUNT_THRESHOLD": "0",
		"AUTH_JWT_SECRET":                faultJWTSecret,
		// Hashing never queues, so that every 503 comes from the database
		// (no overloaded answers from a full hashing queue).
		"AUTH_HASH_CONCURRENCY": "16",
		// Thousands of requests: debug lines would only cost CPU.
		"AUTH_LOG_LEVEL": "info",
	})
}

// pgBehindProxy is a running service whose PostgreSQL connections pass
// through a fault proxy.
type pgBehindProxy struct {
	srv   *server
	proxy *faultproxy.Proxy
	// direct is the DSN of the test's schema without the proxy, for
	// looking at the tables whatever the proxy does.
	direct string
}

// startBehindProxy gives the test a fresh schema (skipping without
// AUTH_TEST_POSTGRES_URL), a proxy in front of the server and the service
// configured to reach the database through the proxy.
func startBehindProxy(t *testing.T) *pgBehindProxy {
	t.Helper()
	direct := pgtest.DSN(t)
	cfg, err := pgconn.ParseConfig(direct)
	if err != nil {
		t.Fatalf("%s: %v", pgtest.EnvURL, err)
	}
	// Fallbacks also list the same server without TLS (sslmode=prefer).
	oneHost := !strings.HasPrefix(cfg.Host, "/")
	for _, f := range cfg.Fallbacks {
		oneHost = oneHost && f.Host == cfg.Host && f.Port == cfg.Port
	}
	if !oneHost {
		t.Fatalf("%s must name one server over TCP for the fault tests (got a Unix socket or several hosts)", pgtest.EnvURL)
	}
	proxy, err := faultproxy.New(net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: the server stops before the proxy
	// closes, and the schema is dropped after both.
	t.Cleanup(func() { proxy.Close() })
	via, err := withHostPort(direct, proxy.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return &pgBehindProxy{srv: startServer(t, faultEnv(t, via)), proxy: proxy, direct: direct}
}

// withHostPort points a postgres:// URL or keyword/value DSN at addr.
func withHostPort(dsn, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		// Later keywords win in pgx's keyword/value parser.
		return dsn + " host=" + host + " port=" + port, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("%s is not a valid URL", pgtest.EnvURL)
	}
	u.Host = addr
	return u.String(), nil
}

func (p *pgBehindProxy) setMode(t *testing.T, m faultproxy.Mode) {
	t.Helper()
	if err := p.proxy.SetMode(m); err != nil {
		t.Fatalf("proxy.SetMode(%v) = %v", m, err)
	}
}

// fetched is one HTTP answer and how long it took.
type fetched struct {
	status int
	body   map[string]any
	header http.Header
	took   time.Duration
}

// faultClient bounds every request: a request that hangs fails the test
// instead of hanging it.
var faultClient = &http.Client{Timeout: 15 * time.Second}

// fetch sends a request and decodes a JSON answer. Unlike call it returns
// errors, so that worker goroutines can use it.
func fetch(method, url, bearer string, body any) (fetched, error) {
	return fetchAs(method, url, "", bearer, body)
}

// fetchAs is fetch as the client at clientIP (X-Forwarded-For, believed
// from loopback where the server trusts it); "" sends no such header.
func fetchAs(method, url, clientIP, bearer string, body any) (fetched, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fetched{}, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return fetched{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if clientIP != "" {
		req.Header.Set("X-Forwarded-For", clientIP)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	start := time.Now()
	resp, err := faultClient.Do(req)
	if err != nil {
		return fetched{}, fmt.Errorf("%s %s: %w (after %v)", method, url, err, time.Since(start))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return fetched{}, fmt.Errorf("%s %s: read body: %w", method, url, err)
	}
	out := fetched{status: resp.StatusCode, header: resp.Header, took: took}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			return fetched{}, fmt.Errorf("%s %s: body is not JSON: %q", method, url, raw)
		}
	} else if resp.StatusCode >= 400 {
		return out, fmt.Errorf("%s %s = %d with a body that is not problem JSON: %q", method, url, resp.StatusCode, raw)
	}
	return out, nil
}

// mustFetch is fetch for the test's own goroutine.
func mustFetch(t *testing.T, method, url, bearer string, body any) fetched {
	t.Helper()
	r, err := fetch(method, url, bearer, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// unavailableProblem returns what keeps r from being the documented answer
// during an outage (503, problem JSON, code service_unavailable, a whole
// number of seconds in Retry-After between 1 and maxRetry), or "".
func unavailableProblem(r fetched, maxRetry time.Duration) string {
	var why []string
	if r.status != http.StatusServiceUnavailable {
		why = append(why, fmt.Sprintf("status %d", r.status))
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		why = append(why, fmt.Sprintf("Content-Type %q", ct))
	}
	if r.body["code"] != "service_unavailable" || r.body["status"] != float64(503) || r.body["request_id"] == "" {
		why = append(why, fmt.Sprintf("body %v", r.body))
	}
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra < 1 || time.Duration(ra)*time.Second > maxRetry {
		why = append(why, fmt.Sprintf("Retry-After %q (want 1 to %v)", r.header.Get("Retry-After"), maxRetry))
	}
	return strings.Join(why, ", ")
}

// maxRetryAfter is the largest Retry-After the service may give in these
// tests: the open circuit's remaining time, rounded up, or a second.
var maxRetryAfter = max(faultOpenTimeout.Round(time.Second), time.Second)

// scrapeMetrics reads /metrics.
func scrapeMetrics(t *testing.T, base string) string {
	t.Helper()
	resp, err := faultClient.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d, %v", resp.StatusCode, err)
	}
	return string(b)
}

// sampleSum sums the samples of name, in Prometheus text format, whose labels
// include every name="value" pair given.
func sampleSum(text, name string, labels ...string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		// The value follows the last space: label values may hold spaces.
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		series, value := line[:i], line[i+1:]
		metricName, lbls, _ := strings.Cut(series, "{")
		if metricName != name {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(lbls, l) {
				match = false
			}
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil && match {
			sum += v
		}
	}
	return sum
}

// fetchSettled sends a request, retrying after a 503 as a client would. It is
// for the steps before a fault and after recovery, which are not what is
// being shown: there, on an overloaded machine, a healthy database call
// can still outlast its deadline now and then.
func fetchSettled(method, url, bearer string, body any) (fetched, error) {
	for try := 1; ; try++ {
		r, err := fetch(method, url, bearer, body)
		if err != nil || r.status != http.StatusServiceUnavailable || try == 5 {
			return r, err
		}
		time.Sleep(time.Second)
	}
}

// mustFetchSettled is fetchSettled for the test's own goroutine, requiring
// status want.
func mustFetchSettled(t *testing.T, want int, method, url, bearer string, body any) fetched {
	t.Helper()
	r, err := fetchSettled(method, url, bearer, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.status != want {
		t.Fatalf("%s %s = %d %v, want %d", method, url, r.status, r.body, want)
	}
	return r
}

// tokenPair is the tokens a login returned.
type tokenPair struct {
	access, refresh string
}

func registerSettled(t *testing.T, base, email string) {
	t.Helper()
	mustFetchSettled(t, http.StatusCreated, "POST", base+"/api/auth/register", "", map[string]any{"email": email, "password": testPassword})
}

func loginSettled(t *testing.T, base, email string) tokenPair {
	t.Helper()
	r := mustFetchSettled(t, http.StatusOK, "POST", base+"/api/auth/login", "", map[string]any{"email": email, "password": testPassword})
	return tokenPair{access: r.body["access_token"].(string), refresh: r.body["refresh_token"].(string)}
}

// waitReadyz polls /readyz until it answers 200 and returns how long that
// took. Its own limit only stops a test that would otherwise poll forever;
// callers bound the time with timeBounds.
func waitReadyz(t *testing.T, base string) time.Duration {
	t.Helper()
	const limit = 30 * time.Second
	start := time.Now()
	for {
		r, err := fetch("GET", base+"/readyz", "", nil)
		if err == nil && r.status == http.StatusOK {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("/readyz not 200 within %v of the database coming back: %d %v %v", limit, r.status, r.body, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// timeBounds checks durations against bounds at the end of a test,
// allowing for the worst stall of the test process seen meanwhile. On a
// machine shared with other work the whole process (client, service and
// proxy alike) sometimes stops for seconds; a bound that ignored it would
// measure the machine, not the service. The stall is measured by a ticker
// goroutine noting how late it wakes.
type timeBounds struct {
	mu    sync.Mutex
	worst time.Duration  // the latest wake-up seen
	over  []boundOverrun // durations over their bound, before the allowance
	stop  chan struct{}
	done  chan struct{}
}

type boundOverrun struct {
	what        string
	took, bound time.Duration
}

// newTimeBounds starts measuring stalls; the checks run when t ends.
func newTimeBounds(t *testing.T) *timeBounds {
	b := &timeBounds{stop: make(chan struct{}), done: make(chan struct{})}
	go b.measure()
	t.Cleanup(func() {
		close(b.stop)
		<-b.done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, o := range b.over {
			if o.took > o.bound+b.worst {
				t.Errorf("%s took %v, want at most %v (+%v, the worst stall of the test process)", o.what, o.took, o.bound, b.worst)
			}
		}
	})
	return b
}

func (b *timeBounds) measure() {
	defer close(b.done)
	const tick = 10 * time.Millisecond
	for {
		due := time.Now().Add(tick)
		select {
		case <-b.stop:
			return
		case <-time.After(tick):
		}
		late := time.Since(due)
		b.mu.Lock()
		b.worst = max(b.worst, late)
		b.mu.Unlock()
	}
}

// check notes that what took took, and should have taken at most bound.
func (b *timeBounds) check(what string, took, bound time.Duration) {
	if took <= bound {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.over = append(b.over, boundOverrun{what, took, bound})
}

// stall returns the worst stall seen so far.
func (b *timeBounds) stall() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.worst
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestFaultPostgres takes PostgreSQL away in each of the proxy's ways and
// checks the whole arc: failures as 503 within the database deadline, the
// circuit opening after AUTH_BREAKER_MAX_FAILURES of them, fast 503s while
// it is open, /readyz and /metrics telling the story, /healthz unmoved,
// and recovery within the open timeout once the database is back, with
// the sessions from before the outage still working.
func TestFaultPostgres(t *testing.T) {
	for _, mode := range []faultproxy.Mode{faultproxy.Refuse, faultproxy.Reset, faultproxy.Blackhole} {
		t.Run(mode.String(), func(t *testing.T) { testOutage(t, mode) })
	}
}

func testOutage(t *testing.T, mode faultproxy.Mode) {
	bounds := newTimeBounds(t)
	p := startBehindProxy(t)
	base := p.srv.URL
	registerSettled(t, base, "alice@example.com")
	// a serves /me and a refresh after the outage; b's refresh token is
	// the one presented during it.
	a := loginSettled(t, base, "alice@example.com")
	b := loginSettled(t, base, "alice@example.com")
	if r := mustFetchSettled(t, 200, "GET", base+"/readyz", "", nil); fmt.Sprint(r.body["checks"]) != "map[breaker:closed database:ok]" {
		t.Fatalf("/readyz before the outage = %d %v, want 200 with database ok, breaker closed", r.status, r.body)
	}
	m0 := scrapeMetrics(t, base)

	requests := []struct {
		name         string
		method, path string
		bearer       string
		body         func(n int) any
	}{
		{"register", "POST", "/api/auth/register", "", func(n int) any {
			return map[string]any{"email": fmt.Sprintf("during-%d@example.com", n), "password": testPassword}
		}},
		{"login", "POST", "/api/auth/login", "", func(int) any {
			return map[string]any{"email": "alice@example.com", "password": testPassword}
		}},
		{"me", "GET", "/api/auth/me", a.access, func(int) any { return nil }},
		{"refresh", "POST", "/api/auth/refresh", "", func(int) any { return map[string]any{"refresh_token": b.refresh} }},
	}
	send := func(n int) fetched {
		t.Helper()
		rq := requests[n%len(requests)]
		r := mustFetch(t, rq.method, base+rq.path, rq.bearer, rq.body(n))
		if why := unavailableProblem(r, maxRetryAfter); why != "" {
			t.Errorf("%v: %s #%d = %s; want 503 service_unavailable with Retry-After", mode, rq.name, n, why)
		}
		bounds.check(fmt.Sprintf("%v: %s #%d", mode, rq.name, n), r.took, faultDBTimeout+slack)
		return r
	}
	healthy := func(when string) {
		t.Helper()
		if r := mustFetch(t, "GET", base+"/healthz", "", nil); r.status != 200 {
			t.Errorf("%v: /healthz %s = %d, want 200", mode, when, r.status)
		}
	}

	p.setMode(t, mode)
	healthy("as the outage starts")

	// Each request makes one database call, which fails: the circuit opens
	// after faultMaxFailures of them. The state is read from /metrics,
	// because /readyz pings the database, which would count.
	n, firstFailure := 0, time.Duration(0)
	for ; sampleSum(scrapeMetrics(t, base), "authserve_breaker_state") != 2; n++ {
		if n == faultMaxFailures+2 {
			t.Fatalf("%v: circuit still not open after %d failed requests (AUTH_BREAKER_MAX_FAILURES=%d)", mode, n, faultMaxFailures)
		}
		r := send(n)
		if n == 0 {
			firstFailure = r.took
		}
	}
	if n != faultMaxFailures {
		t.Errorf("%v: circuit opened after %d failed requests, want %d", mode, n, faultMaxFailures)
	}

	const fastRequests = 24
	var fast []time.Duration
	for i := range fastRequests {
		fast = append(fast, send(n+i).took)
	}
	if got := medianDuration(fast); got > fastBound {
		t.Errorf("%v: medianDuration answer with the circuit open = %v, want under %v", mode, got, fastBound)
	}
	healthy("during the outage")

	r := mustFetch(t, "GET", base+"/readyz", "", nil)
	if why := unavailableProblem(r, maxRetryAfter); why != "" {
		t.Errorf("%v: /readyz during the outage = %s, want 503", mode, why)
	}
	if got := fmt.Sprint(r.body["checks"]); got != "map[breaker:open database:unavailable]" {
		t.Errorf("%v: /readyz checks during the outage = %s, want database unavailable, breaker open", mode, got)
	}
	m1 := scrapeMetrics(t, base)
	for _, c := range []struct {
		what     string
		got, min float64
	}{
		{"authserve_breaker_transitions_total{closed→open}", sampleSum(m1, "authserve_breaker_transitions_total", `from="closed"`, `to="open"`), 1},
		{"authserve_db_failures_total increase", sampleSum(m1, "authserve_db_failures_total") - sampleSum(m0, "authserve_db_failures_total"), faultMaxFailures},
		{"authserve_db_calls_total{outcome=rejected} increase", sampleSum(m1, "authserve_db_calls_total", `outcome="rejected"`) - sampleSum(m0, "authserve_db_calls_total", `outcome="rejected"`), fastRequests / 2},
		{"authserve_http_requests_total{status=503}", sampleSum(m1, "authserve_http_requests_total", `status="503"`), float64(n + fastRequests)},
	} {
		if c.got < c.min {
			t.Errorf("%v: %s = %v, want at least %v", mode, c.what, c.got, c.min)
		}
	}
	if got := sampleSum(m1, "authserve_http_requests_total", `status="500"`); got != 0 {
		t.Errorf("%v: authserve_http_requests_total{status=500} = %v, want 0", mode, got)
	}

	p.setMode(t, faultproxy.Pass)
	recovery := waitReadyz(t, base)
	bounds.check(fmt.Sprintf("%v: recovery", mode), recovery, faultOpenTimeout+slack)
	healthy("after the outage")

	// Everything works again, including the sessions from before the
	// outage and the refresh token that was refused during it.
	registerSettled(t, base, "after@example.com")
	for _, c := range []struct {
		name         string
		method, path string
		bearer       string
		body         any
		want         int
	}{
		{"login", "POST", "/api/auth/login", "", map[string]any{"email": "alice@example.com", "password": testPassword}, 200},
		{"me", "GET", "/api/auth/me", a.access, nil, 200},
		{"refresh", "POST", "/api/auth/refresh", "", map[string]any{"refresh_token": a.refresh}, 200},
		{"refresh of the token refused during the outage", "POST", "/api/auth/refresh", "", map[string]any{"refresh_token": b.refresh}, 200},
	} {
		if r, err := fetchSettled(c.method, base+c.path, c.bearer, c.body); err != nil || r.status != c.want {
			t.Errorf("%v: %s after recovery = %d %v %v, want %d", mode, c.name, r.status, r.body, err, c.want)
		}
	}
	r = mustFetchSettled(t, 200, "GET", base+"/readyz", "", nil)
	if got := fmt.Sprint(r.body["checks"]); got != "map[breaker:closed database:ok]" {
		t.Errorf("%v: /readyz after recovery = %d %s, want 200 with database ok, breaker closed", mode, r.status, got)
	}
	m2 := scrapeMetrics(t, base)
	if got := sampleSum(m2, "authserve_breaker_state"); got != 0 {
		t.Errorf("%v: authserve_breaker_state after recovery = %v, want 0 (closed)", mode, got)
	}
	if got := sampleSum(m2, "authserve_breaker_transitions_total", `from="half-open"`, `to="closed"`); got < 1 {
		t.Errorf("%v: authserve_breaker_transitions_total{half-open→closed} = %v, want at least 1", mode, got)
	}
	if got := sampleSum(m2, "authserve_http_requests_total", `status="500"`); got != 0 {
		t.Errorf("%v: authserve_http_requests_total{status=500} = %v, want 0", mode, got)
	}
	t.Logf("%v: first 503 after %v; circuit open after %d failures; open: medianDuration %v, max %v over %d requests; ready again %v after the database returned; worst process stall %v; proxy %+v",
		mode, firstFailure.Round(time.Millisecond), n, medianDuration(fast).Round(time.Microsecond), slices.Max(fast).Round(time.Microsecond),
		fastRequests, recovery.Round(time.Millisecond), bounds.stall().Round(time.Millisecond), p.proxy.Stats())
}

// writeAttempt is one request of the acknowledged-writes test.
type writeAttempt struct {
	email  string
	status int
	tokens tokenPair // for a login answered 200
}

// TestFaultAcknowledgedWrites registers accounts and logs in from many
// goroutines while the proxy flips between passing and every fault. Every
// registration acknowledged with 201 must be able to log in afterwards and
// every login answered 200 must be able to refresh; the users table holds
// exactly the acknowledged accounts plus, possibly, accounts whose
// registration was committed just as the connection failed (the client got
// a 503 and must treat the outcome as unknown).
func TestFaultAcknowledgedWrites(t *testing.T) {
	bounds := newTimeBounds(t)
	p := startBehindProxy(t)
	base := p.srv.URL
	const (
		registerWorkers = 8
		loginWorkers    = 3
		maxPerWorker    = 150
		// pause is a client backing off after a 503: without it the
		// workers would spin on the open circuit, and on two shared cores
		// starve the very requests the test is about.
		pause = 100 * time.Millisecond
	)
	for i := range loginWorkers {
		registerSettled(t, base, fmt.Sprintf("login-%d@example.com", i))
	}

	// The flips: each fault is long enough to open the circuit (or, for a
	// short reset, to break the requests in flight), each pass long enough
	// for the circuit to close again.
	schedule := []struct {
		mode faultproxy.Mode
		d    time.Duration
	}{
		{faultproxy.Pass, 300 * time.Millisecond},
		{faultproxy.Reset, 300 * time.Millisecond},
		{faultproxy.Pass, 2 * time.Second},
		{faultproxy.Blackhole, 1200 * time.Millisecond},
		{faultproxy.Pass, 2 * time.Second},
		{faultproxy.Refuse, 400 * time.Millisecond},
		{faultproxy.Pass, 2 * time.Second},
		{faultproxy.Reset, 30 * time.Millisecond},
		{faultproxy.Pass, 300 * time.Millisecond},
		{faultproxy.Blackhole, 500 * time.Millisecond},
		{faultproxy.Pass, 0},
	}

	var (
		mu       sync.Mutex
		failures []string // recorded by workers, reported by the test
		attempts [][]writeAttempt
		slowest  time.Duration
	)
	fail := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, a...))
		}
	}
	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	// A registration or login makes two database calls before it can fail.
	bound := 2*faultDBTimeout + slack

	var wg sync.WaitGroup
	worker := func(w int, path string, body func(i int) (string, any), want int) {
		defer wg.Done()
		var mine []writeAttempt
		defer func() {
			mu.Lock()
			attempts = append(attempts, mine)
			mu.Unlock()
		}()
		for i := 0; i < maxPerWorker && !stopped(); i++ {
			email, b := body(i)
			r, err := fetch("POST", base+path, "", b)
			if err != nil {
				fail("worker %d: %v", w, err)
				continue
			}
			mu.Lock()
			slowest = max(slowest, r.took)
			mu.Unlock()
			bounds.check("POST "+path+" "+email, r.took, bound)
			a := writeAttempt{email: email, status: r.status}
			switch {
			case r.status == want && want == http.StatusOK:
				a.tokens = tokenPair{access: r.body["access_token"].(string), refresh: r.body["refresh_token"].(string)}
			case r.status == want:
			case unavailableProblem(r, maxRetryAfter) == "":
				time.Sleep(pause)
			default:
				fail("POST %s %s = %d %v, want %d or 503 service_unavailable: %s", path, email, r.status, r.body, want, unavailableProblem(r, maxRetryAfter))
			}
			mine = append(mine, a)
		}
	}
	for w := range registerWorkers {
		wg.Add(1)
		go worker(w, "/api/auth/register", func(i int) (string, any) {
			email := fmt.Sprintf("w%d-%d@example.com", w, i)
			return email, map[string]any{"email": email, "password": testPassword}
		}, http.StatusCreated)
	}
	for w := range loginWorkers {
		wg.Add(1)
		go worker(registerWorkers+w, "/api/auth/login", func(int) (string, any) {
			email := fmt.Sprintf("login-%d@example.com", w)
			return email, map[string]any{"email": email, "password": testPassword}
		}, http.StatusOK)
	}
	// /healthz must not notice any of it.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stopped() {
			if r, err := fetch("GET", base+"/healthz", "", nil); err != nil || r.status != 200 {
				fail("/healthz during the flips = %d, %v; want 200", r.status, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	start := time.Now()
	for _, s := range schedule {
		p.setMode(t, s.mode)
		time.Sleep(s.d)
	}
	flipping := time.Since(start)
	// The workers go on until the service is back and a little after, so
	// that some writes land after the last fault too.
	recovery := waitReadyz(t, base)
	// A request in flight when the database came back may still reopen
	// the circuit once: hence a database timeout more.
	bounds.check("recovery after the last fault", recovery, faultOpenTimeout+faultDBTimeout+slack)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}

	// The outcome, by status.
	var acked, unacked []string
	var logins []tokenPair
	loginUnavailable := 0
	for _, list := range attempts {
		for _, a := range list {
			switch {
			case a.status == http.StatusCreated:
				acked = append(acked, a.email)
			case a.status == http.StatusOK:
				logins = append(logins, a.tokens)
			case strings.HasPrefix(a.email, "login-"):
				loginUnavailable++
			default:
				unacked = append(unacked, a.email)
			}
		}
	}
	if len(acked) == 0 || len(unacked) == 0 || len(logins) == 0 || loginUnavailable == 0 {
		t.Fatalf("the flips did not exercise both outcomes (is the machine badly overloaded?): %d registrations acknowledged, %d refused; %d logins answered 200, %d refused",
			len(acked), len(unacked), len(logins), loginUnavailable)
	}

	// Every acknowledged registration logs in; every login answered 200
	// refreshes (its session was committed before the answer).
	lost := parallelCheck(len(acked), func(i int) string {
		r, err := fetchSettled("POST", base+"/api/auth/login", "", map[string]any{"email": acked[i], "password": testPassword})
		if err != nil || r.status != 200 {
			return fmt.Sprintf("login %s (acknowledged with 201) = %d %v %v, want 200", acked[i], r.status, r.body, err)
		}
		return ""
	})
	for _, l := range lost {
		t.Error(l)
	}
	for _, l := range parallelCheck(len(logins), func(i int) string {
		r, err := fetchSettled("POST", base+"/api/auth/refresh", "", map[string]any{"refresh_token": logins[i].refresh})
		if err != nil || r.status != 200 {
			return fmt.Sprintf("refresh of login #%d (answered 200) = %d %v %v, want 200", i, r.status, r.body, err)
		}
		return ""
	}) {
		t.Error(l)
	}

	// The table, read without the proxy: the acknowledged accounts, the
	// login accounts, and perhaps some of the refused ones; nothing else.
	rows := usersInTable(t, p.direct)
	want := map[string]bool{}
	for _, e := range acked {
		want[e] = true
	}
	for i := range loginWorkers {
		want[fmt.Sprintf("login-%d@example.com", i)] = true
	}
	refused := map[string]bool{}
	for _, e := range unacked {
		refused[e] = true
	}
	var phantoms []string
	for _, e := range rows {
		switch {
		case want[e]:
			delete(want, e)
		case refused[e]:
			phantoms = append(phantoms, e)
		default:
			t.Errorf("users table holds %s, which no request created", e)
		}
	}
	for e := range want {
		t.Errorf("users table lacks %s, acknowledged with 201: an acknowledged write was lost", e)
	}
	if got, wantRows := len(rows), len(acked)+loginWorkers; got != wantRows {
		// A phantom is a registration that committed while its answer was
		// lost with the connection; the client saw 503 and must treat the
		// outcome as unknown (a retry answers 409). It is not a lost write,
		// so it is reported, not failed on.
		t.Logf("users table: %d rows = %d acknowledged + %d login accounts + %d committed but answered 503 (%v)",
			got, len(acked), loginWorkers, len(phantoms), phantoms)
	}
	m := scrapeMetrics(t, base)
	t.Logf("flips %v (%d modes): registrations %d acknowledged, %d answered 503, %d of those committed anyway; logins %d answered 200, %d answered 503; "+
		"slowest answer %v; ready %v after the last fault; worst process stall %v; circuit opened %v times; 500s %v; proxy %+v",
		flipping.Round(time.Millisecond), len(schedule), len(acked), len(unacked), len(phantoms), len(logins), loginUnavailable,
		slowest.Round(time.Millisecond), recovery.Round(time.Millisecond), bounds.stall().Round(time.Millisecond),
		sampleSum(m, "authserve_breaker_transitions_total", `to="open"`), sampleSum(m, "authserve_http_requests_total", `status="500"`), p.proxy.Stats())
	if got := sampleSum(m, "authserve_http_requests_total", `status="500"`); got != 0 {
		t.Errorf("authserve_http_requests_total{status=500} = %v, want 0", got)
	}
}

// parallelCheck runs check(0…n-1) on a few goroutines and returns the
// non-empty results.
func parallelCheck(n int, check func(i int) string) []string {
	var mu sync.Mutex
	var out []string
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if msg := check(i); msg != "" {
					mu.Lock()
					out = append(out, msg)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// usersInTable lists the emails in the users table of the test's schema,
// read directly rather than through the proxy.
func usersInTable(t *testing.T, dsn string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to PostgreSQL directly: %v", err)
	}
	defer conn.Close(ctx)
	var count int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&count); err != nil {
		t.Fatalf("count users: %v", err)
	}
	rows, err := conn.Query(ctx, "SELECT email FROM users")
	if err != nil {
		t.Fatalf("list users: %v", err)
	}
	emails, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("list users: %v", err)
	}
	if len(emails) != count {
		t.Fatalf("count(*) = %d but %d emails listed", count, len(emails))
	}
	return emails
}

// TestFaultSQLite: a SQLite database that is read-only or locked by
// another connection gives problem JSON (503 service_unavailable with
// Retry-After) for writes, never a crash or a plain 500; reads go on, and
// the service carries on once the database is writable again.
func TestFaultSQLite(t *testing.T) {
	t.Run("read-only", func(t *testing.T) {
		bounds := newTimeBounds(t)
		path := filepath.Join(t.TempDir(), "auth.db")
		env := faultEnv(t, "sqlite:"+path)
		s := startServer(t, env)
		registerSettled(t, s.URL, "alice@example.com")
		a := loginSettled(t, s.URL, "alice@example.com")
		s.Stop(t)

		// A database file that turned read-only (a read-only mount, a
		// permission change) is opened read-only by SQLite; mode=ro gives
		// the same connections even to root, whom permissions do not stop.
		// Nothing can migrate a read-only database, so start without.
		env["AUTH_DATABASE_URL"] = "sqlite:file:" + path + "?mode=ro"
		env["AUTH_AUTO_MIGRATE"] = "false"
		s = startServer(t, env)
		checkSQLiteWrites(t, bounds, s.URL, a)
		if r, err := fetchSettled("GET", s.URL+"/api/auth/me", a.access, nil); err != nil || r.status != 200 {
			t.Errorf("me with a read-only database = %d %v %v, want 200", r.status, r.body, err)
		}
		if r := mustFetch(t, "GET", s.URL+"/healthz", "", nil); r.status != 200 {
			t.Errorf("/healthz with a read-only database = %d, want 200", r.status)
		}
	})

	t.Run("locked", func(t *testing.T) {
		bounds := newTimeBounds(t)
		path := filepath.Join(t.TempDir(), "auth.db")
		s := startServer(t, faultEnv(t, "sqlite:"+path))
		registerSettled(t, s.URL, "alice@example.com")
		a := loginSettled(t, s.URL, "alice@example.com")

		// Another process takes the write lock and keeps it for longer
		// than the service's database timeout.
		other, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		ctx := context.Background()
		conn, err := other.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
			t.Fatalf("BEGIN EXCLUSIVE: %v", err)
		}
		checkSQLiteWrites(t, bounds, s.URL, a)
		// WAL readers are not blocked by a writer, and the reads between
		// the failed writes kept the circuit closed.
		if r, err := fetchSettled("GET", s.URL+"/api/auth/me", a.access, nil); err != nil || r.status != 200 {
			t.Errorf("me while the database is locked = %d %v %v, want 200", r.status, r.body, err)
		}
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		registerSettled(t, s.URL, "bob@example.com")
		loginSettled(t, s.URL, "bob@example.com")
	})
}

// checkSQLiteWrites sends writes to a service whose SQLite database cannot
// be written: each is a 503 problem within the database timeout.
func checkSQLiteWrites(t *testing.T, bounds *timeBounds, base string, a tokenPair) {
	t.Helper()
	writes := []struct {
		name, path string
		body       any
	}{
		{"register", "/api/auth/register", map[string]any{"email": "bob@example.com", "password": testPassword}},
		{"login", "/api/auth/login", map[string]any{"email": "alice@example.com", "password": testPassword}},
		{"refresh", "/api/auth/refresh", map[string]any{"refresh_token": a.refresh}},
	}
	for _, w := range writes {
		r := mustFetch(t, "POST", base+w.path, "", w.body)
		if why := unavailableProblem(r, maxRetryAfter); why != "" {
			t.Errorf("%s = %s, want 503 service_unavailable problem", w.name, why)
		}
		bounds.check(w.name, r.took, faultDBTimeout+slack)
	}
	if got := sampleSum(scrapeMetrics(t, base), "authserve_http_requests_total", `status="500"`); got != 0 {
		t.Errorf("authserve_http_requests_total{status=500} = %v, want 0", got)
	}
}
