package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// refreshBytes is the entropy of a refresh token: 256 bits, so that guessing
// one is hopeless and a plain SHA-256 is a sufficient way to store it.
const refreshBytes = 32

// NewRefresh returns a new opaque refresh token (256 random bits, base64url
// without padding) and the hash under which it is stored. The raw token is
// given to the client and never stored.
func NewRefresh() (raw string, hash string, err error) {
	b := make([]byte, refreshBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("generate refresh token: %w", err)
	}
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, HashRefresh(raw), nil
}

// HashRefresh returns the stored form of a refresh token: the hex SHA-256 of
// the raw string. A slow hash is unnecessary because the token is random,
// not chosen by a person, and a deterministic one lets the store look it up.
func HashRefresh(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// NewSessionID returns a new login session id: 128 random bits, base64url
// without padding (22 characters), safe in URLs such as
// DELETE /api/auth/sessions/{id}.
func NewSessionID() string {
	var b [16]byte
	// crypto/rand.Read never fails (it crashes the program instead).
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newTokenID returns a jti: 128 random bits, base64url.
func newTokenID() string { return NewSessionID() }
