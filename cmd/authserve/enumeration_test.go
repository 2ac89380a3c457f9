package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// wholeReply is one HTTP answer kept whole, to compare answers exactly.
type wholeReply struct {
	status int
	body   []byte
	header http.Header
}

// problem decodes the reply's JSON body: nil when there is none, or (with
// a test error) when it is not JSON.
func (r wholeReply) problem(t testing.TB) map[string]any {
	t.Helper()
	if len(r.body) == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Errorf("status %d body %q is not JSON: %v", r.status, r.body, err)
	}
	return m
}

// postWhole sends a JSON POST as the client at clientIP (through
// X-Forwarded-For, which the server believes with AUTH_TRUSTED_PROXIES set
// to the loopback address) with the given request id, and keeps the answer
// whole. An empty clientIP or requestID sends no such header.
func postWhole(t testing.TB, url, clientIP, requestID string, body any) wholeReply {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if clientIP != "" {
		req.Header.Set("X-Forwarded-For", clientIP)
	}
	if requestID != "" {
		req.Header.Set("X-Request-ID", requestID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: read body: %v", url, err)
	}
	return wholeReply{status: resp.StatusCode, body: raw, header: resp.Header}
}

// loginWhole posts a login as the client at clientIP.
func loginWhole(t testing.TB, base, clientIP, email, password string) wholeReply {
	t.Helper()
	return postWhole(t, base+"/api/auth/login", clientIP, "", map[string]any{"email": email, "password": password})
}

// enumComparableHeader drops the headers that legitimately differ between two
// otherwise identical answers: the date, the request id and the rate-limit
// budget (which counts every request).
func enumComparableHeader(h http.Header) http.Header {
	out := h.Clone()
	for name := range out {
		if name == "Date" || name == "X-Request-Id" || strings.HasPrefix(name, "Ratelimit-") {
			delete(out, name)
		}
	}
	return out
}

// enumWithoutRequestID decodes a problem body and drops its request_id.
func enumWithoutRequestID(t testing.TB, r wholeReply) map[string]any {
	t.Helper()
	m := r.problem(t)
	if _, ok := m["request_id"]; !ok {
		t.Errorf("problem %s has no request_id", r.body)
	}
	delete(m, "request_id")
	return m
}

// enumSameAnswer reports (as test errors) every difference between two
// answers but the ones enumComparableHeader and enumWithoutRequestID allow.
func enumSameAnswer(t testing.TB, what string, a, b wholeReply) {
	t.Helper()
	if a.status != b.status {
		t.Errorf("%s: status %d and %d, want the same", what, a.status, b.status)
	}
	if diff := cmp.Diff(enumWithoutRequestID(t, a), enumWithoutRequestID(t, b)); diff != "" {
		t.Errorf("%s: bodies differ (-wrong password +unknown email):\n%s", what, diff)
	}
	if diff := cmp.Diff(enumComparableHeader(a.header), enumComparableHeader(b.header)); diff != "" {
		t.Errorf("%s: headers differ (-wrong password +unknown email):\n%s", what, diff)
	}
}

// TestLoginRevealsNoAccount shows that a wrong password and an unknown email
// are answered alike: status, body but for request_id, headers, rate-limit
// accounting and lockout accounting (both lock after AUTH_LOCKOUT_THRESHOLD
// failures, alike). Timing is TestLoginTimingRevealsNoAccount's subject.
func TestLoginRevealsNoAccount(t *testing.T) {
	const threshold = 3
	s := startServer(t, testEnv(t, map[string]string{
		"AUTH_TRUSTED_PROXIES":           "127.0.0.1/32",
		"AUTH_RATE_LIMIT_PER_MINUTE":     "100",
		"AUTH_LOCKOUT_THRESHOLD":         strconv.Itoa(threshold),
		"AUTH_LOCKOUT_ACCOUNT_THRESHOLD": "0",
		"AUTH_LOCKOUT_DURATION":          "15m",
	}))
	register(t, s.URL, "known@example.com")
	url := s.URL + "/api/auth/login"
	const ip = "198.18.0.1" // one client, so both kinds share one budget

	// Request ids of equal length keep Content-Length comparable.
	var wrong, unknown []wholeReply
	for i := range threshold + 2 {
		wrong = append(wrong, postWhole(t, url, ip, fmt.Sprintf("wrong-%04d", i), map[string]any{"email": "known@example.com", "password": "Wr0ng-Password!"}))
		unknown = append(unknown, postWhole(t, url, ip, fmt.Sprintf("unkno-%04d", i), map[string]any{"email": "nobody@example.com", "password": "Wr0ng-Password!"}))
	}
	remaining := 100
	for i := range wrong {
		what := fmt.Sprintf("attempt %d", i+1)
		want, wantCode := http.StatusUnauthorized, "invalid_credentials"
		if i >= threshold {
			want, wantCode = http.StatusTooManyRequests, "account_locked"
		}
		for _, r := range []wholeReply{wrong[i], unknown[i]} {
			if code := r.problem(t)["code"]; r.status != want || code != wantCode {
				t.Errorf("%s: %d %v, want %d %s", what, r.status, code, want, wantCode)
			}
			// Every attempt, of either kind, spends one unit of the client's
			// budget.
			remaining--
			if got := r.header.Get("RateLimit-Remaining"); got != strconv.Itoa(remaining) {
				t.Errorf("%s: RateLimit-Remaining %q, want %d", what, got, remaining)
			}
		}
		if i >= threshold {
			// Retry-After counts down in seconds; the two may straddle a
			// second boundary.
			a, errA := strconv.Atoi(wrong[i].header.Get("Retry-After"))
			b, errB := strconv.Atoi(unknown[i].header.Get("Retry-After"))
			if errA != nil || errB != nil || a < 1 || a > 900 || b < a-1 || b > a {
				t.Errorf("%s: Retry-After %q and %q, want the same number of seconds in 1..900", what, wrong[i].header.Get("Retry-After"), unknown[i].header.Get("Retry-After"))
			}
			wrong[i].header.Del("Retry-After")
			unknown[i].header.Del("Retry-After")
		}
		enumSameAnswer(t, what, wrong[i], unknown[i])
	}
	// The right password is locked out too.
	if r := loginWhole(t, s.URL, ip, "known@example.com", testPassword); r.status != http.StatusTooManyRequests {
		t.Errorf("right password after %d failures = %d %s, want 429", threshold, r.status, r.body)
	}
	// The logs tell the two apart (for the operator), masking the email.
	// All 11 failures are logged, but perhaps not yet written out.
	s.Logs.WaitFor(t, "11 failed logins", func(logs string) bool {
		return strings.Count(logs, `"event":"user.login_failed"`) >= 2*threshold+5
	})
	reasons := map[string]int{}
	for _, l := range s.Logs.Lines(t) {
		if l["event"] == "user.login_failed" {
			reasons[fmt.Sprint(l["reason"])]++
		}
	}
	if want := map[string]int{"wrong_password": threshold, "unknown_email": threshold, "locked": 5}; !cmp.Equal(reasons, want) {
		t.Errorf("user.login_failed reasons = %v, want %v", reasons, want)
	}
}

// enumTimedLogin posts a login and returns how long the answer took, checking
// it has the status wanted.
func enumTimedLogin(t testing.TB, url string, body map[string]any, want int) time.Duration {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("POST %s: read body: %v", url, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("POST %s %v = %d, want %d", url, body["email"], resp.StatusCode, want)
	}
	return took
}

func enumMedian(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// TestLoginTimingRevealsNoAccount shows that an unknown email takes as long
// as a wrong password at a realistic bcrypt cost (10), comparing the
// medians of interleaved attempts. A control arm, a login refused before
// any password comparison (an empty password, 422), shows that the
// measurement would see a path that skipped bcrypt: its ratio is far
// outside the bounds.
func TestLoginTimingRevealsNoAccount(t *testing.T) {
	const (
		cost = 10
		// The bounds are generous so that a noisy shared machine never
		// fails the test; with the dummy comparison for unknown emails
		// removed the ratio measured 0.008.
		low, high = 0.8, 1.25
		maxPairs  = 40
		// Under the race detector a cost-10 comparison takes over a second
		// instead of under 100 ms; the time budget then stops the test at
		// minPairs rather than letting it run for minutes. Bcrypt dominates
		// each attempt so much that even five give stable medians.
		minPairs = 5
	)
	budget := 10 * time.Second
	if testing.Short() {
		budget = 3 * time.Second
	}
	s := startServer(t, testEnv(t, map[string]string{
		"AUTH_BCRYPT_COST":               strconv.Itoa(cost),
		"AUTH_LOCKOUT_THRESHOLD":         "0",
		"AUTH_LOCKOUT_ACCOUNT_THRESHOLD": "0",
		"AUTH_RATE_LIMIT_PER_MINUTE":     "0",
		"AUTH_LOG_LEVEL":                 "info",
	}))
	register(t, s.URL, "known@example.com")
	url := s.URL + "/api/auth/login"
	wrongBody := map[string]any{"email": "known@example.com", "password": "Wr0ng-Password!"}
	unknownBody := map[string]any{"email": "nobody@example.com", "password": "Wr0ng-Password!"}
	controlBody := map[string]any{"email": "known@example.com", "password": ""}

	// Warm up the connection, caches and the database.
	enumTimedLogin(t, url, unknownBody, http.StatusUnauthorized)

	var wrong, unknown, control []time.Duration
	start := time.Now()
	for i := 0; i < maxPairs && (i < minPairs || time.Since(start) < budget); i++ {
		// Alternate which goes first, so neither always follows the other.
		if i%2 == 0 {
			wrong = append(wrong, enumTimedLogin(t, url, wrongBody, http.StatusUnauthorized))
			unknown = append(unknown, enumTimedLogin(t, url, unknownBody, http.StatusUnauthorized))
		} else {
			unknown = append(unknown, enumTimedLogin(t, url, unknownBody, http.StatusUnauthorized))
			wrong = append(wrong, enumTimedLogin(t, url, wrongBody, http.StatusUnauthorized))
		}
		control = append(control, enumTimedLogin(t, url, controlBody, http.StatusUnprocessableEntity))
	}
	mw, mu, mc := enumMedian(wrong), enumMedian(unknown), enumMedian(control)
	ratio := float64(mu) / float64(mw)
	controlRatio := float64(mc) / float64(mw)
	t.Logf("bcrypt cost %d, %d attempts of each in %v: median wrong password %v, unknown email %v (ratio %.3f); without bcrypt %v (ratio %.3f)",
		cost, len(wrong), time.Since(start).Round(time.Millisecond), mw, mu, ratio, mc, controlRatio)
	if ratio < low || ratio > high {
		t.Errorf("median unknown email / wrong password = %.3f (%v / %v), want within [%.2f, %.2f]", ratio, mu, mw, low, high)
	}
	if controlRatio >= low {
		t.Errorf("median of a login without bcrypt / wrong password = %.3f (%v / %v), want well under %.2f: the measurement cannot tell a skipped comparison", controlRatio, mc, mw, low)
	}
}
