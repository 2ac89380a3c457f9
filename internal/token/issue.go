package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issue returns a new access token for the user's login session by
// password alone (PasswordLevel), valid from now for the configured TTL,
// and its expiry. Times are whole seconds, as in the token.
func (m *Manager) Issue(userID int64, sessionID string, now time.Time) (raw string, expiresAt time.Time, err error) {
	return m.IssueLevel(userID, sessionID, PasswordLevel, now)
}

// IssueLevel is Issue for a session authenticated at level l: the token
// carries l as its aal and amr claims.
func (m *Manager) IssueLevel(userID int64, sessionID string, l Level, now time.Time) (raw string, expiresAt time.Time, err error) {
	if l.AAL != AAL1 && l.AAL != AAL2 {
		return "", time.Time{}, fmt.Errorf("issue access token: assurance level %q is neither aal1 nor aal2", l.AAL)
	}
	if userID <= 0 {
		return "", time.Time{}, fmt.Errorf("issue access token: user id %d is not positive", userID)
	}
	if sessionID == "" {
		return "", time.Time{}, errors.New("issue access token: empty session id")
	}
	issuedAt := now.UTC().Truncate(time.Second)
	expiresAt = issuedAt.Add(m.cfg.TTL).Truncate(time.Second)
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    m.cfg.Issuer,
			Subject:   strconv.FormatInt(userID, 10),
			IssuedAt:  jwt.NewNumericDate(issuedAt),
			ExpiresAt: jwt.NewNumericDate(expiresAt),
			ID:        newTokenID(),
		},
		SessionID: sessionID,
		AAL:       l.AAL,
		AMR:       l.AMR,
	}
	if m.cfg.Audience != "" {
		claims.Audience = jwt.ClaimStrings{m.cfg.Audience}
	}
	payload, err := json.Marshal(&claims)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue access token: %w", err)
	}
	// The header segment is precomputed per key; Verify recognises it as is.
	signing := m.keys.keys[0]
	unsigned := signing.header + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := signing.method.Sign(unsigned, m.keys.signer)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue access token: sign: %w", err)
	}
	if signing.alg == AlgES256 {
		lowS(sig)
	}
	raw = unsigned + "." + base64.RawURLEncoding.EncodeToString(sig)
	if len(raw) > m.cfg.MaxLength {
		return "", time.Time{}, fmt.Errorf("issue access token: %d bytes exceed the maximum length %d", len(raw), m.cfg.MaxLength)
	}
	return raw, expiresAt, nil
}
