package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// TestFastMeAnswersAsHuma shows that serveMe and the huma operation it
// stands in for answer every kind of GET /api/auth/me alike: status,
// headers and body bytes, for names with quotes, HTML, control
// characters, non-ASCII and none at all, and for every refusal.
func TestFastMeAnswersAsHuma(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 28, 14, 3, 13, 123456789, time.UTC)
	var bearers []string
	names := [][2]string{{"", ""}, {"Alice", "Liddell"}, {`Bob "the" <b>&amp;`, "line\nbreak\ttab\u0001"}, {"Zoë", "ß\u2028\u2029é😀"}}
	for i, n := range names {
		u, err := e.store.CreateUser(ctx, auth.NewUser{Email: fmt.Sprintf("fast%d@example.com", i), PasswordHash: "x",
			FirstName: n[0], LastName: n[1], IsActive: true, CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := e.store.SetEmailVerified(ctx, u.ID, true, now); err != nil {
				t.Fatal(err)
			}
		}
		sid := fmt.Sprintf("fast-session-%d", i)
		if err := e.store.CreateSession(ctx, auth.Session{ID: sid, UserID: u.ID, CreatedAt: now, ExpiresAt: time.Now().Add(time.Hour),
			Deadline: time.Now().Add(time.Hour)}, auth.RefreshToken{Hash: sid, IssuedAt: now, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		tok, _, err := e.tokens.Issue(u.ID, sid, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		bearers = append(bearers, "Bearer "+tok)
	}
	revoked := bearers[1]
	if err := e.store.RevokeSession(ctx, 2, "fast-session-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	bearers = append(bearers[:1], bearers[2:]...)
	expired, _, err := e.tokens.Issue(1, "fast-session-0", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cases := append(bearers, "", "Basic abc", "Bearer", "Bearer not-a-token", revoked, "Bearer "+expired, "bearer "+bearers[0][7:])

	fast := e.handler.(*server)
	slow := newServer(Options{Service: e.svc, Logger: fast.log, JWKS: fast.jwks, Version: "test"}, nil)
	slow.humaMe = true
	for _, auth := range cases {
		var got [2]*httptest.ResponseRecorder
		for i, h := range []http.Handler{fast, slow} {
			req := httptest.NewRequest(http.MethodGet, "/api/auth/me", nil)
			req.Header.Set("X-Request-ID", "fast-me")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			got[i] = httptest.NewRecorder()
			h.ServeHTTP(got[i], req)
		}
		f, s := got[0], got[1]
		if f.Code != s.Code || !bytes.Equal(f.Body.Bytes(), s.Body.Bytes()) {
			t.Errorf("Authorization %.30q: serveMe %d %q, huma %d %q", auth, f.Code, f.Body, s.Code, s.Body)
		}
		fh, sh := f.Header().Clone(), s.Header().Clone()
		for h := range sh {
			if fh.Get(h) != sh.Get(h) {
				t.Errorf("Authorization %.30q: header %s: serveMe %q, huma %q", auth, h, fh.Values(h), sh.Values(h))
			}
		}
		for h := range fh {
			if _, ok := sh[h]; !ok {
				t.Errorf("Authorization %.30q: serveMe sets %s, huma does not", auth, h)
			}
		}
	}
}
