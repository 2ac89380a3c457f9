package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// The benchmarks of issue 12: forgot and resend add no password hashing
// (counted from /metrics: authserve_hash_duration_seconds_count, every
// bcrypt hash and comparison), and the login path keeps its throughput
// while they run. Run with e.g.
//
//	go test ./cmd/authserve -run '^$' -bench 'Recovery' -benchtime 2s

// hashCount reads how many bcrypt hashes and comparisons the server did.
func hashCount(b *testing.B, base string) float64 {
	b.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var n float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "authserve_hash_duration_seconds_count") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			n += v
		}
	}
	return n
}

func benchServer(b *testing.B) *server {
	b.Helper()
	env := testEnv(b, map[string]string{
		"AUTH_BCRYPT_COST":               "10",
		"AUTH_MAIL_COOLDOWN":             "0s", // every request does the full work
		"AUTH_LOCKOUT_THRESHOLD":         "0",
		"AUTH_LOCKOUT_ACCOUNT_THRESHOLD": "0",
		"AUTH_LOG_LEVEL":                 "info",
		"AUTH_JWT_SECRET":                "bench-secret-0123456789-abcdefghijklmn",
		"AUTH_MAIL_DIR":                  b.TempDir(),
		// serve leaves GOMAXPROCS alone when it is set: the benchmark
		// framework fails a benchmark that changes it.
		"GOMAXPROCS": strconv.Itoa(runtime.GOMAXPROCS(0)),
	})
	s := startServer(b, env)
	register(b, s.URL, "bench@example.com")
	return s
}

func postQuiet(b *testing.B, client *http.Client, url string, body []byte, want int) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Errorf("POST %s = %d, want %d", url, resp.StatusCode, want)
	}
}

func benchPost(b *testing.B, s *server, path string, body map[string]any, want int) {
	raw, _ := json.Marshal(body)
	url := s.URL + path
	before := hashCount(b, s.URL)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			postQuiet(b, http.DefaultClient, url, raw, want)
		}
	})
	b.StopTimer()
	b.ReportMetric((hashCount(b, s.URL)-before)/float64(b.N), "bcrypt/op")
}

func BenchmarkRecoveryForgot(b *testing.B) {
	s := benchServer(b)
	benchPost(b, s, "/api/auth/password/forgot", map[string]any{"email": "bench@example.com"}, http.StatusAccepted)
}

func BenchmarkRecoveryForgotUnknown(b *testing.B) {
	s := benchServer(b)
	benchPost(b, s, "/api/auth/password/forgot", map[string]any{"email": "nobody@example.com"}, http.StatusAccepted)
}

func BenchmarkRecoveryResend(b *testing.B) {
	s := benchServer(b)
	benchPost(b, s, "/api/auth/email/verify/resend", map[string]any{"email": "bench@example.com"}, http.StatusAccepted)
}

func BenchmarkRecoveryLogin(b *testing.B) {
	s := benchServer(b)
	benchPost(b, s, "/api/auth/login", map[string]any{"email": "bench@example.com", "password": testPassword}, http.StatusOK)
}

// BenchmarkRecoveryLoginUnderForgotLoad is BenchmarkRecoveryLogin while one
// client sends forgot requests back to back.
func BenchmarkRecoveryLoginUnderForgotLoad(b *testing.B) {
	s := benchServer(b)
	var stop atomic.Bool
	var forgots atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		raw, _ := json.Marshal(map[string]any{"email": "bench@example.com"})
		for !stop.Load() {
			postQuiet(b, http.DefaultClient, s.URL+"/api/auth/password/forgot", raw, http.StatusAccepted)
			forgots.Add(1)
		}
	}()
	benchPost(b, s, "/api/auth/login", map[string]any{"email": "bench@example.com", "password": testPassword}, http.StatusOK)
	stop.Store(true)
	<-done
	b.ReportMetric(float64(forgots.Load())/float64(b.N), "forgots/login")
}
