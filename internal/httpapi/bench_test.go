package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// The benchmarks run in process through the whole handler (middlewares,
// router, huma, domain, SQLite) with bcrypt at cost 4, so they measure
// this layer's overhead around the domain rather than bcrypt.

func BenchmarkMe(b *testing.B) {
	e := newEnv(b)
	e.register("bench@example.com")
	auth := "Bearer " + e.login("bench@example.com")["access_token"].(string)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/api/auth/me", nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /api/auth/me = %d %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkLogin(b *testing.B) {
	e := newEnv(b)
	e.register("bench@example.com")
	body := `{"email":"bench@example.com","password":"` + testPassword + `"}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/auth/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("POST /api/auth/login = %d %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkRegister(b *testing.B) {
	e := newEnv(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		body := `{"email":"bench` + strconv.Itoa(i) + `@example.com","password":"` + testPassword + `"}`
		req := httptest.NewRequest(http.MethodPost, "/api/auth/register", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("POST /api/auth/register = %d %s", rec.Code, rec.Body)
		}
	}
}
