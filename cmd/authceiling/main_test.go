package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/token"
)

// TestCeilingChecksTheToken shows the reference does the token check it
// stands for: a valid token gets the fixed body, a forged or missing one
// 401.
func TestCeilingChecksTheToken(t *testing.T) {
	keys, err := token.NewHMACKeySet([]byte("ceiling-test-secret-0123456789-abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := token.NewManager(token.Config{Issuer: "authserve", TTL: time.Minute}, keys)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := m.Issue(1, "s", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h := handler(m)
	for _, tt := range []struct {
		auth string
		want int
	}{
		{"Bearer " + tok, http.StatusOK},
		{"Bearer " + tok[:len(tok)-2] + "AA", http.StatusUnauthorized},
		{"", http.StatusUnauthorized},
	} {
		req := httptest.NewRequest(http.MethodGet, "/api/auth/me", nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want || (tt.want == http.StatusOK && rec.Body.String() != string(body)) {
			t.Errorf("GET /api/auth/me with %.20q = %d %q, want %d", tt.auth, rec.Code, rec.Body, tt.want)
		}
	}
}
