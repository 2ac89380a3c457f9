package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestStarting shows the handler of a process still starting: the
// liveness probe answers 200 with the API's own bytes and headers at
// once, readiness 503, and an API request waits for Ready and is then
// served by the API; after Fail, or past the wait, 503 with Retry-After.
func TestStarting(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", "api")
		w.WriteHeader(http.StatusTeapot)
	})
	serve := func(h http.Handler, method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}
	wantProblem := func(t *testing.T, rec *httptest.ResponseRecorder, what string) {
		t.Helper()
		var p map[string]any
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" ||
			json.Unmarshal(rec.Body.Bytes(), &p) != nil || p["code"] != codeServiceUnavailable || p["request_id"] != rec.Header().Get("X-Request-ID") {
			t.Errorf("%s = %d %v %s, want 503 service_unavailable with Retry-After 1", what, rec.Code, rec.Header(), rec.Body)
		}
	}

	t.Run("probes before ready", func(t *testing.T) {
		s := NewStarting(StartingOptions{Wait: time.Minute})
		rec := serve(s, http.MethodGet, "/healthz")
		if rec.Code != http.StatusOK || rec.Body.String() != "{\"status\":\"ok\"}\n" ||
			rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" ||
			rec.Header().Get("X-Frame-Options") != "DENY" || len(rec.Header().Get("X-Request-ID")) != 32 {
			t.Errorf("GET /healthz while starting = %d %v %q", rec.Code, rec.Header(), rec.Body)
		}
		wantProblem(t, serve(s, http.MethodGet, "/readyz"), "GET /readyz while starting")
	})

	t.Run("requests wait for ready", func(t *testing.T) {
		s := NewStarting(StartingOptions{Wait: time.Minute})
		got := make(chan *httptest.ResponseRecorder)
		go func() { got <- serve(s, http.MethodGet, "/api/auth/me") }()
		select {
		case rec := <-got:
			t.Fatalf("request answered before ready: %d", rec.Code)
		case <-time.After(50 * time.Millisecond):
		}
		s.Ready(api)
		if rec := <-got; rec.Code != http.StatusTeapot || rec.Header().Get("X-Served-By") != "api" {
			t.Errorf("waiting request after Ready = %d %v, want the API's answer", rec.Code, rec.Header())
		}
		for _, path := range []string{"/healthz", "/readyz", "/api/auth/login"} {
			if rec := serve(s, http.MethodGet, path); rec.Code != http.StatusTeapot {
				t.Errorf("GET %s after Ready = %d, want the API's answer", path, rec.Code)
			}
		}
	})

	t.Run("fail", func(t *testing.T) {
		s := NewStarting(StartingOptions{Wait: time.Minute})
		got := make(chan *httptest.ResponseRecorder)
		go func() { got <- serve(s, http.MethodPost, "/api/auth/login") }()
		time.Sleep(20 * time.Millisecond)
		s.Fail()
		select {
		case rec := <-got:
			wantProblem(t, rec, "request waiting when start-up failed")
		case <-time.After(5 * time.Second):
			t.Fatal("Fail did not release the waiting request")
		}
		if rec := serve(s, http.MethodGet, "/healthz"); rec.Code != http.StatusOK {
			t.Errorf("GET /healthz after Fail = %d, want 200 (the process still serves)", rec.Code)
		}
	})

	t.Run("wait bounded", func(t *testing.T) {
		s := NewStarting(StartingOptions{Wait: 30 * time.Millisecond})
		start := time.Now()
		wantProblem(t, serve(s, http.MethodGet, "/api/auth/me"), "request past the wait")
		if d := time.Since(start); d < 30*time.Millisecond || d > 5*time.Second {
			t.Errorf("answered after %v, want about the 30ms wait", d)
		}
	})
}
