package httpapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/totp"
)

// TestMFATokenExpiry moves the domain's clock past an mfa_token's five
// minutes: the token is refused with the right code, while one just inside
// them still works.
func TestMFATokenExpiry(t *testing.T) {
	e := newEnv(t)
	e.register("erin@example.com")
	access := e.login("erin@example.com")["access_token"].(string)
	bearer := []string{"Authorization", "Bearer " + access}
	r := e.do("POST", "/api/auth/mfa/totp", nil, bearer...)
	if r.status != http.StatusCreated {
		t.Fatalf("enrol = %d %s", r.status, r.body)
	}
	enrol := r.json(t)
	secret := enrol["secret"].(string)
	code := func(at time.Time) string {
		c, err := totp.Code(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	r = e.do("POST", "/api/auth/mfa/totp/"+enrol["factor_id"].(string)+"/activate", map[string]any{"code": code(e.clock.now())}, bearer...)
	if r.status != http.StatusOK {
		t.Fatalf("activate = %d %s", r.status, r.body)
	}
	mfaToken := func() string {
		r := e.do("POST", "/api/auth/login", map[string]any{"email": "erin@example.com", "password": testPassword})
		if r.status != http.StatusForbidden {
			t.Fatalf("login = %d %s, want 403", r.status, r.body)
		}
		return r.json(t)["mfa_token"].(string)
	}

	expired := mfaToken()
	e.clock.advance(auth.MFATokenTTL + time.Second)
	r = e.do("POST", "/api/auth/mfa/verify", map[string]any{"mfa_token": expired, "code": code(e.clock.now())})
	checkProblem(t, r, http.StatusUnauthorized, codeInvalidMFACode)

	fresh := mfaToken()
	e.clock.advance(auth.MFATokenTTL - 2*time.Second)
	r = e.do("POST", "/api/auth/mfa/verify", map[string]any{"mfa_token": fresh, "code": code(e.clock.now())})
	if r.status != http.StatusOK {
		t.Errorf("verify within five minutes = %d %s, want 200", r.status, r.body)
	}
}
