package auth

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Email limits from RFC 5321 (path and local part).
const (
	maxEmailOctets     = 254
	maxLocalPartOctets = 64
)

// NormalizeEmail trims s and returns the lower-cased address, or a message
// saying why s is not exactly one plain address (no display name, no list).
func NormalizeEmail(s string) (string, string) {
	// Lower-case first: the limits apply to what is stored, and lower-casing
	// can lengthen a string (Ⱥ is 2 bytes, ⱥ is 3).
	if !utf8.ValidString(s) {
		return "", "must be valid UTF-8"
	}
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return "", "is required"
	case len(s) > maxEmailOctets:
		return "", "must be at most 254 octets"
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", "must not contain spaces or control characters"
		}
		// Invisible format characters (zero-width space and joiners,
		// bidirectional overrides, the soft hyphen) would let one
		// address be registered again looking exactly like another.
		if unicode.Is(unicode.Cf, r) {
			return "", "must not contain invisible formatting characters"
		}
	}
	addr, err := mail.ParseAddress(s)
	// Equality with the input refuses display names, angle brackets and
	// comments: the field holds one bare address.
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", "must be a single valid email address"
	}
	at := strings.LastIndexByte(s, '@')
	if at > maxLocalPartOctets {
		return "", "local part must be at most 64 octets"
	}
	domain := s[at+1:]
	if strings.HasPrefix(domain, "[") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", "must be a single valid email address"
	}
	return s, ""
}

// MaskEmail hides most of an address for logs of failed logins:
// "alice@example.com" becomes "a***@e***.com".
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		return "***"
	}
	local, domain := email[:at], email[at+1:]
	tld := ""
	if dot := strings.LastIndexByte(domain, '.'); dot > 0 {
		domain, tld = domain[:dot], domain[dot:]
	}
	return firstRune(local) + "***@" + firstRune(domain) + "***" + tld
}

func firstRune(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || size == 0 {
		return ""
	}
	return s[:size]
}
