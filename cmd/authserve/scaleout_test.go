package main

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/pgtest"
	"github.com/authserve/authserve/internal/redistest"
)

// statusCounts counts answers by status, from many goroutines.
type statusCounts struct {
	mu sync.Mutex
	n  map[int]int
}

func (c *statusCounts) add(status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[int]int{}
	}
	c.n[status]++
}

func (c *statusCounts) snapshot() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// String lists the counts by status, ascending.
func (c *statusCounts) String() string {
	n := c.snapshot()
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%d: %d", s, n[s]))
	}
	return strings.Join(parts, ", ")
}

func (c *statusCounts) total() int {
	sum := 0
	for _, v := range c.snapshot() {
		sum += v
	}
	return sum
}

// scaleOutEnv skips the test unless PgBouncer and a Redis Cluster are
// configured, and returns the replicas' configuration: a database of the
// test's own reached through PgBouncer in transaction pooling (migrations
// over the direct URL), and the Redis Cluster.
func scaleOutEnv(t *testing.T, extra map[string]string) map[string]string {
	t.Helper()
	clusterURL := os.Getenv("AUTH_TEST_REDIS_CLUSTER_URL")
	if clusterURL == "" {
		t.Skip("AUTH_TEST_REDIS_CLUSTER_URL not set: skipping the scale-out test")
	}
	pooled, direct := pgtest.PooledDSN(t)
	env := replicaEnv(t, pooled, map[string]string{
		"AUTH_MIGRATE_DATABASE_URL": direct,
		"AUTH_REDIS_URL":            clusterURL,
	})
	maps.Copy(env, extra)
	return env
}

// TestScaleOut runs three replicas as one deployment behind PgBouncer in
// transaction pooling and on a 3-node Redis Cluster, and drives concurrent
// registrations, logins, refreshes and token checks through them, spread
// over the replicas: no answer is a 5xx; a rate limit and a lockout
// threshold hold exactly across the replicas; a logout is seen by every
// replica at once; and Redis never falls back.
func TestScaleOut(t *testing.T) {
	const (
		perMinute = 40
		threshold = 5
		lockFor   = 15 * time.Minute
		workers   = 16
		flows     = 8 // per worker
	)
	env := scaleOutEnv(t, map[string]string{
		"AUTH_RATE_LIMIT_PER_MINUTE":     strconv.Itoa(perMinute),
		"AUTH_LOCKOUT_THRESHOLD":         strconv.Itoa(threshold),
		"AUTH_LOCKOUT_ACCOUNT_THRESHOLD": "0",
		"AUTH_LOCKOUT_DURATION":          lockFor.String(),
		"AUTH_LOG_LEVEL":                 "info",
	})
	replicas := []*server{startServer(t, env), startServer(t, env), startServer(t, env)}
	pick := func(i int) string { return replicas[i%len(replicas)].URL }

	// Load: each flow is one new user on a new client address, each step
	// on another replica than the last.
	var counts statusCounts
	var unexpected atomic.Int64
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		unexpected.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	step := func(want int, method, url, ip, bearer string, body any) (fetched, bool) {
		r, err := fetchAs(method, url, ip, bearer, body)
		if err != nil {
			fail("%v", err)
			return r, false
		}
		counts.add(r.status)
		if r.status != want {
			fail("%s %s = %d %v, want %d", method, url, r.status, r.body, want)
			return r, false
		}
		return r, true
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for f := range flows {
				n := w*flows + f
				ip, email := replicaClientIP(), replicaEmail(fmt.Sprintf("load%d", n))
				if _, ok := step(http.StatusCreated, "POST", pick(n)+"/api/auth/register", ip, "",
					map[string]any{"email": email, "password": testPassword}); !ok {
					continue
				}
				login, ok := step(http.StatusOK, "POST", pick(n+1)+"/api/auth/login", ip, "",
					map[string]any{"email": email, "password": testPassword})
				if !ok {
					continue
				}
				access, _ := login.body["access_token"].(string)
				for i := range 4 {
					step(http.StatusOK, "GET", pick(n+2+i)+"/api/auth/me", ip, access, nil)
				}
				ref, ok := step(http.StatusOK, "POST", pick(n+2)+"/api/auth/refresh", ip, "",
					map[string]any{"refresh_token": login.body["refresh_token"]})
				if !ok {
					continue
				}
				access, _ = ref.body["access_token"].(string)
				step(http.StatusOK, "GET", pick(n)+"/api/auth/me", ip, access, nil)
			}
		})
	}
	wg.Wait()
	loadTook := time.Since(start)
	for _, f := range failures {
		t.Error(f)
	}
	for s, n := range counts.snapshot() {
		if s >= 500 {
			t.Errorf("%d answers of status %d under load, want no 5xx", n, s)
		}
	}
	if want := workers * flows * 8; counts.total() != want || unexpected.Load() != 0 {
		t.Errorf("load: %d answers (%s), %d unexpected, want %d all as expected", counts.total(), &counts, unexpected.Load(), want)
	}
	t.Logf("load: %d replicas, %d requests (%d users: register, login, 4× me, refresh, me) in %v (%.0f/s); statuses %s",
		len(replicas), counts.total(), workers*flows, loadTook.Round(time.Millisecond),
		float64(counts.total())/loadTook.Seconds(), &counts)

	t.Run("rate limit holds across replicas", func(t *testing.T) {
		// The case: 46 requests from one address, all at once,
		// spread over the replicas, against a limit of 40 a minute.
		const sent = perMinute + 6
		ip := replicaClientIP()
		var rc statusCounts
		begin := time.Now()
		var wg sync.WaitGroup
		for i := range sent {
			wg.Go(func() {
				r, err := fetchAs("POST", pick(i)+"/api/auth/logout", ip, "", map[string]any{"refresh_token": "not-a-token"})
				if err != nil {
					t.Error(err)
					return
				}
				rc.add(r.status)
			})
		}
		wg.Wait()
		took := time.Since(begin)
		got := rc.snapshot()
		// GCRA refills one request every 60s/40 = 1.5 s: a slow run may
		// rightly let one more through.
		refill := int(took / (time.Minute / perMinute))
		if got[http.StatusNoContent] < perMinute || got[http.StatusNoContent] > perMinute+refill ||
			got[http.StatusNoContent]+got[http.StatusTooManyRequests] != sent {
			t.Errorf("%d requests from one address over %d replicas: %s; want %d allowed (204) and the rest 429",
				sent, len(replicas), &rc, perMinute)
		}
		t.Logf("rate limit %d/min: %d requests from one address over %d replicas in %v: %s (allowed %d, exact: %v)",
			perMinute, sent, len(replicas), took.Round(time.Millisecond), &rc, got[http.StatusNoContent],
			got[http.StatusNoContent] == perMinute)
	})

	t.Run("lockout threshold holds across replicas", func(t *testing.T) {
		const sent = 12
		email, ip := replicaEmail("locked"), replicaClientIP()
		if r, err := fetchAs("POST", pick(0)+"/api/auth/register", replicaClientIP(), "",
			map[string]any{"email": email, "password": testPassword}); err != nil || r.status != http.StatusCreated {
			t.Fatalf("register = %v, %v", r.status, err)
		}
		var lc statusCounts
		var wg sync.WaitGroup
		for i := range sent {
			wg.Go(func() {
				r, err := fetchAs("POST", pick(i)+"/api/auth/login", ip, "", map[string]any{"email": email, "password": "Wr0ng-Password!"})
				if err != nil {
					t.Error(err)
					return
				}
				lc.add(r.status)
			})
		}
		wg.Wait()
		got := lc.snapshot()
		if got[http.StatusUnauthorized] != threshold || got[http.StatusTooManyRequests] != sent-threshold {
			t.Errorf("%d concurrent wrong passwords for one email and address over %d replicas: %s; want exactly %d × 401 and %d × 429",
				sent, len(replicas), &lc, threshold, sent-threshold)
		}
		for i, s := range replicas {
			r, err := fetchAs("POST", s.URL+"/api/auth/login", ip, "", map[string]any{"email": email, "password": testPassword})
			if err != nil || r.status != http.StatusTooManyRequests || r.body["code"] != "account_locked" {
				t.Errorf("right password on replica %d after the lock = %d %v, %v; want 429 account_locked", i, r.status, r.body, err)
			}
		}
		t.Logf("lockout threshold %d: %d concurrent wrong passwords over %d replicas: %s; right password then locked on %d of %d replicas",
			threshold, sent, len(replicas), &lc, len(replicas), len(replicas))
	})

	t.Run("logout seen by every replica at once", func(t *testing.T) {
		email, ip := replicaEmail("revoke"), replicaClientIP()
		if r, err := fetchAs("POST", pick(1)+"/api/auth/register", ip, "", map[string]any{"email": email, "password": testPassword}); err != nil || r.status != http.StatusCreated {
			t.Fatalf("register = %v, %v", r.status, err)
		}
		login, err := fetchAs("POST", pick(2)+"/api/auth/login", ip, "", map[string]any{"email": email, "password": testPassword})
		if err != nil || login.status != http.StatusOK {
			t.Fatalf("login = %v, %v", login.status, err)
		}
		access := login.body["access_token"].(string)
		for i, s := range replicas {
			if r, err := fetchAs("GET", s.URL+"/api/auth/me", ip, access, nil); err != nil || r.status != http.StatusOK {
				t.Fatalf("me on replica %d before logout = %d, %v", i, r.status, err)
			}
		}
		if r, err := fetchAs("POST", pick(0)+"/api/auth/logout", ip, "", map[string]any{"refresh_token": login.body["refresh_token"]}); err != nil || r.status != http.StatusNoContent {
			t.Fatalf("logout on replica 0 = %d, %v", r.status, err)
		}
		for i, s := range replicas {
			r, err := fetchAs("GET", s.URL+"/api/auth/me", ip, access, nil)
			if err != nil || r.status != http.StatusUnauthorized || r.body["code"] != "invalid_token" {
				t.Errorf("me on replica %d right after logout on replica 0 = %d %v, %v; want 401 invalid_token", i, r.status, r.body, err)
			}
		}
	})

	// Redis never failed over: the cluster answered every call.
	for i, s := range replicas {
		if logs := s.Logs.String(); strings.Contains(logs, "falling back") {
			t.Errorf("replica %d fell back from Redis:\n%s", i, logs)
		}
		if v := sampleSum(scrapeMetrics(t, s.URL), "authserve_limits_fallback"); v != 0 {
			t.Errorf("replica %d: authserve_limits_fallback sums to %v, want 0", i, v)
		}
		if !strings.Contains(s.Logs.String(), `"mode":"cluster"`) {
			t.Errorf("replica %d did not log Redis in cluster mode", i)
		}
	}
}

// TestScaleOutRedisNodeDies kills one master of a Redis Cluster under a
// running server and brings it back: requests keep being answered, never
// with a 5xx; the limits fall back loudly (a warning, the gauge, /readyz)
// and return to the cluster when the node does, with a warning again.
func TestScaleOutRedisNodeDies(t *testing.T) {
	cluster := redistest.StartCluster(t)
	s := startServer(t, testEnv(t, map[string]string{
		"AUTH_REDIS_URL":                 cluster.URL,
		"AUTH_RATE_LIMIT_PER_MINUTE":     "1000",
		"AUTH_LOCKOUT_THRESHOLD":         "3",
		"AUTH_LOCKOUT_ACCOUNT_THRESHOLD": "0",
		"AUTH_TRUSTED_PROXIES":           "127.0.0.1/32",
		"AUTH_LOG_LEVEL":                 "info",
	}))
	email := replicaEmail("node")
	if r, err := fetchAs("POST", s.URL+"/api/auth/register", replicaClientIP(), "", map[string]any{"email": email, "password": testPassword}); err != nil || r.status != http.StatusCreated {
		t.Fatalf("register = %d, %v", r.status, err)
	}
	var counts statusCounts
	// traffic logs in from fresh addresses (fresh keys, so every slot is
	// touched) until done says so or the time is up.
	traffic := func(what string, done func(logs string) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !done(s.Logs.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20s; statuses %s; logs:\n%s", what, &counts, s.Logs)
			}
			r, err := fetchAs("POST", s.URL+"/api/auth/login", replicaClientIP(), "", map[string]any{"email": email, "password": testPassword})
			if err != nil {
				t.Fatal(err)
			}
			counts.add(r.status)
			if r.status != http.StatusOK {
				t.Errorf("%s: login = %d %v, want 200", what, r.status, r.body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	const (
		rateDown, rateUp = "rate limiter falling back to in-process", "rate limiter recovered"
		lockDown, lockUp = "lockout falling back", "lockout recovered"
	)
	checkState := func(when, rate, lockout string, gauge float64) {
		t.Helper()
		code, body, _ := call(t, "GET", s.URL+"/readyz", "", nil)
		checks, _ := body["checks"].(map[string]any)
		if code != http.StatusOK || checks["rate_limit"] != rate || checks["lockout"] != lockout {
			t.Errorf("%s: GET /readyz = %d %v, want 200 with rate_limit %q, lockout %q", when, code, body, rate, lockout)
		}
		if v := sampleSum(scrapeMetrics(t, s.URL), "authserve_limits_fallback"); v != gauge {
			t.Errorf("%s: authserve_limits_fallback sums to %v, want %v", when, v, gauge)
		}
	}

	traffic("cluster up", func(string) bool { return counts.total() >= 10 })
	checkState("cluster up", "redis", "redis", 0)

	cluster.Kill(cluster.Nodes[1])
	traffic("fall back after a node died", func(logs string) bool {
		return strings.Contains(logs, rateDown) && strings.Contains(logs, lockDown)
	})
	checkState("node dead", "fallback: in process", "fallback: database", 2)

	cluster.Start(cluster.Nodes[1])
	cluster.WaitOK()
	traffic("recover after the node returned", func(logs string) bool {
		return strings.Count(logs, rateUp) == strings.Count(logs, rateDown) &&
			strings.Count(logs, lockUp) == strings.Count(logs, lockDown)
	})
	checkState("node back", "redis", "redis", 0)

	logs := s.Logs.String()
	for _, msg := range []string{rateDown, lockDown} {
		// Once per outage, not once per request; a node half-failed (its
		// slots dead, the others' alive) may end and start it again.
		if n := strings.Count(logs, msg); n < 1 || n > 3 {
			t.Errorf("%q logged %d times over %d requests, want once (at most 3 while the cluster settles)", msg, n, counts.total())
		}
	}
	for _, l := range s.Logs.Lines(t) {
		if msg, _ := l["msg"].(string); (strings.Contains(msg, "falling back") || strings.Contains(msg, "recovered")) && l["level"] != "WARN" {
			t.Errorf("%q logged at %v, want WARN", msg, l["level"])
		}
	}
	t.Logf("Redis node killed and restarted: %d logins, statuses %s; warnings: rate limit %d down / %d up, lockout %d down / %d up",
		counts.total(), &counts, strings.Count(logs, rateDown), strings.Count(logs, rateUp),
		strings.Count(logs, lockDown), strings.Count(logs, lockUp))
}

// TestScaleOutPoolerRestart restarts the PgBouncer in front of the
// database while registrations and logins run through it: a request in
// flight gets 503 service_unavailable (with Retry-After) or succeeds,
// never a 5xx of another kind; every registration acknowledged with 201
// is in the database afterwards; and the service carries on through the
// restarted pooler.
func TestScaleOutPoolerRestart(t *testing.T) {
	bouncer := pgtest.StartPgBouncer(t)
	pooled, direct := bouncer.DSNs(t)
	env := faultEnv(t, pooled)
	env["AUTH_MIGRATE_DATABASE_URL"] = direct
	s := startServer(t, env)

	var counts statusCounts
	var mu sync.Mutex
	var acked []string
	var bad []string
	var n atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				email := replicaEmail(fmt.Sprintf("pool%d", n.Add(1)))
				r, err := fetchAs("POST", s.URL+"/api/auth/register", "", "", map[string]any{"email": email, "password": testPassword})
				if err == nil && r.status == http.StatusCreated {
					r, err = fetchAs("POST", s.URL+"/api/auth/login", "", "", map[string]any{"email": email, "password": testPassword})
					mu.Lock()
					acked = append(acked, strings.ToLower(email))
					mu.Unlock()
				}
				mu.Lock()
				switch {
				case err != nil:
					bad = append(bad, err.Error())
				case r.status == http.StatusOK || r.status == http.StatusCreated:
				case r.status == http.StatusServiceUnavailable:
					if why := unavailableProblem(r, faultOpenTimeout+time.Second); why != "" {
						bad = append(bad, why)
					}
				default:
					bad = append(bad, fmt.Sprintf("status %d %v", r.status, r.body))
				}
				mu.Unlock()
				if err == nil {
					counts.add(r.status)
					if r.status == http.StatusServiceUnavailable {
						time.Sleep(10 * time.Millisecond) // a client backing off
					}
				}
			}
		})
	}
	time.Sleep(time.Second)
	before := counts.total()
	bouncer.Stop()
	time.Sleep(time.Second)
	bouncer.Start()
	// Until the circuit has closed again and registrations go through.
	deadline := time.Now().Add(faultOpenTimeout + 20*time.Second)
	for {
		mu.Lock()
		done := len(acked)
		mu.Unlock()
		snap := counts.snapshot()
		if snap[http.StatusServiceUnavailable] > 0 && done > 0 && counts.total() > before+50 &&
			waitReadyzOK(s.URL) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not carry on after the pooler restart; statuses %s", &counts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r, err := fetchAs("POST", s.URL+"/api/auth/register", "", "", map[string]any{"email": replicaEmail("after"), "password": testPassword})
	for try := 0; err == nil && r.status == http.StatusServiceUnavailable && try < 50; try++ {
		time.Sleep(200 * time.Millisecond)
		r, err = fetchAs("POST", s.URL+"/api/auth/register", "", "", map[string]any{"email": replicaEmail("after"), "password": testPassword})
	}
	close(stop)
	wg.Wait()
	if err != nil || r.status != http.StatusCreated {
		t.Errorf("register after the pooler restart = %d %v, %v; want 201", r.status, r.body, err)
	}
	for i, b := range bad {
		if i < 10 {
			t.Errorf("during the pooler restart: %s", b)
		}
	}
	if snap := counts.snapshot(); snap[http.StatusServiceUnavailable] == 0 {
		t.Errorf("no request got 503 while the pooler was down (statuses %s): the restart was not exercised", &counts)
	}
	stored := map[string]bool{}
	for _, e := range usersInTable(t, direct) {
		stored[e] = true
	}
	lost := 0
	for _, e := range acked {
		if !stored[e] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged registrations are not in the database after the pooler restart", lost, len(acked))
	}
	t.Logf("PgBouncer restarted under load: %d answers, statuses %s; %d registrations acknowledged, %d lost",
		counts.total(), &counts, len(acked), lost)
}

// waitReadyzOK reports whether /readyz answers 200 now.
func waitReadyzOK(base string) bool {
	r, err := fetchAs("GET", base+"/readyz", "", "", nil)
	return err == nil && r.status == http.StatusOK
}

// TestUnreachableMigrateURLStopsStartup: with pooler parameters in
// AUTH_DATABASE_URL and an AUTH_MIGRATE_DATABASE_URL that does not answer,
// start-up and `migrate up` stop with one line naming
// AUTH_MIGRATE_DATABASE_URL, without its password.
func TestUnreachableMigrateURLStopsStartup(t *testing.T) {
	pooled, _ := pgtest.PooledDSN(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "postgres://postgres:pw-s3cret@" + ln.Addr().String() + "/x?connect_timeout=2"
	ln.Close()
	env := testEnv(t, map[string]string{"AUTH_DATABASE_URL": pooled, "AUTH_MIGRATE_DATABASE_URL": unreachable})
	for _, args := range [][]string{{"serve"}, {"migrate", "up"}, {"migrate", "status"}} {
		_, _, err := runCmd(t, env, "", args...)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 1 || !strings.HasPrefix(ee.msg, "AUTH_MIGRATE_DATABASE_URL: ") ||
			strings.Contains(ee.msg, "\n") || strings.Contains(ee.msg, "pw-s3cret") {
			t.Errorf("%v with an unreachable migration URL = %v, want one line naming AUTH_MIGRATE_DATABASE_URL without the password", args, err)
		}
	}
}
