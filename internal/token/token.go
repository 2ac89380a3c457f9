// Package token issues and verifies authserve's credentials: JWT access
// tokens in the RFC 9068 profile, signed with an HS256 secret or an
// asymmetric key (EdDSA, ES256, RS256) and verified as RFC 8725 advises, and
// opaque refresh tokens that are stored only as hashes.
//
// It imports no other authserve package; the domain maps ErrInvalid and
// ErrExpired onto its own errors.
package token

import (
	"cmp"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
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

// MaxLeeway is the most clock leeway the contract allows.
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

// checkHeader returns the algorithm of a header segment. It refuses, before any other parsing, the JOSE headers that must
// never be processed (RFC 8725 §2.1, §3.1; RFC 9068 §4): alg none or
// foreign, keys or key URLs carried in the token, crit, a typ other than
// at+jwt, and any member we do not issue. The headers of our own keys are
// recognised without decoding.
func (m *Manager) checkHeader(seg string) (string, error) {
	if alg := m.keys.knownHeader(seg); alg != "" {
		return alg, nil
	}
	if len(seg) > maxHeaderSegment {
		return "", invalid("header longer than %d bytes", maxHeaderSegment)
	}
	data, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return "", invalid("header is not base64url")
	}
	var h map[string]json.RawMessage
	if err := json.Unmarshal(data, &h); err != nil || h == nil {
		return "", invalid("header is not a JSON object")
	}
	for _, name := range [...]string{"jwk", "jku", "x5u", "x5c"} {
		if _, ok := h[name]; ok {
			// Trusting a key named by the token would let anyone sign.
			return "", invalid("header carries a key (%s)", name)
		}
	}
	if _, ok := h["crit"]; ok {
		// No extension is understood, so every critical one must fail.
		return "", invalid("header has crit")
	}
	for name := range h {
		switch name {
		case "alg", "typ", "kid":
		default:
			// Matching keys exactly also catches case variants such as
			// "ALG", which encoding/json would otherwise fold together.
			return "", invalid("header has a member authserve does not issue")
		}
	}
	var alg, typ, kid string
	if json.Unmarshal(h["alg"], &alg) != nil || alg == "" {
		return "", invalid("header has no alg")
	}
	if strings.EqualFold(alg, "none") {
		return "", invalid("alg none")
	}
	if !slices.Contains(m.keys.methods, alg) {
		return "", invalid("algorithm not accepted")
	}
	if json.Unmarshal(h["typ"], &typ) != nil || !(strings.EqualFold(typ, typeAccess) || strings.EqualFold(typ, typeAccessMedia)) {
		return "", invalid("typ is not at+jwt")
	}
	if raw, ok := h["kid"]; ok && json.Unmarshal(raw, &kid) != nil {
		return "", invalid("kid is not a string")
	}
	return alg, nil
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

var (
	p256N     = elliptic.P256().Params().N
	p256HalfN = new(big.Int).Rsh(p256N, 1)
)

// isLowS reports whether sig, the base64url signature segment of an ES256
// token, has an s of at most n/2. A segment that does not decode to 64
// bytes is left for the signature check to refuse.
func isLowS(sig string) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(b) != 64 {
		return true
	}
	return new(big.Int).SetBytes(b[32:]).Cmp(p256HalfN) <= 0
}

// lowS rewrites an ES256 signature (r || s) into its low-s form, in place.
func lowS(sig []byte) {
	if len(sig) != 64 {
		return
	}
	s := new(big.Int).SetBytes(sig[32:])
	if s.Cmp(p256HalfN) > 0 {
		s.Sub(p256N, s).FillBytes(sig[32:])
	}
}
