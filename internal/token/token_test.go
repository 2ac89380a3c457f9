package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// testNow is the fixed clock of the verification tests.
var testNow = time.Unix(1_700_000_000, 0).UTC()

func testdata(name string) string { return filepath.Join("testdata", name) }

// privateKey reads a private key from testdata, to forge tokens with it.
func privateKey(t testing.TB, name string) crypto.Signer {
	t.Helper()
	data, err := os.ReadFile(testdata(name))
	if err != nil {
		t.Fatal(err)
	}
	key, err := parseKeyPEM(data)
	if err != nil {
		t.Fatalf("parseKeyPEM(%s): %v", name, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		t.Fatalf("%s holds %T, not a private key", name, key)
	}
	return signer
}

func loadKeys(t testing.TB, private string, verify ...string) *KeySet {
	t.Helper()
	paths := make([]string, len(verify))
	for i, v := range verify {
		paths[i] = testdata(v)
	}
	ks, err := LoadKeySet(testdata(private), paths)
	if err != nil {
		t.Fatalf("LoadKeySet(%s, %v): %v", private, verify, err)
	}
	return ks
}

func newManager(t testing.TB, cfg Config, ks *KeySet) *Manager {
	t.Helper()
	m, err := NewManager(cfg, ks)
	if err != nil {
		t.Fatalf("NewManager(%+v): %v", cfg, err)
	}
	return m
}

func testSecret() []byte { return []byte("0123456789abcdef0123456789abcdef-test-secret") }

// baseClaims are the claims of a valid token at testNow.
func baseClaims() map[string]any {
	return map[string]any{
		"iss": "authserve",
		"sub": "42",
		"iat": testNow.Unix(),
		"exp": testNow.Add(15 * time.Minute).Unix(),
		"jti": "jti-1",
		"sid": "sid-1",
	}
}

// edit returns m with the given key/value pairs set; a nil value deletes.
func edit(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// forge builds a compact JWS from a header and claims given as JSON text,
// signed by method with key, or unsigned when method is nil.
func forge(t testing.TB, headerJSON, claimsJSON string, method jwt.SigningMethod, key any) string {
	t.Helper()
	unsigned := b64([]byte(headerJSON)) + "." + b64([]byte(claimsJSON))
	if method == nil {
		return unsigned + "."
	}
	sig, err := method.Sign(unsigned, key)
	if err != nil {
		t.Fatalf("sign with %s: %v", method.Alg(), err)
	}
	if method.Alg() == AlgES256 {
		lowS(sig) // as Issue does
	}
	return unsigned + "." + b64(sig)
}

// tokenFactory forges tokens for one key, header and claims given as maps.
type tokenFactory struct {
	t      testing.TB
	method jwt.SigningMethod
	key    any
	kid    string
}

func (f tokenFactory) header() map[string]any {
	h := map[string]any{"alg": f.method.Alg(), "typ": "at+jwt"}
	if f.kid != "" {
		h["kid"] = f.kid
	}
	return h
}

func (f tokenFactory) sign(header, claims map[string]any) string {
	f.t.Helper()
	return forge(f.t, mustJSON(f.t, header), mustJSON(f.t, claims), f.method, f.key)
}

func (f tokenFactory) claims(claims map[string]any) string {
	f.t.Helper()
	return f.sign(f.header(), claims)
}

func pemPublic(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// checkErr reports unless err matches want exactly: nil, or exactly one of
// ErrInvalid and ErrExpired.
func checkErr(t *testing.T, call string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("%s = %v, want no error", call, err)
		}
		return
	}
	gotInvalid, gotExpired := errors.Is(err, ErrInvalid), errors.Is(err, ErrExpired)
	if gotInvalid != (want == ErrInvalid) || gotExpired != (want == ErrExpired) {
		t.Errorf("%s = %v (invalid %t, expired %t), want %v", call, err, gotInvalid, gotExpired, want)
	}
}

func TestIssueVerify(t *testing.T) {
	hmacKeys, err := NewHMACKeySet(testSecret())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		keys     *KeySet
		audience string
		wantAlg  string
	}{
		{"HS256", hmacKeys, "", AlgHS256},
		{"EdDSA", loadKeys(t, "ed25519_pkcs8.pem"), "", AlgEdDSA},
		{"ES256", loadKeys(t, "p256_sec1.pem"), "https://api.example.com", AlgES256},
		{"RS256", loadKeys(t, "rsa2048_pkcs1.pem"), "", AlgRS256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, Config{Audience: tt.audience, TTL: 10 * time.Minute}, tt.keys)
			now := testNow.Add(700 * time.Millisecond)
			raw, exp, err := m.Issue(7, "session-a", now)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if want := testNow.Add(10 * time.Minute); !exp.Equal(want) {
				t.Errorf("Issue expiry = %v, want %v", exp, want)
			}

			got, err := m.Verify(raw, now)
			if err != nil {
				t.Fatalf("Verify(Issue()) = %v", err)
			}
			want := Claims{UserID: 7, SessionID: "session-a", ID: got.ID, IssuedAt: testNow, ExpiresAt: exp, AAL: AAL1, AMR: []string{"pwd"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Verify(Issue()) claims mismatch (-want +got):\n%s", diff)
			}
			if len(got.ID) < 22 {
				t.Errorf("jti %q is shorter than 128 bits", got.ID)
			}

			var header map[string]any
			seg, _, _ := strings.Cut(raw, ".")
			hb, _ := base64.RawURLEncoding.DecodeString(seg)
			if err := json.Unmarshal(hb, &header); err != nil {
				t.Fatalf("header: %v", err)
			}
			wantHeader := map[string]any{"alg": tt.wantAlg, "typ": "at+jwt"}
			if kid := tt.keys.KeyID(); kid != "" {
				wantHeader["kid"] = kid
			}
			if diff := cmp.Diff(wantHeader, header); diff != "" {
				t.Errorf("header mismatch (-want +got):\n%s", diff)
			}
			if got := tt.keys.Algorithm(); got != tt.wantAlg {
				t.Errorf("Algorithm() = %q, want %q", got, tt.wantAlg)
			}

			var claims map[string]any
			_, rest, _ := strings.Cut(raw, ".")
			seg, _, _ = strings.Cut(rest, ".")
			cb, _ := base64.RawURLEncoding.DecodeString(seg)
			if err := json.Unmarshal(cb, &claims); err != nil {
				t.Fatalf("claims: %v", err)
			}
			for _, name := range []string{"iss", "sub", "iat", "exp", "jti", "sid"} {
				if _, ok := claims[name]; !ok {
					t.Errorf("claims %v lack %q", claims, name)
				}
			}
			if claims["sub"] != "7" || claims["iss"] != "authserve" {
				t.Errorf("claims sub, iss = %v, %v, want 7, authserve", claims["sub"], claims["iss"])
			}
			if _, ok := claims["aud"]; ok != (tt.audience != "") {
				t.Errorf("claims aud = %v, want present %t", claims["aud"], tt.audience != "")
			}

			// Each token gets its own jti.
			raw2, _, err := m.Issue(7, "session-a", now)
			if err != nil {
				t.Fatal(err)
			}
			got2, err := m.Verify(raw2, now)
			if err != nil {
				t.Fatal(err)
			}
			if got2.ID == got.ID {
				t.Errorf("two tokens share jti %q", got.ID)
			}
		})
	}
}

func TestIssueRefusesBadInput(t *testing.T) {
	ks, err := NewHMACKeySet(testSecret())
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, Config{}, ks)
	tests := []struct {
		userID    int64
		sessionID string
	}{
		{0, "s"},
		{-1, "s"},
		{1, ""},
	}
	for _, tt := range tests {
		if _, _, err := m.Issue(tt.userID, tt.sessionID, testNow); err == nil {
			t.Errorf("Issue(%d, %q) = nil error, want one", tt.userID, tt.sessionID)
		}
	}
	short := newManager(t, Config{MaxLength: 64}, ks)
	if _, _, err := short.Issue(1, "s", testNow); err == nil {
		t.Errorf("Issue with MaxLength 64 = nil error, want one: the token could never verify")
	}
}

// TestVerifyRefuses is the catalogue of forged and unacceptable tokens (RFC
// 8725, RFC 9068): each must fail with exactly ErrInvalid or ErrExpired.
func TestVerifyRefuses(t *testing.T) {
	edKeys := loadKeys(t, "ed25519_pkcs8.pem")
	ed := newManager(t, Config{}, edKeys)
	edAud := newManager(t, Config{Audience: "https://api.example.com"}, edKeys)
	edPriv := privateKey(t, "ed25519_pkcs8.pem")
	edPub := edPriv.Public().(ed25519.PublicKey)
	edKID := edKeys.KeyID()
	edTok := tokenFactory{t, jwt.SigningMethodEdDSA, edPriv, edKID}

	hmacKeys, err := NewHMACKeySet(testSecret())
	if err != nil {
		t.Fatal(err)
	}
	hs := newManager(t, Config{}, hmacKeys)
	hsTok := tokenFactory{t, jwt.SigningMethodHS256, testSecret(), ""}

	// A key set rotated from RSA and P-256 to Ed25519.
	mixedKeys := loadKeys(t, "ed25519_pkcs8.pem", "rsa2048_pkcs1.pem", "p256_public.pem")
	mixed := newManager(t, Config{}, mixedKeys)
	rsaPriv := privateKey(t, "rsa2048_pkcs1.pem")
	rsaKID := loadKeys(t, "rsa2048_pkcs1.pem").KeyID()
	p256Priv := privateKey(t, "p256_sec1.pem")
	p256KID := loadKeys(t, "p256_sec1.pem").KeyID()

	// An attacker's own keys.
	_, evilEd, _ := ed25519.GenerateKey(rand.Reader)
	evilP256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherRSA := privateKey(t, "rsa2048_pkcs1.pem") // not in the EdDSA set
	evilKID := func() string {
		k, err := newVerifyKey(evilEd.Public())
		if err != nil {
			t.Fatal(err)
		}
		return k.kid
	}()

	valid := edTok.claims(baseClaims())
	exp := testNow.Add(15 * time.Minute)
	payloadSeg := strings.Split(valid, ".")[1]
	refresh, _, err := NewRefresh()
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", DefaultMaxLength)

	tests := []struct {
		name string
		m    *Manager
		raw  string
		now  time.Time
		want error
	}{
		// Baselines: what must pass.
		{"valid EdDSA", ed, valid, testNow, nil},
		{"valid HS256", hs, hsTok.claims(baseClaims()), testNow, nil},
		{"valid HS256 with a kid", hs, hsTok.sign(edit(hsTok.header(), "kid", "k1"), baseClaims()), testNow, nil},
		{"header members reordered", ed, forge(t, `{"typ":"at+jwt","kid":"`+edKID+`","alg":"EdDSA"}`, mustJSON(t, baseClaims()), jwt.SigningMethodEdDSA, edPriv), testNow, nil},
		{"typ application/at+jwt", ed, edTok.sign(edit(edTok.header(), "typ", "application/at+jwt"), baseClaims()), testNow, nil},
		{"typ upper case", ed, edTok.sign(edit(edTok.header(), "typ", "AT+JWT"), baseClaims()), testNow, nil},
		{"largest user id", ed, edTok.claims(edit(baseClaims(), "sub", "9223372036854775807")), testNow, nil},
		{"unknown claim ignored", ed, edTok.claims(edit(baseClaims(), "scope", "openid")), testNow, nil},
		{"aud ignored when none configured", ed, edTok.claims(edit(baseClaims(), "aud", "elsewhere")), testNow, nil},

		// alg none, in any spelling, with or without a kid.
		{"alg none", ed, forge(t, `{"alg":"none","typ":"at+jwt"}`, mustJSON(t, baseClaims()), nil, nil), testNow, ErrInvalid},
		{"alg None", ed, forge(t, `{"alg":"None","typ":"at+jwt","kid":"`+edKID+`"}`, mustJSON(t, baseClaims()), nil, nil), testNow, ErrInvalid},
		{"alg NONE", hs, forge(t, `{"alg":"NONE","typ":"at+jwt"}`, mustJSON(t, baseClaims()), nil, nil), testNow, ErrInvalid},
		{"alg none keeping the signature", ed, forge(t, `{"alg":"none","kid":"`+edKID+`","typ":"at+jwt"}`, mustJSON(t, baseClaims()), nil, nil) + strings.Split(valid, ".")[2], testNow, ErrInvalid},
		{"alg missing", ed, forge(t, `{"kid":"`+edKID+`","typ":"at+jwt"}`, mustJSON(t, baseClaims()), jwt.SigningMethodEdDSA, edPriv), testNow, ErrInvalid},
		{"alg not a string", ed, forge(t, `{"alg":1,"kid":"`+edKID+`","typ":"at+jwt"}`, mustJSON(t, baseClaims()), jwt.SigningMethodEdDSA, edPriv), testNow, ErrInvalid},

		// Foreign algorithms and key confusion.
		{"HS256 keyed with the public key PEM", ed, tokenFactory{t, jwt.SigningMethodHS256, pemPublic(t, edPub), edKID}.claims(baseClaims()), testNow, ErrInvalid},
		{"HS256 keyed with the raw public key", ed, tokenFactory{t, jwt.SigningMethodHS256, []byte(edPub), edKID}.claims(baseClaims()), testNow, ErrInvalid},
		{"HS256 keyed with the JWKS", ed, tokenFactory{t, jwt.SigningMethodHS256, edKeys.JWKS(), edKID}.claims(baseClaims()), testNow, ErrInvalid},
		{"RS256 with a foreign key and our kid", ed, tokenFactory{t, jwt.SigningMethodRS256, otherRSA, edKID}.claims(baseClaims()), testNow, ErrInvalid},
		{"ES256 with a foreign key and our kid", ed, tokenFactory{t, jwt.SigningMethodES256, evilP256, edKID}.claims(baseClaims()), testNow, ErrInvalid},
		{"EdDSA against an HMAC set", hs, edTok.claims(baseClaims()), testNow, ErrInvalid},
		{"HS512 with the right secret", hs, tokenFactory{t, jwt.SigningMethodHS512, testSecret(), ""}.claims(baseClaims()), testNow, ErrInvalid},
		{"HS256 with another secret", hs, tokenFactory{t, jwt.SigningMethodHS256, []byte("another secret of at least 32 bytes!!"), ""}.claims(baseClaims()), testNow, ErrInvalid},
		{"alg in lower case", hs, tokenFactory{t, jwt.SigningMethodHS256, testSecret(), ""}.sign(map[string]any{"alg": "hs256", "typ": "at+jwt"}, baseClaims()), testNow, ErrInvalid},

		// Rotated sets: each key only with its own algorithm, chosen by kid.
		{"rotation: old RSA key verifies", mixed, tokenFactory{t, jwt.SigningMethodRS256, rsaPriv, rsaKID}.claims(baseClaims()), testNow, nil},
		{"rotation: old P-256 key verifies", mixed, tokenFactory{t, jwt.SigningMethodES256, p256Priv, p256KID}.claims(baseClaims()), testNow, nil},
		{"RS256 signature under the EdDSA kid", mixed, tokenFactory{t, jwt.SigningMethodRS256, rsaPriv, edKID}.claims(baseClaims()), testNow, ErrInvalid},
		{"ES256 signature under the RSA kid", mixed, tokenFactory{t, jwt.SigningMethodES256, p256Priv, rsaKID}.claims(baseClaims()), testNow, ErrInvalid},
		{"HS256 keyed with the RSA public key PEM", mixed, tokenFactory{t, jwt.SigningMethodHS256, pemPublic(t, rsaPriv.Public()), rsaKID}.claims(baseClaims()), testNow, ErrInvalid},
		{"kid missing in an asymmetric set", ed, edTok.sign(edit(edTok.header(), "kid", nil), baseClaims()), testNow, ErrInvalid},
		{"kid unknown", ed, tokenFactory{t, jwt.SigningMethodEdDSA, evilEd, evilKID}.claims(baseClaims()), testNow, ErrInvalid},
		{"kid not a string", ed, edTok.sign(edit(edTok.header(), "kid", 5), baseClaims()), testNow, ErrInvalid},
		{"our kid, attacker's signature", ed, tokenFactory{t, jwt.SigningMethodEdDSA, evilEd, edKID}.claims(baseClaims()), testNow, ErrInvalid},

		// Keys carried in the header, even on a genuinely signed token.
		{"jwk header", ed, edTok.sign(edit(edTok.header(), "jwk", map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(evilEd.Public().(ed25519.PublicKey))}), baseClaims()), testNow, ErrInvalid},
		{"jwk header, attacker-signed", ed, tokenFactory{t, jwt.SigningMethodEdDSA, evilEd, ""}.sign(map[string]any{"alg": "EdDSA", "typ": "at+jwt", "jwk": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(evilEd.Public().(ed25519.PublicKey))}}, baseClaims()), testNow, ErrInvalid},
		{"jku header", ed, edTok.sign(edit(edTok.header(), "jku", "https://evil.example/jwks.json"), baseClaims()), testNow, ErrInvalid},
		{"x5u header", ed, edTok.sign(edit(edTok.header(), "x5u", "https://evil.example/cert.pem"), baseClaims()), testNow, ErrInvalid},
		{"x5c header", ed, edTok.sign(edit(edTok.header(), "x5c", []string{"MIIB"}), baseClaims()), testNow, ErrInvalid},
		{"jwk header null", ed, forge(t, `{"alg":"EdDSA","jwk":null,"kid":"`+edKID+`","typ":"at+jwt"}`, mustJSON(t, baseClaims()), jwt.SigningMethodEdDSA, edPriv), testNow, ErrInvalid},
		{"crit header", ed, edTok.sign(edit(edTok.header(), "crit", []string{"exp"}), baseClaims()), testNow, ErrInvalid},
		{"crit b64", hs, hsTok.sign(edit(hsTok.header(), "crit", []string{"b64"}, "b64", false), baseClaims()), testNow, ErrInvalid},
		{"unknown header member", ed, edTok.sign(edit(edTok.header(), "cty", "JWT"), baseClaims()), testNow, ErrInvalid},
		{"case variant of typ", ed, forge(t, `{"alg":"EdDSA","kid":"`+edKID+`","typ":"JWT","TYP":"at+jwt"}`, mustJSON(t, baseClaims()), jwt.SigningMethodEdDSA, edPriv), testNow, ErrInvalid},
		{"header not JSON", ed, b64([]byte(`{"alg":`)) + "." + payloadSeg + ".c2ln", testNow, ErrInvalid},
		{"header a JSON array", ed, b64([]byte(`["EdDSA"]`)) + "." + payloadSeg + ".c2ln", testNow, ErrInvalid},
		{"header null", ed, b64([]byte(`null`)) + "." + payloadSeg + ".c2ln", testNow, ErrInvalid},
		{"header not base64url", ed, "e30*." + payloadSeg + ".c2ln", testNow, ErrInvalid},
		{"header too long", ed, b64([]byte(`{"alg":"EdDSA","typ":"at+jwt","kid":"`+strings.Repeat("k", 1000)+`"}`)) + "." + payloadSeg + ".c2ln", testNow, ErrInvalid},

		// typ.
		{"typ missing", ed, edTok.sign(edit(edTok.header(), "typ", nil), baseClaims()), testNow, ErrInvalid},
		{"typ JWT", ed, edTok.sign(edit(edTok.header(), "typ", "JWT"), baseClaims()), testNow, ErrInvalid},
		{"typ application/jwt", ed, edTok.sign(edit(edTok.header(), "typ", "application/jwt"), baseClaims()), testNow, ErrInvalid},
		{"typ at+jwt with a space", ed, edTok.sign(edit(edTok.header(), "typ", "at+jwt "), baseClaims()), testNow, ErrInvalid},
		{"typ not a string", ed, edTok.sign(edit(edTok.header(), "typ", true), baseClaims()), testNow, ErrInvalid},

		// exp, with one second of leeway.
		{"exp missing", ed, edTok.claims(edit(baseClaims(), "exp", nil)), testNow, ErrInvalid},
		{"exp a string", ed, edTok.claims(edit(baseClaims(), "exp", "soon")), testNow, ErrInvalid},
		{"at exp", ed, valid, exp, nil},
		{"exp within leeway", ed, valid, exp.Add(999 * time.Millisecond), nil},
		{"exp at the end of leeway", ed, valid, exp.Add(time.Second), ErrExpired},
		{"exp long past", ed, valid, exp.Add(24 * time.Hour), ErrExpired},
		{"exp past, HS256", hs, hsTok.claims(baseClaims()), exp.Add(time.Minute), ErrExpired},
		{"exp past and wrong issuer", ed, edTok.claims(edit(baseClaims(), "iss", "mallory")), exp.Add(time.Minute), ErrInvalid},
		{"exp past and no sid", ed, edTok.claims(edit(baseClaims(), "sid", nil)), exp.Add(time.Minute), ErrInvalid},
		{"exp past and bad signature", ed, tokenFactory{t, jwt.SigningMethodEdDSA, evilEd, edKID}.claims(baseClaims()), exp.Add(time.Minute), ErrInvalid},
		{"exp past and iat in the future", ed, edTok.claims(edit(baseClaims(), "iat", exp.Add(time.Hour).Unix())), exp.Add(time.Minute), ErrInvalid},

		// nbf and iat in the future.
		{"nbf beyond leeway", ed, edTok.claims(edit(baseClaims(), "nbf", testNow.Add(2*time.Second).Unix())), testNow, ErrInvalid},
		{"nbf within leeway", ed, edTok.claims(edit(baseClaims(), "nbf", testNow.Add(time.Second).Unix())), testNow, nil},
		{"iat beyond leeway", ed, valid, testNow.Add(-1001 * time.Millisecond), ErrInvalid},
		{"iat within leeway", ed, valid, testNow.Add(-time.Second), nil},
		{"iat missing", ed, edTok.claims(edit(baseClaims(), "iat", nil)), testNow, ErrInvalid},

		// iss and aud.
		{"iss wrong", ed, edTok.claims(edit(baseClaims(), "iss", "https://evil.example")), testNow, ErrInvalid},
		{"iss missing", ed, edTok.claims(edit(baseClaims(), "iss", nil)), testNow, ErrInvalid},
		{"iss differs in case", ed, edTok.claims(edit(baseClaims(), "iss", "AuthServe")), testNow, ErrInvalid},
		{"aud configured, token has none", edAud, valid, testNow, ErrInvalid},
		{"aud configured, token has another", edAud, edTok.claims(edit(baseClaims(), "aud", "https://other.example.com")), testNow, ErrInvalid},
		{"aud configured and matching", edAud, edTok.claims(edit(baseClaims(), "aud", "https://api.example.com")), testNow, nil},
		{"aud configured, among several", edAud, edTok.claims(edit(baseClaims(), "aud", []string{"x", "https://api.example.com"})), testNow, nil},

		// sub, sid, jti.
		{"sub missing", ed, edTok.claims(edit(baseClaims(), "sub", nil)), testNow, ErrInvalid},
		{"sub empty", ed, edTok.claims(edit(baseClaims(), "sub", "")), testNow, ErrInvalid},
		{"sub zero", ed, edTok.claims(edit(baseClaims(), "sub", "0")), testNow, ErrInvalid},
		{"sub negative", ed, edTok.claims(edit(baseClaims(), "sub", "-42")), testNow, ErrInvalid},
		{"sub with plus sign", ed, edTok.claims(edit(baseClaims(), "sub", "+42")), testNow, ErrInvalid},
		{"sub with leading zero", ed, edTok.claims(edit(baseClaims(), "sub", "042")), testNow, ErrInvalid},
		{"sub not a number", ed, edTok.claims(edit(baseClaims(), "sub", "alice")), testNow, ErrInvalid},
		{"sub overflows int64", ed, edTok.claims(edit(baseClaims(), "sub", "9223372036854775808")), testNow, ErrInvalid},
		{"sub a JSON number", ed, edTok.claims(edit(baseClaims(), "sub", 42)), testNow, ErrInvalid},
		{"sid missing", ed, edTok.claims(edit(baseClaims(), "sid", nil)), testNow, ErrInvalid},
		{"sid empty", ed, edTok.claims(edit(baseClaims(), "sid", "")), testNow, ErrInvalid},
		{"sid a number", ed, edTok.claims(edit(baseClaims(), "sid", 7)), testNow, ErrInvalid},
		{"jti missing", ed, edTok.claims(edit(baseClaims(), "jti", nil)), testNow, ErrInvalid},

		// Tampering and malformed input.
		{"payload changed", ed, strings.Replace(valid, payloadSeg, b64([]byte(mustJSON(t, edit(baseClaims(), "sub", "1")))), 1), testNow, ErrInvalid},
		{"signature changed", ed, tamper(valid), testNow, ErrInvalid},
		{"signature missing", ed, strings.Join(strings.Split(valid, ".")[:2], ".") + ".", testNow, ErrInvalid},
		{"padded signature", ed, valid + "==", testNow, ErrInvalid},
		{"signature with stray trailing bits", ed, strayBits(valid), testNow, ErrInvalid},
		{"two segments", ed, strings.Join(strings.Split(valid, ".")[:2], "."), testNow, ErrInvalid},
		{"four segments", ed, valid + ".e30", testNow, ErrInvalid},
		{"empty", ed, "", testNow, ErrInvalid},
		{"refresh token", ed, refresh, testNow, ErrInvalid},
		{"refresh token, HS256", hs, refresh, testNow, ErrInvalid},
		{"Bearer prefix left on", ed, "Bearer " + valid, testNow, ErrInvalid},
		{"longer than MaxLength", ed, edTok.claims(edit(baseClaims(), "pad", big)), testNow, ErrInvalid},
		{"JWE-like five segments", ed, "eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVy.dGFn", testNow, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.m.Verify(tt.raw, tt.now)
			checkErr(t, "Verify", err, tt.want)
		})
	}
}

// tamper changes one character well inside a token's signature (the last
// characters may hold only padding bits, which lax decoders ignore).
func tamper(raw string) string {
	i := len(raw) - 10
	repl := byte('A')
	if raw[i] == 'A' {
		repl = 'B'
	}
	return raw[:i] + string(repl) + raw[i+1:]
}

// strayBits sets a low bit of the last character of a token whose signature
// length is not a multiple of 3: the same signature bytes for a lax decoder,
// a second spelling of the token that strict decoding refuses.
func strayBits(raw string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, raw[len(raw)-1])
	return raw[:len(raw)-1] + string(alphabet[i^1])
}

func TestVerifyMaxLength(t *testing.T) {
	ks, err := NewHMACKeySet(testSecret())
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, Config{}, ks)
	raw, _, err := m.Issue(1, "s", testNow)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		maxLength int
		want      error
	}{
		{len(raw), nil},
		{len(raw) - 1, ErrInvalid},
	}
	for _, tt := range tests {
		short := newManager(t, Config{MaxLength: tt.maxLength}, ks)
		_, err := short.Verify(raw, testNow)
		checkErr(t, fmt.Sprintf("Verify(%d-byte token) with MaxLength %d", len(raw), tt.maxLength), err, tt.want)
	}
}

func TestVerifyIssuerConfigured(t *testing.T) {
	ks, err := NewHMACKeySet(testSecret())
	if err != nil {
		t.Fatal(err)
	}
	a := newManager(t, Config{Issuer: "https://auth.example.com"}, ks)
	b := newManager(t, Config{}, ks)
	raw, _, err := a.Issue(1, "s", testNow)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Verify(raw, testNow)
	checkErr(t, "Verify by the same issuer", err, nil)
	_, err = b.Verify(raw, testNow)
	checkErr(t, "Verify by issuer authserve", err, ErrInvalid)
}

func TestKeyRotation(t *testing.T) {
	oldKeys := loadKeys(t, "ed25519_old.pem")
	oldManager := newManager(t, Config{}, oldKeys)
	oldToken, _, err := oldManager.Issue(5, "s-old", testNow)
	if err != nil {
		t.Fatal(err)
	}
	rsaToken, _, err := newManager(t, Config{}, loadKeys(t, "rsa2048_pkcs1.pem")).Issue(6, "s-rsa", testNow)
	if err != nil {
		t.Fatal(err)
	}

	rotated := loadKeys(t, "ed25519_pkcs8.pem", "ed25519_old.pem", "rsa2048_public.pem")
	m := newManager(t, Config{}, rotated)
	for _, tt := range []struct {
		name string
		raw  string
		want int64
	}{
		{"old Ed25519 key", oldToken, 5},
		{"old RSA key", rsaToken, 6},
	} {
		got, err := m.Verify(tt.raw, testNow)
		if err != nil {
			t.Errorf("Verify(token of the %s) = %v, want it valid", tt.name, err)
			continue
		}
		if got.UserID != tt.want {
			t.Errorf("Verify(token of the %s).UserID = %d, want %d", tt.name, got.UserID, tt.want)
		}
	}

	newToken, _, err := m.Issue(5, "s-new", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := headerKID(t, newToken), rotated.KeyID(); got != want {
		t.Errorf("kid of a new token = %q, want the new key's %q", got, want)
	}
	if got, old := headerKID(t, newToken), oldKeys.KeyID(); got == old {
		t.Errorf("kid of a new token = %q, the old key's", got)
	}
	if rotated.Algorithm() != AlgEdDSA {
		t.Errorf("Algorithm() = %q, want %q", rotated.Algorithm(), AlgEdDSA)
	}

	// The old set does not know the new key: a rollback is not silent.
	_, err = oldManager.Verify(newToken, testNow)
	checkErr(t, "Verify(new token) by the old set", err, ErrInvalid)

	// Once the old key is dropped from the verify files, its tokens die.
	dropped := newManager(t, Config{}, loadKeys(t, "ed25519_pkcs8.pem"))
	_, err = dropped.Verify(oldToken, testNow)
	checkErr(t, "Verify(old token) after the old key is dropped", err, ErrInvalid)

	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(rotated.JWKS(), &jwks); err != nil {
		t.Fatal(err)
	}
	var kids, algs []string
	for _, k := range jwks.Keys {
		kids = append(kids, k.Kid)
		algs = append(algs, k.Alg)
	}
	wantKIDs := []string{rotated.KeyID(), oldKeys.KeyID(), loadKeys(t, "rsa2048_pkcs1.pem").KeyID()}
	if diff := cmp.Diff(wantKIDs, kids); diff != "" {
		t.Errorf("JWKS kids, signing key first (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{AlgEdDSA, AlgEdDSA, AlgRS256}, algs); diff != "" {
		t.Errorf("JWKS algs (-want +got):\n%s", diff)
	}
}

func headerKID(t *testing.T, raw string) string {
	t.Helper()
	seg, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func TestNewManagerConfig(t *testing.T) {
	ks, err := NewHMACKeySet(testSecret())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     Config
		keys    *KeySet
		wantErr bool
		wantTTL time.Duration
	}{
		{"defaults", Config{}, ks, false, DefaultTTL},
		{"explicit", Config{Issuer: "x", Audience: "y", TTL: time.Hour, Leeway: 500 * time.Millisecond, MaxLength: 4096}, ks, false, time.Hour},
		{"no key set", Config{}, nil, true, 0},
		{"TTL under a second", Config{TTL: 500 * time.Millisecond}, ks, true, 0},
		{"TTL negative", Config{TTL: -time.Minute}, ks, true, 0},
		{"leeway over a second", Config{Leeway: 2 * time.Second}, ks, true, 0},
		{"leeway negative", Config{Leeway: -time.Second}, ks, true, 0},
		{"max length negative", Config{MaxLength: -1}, ks, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewManager(tt.cfg, tt.keys)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewManager(%+v) error = %v, want error %t", tt.cfg, err, tt.wantErr)
			}
			if err == nil && m.TTL() != tt.wantTTL {
				t.Errorf("TTL() = %v, want %v", m.TTL(), tt.wantTTL)
			}
		})
	}
}

func TestParseUserID(t *testing.T) {
	tests := []struct {
		in     string
		want   int64
		wantOK bool
	}{
		{"1", 1, true},
		{"42", 42, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"9223372036854775808", 0, false},
		{"0", 0, false},
		{"00", 0, false},
		{"01", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1e3", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"", 0, false},
		{"١", 0, false}, // Arabic-Indic digit one
	}
	for _, tt := range tests {
		got, ok := parseUserID(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseUserID(%q) = %d, %t, want %d, %t", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestParseAloneRefuses shows that golang-jwt, configured by NewManager,
// refuses foreign algorithms and mismatched keys on its own: the header
// pre-check is a second line, not the only one.
func TestParseAloneRefuses(t *testing.T) {
	mixedKeys := loadKeys(t, "ed25519_pkcs8.pem", "rsa2048_public.pem")
	m := newManager(t, Config{}, mixedKeys)
	edPriv := privateKey(t, "ed25519_pkcs8.pem")
	edKID := mixedKeys.KeyID()
	rsaPriv := privateKey(t, "rsa2048_pkcs1.pem")
	rsaKID := loadKeys(t, "rsa2048_pkcs1.pem").KeyID()
	_, evilEd, _ := ed25519.GenerateKey(rand.Reader)
	evilP256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	claims := mustJSON(t, baseClaims())

	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"valid", forge(t, `{"alg":"EdDSA","kid":"`+edKID+`","typ":"at+jwt"}`, claims, jwt.SigningMethodEdDSA, edPriv), nil},
		{"alg none", forge(t, `{"alg":"none","kid":"`+edKID+`","typ":"at+jwt"}`, claims, nil, nil), ErrInvalid},
		{"alg none with the magic key", forge(t, `{"alg":"none","kid":"`+edKID+`","typ":"at+jwt"}`, claims, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType), ErrInvalid},
		{"alg NONE", forge(t, `{"alg":"NONE","kid":"`+edKID+`","typ":"at+jwt"}`, claims, nil, nil), ErrInvalid},
		{"HS256 keyed with the RSA public key PEM", forge(t, `{"alg":"HS256","kid":"`+rsaKID+`","typ":"at+jwt"}`, claims, jwt.SigningMethodHS256, pemPublic(t, rsaPriv.Public())), ErrInvalid},
		{"ES256 under our kid", forge(t, `{"alg":"ES256","kid":"`+edKID+`","typ":"at+jwt"}`, claims, jwt.SigningMethodES256, evilP256), ErrInvalid},
		{"RS256 under the EdDSA kid", forge(t, `{"alg":"RS256","kid":"`+edKID+`","typ":"at+jwt"}`, claims, jwt.SigningMethodRS256, rsaPriv), ErrInvalid},
		{"embedded jwk, no kid", forge(t, `{"alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"`+b64(evilEd.Public().(ed25519.PublicKey))+`"},"typ":"at+jwt"}`, claims, jwt.SigningMethodEdDSA, evilEd), ErrInvalid},
		{"expired", forge(t, `{"alg":"EdDSA","kid":"`+edKID+`","typ":"at+jwt"}`, mustJSON(t, edit(baseClaims(), "exp", testNow.Add(-time.Minute).Unix())), jwt.SigningMethodEdDSA, edPriv), ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.parse(tt.raw, testNow)
			checkErr(t, "parse", err, tt.want)
		})
	}
}

func TestVerifyErrorsQuoteNoToken(t *testing.T) {
	ks, err := NewHMACKeySet(testSecret())
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, Config{}, ks)
	secretClaim := "SECRET-PAYLOAD-VALUE"
	hs := tokenFactory{t, jwt.SigningMethodHS256, testSecret(), ""}
	for _, raw := range []string{
		hs.claims(edit(baseClaims(), "exp", secretClaim)),
		hs.claims(edit(baseClaims(), "sub", secretClaim)),
		hs.claims(edit(baseClaims(), "iss", secretClaim)),
		forge(t, `{"alg":"`+secretClaim+`","typ":"at+jwt"}`, mustJSON(t, baseClaims()), nil, nil),
	} {
		_, err := m.Verify(raw, testNow)
		if err == nil || strings.Contains(err.Error(), secretClaim) || strings.Contains(err.Error(), raw) {
			t.Errorf("Verify(forged) error = %v, want an error quoting nothing of the token", err)
		}
	}
}

// TestConcurrentUse runs Issue and Verify from many goroutines, for the race
// detector: one Manager serves every request.
func TestConcurrentUse(t *testing.T) {
	m := newManager(t, Config{}, loadKeys(t, "ed25519_pkcs8.pem", "rsa2048_public.pem"))
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 20 {
				userID := int64(g*100 + i + 1)
				raw, _, err := m.Issue(userID, NewSessionID(), testNow)
				if err == nil {
					var c Claims
					c, err = m.Verify(raw, testNow)
					if err == nil && c.UserID != userID {
						err = fmt.Errorf("Verify().UserID = %d, want %d", c.UserID, userID)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
