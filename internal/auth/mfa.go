package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/authserve/authserve/internal/token"
	"github.com/authserve/authserve/internal/totp"
)

// Multi-factor authentication: TOTP factors, recovery codes, the two-step
// login and the assurance level (aal) of sessions. CONTRACT section 9.

// FactorTOTP is the type of an authenticator-app factor.
const FactorTOTP = "totp"

const (
	// MFATokenTTL is how long an mfa_token may be exchanged.
	MFATokenTTL = 5 * time.Minute
	// MFAMaxFailures is how many wrong codes spend an mfa_token.
	MFAMaxFailures = 5
	// RecoveryCodeCount is how many recovery codes an account gets.
	RecoveryCodeCount = 10
	// maxCodeLength bounds the code looked at: nothing longer is a code,
	// and it is refused before any hashing.
	maxCodeLength = 64
	// recoveryCodeBytes is the entropy of a recovery code: 80 bits, 16
	// base32 characters.
	recoveryCodeBytes = 10
)

// The MFA outcomes the API maps to its own codes.
var (
	// ErrMFARequired means a second factor is needed: for a login, the
	// error is an *MFARequiredError carrying the mfa_token; for an aal2
	// operation, the caller's session has only a password behind it.
	ErrMFARequired = errors.New("second factor required")
	// ErrInvalidMFACode means a wrong, reused, malformed or expired code,
	// or an unknown, spent or expired mfa_token.
	ErrInvalidMFACode = errors.New("invalid MFA code")
)

// MFARequiredError is a login's answer for an account with an active
// factor: the mfa_token that POST /api/auth/mfa/verify exchanges, and the
// types of the account's factors. It matches ErrMFARequired.
type MFARequiredError struct {
	Token       string
	FactorTypes []string
}

func (e *MFARequiredError) Error() string { return ErrMFARequired.Error() }

// Is makes errors.Is(err, ErrMFARequired) hold.
func (e *MFARequiredError) Is(target error) bool { return target == ErrMFARequired }

// Factor is a second factor of an account. Secret is the sealed form
// (see totp.Sealer) under KeyID; the plain secret never leaves the domain.
type Factor struct {
	ID          string
	UserID      int64
	Type        string
	Secret      string
	KeyID       string
	CreatedAt   time.Time
	ActivatedAt *time.Time
	LastUsedAt  *time.Time
	// LastStep is the last TOTP time step accepted, -1 for none.
	LastStep int64
}

// Active reports whether the factor has been activated.
func (f Factor) Active() bool { return f.ActivatedAt != nil }

// MFAChallenge is the stored form of an mfa_token: its hash, its user, and
// the client of the login it belongs to.
type MFAChallenge struct {
	Hash      string
	UserID    int64
	ClientIP  string
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
	Failures  int
	SpentAt   *time.Time
}

// FactorActivation asks MFAStore.ActivateFactor to activate the user's
// pending factor FactorID, remembering Step as used, and to replace the
// user's recovery codes with RecoveryHashes.
type FactorActivation struct {
	UserID         int64
	FactorID       string
	Step           int64
	RecoveryHashes []string
	Now            time.Time
}

// MFACompletion asks MFAStore.CompleteMFA to finish a two-step login in one
// transaction: spend the challenge, spend the code (a TOTP step of a
// factor, or a recovery code) and start the session.
type MFACompletion struct {
	ChallengeHash string
	// FactorID and Step: a TOTP code of that factor matched that step.
	FactorID string
	Step     int64
	// RecoveryHash: a recovery code with this hash (instead of a factor).
	RecoveryHash string
	// ResealKeyID and ResealSecret, when set, replace the factor's sealed
	// secret: a secret sealed under an earlier key (or none) moves to the
	// current key when it is next used.
	ResealKeyID, ResealSecret string
	Session                   Session
	First                     RefreshToken
	Now                       time.Time
}

// MFAStore is the persistence of multi-factor authentication. Every
// method that changes state does so in one transaction. Implementations
// return ErrNotFound and ErrInvalidMFACode as documented, and wrap
// infrastructure faults like Store does.
type MFAStore interface {
	// CreateFactor stores a new pending factor and removes the user's
	// other pending ones (one enrolment at a time).
	CreateFactor(ctx context.Context, f Factor) error
	// Factor returns the user's factor with this id, active or pending;
	// ErrNotFound when the user has none with that id.
	Factor(ctx context.Context, userID int64, id string) (Factor, error)
	// ActivateFactor activates a pending factor, sets the account's
	// mfa_enabled and replaces its recovery codes; ErrNotFound when the
	// user has no pending factor with that id.
	ActivateFactor(ctx context.Context, a FactorActivation) error
	// ListFactors returns the user's active factors, oldest first.
	ListFactors(ctx context.Context, userID int64) ([]Factor, error)
	// DeleteFactor removes one of the user's factors; with the last active
	// one go the recovery codes and mfa_enabled. ErrNotFound when the user
	// has no factor with that id. It returns how many active factors remain.
	DeleteFactor(ctx context.Context, userID int64, id string) (int, error)
	// ReplaceRecoveryCodes replaces every recovery code of the user;
	// ErrNotFound when the user has no active factor.
	ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes []string, now time.Time) error
	// ResetMFA removes every factor, recovery code and challenge of the
	// user and clears mfa_enabled; it returns how many factors it removed.
	ResetMFA(ctx context.Context, userID int64) (int, error)
	// CreateMFAChallenge stores a challenge (and prunes the user's expired
	// ones), returning the types of the user's active factors.
	CreateMFAChallenge(ctx context.Context, c MFAChallenge) ([]string, error)
	// MFAChallenge returns the challenge with this hash, its user and the
	// user's active factors; ErrNotFound when there is no such challenge.
	MFAChallenge(ctx context.Context, hash string) (MFAChallenge, User, []Factor, error)
	// FailMFAChallenge counts a wrong code against a challenge and spends
	// it when the count reaches maxFailures.
	FailMFAChallenge(ctx context.Context, hash string, maxFailures int, now time.Time) error
	// CompleteMFA spends the challenge (unspent and unexpired at Now), the
	// code (a step later than the factor's last, or an unused recovery
	// code) and stores the session and its first refresh token, all or
	// nothing. ErrInvalidMFACode when the challenge or the code is no
	// longer good: of several racing completions with one code, or one
	// challenge, exactly one succeeds.
	CompleteMFA(ctx context.Context, c MFACompletion) error
}

// Enrolment is a started TOTP enrolment: the secret to put in an
// authenticator app, shown this once.
type Enrolment struct {
	FactorID string
	Secret   string
	URI      string
}

// requireAAL2 refuses principals whose session has only a password behind it.
func requireAAL2(p Principal) error {
	if p.AAL != token.AAL2 {
		return ErrMFARequired
	}
	return nil
}

// EnrolTOTP starts enrolling an authenticator app for the principal: a new
// pending factor, which ActivateTOTP activates with a first code. An
// account that already has an active factor needs an aal2 session to add
// another (as in Supabase Auth), so a stolen password alone cannot.
func (s *Service) EnrolTOTP(ctx context.Context, p Principal) (Enrolment, error) {
	if p.User.MFAEnabled {
		if err := requireAAL2(p); err != nil {
			return Enrolment{}, err
		}
	}
	key, err := totp.Generate(s.mfaIssuer, p.User.Email)
	if err != nil {
		return Enrolment{}, err
	}
	id := token.NewSessionID()
	keyID, sealed, err := s.sealer.Seal(key.Secret, id)
	if err != nil {
		return Enrolment{}, fmt.Errorf("seal secret: %w", err)
	}
	f := Factor{ID: id, UserID: p.User.ID, Type: FactorTOTP, Secret: sealed, KeyID: keyID, CreatedAt: s.now().UTC(), LastStep: -1}
	if err := s.mfa.CreateFactor(ctx, f); err != nil {
		return Enrolment{}, fmt.Errorf("create factor: %w", err)
	}
	return Enrolment{FactorID: id, Secret: key.Secret, URI: key.URI}, nil
}

// ActivateTOTP activates the principal's pending factor with a first code
// from the app and returns new recovery codes, shown this once (earlier
// ones stop working). A factor that is not the principal's gives
// ErrNotFound; one already active, a validation error.
func (s *Service) ActivateTOTP(ctx context.Context, p Principal, factorID, code string) ([]string, error) {
	if code == "" {
		return nil, &ValidationError{Fields: []FieldError{{Field: "code", Message: "is required"}}}
	}
	if p.User.MFAEnabled {
		if err := requireAAL2(p); err != nil {
			return nil, err
		}
	}
	f, err := s.mfa.Factor(ctx, p.User.ID, factorID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("find factor: %w", err)
	case f.Active():
		return nil, &ValidationError{Fields: []FieldError{{Field: "factor_id", Message: "is already active"}}}
	}
	secret, err := s.sealer.Open(f.KeyID, f.Secret, f.ID)
	if err != nil {
		return nil, fmt.Errorf("open factor secret: %w", err)
	}
	now := s.now()
	step, ok, err := totp.Verify(secret, code, now, f.LastStep)
	if err != nil && !errors.Is(err, totp.ErrMalformed) {
		return nil, err
	}
	if !ok {
		s.event(ctx, "mfa.failed", slog.String("reason", "wrong_code"), slog.String("stage", "activation"),
			slog.Int64("user_id", p.User.ID), slog.String("factor_id", f.ID))
		return nil, ErrInvalidMFACode
	}
	codes, hashes, err := newRecoveryCodes(p.User.ID)
	if err != nil {
		return nil, err
	}
	err = s.mfa.ActivateFactor(s.audit(ctx, "mfa.enrolled", p.User.ID, map[string]any{"factor_id": f.ID}), FactorActivation{UserID: p.User.ID, FactorID: f.ID, Step: step, RecoveryHashes: hashes, Now: now.UTC()})
	switch {
	case errors.Is(err, ErrNotFound):
		// Activated or removed by a concurrent request meanwhile.
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("activate factor: %w", err)
	}
	s.event(ctx, "mfa.enrolled", slog.Int64("user_id", p.User.ID), slog.String("factor_id", f.ID), slog.String("type", f.Type))
	return codes, nil
}

// Factors lists the principal's active factors.
func (s *Service) Factors(ctx context.Context, p Principal) ([]Factor, error) {
	fs, err := s.mfa.ListFactors(ctx, p.User.ID)
	if err != nil {
		return nil, fmt.Errorf("list factors: %w", err)
	}
	return fs, nil
}

// RemoveFactor removes one of the principal's factors; it needs an aal2
// session. With the last active factor go the recovery codes.
func (s *Service) RemoveFactor(ctx context.Context, p Principal, id string) error {
	if err := requireAAL2(p); err != nil {
		return err
	}
	left, err := s.mfa.DeleteFactor(s.audit(ctx, "mfa.removed", p.User.ID, map[string]any{"factor_id": id}), p.User.ID, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("delete factor: %w", err)
	}
	s.event(ctx, "mfa.removed", slog.Int64("user_id", p.User.ID), slog.String("factor_id", id), slog.Int("factors_left", left))
	return nil
}

// RegenerateRecoveryCodes replaces every recovery code of the principal
// and returns the new ones, shown this once; it needs an aal2 session and
// an active factor (ErrNotFound without one).
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p Principal) ([]string, error) {
	if err := requireAAL2(p); err != nil {
		return nil, err
	}
	codes, hashes, err := newRecoveryCodes(p.User.ID)
	if err != nil {
		return nil, err
	}
	if err := s.mfa.ReplaceRecoveryCodes(s.audit(ctx, "mfa.recovery_codes_regenerated", p.User.ID, nil), p.User.ID, hashes, s.now().UTC()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("replace recovery codes: %w", err)
	}
	s.event(ctx, "mfa.recovery_codes_regenerated", slog.Int64("user_id", p.User.ID))
	return codes, nil
}

// ResetMFA removes every factor and recovery code of the account with this
// email (the admin CLI's `user mfa-reset`), for a user who lost their
// authenticator and their recovery codes. It returns how many factors went.
func (s *Service) ResetMFA(ctx context.Context, email string) (int, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return 0, err
	}
	n, err := s.mfa.ResetMFA(s.audit(ctx, "mfa.removed", u.ID, map[string]any{"all": true}), u.ID)
	if err != nil {
		return 0, fmt.Errorf("reset MFA: %w", err)
	}
	s.event(ctx, "mfa.removed", slog.Int64("user_id", u.ID), slog.Int("factors_removed", n), slog.String("by", "admin"))
	return n, nil
}

// challengeMFA answers the password step of a login for an account with
// an active factor: an mfa_token, stored as a hash, bound to this client.
func (s *Service) challengeMFA(ctx context.Context, u User, c Client) error {
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return fmt.Errorf("new mfa token: %w", err)
	}
	now := s.now().UTC()
	types, err := s.mfa.CreateMFAChallenge(ctx, MFAChallenge{
		Hash: hash, UserID: u.ID, ClientIP: c.IP, UserAgent: truncate(c.UserAgent, 512),
		CreatedAt: now, ExpiresAt: now.Add(MFATokenTTL),
	})
	if err != nil {
		return fmt.Errorf("create mfa challenge: %w", err)
	}
	return &MFARequiredError{Token: raw, FactorTypes: types}
}

// VerifyMFA is the second step of a login: it exchanges an mfa_token and a
// TOTP or recovery code for tokens at aal2. The token must come from the
// same client (address and User-Agent) as its login. A wrong code counts
// against the lockout of the account's email like a wrong password and
// against the token, which a fifth wrong code spends; it does not spend
// the token otherwise.
func (s *Service) VerifyMFA(ctx context.Context, mfaToken, code string, c Client) (Tokens, error) {
	var v ValidationError
	if mfaToken == "" {
		v.Add("mfa_token", "is required")
	}
	if code == "" {
		v.Add("code", "is required")
	}
	if err := v.OrNil(); err != nil {
		return Tokens{}, err
	}
	hash := token.HashRefresh(mfaToken)
	ch, u, factors, err := s.mfa.MFAChallenge(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		s.event(ctx, "mfa.failed", slog.String("reason", "unknown_token"), slog.String("client_ip", c.IP))
		return Tokens{}, ErrInvalidMFACode
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("find mfa challenge: %w", err)
	}
	now := s.now().UTC()
	reason := ""
	switch {
	case ch.SpentAt != nil:
		reason = "spent_token"
	case !now.Before(ch.ExpiresAt):
		reason = "expired_token"
	case ch.ClientIP != c.IP || ch.UserAgent != truncate(c.UserAgent, 512):
		// Bound to its login's client: a token lifted from one browser is
		// no use in another.
		reason = "other_client"
	}
	if reason != "" {
		s.event(ctx, "mfa.failed", slog.String("reason", reason), slog.Int64("user_id", u.ID), slog.String("client_ip", c.IP))
		return Tokens{}, ErrInvalidMFACode
	}

	keys, err := s.reserveAttempt(ctx, u.Email, c)
	if err != nil {
		return Tokens{}, err
	}
	if !u.IsActive {
		s.releaseAttempt(ctx, keys, false)
		return Tokens{}, ErrAccountDisabled
	}
	done := MFACompletion{ChallengeHash: hash, Now: now}
	level := token.Level{AAL: token.AAL2}
	method := ""
	switch {
	case len(code) > maxCodeLength:
	case totp.WellFormed(code):
		for _, f := range factors {
			if f.Type != FactorTOTP {
				continue
			}
			secret, err := s.sealer.Open(f.KeyID, f.Secret, f.ID)
			if err != nil {
				s.releaseAttempt(ctx, keys, false)
				return Tokens{}, fmt.Errorf("open factor secret: %w", err)
			}
			step, ok, err := totp.Verify(secret, code, now, f.LastStep)
			if err != nil {
				s.releaseAttempt(ctx, keys, false)
				return Tokens{}, err
			}
			if ok {
				done.FactorID, done.Step, method = f.ID, step, "otp"
				level.AMR = []string{"pwd", "otp"}
				if f.KeyID != s.sealer.CurrentKeyID() {
					if done.ResealKeyID, done.ResealSecret, err = s.sealer.Seal(secret, f.ID); err != nil {
						s.releaseAttempt(ctx, keys, false)
						return Tokens{}, fmt.Errorf("reseal factor secret: %w", err)
					}
				}
				break
			}
		}
	default:
		if norm, ok := normalizeRecoveryCode(code); ok {
			done.RecoveryHash = hashRecoveryCode(u.ID, norm)
			method = "recovery_code"
			level.AMR = []string{"pwd", "mfa"}
		}
	}
	if method == "" {
		return Tokens{}, s.failMFA(ctx, keys, ch, u, c, "wrong_code")
	}
	sess, rt, raw, err := s.newSession(u, c, level)
	if err != nil {
		s.releaseAttempt(ctx, keys, false)
		return Tokens{}, err
	}
	done.Session, done.First = sess, rt
	err = s.mfa.CompleteMFA(s.audit(ctx, "user.login_succeeded", u.ID, map[string]any{"session_id": sess.ID, "aal": token.AAL2, "method": method}), done)
	switch {
	case errors.Is(err, ErrInvalidMFACode):
		r := "reused_code"
		if method == "recovery_code" {
			r = "wrong_recovery_code"
		}
		return Tokens{}, s.failMFA(ctx, keys, ch, u, c, r)
	case err != nil:
		s.releaseAttempt(ctx, keys, false)
		return Tokens{}, fmt.Errorf("complete mfa: %w", err)
	}
	// Only now is the login complete: the failed-login count starts over.
	s.releaseAttempt(ctx, keys, true)
	if method == "recovery_code" {
		s.event(ctx, "mfa.recovery_code_used", slog.Int64("user_id", u.ID))
	}
	s.event(ctx, "mfa.verified", slog.Int64("user_id", u.ID), slog.String("method", method), slog.String("session_id", sess.ID))
	s.event(ctx, "user.login_succeeded", slog.Int64("user_id", u.ID), slog.String("session_id", sess.ID), slog.String("aal", token.AAL2))
	return s.issueLevel(u, sess.ID, raw, level, now)
}

// failMFA records a wrong code: against the lockout of the account's email
// and against the challenge.
func (s *Service) failMFA(ctx context.Context, keys attemptKeys, ch MFAChallenge, u User, c Client, reason string) error {
	s.failAttempt(ctx, keys, u.Email, c)
	if err := s.mfa.FailMFAChallenge(ctx, ch.Hash, MFAMaxFailures, s.now().UTC()); err != nil {
		s.log.WarnContext(ctx, "counting a wrong MFA code failed", slog.String("error", err.Error()))
	}
	s.event(ctx, "mfa.failed", slog.String("reason", reason), slog.Int64("user_id", u.ID),
		slog.String("email", MaskEmail(u.Email)), slog.String("client_ip", c.IP), slog.Int("failures", ch.Failures+1))
	return ErrInvalidMFACode
}

// newSession builds a login session at level and its first refresh token.
func (s *Service) newSession(u User, c Client, level token.Level) (Session, RefreshToken, string, error) {
	now := s.now().UTC()
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return Session{}, RefreshToken{}, "", fmt.Errorf("new refresh token: %w", err)
	}
	deadline := now.Add(s.cfg.SessionMaxLifetime)
	exp := minTime(now.Add(s.cfg.RefreshTokenTTL), deadline)
	sess := Session{
		ID: token.NewSessionID(), UserID: u.ID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: exp, Deadline: deadline, ClientIP: c.IP, UserAgent: truncate(c.UserAgent, 512),
		AAL: level.AAL, AMR: level.AMR,
	}
	rt := RefreshToken{Hash: hash, SessionID: sess.ID, UserID: u.ID, IssuedAt: now, ExpiresAt: exp}
	return sess, rt, raw, nil
}

// levelOf is the level a stored session was authenticated at; sessions
// from before MFA have none and are aal1.
func levelOf(ss Session) token.Level {
	if ss.AAL == token.AAL2 {
		return token.Level{AAL: token.AAL2, AMR: ss.AMR}
	}
	return token.PasswordLevel
}

// issueLevel is issue for a session at level l.
func (s *Service) issueLevel(u User, sessionID, refresh string, l token.Level, now time.Time) (Tokens, error) {
	now = now.Truncate(time.Second)
	access, exp, err := s.tokens.IssueLevel(u.ID, sessionID, l, now)
	if err != nil {
		return Tokens{}, fmt.Errorf("issue access token: %w", err)
	}
	return Tokens{AccessToken: access, ExpiresIn: exp.Sub(now), RefreshToken: refresh, SessionID: sessionID, User: u}, nil
}

var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRecoveryCodes returns RecoveryCodeCount new recovery codes, as shown
// (xxxx-xxxx-xxxx-xxxx), and their stored hashes.
func newRecoveryCodes(userID int64) (codes, hashes []string, err error) {
	codes = make([]string, RecoveryCodeCount)
	hashes = make([]string, RecoveryCodeCount)
	b := make([]byte, recoveryCodeBytes)
	for i := range codes {
		if _, err := rand.Read(b); err != nil {
			return nil, nil, fmt.Errorf("recovery code: %w", err)
		}
		raw := strings.ToLower(recoveryEncoding.EncodeToString(b))
		codes[i] = raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16]
		hashes[i] = hashRecoveryCode(userID, raw)
	}
	return codes, hashes, nil
}

// normalizeRecoveryCode accepts a recovery code in any letter case, with
// or without its hyphens and spaces.
func normalizeRecoveryCode(code string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == '-' || c == ' ':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case 'a' <= c && c <= 'z', '2' <= c && c <= '7':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == 16
}

// hashRecoveryCode is the stored form of a normalised recovery code: a
// SHA-256 salted with the user id. Codes carry 80 random bits, so a slow
// hash adds nothing, and a deterministic one can be looked up.
func hashRecoveryCode(userID int64, norm string) string {
	sum := sha256.Sum256([]byte(strconv.FormatInt(userID, 10) + ":" + norm))
	return hex.EncodeToString(sum[:])
}
