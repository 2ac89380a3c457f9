package token

import (
	"testing"
	"time"
)

func benchManagers(b *testing.B) map[string]*Manager {
	b.Helper()
	hmacKeys, err := NewHMACKeySet(testSecret())
	if err != nil {
		b.Fatal(err)
	}
	return map[string]*Manager{
		"HS256": newManager(b, Config{}, hmacKeys),
		"EdDSA": newManager(b, Config{}, loadKeys(b, "ed25519_pkcs8.pem")),
		"ES256": newManager(b, Config{}, loadKeys(b, "p256_sec1.pem")),
		"RS256": newManager(b, Config{}, loadKeys(b, "rsa2048_pkcs1.pem")),
	}
}

var benchAlgs = []string{"HS256", "EdDSA", "ES256", "RS256"}

func BenchmarkIssue(b *testing.B) {
	managers := benchManagers(b)
	now := time.Now()
	for _, alg := range benchAlgs {
		m := managers[alg]
		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := m.Issue(42, "session-id-0123456789", now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	managers := benchManagers(b)
	now := time.Now()
	for _, alg := range benchAlgs {
		m := managers[alg]
		raw, _, err := m.Issue(42, "session-id-0123456789", now)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Verify(raw, now); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The first sight of a token: full decode and signature check.
		b.Run(alg+"/uncached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.parse(raw, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// Refusing a forged token must be cheap too: it is what an attacker
	// can make the service do at will.
	m := managers["EdDSA"]
	forged := forge(b, `{"alg":"none","typ":"at+jwt"}`, mustJSON(b, baseClaims()), nil, nil)
	b.Run("EdDSA/forged-none", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Verify(forged, now); err == nil {
				b.Fatal("forged token verified")
			}
		}
	})
}
