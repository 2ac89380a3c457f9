package token

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadKeySet(t *testing.T) {
	tests := []struct {
		name    string
		private string
		verify  []string
		wantAlg string
		wantN   int    // keys published
		wantErr string // substring of the error
	}{
		{name: "Ed25519 PKCS #8", private: "ed25519_pkcs8.pem", wantAlg: AlgEdDSA, wantN: 1},
		{name: "P-256 SEC 1 after EC PARAMETERS", private: "p256_sec1.pem", wantAlg: AlgES256, wantN: 1},
		{name: "RSA 2048 PKCS #1", private: "rsa2048_pkcs1.pem", wantAlg: AlgRS256, wantN: 1},
		{name: "verify keys in every format", private: "ed25519_pkcs8.pem",
			verify:  []string{"ed25519_old.pem", "p256_public.pem", "rsa2048_public_pkcs1.pem"},
			wantAlg: AlgEdDSA, wantN: 4},
		{name: "verify key given as a private key", private: "ed25519_pkcs8.pem",
			verify: []string{"p256_sec1.pem", "rsa2048_pkcs1.pem"}, wantAlg: AlgEdDSA, wantN: 3},
		{name: "the signing key again as a public key", private: "ed25519_pkcs8.pem",
			verify: []string{"ed25519_public.pem", "ed25519_pkcs8.pem"}, wantAlg: AlgEdDSA, wantN: 1},
		{name: "one key in two formats", private: "ed25519_pkcs8.pem",
			verify: []string{"rsa2048_public.pem", "rsa2048_public_pkcs1.pem", "rsa2048_pkcs1.pem"}, wantAlg: AlgEdDSA, wantN: 2},

		{name: "RSA 1024", private: "rsa1024.pem", wantErr: "1024 bits is too small"},
		{name: "P-384", private: "p384_sec1.pem", wantErr: "P-384 is not supported"},
		{name: "X25519", private: "x25519_pkcs8.pem", wantErr: "unsupported key type"},
		{name: "public key to sign", private: "ed25519_public.pem", wantErr: "holds a public key"},
		{name: "encrypted key", private: "ed25519_encrypted.pem", wantErr: "encrypted keys are not supported"},
		{name: "missing file", private: "no-such-file.pem", wantErr: "no such file"},
		{name: "not PEM", private: "README.md", wantErr: "no PEM key found"},
		{name: "RSA 1024 verify key", private: "ed25519_pkcs8.pem", verify: []string{"rsa1024.pem"}, wantErr: "rsa1024.pem: RSA key of 1024 bits"},
		{name: "P-384 verify key", private: "ed25519_pkcs8.pem", verify: []string{"p384_sec1.pem"}, wantErr: "p384_sec1.pem: ECDSA curve P-384"},
		{name: "X25519 verify key", private: "ed25519_pkcs8.pem", verify: []string{"x25519_pkcs8.pem"}, wantErr: "unsupported key type"},
		{name: "missing verify file", private: "ed25519_pkcs8.pem", verify: []string{"gone.pem"}, wantErr: "gone.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verify := make([]string, len(tt.verify))
			for i, v := range tt.verify {
				verify[i] = testdata(v)
			}
			ks, err := LoadKeySet(testdata(tt.private), verify)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadKeySet(%s, %v) error = %v, want one containing %q", tt.private, tt.verify, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadKeySet(%s, %v) = %v", tt.private, tt.verify, err)
			}
			if got := ks.Algorithm(); got != tt.wantAlg {
				t.Errorf("Algorithm() = %q, want %q", got, tt.wantAlg)
			}
			var jwks struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(ks.JWKS(), &jwks); err != nil {
				t.Fatalf("JWKS() is not JSON: %v", err)
			}
			if len(jwks.Keys) != tt.wantN {
				t.Errorf("JWKS() has %d keys, want %d: %s", len(jwks.Keys), tt.wantN, ks.JWKS())
			}
		})
	}
}

func TestLoadKeySetFileErrors(t *testing.T) {
	dir := t.TempDir()
	ed, err := os.ReadFile(testdata("ed25519_pkcs8.pem"))
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM, err := os.ReadFile(testdata("rsa2048_pkcs1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"two.pem":  append(append([]byte{}, ed...), rsaPEM...),
		"cert.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}),
		"bad.pem":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
		"empty":    nil,
	}
	tests := []struct {
		file    string
		wantErr string
	}{
		{"two.pem", "more than one key"},
		{"cert.pem", `unsupported PEM block "CERTIFICATE"`},
		{"bad.pem", "parse PRIVATE KEY"},
		{"empty", "no PEM key found"},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.file)
		if err := os.WriteFile(path, files[tt.file], 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKeySet(path, nil)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.file) {
			t.Errorf("LoadKeySet(%s) error = %v, want one naming the file and containing %q", tt.file, err, tt.wantErr)
		}
	}
}

// TestThumbprintRFC7638 checks the kid against the example of RFC 7638 §3.1.
func TestThumbprintRFC7638(t *testing.T) {
	const (
		n    = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
		want = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	)
	nb, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil {
		t.Fatal(err)
	}
	k, err := newVerifyKey(&rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	if k.kid != want {
		t.Errorf("kid of the RFC 7638 §3.1 key = %q, want %q", k.kid, want)
	}
	if k.jwk.N != n || k.jwk.E != "AQAB" {
		t.Errorf("JWK n, e = %q, %q, want the RFC's", k.jwk.N, k.jwk.E)
	}
}

// TestThumbprintRFC8037 checks an Ed25519 kid against RFC 8037 Appendix A.3.
func TestThumbprintRFC8037(t *testing.T) {
	x, err := hex.DecodeString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
	if err != nil {
		t.Fatal(err)
	}
	k, err := newVerifyKey(ed25519.PublicKey(x))
	if err != nil {
		t.Fatal(err)
	}
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; k.kid != want {
		t.Errorf("kid of the RFC 8037 A.3 key = %q, want %q", k.kid, want)
	}
}

func TestJWKSShape(t *testing.T) {
	tests := []struct {
		file string
		want map[string]bool // members present
		kty  string
		crv  string
	}{
		{"ed25519_pkcs8.pem", map[string]bool{"kty": true, "crv": true, "x": true, "kid": true, "alg": true, "use": true}, "OKP", "Ed25519"},
		{"p256_sec1.pem", map[string]bool{"kty": true, "crv": true, "x": true, "y": true, "kid": true, "alg": true, "use": true}, "EC", "P-256"},
		{"rsa2048_pkcs1.pem", map[string]bool{"kty": true, "n": true, "e": true, "kid": true, "alg": true, "use": true}, "RSA", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ks := loadKeys(t, tt.file)
			var jwks struct {
				Keys []map[string]string `json:"keys"`
			}
			if err := json.Unmarshal(ks.JWKS(), &jwks); err != nil {
				t.Fatal(err)
			}
			if len(jwks.Keys) != 1 {
				t.Fatalf("JWKS() = %s, want one key", ks.JWKS())
			}
			key := jwks.Keys[0]
			got := map[string]bool{}
			for name := range key {
				got[name] = true
			}
			// In particular no private member (d, p, q, …) is published.
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("JWK members (-want +got):\n%s", diff)
			}
			if key["kty"] != tt.kty || key["crv"] != tt.crv || key["use"] != "sig" || key["alg"] != ks.Algorithm() || key["kid"] != ks.KeyID() {
				t.Errorf("JWK = %v, want kty %s, crv %q, use sig, alg %s, kid %s", key, tt.kty, tt.crv, ks.Algorithm(), ks.KeyID())
			}
			if tt.kty == "EC" && (len(key["x"]) != 43 || len(key["y"]) != 43) {
				t.Errorf("EC coordinates x, y = %q, %q, want 32 bytes each", key["x"], key["y"])
			}
		})
	}
}

func TestNewHMACKeySet(t *testing.T) {
	tests := []struct {
		name    string
		secret  []byte
		wantErr bool
	}{
		{"32 bytes", bytes.Repeat([]byte{7}, 32), false},
		{"64 bytes", bytes.Repeat([]byte{7}, 64), false},
		{"31 bytes", bytes.Repeat([]byte{7}, 31), true},
		{"empty", nil, true},
	}
	for _, tt := range tests {
		ks, err := NewHMACKeySet(tt.secret)
		if (err != nil) != tt.wantErr {
			t.Errorf("NewHMACKeySet(%s) error = %v, want error %t", tt.name, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got := string(ks.JWKS()); got != `{"keys":[]}` {
			t.Errorf("JWKS() = %s, want {\"keys\":[]}", got)
		}
		if ks.Algorithm() != AlgHS256 || ks.KeyID() != "" {
			t.Errorf("Algorithm(), KeyID() = %q, %q, want HS256 and none", ks.Algorithm(), ks.KeyID())
		}
	}

	// The key set keeps its own copy of the secret.
	secret := bytes.Repeat([]byte{1}, 32)
	ks, err := NewHMACKeySet(secret)
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, Config{}, ks)
	raw, _, err := m.Issue(1, "s", testNow)
	if err != nil {
		t.Fatal(err)
	}
	secret[0] = 2
	if _, err := m.Verify(raw, testNow); err != nil {
		t.Errorf("Verify after the caller changed its secret buffer = %v, want valid", err)
	}
}

func TestGenerateKeyPEM(t *testing.T) {
	tests := []struct {
		kind    string
		wantAlg string
	}{
		{KindEd25519, AlgEdDSA},
		{KindP256, AlgES256},
		{KindRSA, AlgRS256},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			data, err := GenerateKeyPEM(tt.kind)
			if err != nil {
				t.Fatalf("GenerateKeyPEM(%q) = %v", tt.kind, err)
			}
			block, rest := pem.Decode(data)
			if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
				t.Fatalf("GenerateKeyPEM(%q) = %q, want one PRIVATE KEY block", tt.kind, data)
			}
			path := filepath.Join(t.TempDir(), "key.pem")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			ks, err := LoadKeySet(path, nil)
			if err != nil {
				t.Fatalf("LoadKeySet(generated %s key) = %v", tt.kind, err)
			}
			if got := ks.Algorithm(); got != tt.wantAlg {
				t.Errorf("Algorithm() of a generated %s key = %q, want %q", tt.kind, got, tt.wantAlg)
			}
			if tt.kind == KindRSA {
				if bits := ks.keys[0].verifier.(*rsa.PublicKey).N.BitLen(); bits != GeneratedRSABits {
					t.Errorf("generated RSA key has %d bits, want %d", bits, GeneratedRSABits)
				}
			}
			m := newManager(t, Config{}, ks)
			raw, _, err := m.Issue(3, "s", testNow)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Verify(raw, testNow); err != nil {
				t.Errorf("Verify(token of a generated %s key) = %v", tt.kind, err)
			}
		})
	}
	for _, kind := range []string{"", "RSA", "p384", "dsa"} {
		if _, err := GenerateKeyPEM(kind); err == nil {
			t.Errorf("GenerateKeyPEM(%q) = nil error, want one", kind)
		}
	}
	a, _ := GenerateKeyPEM(KindEd25519)
	b, _ := GenerateKeyPEM(KindEd25519)
	if bytes.Equal(a, b) {
		t.Errorf("GenerateKeyPEM made the same key twice")
	}
}

func TestDevSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "nested", "jwt-secret")
	secret, created, err := DevSecret(path)
	if err != nil {
		t.Fatalf("DevSecret(new) = %v", err)
	}
	if !created || len(secret) != 64 {
		t.Errorf("DevSecret(new) = %d bytes, created %t, want 64 bytes, created", len(secret), created)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("secret file mode = %o, want 600", mode)
	}
	if _, err := NewHMACKeySet(secret); err != nil {
		t.Errorf("NewHMACKeySet(dev secret) = %v", err)
	}

	again, created, err := DevSecret(path)
	if err != nil {
		t.Fatalf("DevSecret(existing) = %v", err)
	}
	if created || !bytes.Equal(again, secret) {
		t.Errorf("DevSecret(existing) = created %t, same %t, want the same secret, not created", created, bytes.Equal(again, secret))
	}

	// A file others may read is tightened, not refused.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := DevSecret(path); err != nil {
		t.Fatalf("DevSecret(mode 644) = %v", err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode after DevSecret = %o, want 600", info.Mode().Perm())
	}
}

func TestDevSecretRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
	}{
		{"not hex", "this is not a hex encoded secret at all, no no no no no"},
		{"too short", hex.EncodeToString(make([]byte, 31))},
		{"empty", ""},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
		if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := DevSecret(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("DevSecret(%s) error = %v, want one naming the file", tt.name, err)
		}
	}

	// A directory in the way is an error, not a new secret.
	if _, _, err := DevSecret(dir); err == nil {
		t.Errorf("DevSecret(a directory) = nil error, want one")
	}
	// A 32-byte hex secret written by hand is accepted.
	path := filepath.Join(dir, "hand")
	want := make([]byte, 32)
	if _, err := rand.Read(want); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(want)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, created, err := DevSecret(path)
	if err != nil || created || !bytes.Equal(got, want) {
		t.Errorf("DevSecret(hand-written) = %x, %t, %v, want %x, false, nil", got, created, err, want)
	}
}
