package config

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

const redacted = "[REDACTED]"

// Secret is a configuration value that must never be printed, such as the
// HS256 signing secret. Every way of printing it (fmt verbs, slog, JSON,
// text encoders) gives "[REDACTED]", or "" when it is empty, so that a log
// can still say whether a secret is set. Reveal gives the value itself.
type Secret string

// Reveal returns the secret itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// String returns "[REDACTED]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Format prints String for every verb, so that %x, %q or %#v reveal
// nothing either.
func (s Secret) Format(f fmt.State, verb rune) { formatMasked(f, verb, s.String()) }

// LogValue makes slog print String.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes String.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// MarshalText encodes String, for encoders that prefer text.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// SecretURL is a URL that may carry credentials, such as a PostgreSQL or
// Redis URL. It prints with its password, and query parameters that look
// like credentials, replaced by "xxxxx" (url.URL.Redacted style), and as
// "[REDACTED]" when it cannot be parsed; Reveal gives the URL itself.
type SecretURL string

// Reveal returns the URL itself, credentials included.
func (u SecretURL) Reveal() string { return string(u) }

// String returns the URL without its credentials.
func (u SecretURL) String() string {
	s := string(u)
	_, rest, ok := strings.Cut(s, ":")
	if !ok || !strings.HasPrefix(rest, "//") {
		// No authority, so no user info: a SQLite path or sqlite::memory:.
		// A query may still name a password (SQLite encryption extensions).
		if path, query, ok := strings.Cut(s, "?"); ok {
			return path + "?" + redactQuery(query)
		}
		return s
	}
	pu, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	if pu.RawQuery != "" {
		pu.RawQuery = redactQuery(pu.RawQuery)
	}
	return pu.Redacted()
}

// Format prints String for every verb.
func (u SecretURL) Format(f fmt.State, verb rune) { formatMasked(f, verb, u.String()) }

// LogValue makes slog print String.
func (u SecretURL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// MarshalJSON encodes String.
func (u SecretURL) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(u.String())), nil }

// MarshalText encodes String.
func (u SecretURL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// redactQuery replaces the values of query parameters whose names suggest a
// credential (password, sslpassword, secret, token, key, auth).
func redactQuery(raw string) string {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return redacted
	}
	for k, vs := range q {
		lk := strings.ToLower(k)
		for _, word := range []string{"pass", "pwd", "secret", "token", "key", "auth"} {
			if strings.Contains(lk, word) {
				for i := range vs {
					vs[i] = "xxxxx"
				}
				break
			}
		}
	}
	return q.Encode()
}

func formatMasked(f fmt.State, verb rune, s string) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		s = strconv.Quote(s)
	}
	_, _ = io.WriteString(f, s)
}
