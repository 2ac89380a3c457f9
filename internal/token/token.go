// Package token issues and verifies authserve's credentials: JWT access
// tokens in the RFC 9068 profile, signed with an HS256 secret or an
// asymmetric key (EdDSA, ES256, RS256) and verified as RFC 8725 advises, and
// opaque refresh tokens that are stored only as hashes.
//
// It imports no other authserve package; the domain maps ErrInvalid and
// ErrExpired onto its own errors.
package token

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Verify's errors: every error it returns matches exactly one of them with
// errors.Is.
var (
	// ErrInvalid means the token is malformed, tampered with, of the wrong
	// type or algorithm, not yet valid, or otherwise unacceptable.
	ErrInvalid = errors.New("invalid token")
	// ErrExpired means the token is genuine and acceptable except that its
	// exp has passed, beyond the leeway.
	ErrExpired = errors.New("token expired")
)

// Defaults applied by NewManager to a zero Config field.
const (
	DefaultIssuer    = "authserve"
	DefaultTTL       = 15 * time.Minute
	DefaultLeeway    = time.Second
	DefaultMaxLength = 8192
)

// MaxLeeway is the most clock leeway allowed (docs/api.md "Tokens and sessions").
const MaxLeeway = time.Second

const (
	// typeAccess is the JOSE typ of access tokens (RFC 9068 §2.1), which
	// keeps other JWTs signed with the same key from passing as them.
	typeAccess = "at+jwt"
	// typeAccessMedia is the same type spelled as a full media type.
	typeAccessMedia = "application/at+jwt"
	// maxHeaderSegment bounds the header segment that is decoded; a real
	// header is about 120 characters.
	maxHeaderSegment = 1024
)

// Claims is what a verified access token says.
type Claims struct {
	UserID    int64
	SessionID string
	// ID is the token's jti.
	ID        string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// AAL is the authenticator assurance level of the login: AAL1 (a
	// password) or AAL2 (a password and a second factor). Tokens issued
	// before authserve knew levels carry none and read as AAL1.
	AAL string
	// AMR lists the authentication methods of the login (RFC 8176).
	AMR []string
}

// Authenticator assurance levels (NIST SP 800-63B), the values of the aal
// claim.
const (
	AAL1 = "aal1"
	AAL2 = "aal2"
)

// Level says how a login session was authenticated; access tokens carry it
// as the aal and amr claims.
type Level struct {
	AAL string
	AMR []string
}

// PasswordLevel is the level of a login by password alone.
var PasswordLevel = Level{AAL: AAL1, AMR: []string{"pwd"}}

// Config configures a Manager. Zero fields take the defaults above.
type Config struct {
	// Issuer is the iss of every token, checked on every token.
	Issuer string
	// Audience, when set, is the aud of every token and is required on
	// every token verified.
	Audience string
	// TTL is the access token lifetime, at least a second.
	TTL time.Duration
	// Leeway is the clock skew tolerated on exp, nbf and iat; at most
	// MaxLeeway.
	Leeway time.Duration
	// MaxLength is the longest raw token looked at; longer ones are refused
	// before any parsing.
	MaxLength int
}

// Manager issues and verifies access tokens. It is safe for concurrent use.
type Manager struct {
	cfg  Config
	keys *KeySet
	// parserOpts is the fixed part of the parser configuration; Verify adds
	// the caller's clock.
	parserOpts []jwt.ParserOption
	keyfunc    jwt.Keyfunc
	// verified remembers tokens whose signature and claims checked out, so
	// that the hot path (every authenticated request) does not decode and
	// verify the same token again; only the clock checks are repeated.
	verified *verifiedCache
}

// NewManager returns a Manager signing with the KeySet's signing key and
// verifying with all of its keys.
func NewManager(cfg Config, keys *KeySet) (*Manager, error) {
	if keys == nil {
		return nil, errors.New("token manager: no key set")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	switch {
	case cfg.TTL == 0:
		cfg.TTL = DefaultTTL
	case cfg.TTL < time.Second:
		return nil, fmt.Errorf("token manager: access token lifetime %v is under a second", cfg.TTL)
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0 || cfg.Leeway > MaxLeeway:
		return nil, fmt.Errorf("token manager: leeway %v is outside 0..%v", cfg.Leeway, MaxLeeway)
	}
	switch {
	case cfg.MaxLength == 0:
		cfg.MaxLength = DefaultMaxLength
	case cfg.MaxLength < 0:
		return nil, fmt.Errorf("token manager: negative maximum length %d", cfg.MaxLength)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(slices.Clone(keys.methods)),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		// Strict base64: one token, one spelling (no malleable trailing bits).
		jwt.WithStrictDecoding(),
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &Manager{cfg: cfg, keys: keys, parserOpts: opts, keyfunc: keys.verificationKey, verified: newVerifiedCache(verifiedCacheSize)}, nil
}

// TTL returns the access token lifetime.
func (m *Manager) TTL() time.Duration { return m.cfg.TTL }

// accessClaims is the payload of an access token.
type accessClaims struct {
	jwt.RegisteredClaims
	SessionID string   `json:"sid,omitempty"`
	AAL       string   `json:"aal,omitempty"`
	AMR       []string `json:"amr,omitempty"`

	userID int64 // parsed from Subject by Validate
}

// Validate adds the checks golang-jwt does not know to its claim
// validation, which calls it after the signature has been verified.
func (c *accessClaims) Validate() error {
	id, ok := parseUserID(c.Subject)
	if !ok {
		return errors.New("sub is not a positive decimal user id")
	}
	c.userID = id
	switch {
	case c.SessionID == "":
		return errors.New("sid claim is required")
	case c.ID == "":
		return errors.New("jti claim is required")
	case c.IssuedAt == nil:
		return errors.New("iat claim is required")
	case c.AAL != "" && c.AAL != AAL1 && c.AAL != AAL2:
		return errors.New("aal claim is neither aal1 nor aal2")
	}
	return nil
}

// parseUserID accepts only the canonical spelling of a positive int64, so
// that one user has one sub ("+7" and "007" are refused).
func parseUserID(s string) (int64, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return id, true
}
