package main

import (
	"github.com/authserve/authserve/internal/logtest"

	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// server is a running authserve started through run.
type server struct {
	URL  string
	Logs *logtest.Buffer
	stop context.CancelFunc
	done chan error
}

// testEnv is a configuration for tests: SQLite in a temporary directory,
// a random port, a fast bcrypt cost.
func testEnv(t testing.TB, extra map[string]string) map[string]string {
	dir := t.TempDir()
	env := map[string]string{
		"AUTH_ADDR":                  "127.0.0.1:0",
		"AUTH_DATABASE_URL":          "sqlite:" + filepath.Join(dir, "authserve.db"),
		"AUTH_BCRYPT_COST":           "4",
		"AUTH_RATE_LIMIT_PER_MINUTE": "0",
		"AUTH_LOG_LEVEL":             "debug",
		// Development writes emails as .eml files: into the test's own
		// directory, not the package's.
		"AUTH_MAIL_DIR": filepath.Join(dir, "mail"),
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func getenvOf(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// startServer runs the service and waits until it answers /healthz.
func startServer(t testing.TB, env map[string]string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{Logs: &logtest.Buffer{}, stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, nil, getenvOf(env), strings.NewReader(""), s.Logs, io.Discard) }()
	// Generous: under the race detector on a busy 2-core machine a start
	// (migrations included) has been seen to take over 10 s.
	deadline := time.Now().Add(30 * time.Second)
	for s.URL == "" {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not start; logs:\n%s", s.Logs)
		}
		select {
		case err := <-s.done:
			t.Fatalf("run returned early: %v; logs:\n%s", err, s.Logs)
		case <-time.After(10 * time.Millisecond):
		}
		// The listener answers before the API is built (httpapi.Starting);
		// tests start once it is ready, so that start-up's log lines are
		// all there.
		url, ready := "", false
		for _, l := range s.Logs.Lines(t) {
			switch l["msg"] {
			case "authserve listening":
				url = "http://" + l["addr"].(string)
			case "authserve ready":
				ready = true
			}
		}
		if ready {
			s.URL = url
		}
	}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// Stop cancels the server's context, as SIGTERM does, and requires a clean
// exit.
func (s *server) Stop(t testing.TB) {
	t.Helper()
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run after shutdown = %v, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("server did not stop within 20s")
	}
}

// call sends a request and decodes a JSON answer (when there is one).
func call(t testing.TB, method, url, bearer string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, url, raw)
		}
	}
	return resp.StatusCode, m, resp.Header
}

// runCmd runs one command of the binary and returns its output.
func runCmd(t testing.TB, env map[string]string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	// Safe for concurrent writes: the command and the log's drain
	// goroutine both write to standard error.
	var out, errb logtest.Buffer
	err := run(context.Background(), args, getenvOf(env), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}
