package token

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Verify checks an access token at the time now and returns its claims.
// The algorithm is pinned to the KeySet's keys, each key to its own
// algorithm; the issuer, the audience when configured, exp (required),
// iat and nbf are checked with the configured leeway; headers that carry
// keys or critical extensions, and tokens of any type but at+jwt, are
// refused. The error matches ErrExpired when the token is genuine and only
// its exp has passed, ErrInvalid in every other case.
func (m *Manager) Verify(raw string, now time.Time) (Claims, error) {
	if len(raw) > m.cfg.MaxLength {
		return Claims{}, invalid("longer than %d bytes", m.cfg.MaxLength)
	}
	// Base64 decoders skip CR and LF: without this a token with a line
	// break added would verify. One token, one spelling.
	for i := 0; i < len(raw); i++ {
		if !isTokenByte(raw[i]) {
			return Claims{}, invalid("character outside base64url")
		}
	}
	header, _, ok := strings.Cut(raw, ".")
	if !ok {
		// A refresh token, for one, is not a JWT.
		return Claims{}, invalid("not a JWS compact serialization")
	}
	alg, err := m.checkHeader(header)
	if err != nil {
		return Claims{}, err
	}
	if alg == AlgES256 && !isLowS(raw[strings.LastIndexByte(raw, '.')+1:]) {
		// ECDSA is malleable: (r, n-s) verifies wherever (r, s) does.
		// Issue writes the low-s form; the other spelling is refused.
		return Claims{}, invalid("ECDSA signature not in low-s form")
	}
	if c, ok := m.verified.get(raw); ok {
		return m.recheckTimes(c, now)
	}
	c, err := m.parse(raw, now)
	if err == nil {
		m.verified.put(raw, c)
	}
	return c, err
}

// recheckTimes applies to a remembered token the only checks that depend
// on the clock, exactly as golang-jwt does: exp (required) and iat, each
// with the leeway. Our tokens carry no nbf.
func (m *Manager) recheckTimes(c Claims, now time.Time) (Claims, error) {
	if now.Before(c.IssuedAt.Add(-m.cfg.Leeway)) {
		return Claims{}, invalid("used before issued")
	}
	if !now.Before(c.ExpiresAt.Add(m.cfg.Leeway)) {
		return Claims{}, fmt.Errorf("%w: expired", ErrExpired)
	}
	return c, nil
}

// parse verifies the signature and claims with golang-jwt, which on its own
// also pins the algorithms (WithValidMethods) and picks keys by kid.
func (m *Manager) parse(raw string, now time.Time) (Claims, error) {
	var c accessClaims
	// The clock differs per call; the parser is a few small allocations.
	opts := append(m.parserOpts[:len(m.parserOpts):len(m.parserOpts)], jwt.WithTimeFunc(func() time.Time { return now }))
	if _, err := jwt.NewParser(opts...).ParseWithClaims(raw, &c, m.keyfunc); err != nil {
		return Claims{}, classify(err)
	}
	return Claims{
		UserID:    c.userID,
		SessionID: c.SessionID,
		ID:        c.ID,
		IssuedAt:  c.IssuedAt.UTC(),
		ExpiresAt: c.ExpiresAt.UTC(),
		AAL:       cmp.Or(c.AAL, AAL1),
		AMR:       c.AMR,
	}, nil
}

// invalid returns an error matching ErrInvalid with a reason for the logs;
// the reason never quotes the token.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// classify maps golang-jwt's error to ErrExpired when expiry is the only
// thing wrong with a token whose signature checked out, else to ErrInvalid:
// a token that is both expired and, say, of a foreign issuer is invalid.
func classify(err error) error {
	expired, other := failures(err)
	if expired && !other {
		return ErrExpired
	}
	if errors.Is(err, jwt.ErrTokenMalformed) {
		// Decoding errors may quote bits of the payload; logs get no token
		// content.
		return invalid("malformed")
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err)
}

// failures walks err's tree of wrapped errors and reports whether it holds
// jwt.ErrTokenExpired and whether it holds any other failure.
func failures(err error) (expired, other bool) {
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			x, o := failures(inner)
			expired, other = expired || x, other || o
		}
		return expired, other
	case interface{ Unwrap() error }:
		if inner := e.Unwrap(); inner != nil {
			return failures(inner)
		}
	}
	switch err {
	case jwt.ErrTokenExpired:
		return true, false
	case jwt.ErrTokenInvalidClaims:
		// Only the label golang-jwt puts on every claim failure.
		return false, false
	}
	return false, true
}

func isTokenByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}
