package token

import (
	"crypto"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	jwxjwk "github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
)

// TestJWKSWithJWX verifies authserve tokens the way a third party would: an
// independent library (lestrrat-go/jwx) given only the published JWKS.
func TestJWKSWithJWX(t *testing.T) {
	const audience = "https://api.example.com"
	tests := []struct {
		name    string
		private string
		verify  []string
		// signer issues the token under test; nil means the set itself.
		signer string
	}{
		{name: "Ed25519", private: "ed25519_pkcs8.pem"},
		{name: "P-256", private: "p256_sec1.pem"},
		{name: "RSA", private: "rsa2048_pkcs1.pem"},
		{name: "token of a rotated-out RSA key", private: "ed25519_pkcs8.pem",
			verify: []string{"rsa2048_public.pem", "p256_public.pem"}, signer: "rsa2048_pkcs1.pem"},
		{name: "token of a rotated-out P-256 key", private: "ed25519_pkcs8.pem",
			verify: []string{"rsa2048_public.pem", "p256_public.pem"}, signer: "p256_sec1.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks := loadKeys(t, tt.private, tt.verify...)
			issuerKeys := ks
			if tt.signer != "" {
				issuerKeys = loadKeys(t, tt.signer)
			}
			issuer := newManager(t, Config{Audience: audience}, issuerKeys)
			now := time.Now()
			raw, _, err := issuer.Issue(42, "session-1", now)
			if err != nil {
				t.Fatal(err)
			}

			set, err := jwxjwk.Parse(ks.JWKS())
			if err != nil {
				t.Fatalf("jwk.Parse(JWKS()) = %v", err)
			}
			if set.Len() != 1+len(tt.verify) {
				t.Errorf("jwk.Parse(JWKS()).Len() = %d, want %d", set.Len(), 1+len(tt.verify))
			}
			// Every kid is the RFC 7638 thumbprint as jwx computes it.
			for i := range set.Len() {
				key, _ := set.Key(i)
				kid, _ := key.KeyID()
				tp, err := key.Thumbprint(crypto.SHA256)
				if err != nil {
					t.Fatal(err)
				}
				if want := base64.RawURLEncoding.EncodeToString(tp); kid != want {
					t.Errorf("kid = %q, want jwx thumbprint %q", kid, want)
				}
			}

			tok, err := jwxjwt.Parse([]byte(raw),
				jwxjwt.WithKeySet(set),
				jwxjwt.WithIssuer("authserve"),
				jwxjwt.WithAudience(audience),
				jwxjwt.WithAcceptableSkew(time.Second),
				jwxjwt.WithRequiredClaim("exp"),
				jwxjwt.WithRequiredClaim("sid"),
			)
			if err != nil {
				t.Fatalf("jwx jwt.Parse(token) = %v", err)
			}
			if sub, _ := tok.Subject(); sub != "42" {
				t.Errorf("jwx subject = %q, want 42", sub)
			}
			var sid string
			if err := tok.Get("sid", &sid); err != nil || sid != "session-1" {
				t.Errorf("jwx sid = %q, %v, want session-1", sid, err)
			}

			// And jwx refuses the same token once tampered with.
			if _, err := jwxjwt.Parse([]byte(tamper(raw)), jwxjwt.WithKeySet(set)); err == nil {
				t.Errorf("jwx jwt.Parse(tampered token) = nil error")
			}
		})
	}
}

// TestJWKSWithJWXAssuranceLevels checks the aal and amr claims of tokens
// of both levels the way a resource server would read them: with jwx and
// the JWKS alone.
func TestJWKSWithJWXAssuranceLevels(t *testing.T) {
	ks := loadKeys(t, "ed25519_pkcs8.pem")
	m := newManager(t, Config{}, ks)
	set, err := jwxjwk.Parse(ks.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		issue   func() (string, time.Time, error)
		wantAAL string
		wantAMR []string
	}{
		{"password", func() (string, time.Time, error) { return m.Issue(7, "s", time.Now()) }, AAL1, []string{"pwd"}},
		{"password and TOTP", func() (string, time.Time, error) {
			return m.IssueLevel(7, "s", Level{AAL: AAL2, AMR: []string{"pwd", "otp"}}, time.Now())
		}, AAL2, []string{"pwd", "otp"}},
		{"password and recovery code", func() (string, time.Time, error) {
			return m.IssueLevel(7, "s", Level{AAL: AAL2, AMR: []string{"pwd", "mfa"}}, time.Now())
		}, AAL2, []string{"pwd", "mfa"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, _, err := tt.issue()
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwxjwt.Parse([]byte(raw), jwxjwt.WithKeySet(set), jwxjwt.WithIssuer("authserve"),
				jwxjwt.WithRequiredClaim("aal"), jwxjwt.WithRequiredClaim("amr"))
			if err != nil {
				t.Fatalf("jwx jwt.Parse = %v", err)
			}
			var aal string
			var amr []any
			if err := tok.Get("aal", &aal); err != nil || aal != tt.wantAAL {
				t.Errorf("jwx aal = %q, %v, want %q", aal, err, tt.wantAAL)
			}
			if err := tok.Get("amr", &amr); err != nil || fmt.Sprint(amr) != fmt.Sprint(tt.wantAMR) {
				t.Errorf("jwx amr = %v, %v, want %v", amr, err, tt.wantAMR)
			}
			c, err := m.Verify(raw, time.Now())
			if err != nil || c.AAL != tt.wantAAL || fmt.Sprint(c.AMR) != fmt.Sprint(tt.wantAMR) {
				t.Errorf("Verify = %+v, %v; want aal %s amr %v", c, err, tt.wantAAL, tt.wantAMR)
			}
		})
	}
	if _, _, err := m.IssueLevel(7, "s", Level{AAL: "aal3"}, time.Now()); err == nil {
		t.Errorf("IssueLevel(aal3) = nil error")
	}
}
