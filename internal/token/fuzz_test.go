package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/token"
)

// fuzzIssuedAt is when every token FuzzVerify starts from was issued; the
// fuzzer moves the verification clock around it.
var fuzzIssuedAt = time.Unix(1_700_000_000, 0).UTC()

// fuzzTTL is the lifetime of the fuzzed tokens.
const fuzzTTL = 15 * time.Minute

// fuzzVerifier is one Manager under fuzz and the tokens it must accept:
// those issued in this process by a manager whose key it holds. Keys are
// generated afresh by every process, so no token remembered in a corpus
// from an earlier run can be genuine.
type fuzzVerifier struct {
	name    string
	m       *token.Manager
	genuine map[string]bool
}

// fuzzSetup is what FuzzVerify builds before fuzzing.
type fuzzSetup struct {
	verifiers []*fuzzVerifier
	// tokens are the genuine tokens the edit scripts start from, in a fixed
	// order, so that a corpus entry's token index means the same token (by
	// algorithm and claims, not bytes) in every run.
	tokens []string
	// es256 is a genuine ES256 token, for the signature-malleability seed.
	es256 string
	// edPub is the EdDSA verifier's public key, for algorithm confusion.
	edPub ed25519.PublicKey
}

func writeKeyPEM(t testing.TB, dir, name string, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("MarshalPKCS8PrivateKey(%s): %v", name, err)
	}
	path := filepath.Join(dir, name+".pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newFuzzSetup(t testing.TB) *fuzzSetup {
	t.Helper()
	dir := t.TempDir()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edNewKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edFile := writeKeyPEM(t, dir, "ed", edKey)

	keySet := func(ks *token.KeySet, err error) *token.KeySet {
		t.Helper()
		if err != nil {
			t.Fatalf("key set: %v", err)
		}
		return ks
	}
	sets := []struct {
		name string
		ks   *token.KeySet
		// alsoAccepts names the verifiers whose tokens this one also accepts.
		alsoAccepts []string
	}{
		{name: "HS256", ks: keySet(token.NewHMACKeySet(secret))},
		{name: "EdDSA", ks: keySet(token.LoadKeySet(edFile, nil))},
		{name: "ES256", ks: keySet(token.LoadKeySet(writeKeyPEM(t, dir, "ec", ecKey), nil))},
		{name: "RS256", ks: keySet(token.LoadKeySet(writeKeyPEM(t, dir, "rsa", rsaKey), nil))},
		// A rotated key set: signs with a new Ed25519 key and still verifies
		// tokens of the old one, picked by kid.
		{name: "EdDSA-rotated", ks: keySet(token.LoadKeySet(writeKeyPEM(t, dir, "ednew", edNewKey), []string{edFile})), alsoAccepts: []string{"EdDSA"}},
	}
	s := &fuzzSetup{edPub: edKey.Public().(ed25519.PublicKey)}
	byName := map[string]*fuzzVerifier{}
	for _, set := range sets {
		m, err := token.NewManager(token.Config{TTL: fuzzTTL}, set.ks)
		if err != nil {
			t.Fatalf("NewManager(%s): %v", set.name, err)
		}
		v := &fuzzVerifier{name: set.name, m: m, genuine: map[string]bool{}}
		for _, c := range []struct {
			user int64
			sid  string
		}{{1, "sid-a"}, {1<<63 - 1, token.NewSessionID()}} {
			raw, _, err := m.Issue(c.user, c.sid, fuzzIssuedAt)
			if err != nil {
				t.Fatalf("%s: Issue: %v", set.name, err)
			}
			v.genuine[raw] = true
			s.tokens = append(s.tokens, raw)
			if set.name == "ES256" && s.es256 == "" {
				s.es256 = raw
			}
		}
		for _, other := range set.alsoAccepts {
			for raw := range byName[other].genuine {
				v.genuine[raw] = true
			}
		}
		byName[set.name] = v
		s.verifiers = append(s.verifiers, v)
	}
	return s
}

// Edit operations of FuzzVerify's edit scripts: each edit is four bytes,
// op, position (two bytes, big-endian) and value. Bit 0x80 of op counts the
// position from the end, so that a seed can aim at the signature whatever
// the token's length.
const (
	editReplace = iota
	editInsert
	editDelete
	editTruncate
	editFlipBit
	editCount
)

// applyEdits runs the edit script on s.
func applyEdits(s string, script []byte) string {
	b := []byte(s)
	for len(script) >= 4 {
		op, pos, val := script[0], int(script[1])<<8|int(script[2]), script[3]
		script = script[4:]
		pos %= len(b) + 1
		if op&0x80 != 0 {
			pos = len(b) - pos
		}
		switch int(op&0x7f) % editCount {
		case editReplace:
			if pos < len(b) {
				b[pos] = val
			}
		case editInsert:
			b = append(b[:pos], append([]byte{val}, b[pos:]...)...)
		case editDelete:
			if pos < len(b) {
				b = append(b[:pos], b[pos+1:]...)
			}
		case editTruncate:
			b = b[:pos]
		case editFlipBit:
			if pos < len(b) {
				b[pos] ^= 1 << (val % 8)
			}
		}
	}
	return string(b)
}

// highS returns the ES256 token with its signature's s replaced by n-s:
// the same ECDSA signature in its other valid form (ECDSA is malleable).
func highS(raw string) string {
	i := strings.LastIndexByte(raw, '.')
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil || len(sig) != 64 {
		return raw
	}
	n := elliptic.P256().Params().N
	s := new(big.Int).SetBytes(sig[32:])
	s.Sub(n, s)
	out := make([]byte, 64)
	copy(out, sig[:32])
	s.FillBytes(out[32:])
	return raw[:i+1] + base64.RawURLEncoding.EncodeToString(out)
}

// forgeHS256 signs header and payload (JSON) with HMAC-SHA256 under key.
func forgeHS256(header, payload string, key []byte) string {
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// segment returns the decoded i-th segment of a genuine token.
func segment(t testing.TB, raw string, i int) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[i])
	if err != nil {
		t.Fatalf("segment %d of a genuine token: %v", i, err)
	}
	return string(b)
}

// FuzzVerify feeds Manager.Verify arbitrary strings and edited genuine
// tokens of every algorithm, at clocks around their lifetime. Verify must
// never panic; every error must match exactly one of ErrInvalid and
// ErrExpired; a token verifies, or is reported expired, only when it is
// byte for byte one the verifier's keys issued; and a genuine token is
// accepted throughout its lifetime and refused outside it and the one
// second of leeway.
//
// Inputs: which picks a genuine token to start from (one index past the
// last means the string raw), edits is an edit script (see applyEdits),
// clock is the verification time in seconds after issue.
func FuzzVerify(f *testing.F) {
	s := newFuzzSetup(f)
	rawMode := uint8(len(s.tokens))
	ttl := int16(fuzzTTL / time.Second)
	for i := range s.tokens {
		f.Add(uint8(i), []byte(nil), "", int16(0))
		f.Add(uint8(i), []byte(nil), "", ttl+2)
		f.Add(uint8(i), []byte(nil), "", int16(-2))
		// A newline in the signature: base64 decoders skip it.
		f.Add(uint8(i), []byte{0x80 | editInsert, 0, 4, '\n'}, "", int16(0))
		f.Add(uint8(i), []byte{0x80 | editFlipBit, 0, 1, 0}, "", int16(0))
	}
	for _, raw := range []string{
		"", ".", "..", "a.b.c", "a.b", "...", "\x00", strings.Repeat("A", 9000),
		"eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.e30.",
		strings.Repeat("e30", 400) + ".e30.e30",
	} {
		f.Add(rawMode, []byte(nil), raw, int16(0))
	}
	hs := s.tokens[0]
	ed := s.tokens[2]
	payload := segment(f, hs, 1)
	forged := []string{
		// alg none with a genuine payload.
		base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + strings.Split(hs, ".")[1] + ".",
		// Algorithm confusion: HS256 keyed with the EdDSA public key.
		forgeHS256(`{"alg":"HS256","typ":"at+jwt"}`, payload, s.edPub),
		forgeHS256(strings.Replace(segment(f, ed, 0), `"EdDSA"`, `"HS256"`, 1), payload, s.edPub),
		// A genuine signature under a header that carries its own key.
		base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","jwk":{"kty":"oct","k":"AA"},"typ":"at+jwt"}`)) + "." + strings.Join(strings.Split(hs, ".")[1:], "."),
		// The genuine token with its header re-spelled (same JSON, other
		// bytes): the signature no longer covers what is sent.
		base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"at+jwt","alg":"HS256"}`)) + hs[strings.IndexByte(hs, '.'):],
		// Padding added to the signature.
		hs + "=",
		// The other valid form of an ECDSA signature.
		highS(s.es256),
	}
	for _, raw := range forged {
		f.Add(rawMode, []byte(nil), raw, int16(0))
	}

	f.Fuzz(func(t *testing.T, which uint8, edits []byte, raw string, clock int16) {
		if len(edits) > 64 {
			edits = edits[:64]
		}
		base := raw
		if int(which) < len(s.tokens) {
			base = s.tokens[which]
		}
		candidate := applyEdits(base, edits)
		offset := time.Duration(clock%2000) * time.Second
		now := fuzzIssuedAt.Add(offset)
		at := fmt.Sprintf("issue%+ds", clock%2000)
		for _, v := range s.verifiers {
			c, err := v.m.Verify(candidate, now)
			genuine := v.genuine[candidate]
			invalid, expired := errors.Is(err, token.ErrInvalid), errors.Is(err, token.ErrExpired)
			switch {
			case err == nil && !genuine:
				t.Fatalf("%s: Verify(%q, %s) = %+v, nil for a token it never issued", v.name, candidate, at, c)
			case err == nil && (c.UserID <= 0 || c.SessionID == "" || c.ID == "" || c.ExpiresAt.Sub(c.IssuedAt) != fuzzTTL):
				t.Fatalf("%s: Verify(%q) claims = %+v, want a positive user, sid, jti and a %v lifetime", v.name, candidate, c, fuzzTTL)
			case err != nil && invalid == expired:
				t.Fatalf("%s: Verify(%q) error %v matches ErrInvalid %v and ErrExpired %v, want exactly one", v.name, candidate, err, invalid, expired)
			case expired && !genuine:
				t.Fatalf("%s: Verify(%q) = ErrExpired for a token it never issued, want ErrInvalid", v.name, candidate)
			}
			if err != nil {
				// Parts with a space could be words of the message itself.
				for _, part := range append(strings.Split(candidate, "."), candidate) {
					if len(part) >= 16 && !strings.Contains(part, " ") && strings.Contains(err.Error(), part) {
						t.Fatalf("%s: Verify error %q quotes the token", v.name, err)
					}
				}
			}
			if !genuine {
				continue
			}
			// Whole seconds: the leeway is exactly one second.
			switch {
			case offset >= 0 && offset <= fuzzTTL && err != nil:
				t.Errorf("%s: Verify(genuine, %s) = %v, want nil within its lifetime", v.name, at, err)
			case offset > fuzzTTL+token.MaxLeeway && !expired:
				t.Errorf("%s: Verify(genuine, %s) = %v, want ErrExpired", v.name, at, err)
			case offset < -token.MaxLeeway && !invalid:
				t.Errorf("%s: Verify(genuine, %s) = %v, want ErrInvalid (issued in the future)", v.name, at, err)
			}
		}
	})
}
