package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authserve/authserve/internal/pgtest"
)

// The Redis key prefixes the service uses (see app.go and serve.go);
// redis_rate adds "rate:" in front of the limiter's keys. Both put the
// rest of the key in braces, a Redis Cluster hash tag.
const (
	rateLimitKeyPrefix = "rate:authserve:ratelimit:"
	lockoutKeyPrefix   = "authserve:lockout:"
)

// rateLimitKey is the Redis key of a client address's rate-limit state.
func rateLimitKey(ip string) string { return rateLimitKeyPrefix + "{ip:" + ip + "}" }

// replicaClientIP returns an address no other test uses, from the
// benchmarking range 198.18.0.0/15. The service's Redis keys have fixed
// prefixes and are made of the client address (and the email), so fresh
// addresses and emails keep this test's keys apart from every other test
// on the same Redis, without a database of its own or a FLUSHDB that would
// wipe other tests' state.
func replicaClientIP() string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return fmt.Sprintf("198.%d.%d.%d", 18+b[0]%2, b[1], b[2])
}

// replicaEmail returns an email address no other test uses.
func replicaEmail(name string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return name + "-" + hex.EncodeToString(b[:]) + "@example.com"
}

// testRedis connects to AUTH_TEST_REDIS_URL, or skips the test when it is
// unset, and returns the client and the URL for the servers.
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	url := os.Getenv("AUTH_TEST_REDIS_URL")
	if url == "" {
		t.Skip("AUTH_TEST_REDIS_URL not set: skipping replica tests that share Redis")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse AUTH_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping Redis at AUTH_TEST_REDIS_URL: %v", err)
	}
	return rdb, url
}

// lockoutKey is the Redis key of a lockout counter, as lockout.Redis names
// it: the prefix and the hex SHA-256 of the domain's key.
func lockoutKey(domainKey string) string {
	sum := sha256.Sum256([]byte(domainKey))
	return lockoutKeyPrefix + "{" + hex.EncodeToString(sum[:]) + "}"
}

// requireRedisKey fails the test unless key exists, and deletes it when
// the test ends.
func requireRedisKey(t *testing.T, rdb *redis.Client, key, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := rdb.Exists(ctx, key).Result()
	if err != nil {
		t.Fatalf("EXISTS %s: %v", key, err)
	}
	if n != 1 {
		t.Errorf("%s: Redis has no key %s; the state is not kept in Redis", what, key)
	}
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
}

// replicaEnv is the configuration both replicas share: one database, one
// signing secret, the loopback address trusted as a proxy (so the test can
// choose client addresses), and the given extra settings.
func replicaEnv(t *testing.T, databaseURL string, extra map[string]string) map[string]string {
	env := testEnv(t, map[string]string{
		"AUTH_DATABASE_URL":    databaseURL,
		"AUTH_JWT_SECRET":      "replica-test-secret-0123456789-abcdefghij",
		"AUTH_TRUSTED_PROXIES": "127.0.0.1/32",
		"AUTH_LOG_LEVEL":       "info",
	})
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// startReplicas starts two servers on one configuration, one after the
// other so that only the first applies the migrations.
func startReplicas(t *testing.T, env map[string]string) [2]*server {
	t.Helper()
	return [2]*server{startServer(t, env), startServer(t, env)}
}

// registerAs registers email with testPassword as the client at clientIP.
func registerAs(t *testing.T, base, clientIP, email string) {
	t.Helper()
	r := postWhole(t, base+"/api/auth/register", clientIP, "", map[string]any{"email": email, "password": testPassword})
	if r.status != http.StatusCreated {
		t.Fatalf("register %s = %d %s, want 201", email, r.status, r.body)
	}
}

// wantLocked checks r is 429 account_locked with a Retry-After within the
// lockout duration.
func wantLocked(t *testing.T, what string, r wholeReply, lockFor time.Duration) {
	t.Helper()
	if code := r.problem(t)["code"]; r.status != http.StatusTooManyRequests || code != "account_locked" {
		t.Errorf("%s = %d %v, want 429 account_locked", what, r.status, code)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || time.Duration(s)*time.Second > lockFor {
		t.Errorf("%s: Retry-After %q, want 1..%v in seconds", what, r.header.Get("Retry-After"), lockFor.Seconds())
	}
}

// TestReplicasShareState runs two servers on one PostgreSQL database and
// one Redis, as two replicas behind a load balancer, and shows that the
// rate limit and the lockout are shared, and that a login session started
// on one is refreshed on the other, with reuse of a spent refresh token
// detected across them.
func TestReplicasShareState(t *testing.T) {
	pgtest.SkipIfUnset(t)
	rdb, redisURL := testRedis(t)
	const (
		perMinute = 6
		threshold = 3
		lockFor   = 15 * time.Minute
	)
	env := replicaEnv(t, pgtest.DSN(t), map[string]string{
		"AUTH_REDIS_URL":                 redisURL,
		"AUTH_RATE_LIMIT_PER_MINUTE":     strconv.Itoa(perMinute),
		"AUTH_LOCKOUT_THRESHOLD":         strconv.Itoa(threshold),
		"AUTH_LOCKOUT_ACCOUNT_THRESHOLD": "0",
		"AUTH_LOCKOUT_DURATION":          lockFor.String(),
		"AUTH_REFRESH_REUSE_INTERVAL":    "0",
	})
	replicas := startReplicas(t, env)

	t.Run("rate limit", func(t *testing.T) {
		ip := replicaClientIP()
		// Requests alternate between the replicas; the budget they draw
		// on is one.
		for i := 1; i <= perMinute+2; i++ {
			s := replicas[i%2]
			r := postWhole(t, s.URL+"/api/auth/logout", ip, "", map[string]any{"refresh_token": "not-a-token"})
			what := fmt.Sprintf("request %d (replica %d)", i, i%2)
			if got := r.header.Get("RateLimit-Limit"); got != strconv.Itoa(perMinute) {
				t.Errorf("%s: RateLimit-Limit %q, want %d", what, got, perMinute)
			}
			if r.header.Get("RateLimit-Reset") == "" {
				t.Errorf("%s: no RateLimit-Reset", what)
			}
			if i <= perMinute {
				if r.status != http.StatusNoContent {
					t.Errorf("%s = %d %s, want 204", what, r.status, r.body)
				}
				if got := r.header.Get("RateLimit-Remaining"); got != strconv.Itoa(perMinute-i) {
					t.Errorf("%s: RateLimit-Remaining %q, want %d", what, got, perMinute-i)
				}
				continue
			}
			if code := r.problem(t)["code"]; r.status != http.StatusTooManyRequests || code != "rate_limited" {
				t.Errorf("%s = %d %v, want 429 rate_limited", what, r.status, code)
			}
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
				t.Errorf("%s: Retry-After %q, want 1..60 seconds", what, r.header.Get("Retry-After"))
			}
			if got := r.header.Get("RateLimit-Remaining"); got != "0" {
				t.Errorf("%s: RateLimit-Remaining %q, want 0", what, got)
			}
		}
		requireRedisKey(t, rdb, rateLimitKey(ip), "rate limit")
		// Another client still has its whole budget.
		if r := postWhole(t, replicas[0].URL+"/api/auth/logout", replicaClientIP(), "", map[string]any{"refresh_token": "x"}); r.status != http.StatusNoContent {
			t.Errorf("another client's request = %d, want 204", r.status)
		}
	})

	t.Run("lockout", func(t *testing.T) {
		email := replicaEmail("locked")
		registerAs(t, replicas[0].URL, replicaClientIP(), email)
		ip := replicaClientIP()
		for i := range threshold {
			r := loginWhole(t, replicas[i%2].URL, ip, email, "Wr0ng-Password!")
			if code := r.problem(t)["code"]; r.status != http.StatusUnauthorized || code != "invalid_credentials" {
				t.Fatalf("failure %d (replica %d) = %d %v, want 401 invalid_credentials", i+1, i%2, r.status, code)
			}
		}
		// Locked on both, the right password included.
		for i, s := range replicas {
			wantLocked(t, fmt.Sprintf("right password on replica %d", i), loginWhole(t, s.URL, ip, email, testPassword), lockFor)
		}
		requireRedisKey(t, rdb, lockoutKey("pair:"+email+"|"+ip), "lockout")
		// The lock is per email and client address: the owner elsewhere
		// still gets in, on either replica.
		for i, s := range replicas {
			if r := loginWhole(t, s.URL, replicaClientIP(), email, testPassword); r.status != http.StatusOK {
				t.Errorf("right password from another address on replica %d = %d %s, want 200", i, r.status, r.body)
			}
		}
	})

	t.Run("session", func(t *testing.T) {
		a, b := replicas[0], replicas[1]
		email := replicaEmail("session")
		registerAs(t, a.URL, replicaClientIP(), email)
		r := loginWhole(t, a.URL, replicaClientIP(), email, testPassword)
		if r.status != http.StatusOK {
			t.Fatalf("login on replica 0 = %d %s, want 200", r.status, r.body)
		}
		first := r.problem(t)
		refresh := func(s *server, token any) wholeReply {
			return postWhole(t, s.URL+"/api/auth/refresh", replicaClientIP(), "", map[string]any{"refresh_token": token})
		}
		if code, me, _ := call(t, "GET", b.URL+"/api/auth/me", first["access_token"].(string), nil); code != http.StatusOK || me["email"] != email {
			t.Errorf("me on replica 1 with replica 0's access token = %d %v, want 200 %s", code, me, email)
		}
		r = refresh(b, first["refresh_token"])
		if r.status != http.StatusOK {
			t.Fatalf("refresh on replica 1 of replica 0's login = %d %s, want 200", r.status, r.body)
		}
		second := r.problem(t)
		r = refresh(a, second["refresh_token"])
		if r.status != http.StatusOK {
			t.Fatalf("refresh on replica 0 of replica 1's token = %d %s, want 200", r.status, r.body)
		}
		third := r.problem(t)

		// The first token was spent on replica 1; presenting it again, on
		// replica 0, is theft, and revokes the login everywhere.
		r = refresh(a, first["refresh_token"])
		if code := r.problem(t)["code"]; r.status != http.StatusUnauthorized || code != "refresh_token_reused" {
			t.Fatalf("reuse on replica 0 of a token spent on replica 1 = %d %v, want 401 refresh_token_reused", r.status, code)
		}
		a.Logs.WaitFor(t, "a token.reuse_detected event on replica 0", func(logs string) bool {
			return strings.Contains(logs, `"event":"token.reuse_detected"`)
		})
		r = refresh(b, third["refresh_token"])
		// The newest token is unspent but its login is revoked.
		if code := r.problem(t)["code"]; r.status != http.StatusUnauthorized || code != "invalid_token" {
			t.Errorf("refresh on replica 1 of the newest token after reuse was detected on replica 0 = %d %v, want 401 invalid_token", r.status, code)
		}
		for i, s := range replicas {
			if code, body, _ := call(t, "GET", s.URL+"/api/auth/me", third["access_token"].(string), nil); code != http.StatusUnauthorized || body["code"] != "invalid_token" {
				t.Errorf("me on replica %d with the revoked login's access token = %d %v, want 401 invalid_token", i, code, body)
			}
		}
	})
}

// TestReplicasShareLockoutWithoutRedis runs two servers on one PostgreSQL
// database and no Redis: the lockout counters live in the database, so the
// replicas still share them.
func TestReplicasShareLockoutWithoutRedis(t *testing.T) {
	const (
		threshold = 3
		lockFor   = 15 * time.Minute
	)
	env := replicaEnv(t, pgtest.DSN(t), map[string]string{
		"AUTH_LOCKOUT_THRESHOLD":         strconv.Itoa(threshold),
		"AUTH_LOCKOUT_ACCOUNT_THRESHOLD": "0",
		"AUTH_LOCKOUT_DURATION":          lockFor.String(),
	})
	replicas := startReplicas(t, env)
	email := replicaEmail("locked")
	registerAs(t, replicas[1].URL, replicaClientIP(), email)
	ip := replicaClientIP()
	for i := range threshold {
		r := loginWhole(t, replicas[i%2].URL, ip, email, "Wr0ng-Password!")
		if code := r.problem(t)["code"]; r.status != http.StatusUnauthorized || code != "invalid_credentials" {
			t.Fatalf("failure %d (replica %d) = %d %v, want 401 invalid_credentials", i+1, i%2, r.status, code)
		}
	}
	for i, s := range replicas {
		wantLocked(t, fmt.Sprintf("right password on replica %d", i), loginWhole(t, s.URL, ip, email, testPassword), lockFor)
	}
	// The lock is per email and client address: from elsewhere the owner
	// still gets in.
	if r := loginWhole(t, replicas[0].URL, replicaClientIP(), email, testPassword); r.status != http.StatusOK {
		t.Errorf("right password from another address = %d %s, want 200", r.status, r.body)
	}
}

// TestRedisDownFallsBack runs a server whose Redis does not answer (a
// closed port): logins are still served, never refused because Redis is
// down; the rate limiter answers in process and counts it in
// authserve_ratelimit_fallback_total; the lockout falls back to the
// database counters and still locks. It needs no external service.
func TestRedisDownFallsBack(t *testing.T) {
	const threshold = 3
	s := startServer(t, testEnv(t, map[string]string{
		"AUTH_REDIS_URL":                 "redis://127.0.0.1:1/0",
		"AUTH_RATE_LIMIT_PER_MINUTE":     "100",
		"AUTH_LOCKOUT_THRESHOLD":         strconv.Itoa(threshold),
		"AUTH_LOCKOUT_ACCOUNT_THRESHOLD": "0",
		"AUTH_TRUSTED_PROXIES":           "127.0.0.1/32",
	}))
	email := replicaEmail("fallback")
	registerAs(t, s.URL, replicaClientIP(), email)
	for i := range 3 {
		if r := loginWhole(t, s.URL, replicaClientIP(), email, testPassword); r.status != http.StatusOK {
			t.Fatalf("login %d with Redis down = %d %s, want 200", i+1, r.status, r.body)
		} else if r.header.Get("RateLimit-Limit") != "100" {
			t.Errorf("login %d: RateLimit-Limit %q, want 100 (the in-process limiter)", i+1, r.header.Get("RateLimit-Limit"))
		}
	}
	ip := replicaClientIP()
	for i := range threshold {
		if r := loginWhole(t, s.URL, ip, email, "Wr0ng-Password!"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d with Redis down = %d %s, want 401", i+1, r.status, r.body)
		}
	}
	wantLocked(t, "right password after failures with Redis down", loginWhole(t, s.URL, ip, email, testPassword), 15*time.Minute)

	// Readiness is about the database; Redis is optional. But the
	// fallback is loud: /readyz names it, and a gauge shows it.
	code, body, _ := call(t, "GET", s.URL+"/readyz", "", nil)
	checks, _ := body["checks"].(map[string]any)
	if code != http.StatusOK || checks["rate_limit"] != "fallback: in process" || checks["lockout"] != "fallback: database" {
		t.Errorf("GET /readyz with Redis down = %d %v, want 200 naming both fallbacks", code, body)
	}
	for _, limit := range []string{"rate_limit", "lockout"} {
		if v := sampleSum(scrapeMetrics(t, s.URL), "authserve_limits_fallback", `limit="`+limit+`"`); v != 1 {
			t.Errorf("authserve_limits_fallback{limit=%q} = %v with Redis down, want 1", limit, v)
		}
	}
	if n := scrapeCounter(t, s.URL, "authserve_ratelimit_fallback_total"); n <= 0 {
		t.Errorf("authserve_ratelimit_fallback_total = %v, want > 0", n)
	}
	for _, want := range []string{"rate limiter falling back to in-process", "lockout falling back"} {
		s.Logs.WaitFor(t, want, func(logs string) bool { return strings.Contains(logs, want) })
	}
}

// scrapeCounter returns the value of an unlabelled metric from /metrics.
func scrapeCounter(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d, %v; want 200", resp.StatusCode, err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}
