package auth_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/authserve/authserve/internal/auth"
)

// FuzzNormalizeEmail checks the invariants of email normalisation on
// arbitrary input: it never panics; it either refuses with a message and
// no address or accepts with no message; an accepted address is the
// trimmed input in lower case, lower case itself, within the RFC 5321
// limits of 254 octets (64 for the local part) docs/api.md "Requests" promises, and
// normalising it again changes nothing.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"alice@example.com",
		"  Alice@Example.COM\t",
		"user+tag@sub.example.org",
		"Alice <alice@example.com>",
		"alice@example.com, bob@example.com",
		`"quoted local"@example.com`,
		"élodie@exämple.fr",
		"ÉLODIE@EXÄMPLE.FR",
		"\u0130@example.com",    // İ lower-cases to two runes, three bytes
		"\u212a@example.com",    // the Kelvin sign lower-cases to k
		"\u1e9e@example.com",    // capital sharp s
		"alice@[127.0.0.1]",     // domain literal
		"alice@example..com",    // empty label
		"alice@exa\x00mple.com", // NUL
		"\xff@example.com",      // invalid UTF-8
		"a@b",                   // shortest
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com",
		strings.Repeat("\u0130", 32) + "@" + strings.Repeat("b", 185) + ".com",
		// Ⱥ (2 bytes) lower-cases to ⱥ (3 bytes): limits checked before
		// lower-casing can be exceeded after it.
		strings.Repeat("\u023a", 32) + "@example.com",
		"a@" + strings.Repeat("\u023a", 124) + ".de",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, msg := auth.NormalizeEmail(s)
		if msg != "" {
			if got != "" {
				t.Errorf("NormalizeEmail(%q) = %q, %q; want no address with a refusal", s, got, msg)
			}
			return
		}
		if got == "" {
			t.Fatalf("NormalizeEmail(%q) = \"\", \"\"; want an address or a refusal", s)
		}
		if want := strings.ToLower(strings.TrimSpace(s)); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want the trimmed input in lower case %q", s, got, want)
		}
		if lower := strings.ToLower(got); lower != got {
			t.Errorf("NormalizeEmail(%q) = %q, not lower case (%q)", s, got, lower)
		}
		if !utf8.ValidString(got) {
			t.Errorf("NormalizeEmail(%q) = %q, not valid UTF-8", s, got)
		}
		if len(got) > 254 {
			t.Errorf("NormalizeEmail(%q) = %q, %d bytes; want at most 254", s, got, len(got))
		}
		if at := strings.LastIndexByte(got, '@'); at < 1 || at > 64 {
			t.Errorf("NormalizeEmail(%q) = %q, local part of %d bytes; want 1..64", s, got, at)
		}
		again, msg := auth.NormalizeEmail(got)
		if again != got || msg != "" {
			t.Errorf("NormalizeEmail(NormalizeEmail(%q)) = %q, %q; want %q unchanged", s, again, msg, got)
		}
	})
}

// FuzzPasswordPolicy checks the password rules on arbitrary input and
// policies: nothing panics; NormalizePassword is idempotent and never
// trims; and whatever the policy, Check never accepts a password over 72
// bytes (bcrypt would ignore the rest), a whitespace-only or invalid UTF-8
// one, or one shorter than the minimum; and no message quotes the password.
func FuzzPasswordPolicy(f *testing.F) {
	for _, s := range []string{
		"Tr0ub4dor&3x",
		"correct horse battery staple",
		"password",
		strings.Repeat(" ", 20),
		"\u3000\u3000\u3000\u3000\u3000\u3000\u3000\u3000", // ideographic spaces
		"\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0", // no-break spaces: NFKC makes them spaces
		strings.Repeat("aB3!", 18),
		strings.Repeat("aB3!", 18) + "x",
		strings.Repeat("é", 36),
		strings.Repeat("e\u0301", 24),        // 72 bytes composed to 48
		strings.Repeat("\ufdfa", 4),          // one rune that NFKC expands to 18
		strings.Repeat("\u2474", 10),         // parenthesised digits expand
		"\ufb01re-Ex7!",                      // ligature
		"\xff\xfeInvalid-UTF8-1",             // invalid UTF-8
		"Passw\u0000rd-123",                  // NUL
		" padded Pa55word ",                  // never trimmed
		"\U0001F600\U0001F600Pa55\U0001F600", // emoji
	} {
		f.Add(s, uint8(8), uint8(3))
	}
	f.Add("", uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, p string, minLength, minClasses uint8) {
		// The configuration allows 1..72 and 0..4.
		policy := auth.PasswordPolicy{MinLength: 1 + int(minLength)%72, MinClasses: int(minClasses) % 5}
		n := auth.NormalizePassword(p)
		if again := auth.NormalizePassword(n); again != n {
			t.Fatalf("NormalizePassword(NormalizePassword(%q)) = %q, want %q", p, again, n)
		}
		if p != "" && n == "" {
			t.Errorf("NormalizePassword(%q) = \"\", want something", p)
		}
		broken := policy.Check(n)
		for _, m := range broken {
			if m == "" {
				t.Errorf("%+v.Check(%q) has an empty message in %q", policy, n, broken)
			}
			if len(n) >= 4 && strings.Contains(m, n) {
				t.Errorf("%+v.Check(%q) message %q quotes the password", policy, n, m)
			}
		}
		if len(broken) > 0 {
			return
		}
		switch {
		case len(n) > auth.MaxPasswordBytes:
			t.Errorf("%+v.Check(%q) accepts %d bytes, want at most %d", policy, n, len(n), auth.MaxPasswordBytes)
		case strings.TrimSpace(n) == "":
			t.Errorf("%+v.Check(%q) accepts a whitespace-only password", policy, n)
		case !utf8.ValidString(n):
			t.Errorf("%+v.Check(%q) accepts invalid UTF-8", policy, n)
		case utf8.RuneCountInString(n) < policy.MinLength:
			t.Errorf("%+v.Check(%q) accepts %d characters, want at least %d", policy, n, utf8.RuneCountInString(n), policy.MinLength)
		}
	})
}
