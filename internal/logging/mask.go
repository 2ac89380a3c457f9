package logging

import (
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Secret is a string that must never appear in a log line: every way of
// printing it (slog, fmt verbs, JSON, text encoders) gives "[REDACTED]",
// or "" when it is empty, so a line can still tell whether one was given.
type Secret string

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String returns "[REDACTED]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// LogValue makes slog print String.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Format prints String for every verb, %x and %#v included.
func (s Secret) Format(f fmt.State, verb rune) {
	out := s.String()
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		out = strconv.Quote(out)
	}
	_, _ = io.WriteString(f, out)
}

// MarshalJSON encodes String.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// MarshalText encodes String.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MaskEmail hides an email address but for hints an operator can match
// against a complaint: "alice@example.com" → "a***@e***.com". It never
// reveals a whole local part or domain label (one character is shown only
// when there are at least two), keeps only a short plain top-level domain,
// and copes with anything an attacker may type into an email field.
func MaskEmail(email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return ""
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return maskPart(email)
	}
	local, domain := email[:at], email[at+1:]
	masked := maskPart(local) + "@"
	dot := strings.LastIndexByte(domain, '.')
	if dot < 0 {
		return masked + maskPart(domain)
	}
	name, tld := domain[:dot], domain[dot+1:]
	if !plainTLD(tld) {
		return masked + maskPart(domain)
	}
	return masked + maskPart(name) + "." + tld
}

// maskPart shows the first character of s, when s has two or more, and
// three stars.
func maskPart(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	if utf8.RuneCountInString(s) < 2 || r == utf8.RuneError || !unicode.IsPrint(r) {
		return "***"
	}
	return string(r) + "***"
}

func plainTLD(s string) bool {
	if len(s) < 2 || len(s) > 24 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// Stack returns the current goroutine's stack trace as the attribute
// "stack", for the log line of a 500 (never for a response).
func Stack() slog.Attr {
	return slog.String("stack", string(debug.Stack()))
}
