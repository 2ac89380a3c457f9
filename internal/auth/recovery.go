package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/authserve/authserve/internal/token"
)

// Email verification modes (AUTH_EMAIL_VERIFICATION).
const (
	VerificationOff      = "off"
	VerificationOptional = "optional"
	VerificationRequired = "required"
)

// RecoveryConfig holds the rules of email verification, password reset and
// password change.
type RecoveryConfig struct {
	// Verification is VerificationOff, VerificationOptional or
	// VerificationRequired; empty means off.
	Verification string
	VerifyTTL    time.Duration
	ResetTTL     time.Duration
	// Cooldown is the least time between two emails of one kind to one
	// address.
	Cooldown time.Duration
}

// linkTokenLength is the length of a link token as NewRefresh makes it: 256
// random bits in unpadded base64url.
const linkTokenLength = 43

// wellFormedLinkToken reports whether raw could be a link token, so that
// garbage is refused without a database round trip.
func wellFormedLinkToken(raw string) bool {
	if len(raw) != linkTokenLength {
		return false
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// addressKey is the cooldown key of an address: a hash, so that addresses
// nobody registered are not kept in the clear.
func addressKey(email string) string {
	sum := sha256.Sum256([]byte(email))
	return hex.EncodeToString(sum[:])
}

// recoveryEnabled reports whether the service was wired with mail.
func (s *Service) recoveryEnabled() bool { return s.rec != nil && s.mail != nil }

var errNoRecovery = errors.New("email recovery is not configured")

// ResendVerification queues a new verification email when email belongs to
// an active, unverified account and verification is not off. Whatever the
// account, it does the same work and returns nil: the caller learns nothing.
func (s *Service) ResendVerification(ctx context.Context, email string) error {
	send := func(u User) bool {
		return s.cfg.Recovery.Verification != VerificationOff && s.cfg.Recovery.Verification != "" && u.IsActive && !u.EmailVerified
	}
	return s.requestLink(ctx, LinkVerifyEmail, email, send)
}

// ForgotPassword queues a password-reset email when email belongs to an
// active account. Like ResendVerification it reveals nothing.
func (s *Service) ForgotPassword(ctx context.Context, email string) error {
	return s.requestLink(ctx, LinkResetPassword, email, func(u User) bool { return u.IsActive })
}

func (s *Service) requestLink(ctx context.Context, kind, email string, eligible func(User) bool) error {
	if !s.recoveryEnabled() {
		return errNoRecovery
	}
	if strings.TrimSpace(email) == "" {
		return &ValidationError{Fields: []FieldError{{Field: "email", Message: "is required"}}}
	}
	norm, msg := NormalizeEmail(email)
	if msg != "" {
		return &ValidationError{Fields: []FieldError{{Field: "email", Message: msg}}}
	}
	u, err := s.store.UserByEmail(ctx, norm)
	if err != nil && !errors.Is(err, ErrUserNotFound) {
		return fmt.Errorf("find user by email: %w", err)
	}
	send := u.ID != 0 && eligible(u)
	// Everything below runs whether or not anything will be sent: a new
	// token, a rendered email and one transaction, so that known,
	// unknown, disabled and cooling-down addresses cost the same.
	queued, err := s.queueLink(ctx, kind, norm, u, send)
	if err != nil {
		return err
	}
	outcome := "queued"
	switch {
	case u.ID == 0:
		outcome = "unknown_email"
	case !send:
		outcome = "not_eligible"
	case !queued:
		outcome = "cooldown"
	}
	if kind == LinkResetPassword {
		s.event(ctx, "password.reset_requested", slog.String("email", MaskEmail(norm)), slog.String("outcome", outcome), slog.Int64("user_id", u.ID))
	} else {
		s.log.LogAttrs(ctx, slog.LevelInfo, "verification email requested", slog.String("email", MaskEmail(norm)), slog.String("outcome", outcome), slog.Int64("user_id", u.ID))
	}
	return nil
}

// queueLink issues a token of kind for u and queues its email, subject to
// the cooldown of address; with send false it only claims the cooldown.
func (s *Service) queueLink(ctx context.Context, kind, address string, u User, send bool) (bool, error) {
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return false, fmt.Errorf("new link token: %w", err)
	}
	ttl, mailKind := s.cfg.Recovery.ResetTTL, MailPasswordReset
	if kind == LinkVerifyEmail {
		ttl, mailKind = s.cfg.Recovery.VerifyTTL, MailVerification
	}
	now := s.now().UTC()
	msg, err := s.mail.Compose(mailKind, MailData{Email: address, FirstName: u.FirstName, Link: s.mail.Link(kind, raw), ExpiresIn: ttl, Time: now})
	if err != nil {
		return false, fmt.Errorf("compose %s email: %w", mailKind, err)
	}
	queued, err := s.rec.RequestLink(ctx, LinkRequest{
		AddressKey: addressKey(address), Kind: kind, Now: now, Cooldown: s.cfg.Recovery.Cooldown,
		Send: send, UserID: u.ID, TokenHash: hash, ExpiresAt: now.Add(ttl),
		Mail: OutboxMessage{UserID: u.ID, To: address, Kind: mailKind, Message: msg},
	})
	if err != nil {
		return false, fmt.Errorf("request %s link: %w", kind, err)
	}
	if queued {
		s.mail.Queued()
		s.event(ctx, "email.queued", slog.String("kind", mailKind), slog.Int64("user_id", u.ID))
	}
	return queued, nil
}

// sendVerification queues the verification email of a new account. A
// failure is logged, not returned: the account exists, and a resend
// recovers.
func (s *Service) sendVerification(ctx context.Context, u User) {
	mode := s.cfg.Recovery.Verification
	if !s.recoveryEnabled() || mode == "" || mode == VerificationOff {
		return
	}
	if _, err := s.queueLink(ctx, LinkVerifyEmail, u.Email, u, true); err != nil {
		s.log.WarnContext(ctx, "queueing the verification email failed; the user can ask for another",
			slog.Int64("user_id", u.ID), slog.String("error", err.Error()))
	}
}

// VerifyEmail spends a verification token and marks its account's email
// verified.
func (s *Service) VerifyEmail(ctx context.Context, raw string) (User, error) {
	if !s.recoveryEnabled() {
		return User{}, errNoRecovery
	}
	if raw == "" {
		return User{}, &ValidationError{Fields: []FieldError{{Field: "token", Message: "is required"}}}
	}
	if !wellFormedLinkToken(raw) {
		return User{}, ErrInvalidLinkToken
	}
	u, err := s.rec.VerifyEmail(s.audit(ctx, "user.email_verified", 0, nil), token.HashRefresh(raw), s.now().UTC())
	switch {
	case errors.Is(err, ErrInvalidLinkToken):
		return User{}, ErrInvalidLinkToken
	case err != nil:
		return User{}, fmt.Errorf("verify email: %w", err)
	}
	s.event(ctx, "user.email_verified", slog.Int64("user_id", u.ID), slog.String("by", "link"))
	return u, nil
}

// ResetPassword spends a reset token and sets a new password: every session
// of the account is revoked, its lockout cleared and its email marked
// verified (the link proved the address).
func (s *Service) ResetPassword(ctx context.Context, raw, newPassword string) error {
	if !s.recoveryEnabled() {
		return errNoRecovery
	}
	var v ValidationError
	if raw == "" {
		v.Add("token", "is required")
	}
	if newPassword == "" {
		v.Add("new_password", "is required")
	}
	if err := v.OrNil(); err != nil {
		return err
	}
	if !wellFormedLinkToken(raw) {
		return ErrInvalidLinkToken
	}
	password := NormalizePassword(newPassword)
	for _, m := range s.cfg.Password.Check(password) {
		v.Add("new_password", m)
	}
	if err := v.OrNil(); err != nil {
		return err
	}
	hash := token.HashRefresh(raw)
	now := s.now().UTC()
	// A dead token is refused before paying for a hash; the transaction
	// below decides races.
	owner, err := s.rec.LinkTokenUser(ctx, LinkResetPassword, hash, now)
	switch {
	case errors.Is(err, ErrInvalidLinkToken):
		return ErrInvalidLinkToken
	case err != nil:
		return fmt.Errorf("look up reset token: %w", err)
	}
	pwHash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	notice, err := s.changedNotice(owner, now)
	if err != nil {
		return err
	}
	u, revoked, err := s.rec.ResetPassword(s.audit(ctx, "password.reset", 0, nil), hash, PasswordChange{Hash: pwHash, Now: now, Verify: true, Notice: notice})
	switch {
	case errors.Is(err, ErrInvalidLinkToken):
		return ErrInvalidLinkToken
	case err != nil:
		return fmt.Errorf("reset password: %w", err)
	}
	s.mail.Queued()
	s.clearLockout(ctx, u.Email)
	s.event(ctx, "password.reset", slog.Int64("user_id", u.ID), slog.Int("sessions_revoked", revoked))
	if !owner.EmailVerified {
		s.event(ctx, "user.email_verified", slog.Int64("user_id", u.ID), slog.String("by", "password_reset"))
	}
	s.event(ctx, "email.queued", slog.String("kind", MailPasswordChanged), slog.Int64("user_id", u.ID))
	return nil
}

// ChangePassword sets a new password for the caller, who proves it with the
// current one (a wrong one counts against the lockout like a failed
// login). The caller's session stays; every other one is revoked.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, newPassword string, c Client) error {
	var v ValidationError
	if current == "" {
		v.Add("current_password", "is required")
	}
	if newPassword == "" {
		v.Add("new_password", "is required")
	} else {
		for _, m := range s.cfg.Password.Check(NormalizePassword(newPassword)) {
			v.Add("new_password", m)
		}
	}
	if err := v.OrNil(); err != nil {
		return err
	}
	u := p.User
	keys, err := s.reserveAttempt(ctx, u.Email, c)
	if err != nil {
		return err
	}
	ok, err := s.hasher.Compare(ctx, u.PasswordHash, NormalizePassword(current))
	if err != nil {
		s.releaseAttempt(ctx, keys, false)
		return fmt.Errorf("compare password: %w", err)
	}
	if !ok {
		s.failAttempt(ctx, keys, u.Email, c)
		s.event(ctx, "user.login_failed", slog.String("reason", "wrong_current_password"), slog.String("email", MaskEmail(u.Email)), slog.Int64("user_id", u.ID), slog.String("client_ip", c.IP))
		return ErrInvalidCredentials
	}
	s.releaseAttempt(ctx, keys, true)
	n, err := s.setPassword(ctx, u, newPassword, p.SessionID)
	if err != nil {
		return err
	}
	s.event(ctx, "password.changed", slog.Int64("user_id", u.ID), slog.String("session_id", p.SessionID), slog.Int("sessions_revoked", n))
	return nil
}

// setPassword hashes password and stores it for u, revoking every session
// but keep and queueing the password-changed notice.
func (s *Service) setPassword(ctx context.Context, u User, password, keep string) (int, error) {
	if !s.recoveryEnabled() {
		return 0, errNoRecovery
	}
	hash, err := s.hasher.Hash(ctx, NormalizePassword(password))
	if err != nil {
		return 0, fmt.Errorf("hash password: %w", err)
	}
	now := s.now().UTC()
	notice, err := s.changedNotice(u, now)
	if err != nil {
		return 0, err
	}
	n, err := s.rec.SetPassword(s.audit(ctx, "password.changed", u.ID, nil), PasswordChange{UserID: u.ID, Hash: hash, Now: now, KeepSession: keep, Notice: notice})
	if err != nil {
		return 0, fmt.Errorf("set password: %w", err)
	}
	s.mail.Queued()
	s.event(ctx, "email.queued", slog.String("kind", MailPasswordChanged), slog.Int64("user_id", u.ID))
	return n, nil
}

// changedNotice renders the "your password was changed" email of u.
func (s *Service) changedNotice(u User, now time.Time) (*OutboxMessage, error) {
	msg, err := s.mail.Compose(MailPasswordChanged, MailData{Email: u.Email, FirstName: u.FirstName, Time: now})
	if err != nil {
		return nil, fmt.Errorf("compose %s email: %w", MailPasswordChanged, err)
	}
	return &OutboxMessage{UserID: u.ID, To: u.Email, Kind: MailPasswordChanged, Message: msg}, nil
}

// clearLockout forgets every lockout key of email: the account-wide one
// and those of each client address. A failure is logged: the locks expire
// on their own.
func (s *Service) clearLockout(ctx context.Context, email string) {
	if s.lockout == nil {
		return
	}
	if err := s.lockout.Clear(ctx, "acct:"+email, "pair:"+email+"|"); err != nil {
		s.log.WarnContext(ctx, "clearing the lockout failed", slog.String("error", err.Error()))
	}
}

// checkVerified is Login's rule for AUTH_EMAIL_VERIFICATION=required.
func (s *Service) checkVerified(ctx context.Context, u User) error {
	if s.cfg.Recovery.Verification != VerificationRequired || u.EmailVerified {
		return nil
	}
	s.event(ctx, "user.login_failed", slog.String("reason", "email_not_verified"), slog.String("email", MaskEmail(u.Email)), slog.Int64("user_id", u.ID))
	return ErrEmailNotVerified
}

// Record logs and counts an event through the service's own channel, for
// collaborators such as the mail sender (email.sent, email.failed).
func (s *Service) Record(ctx context.Context, name string, attrs ...slog.Attr) {
	s.event(ctx, name, attrs...)
}

// SetPassword sets the password of the account with this email (the
// `authserve user set-password` command): the registration policy applies,
// every session is revoked and the owner is told by email.
func (s *Service) SetPassword(ctx context.Context, email, password string) (User, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return User{}, err
	}
	var v ValidationError
	for _, m := range s.cfg.Password.Check(NormalizePassword(password)) {
		v.Add("password", m)
	}
	if err := v.OrNil(); err != nil {
		return User{}, err
	}
	n, err := s.setPassword(ctx, u, password, "")
	if err != nil {
		return User{}, err
	}
	s.event(ctx, "password.changed", slog.Int64("user_id", u.ID), slog.String("by", "admin"), slog.Int("sessions_revoked", n))
	return u, nil
}

// MarkVerified marks the email of the account verified (`authserve user
// verify`).
func (s *Service) MarkVerified(ctx context.Context, email string) (User, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return User{}, err
	}
	if s.rec == nil {
		return User{}, errNoRecovery
	}
	u, err = s.rec.SetEmailVerified(s.audit(ctx, "user.email_verified", u.ID, nil), u.ID, true, s.now().UTC())
	if err != nil {
		return User{}, fmt.Errorf("set email verified: %w", err)
	}
	s.event(ctx, "user.email_verified", slog.Int64("user_id", u.ID), slog.String("by", "admin"))
	return u, nil
}

// Unlock clears every lockout of an email (`authserve user unlock`), known
// account or not.
func (s *Service) Unlock(ctx context.Context, email string) error {
	norm, msg := NormalizeEmail(email)
	if msg != "" {
		norm = strings.ToLower(strings.TrimSpace(email))
	}
	if s.lockout == nil {
		return nil
	}
	if err := s.lockout.Clear(ctx, "acct:"+norm, "pair:"+norm+"|"); err != nil {
		return fmt.Errorf("clear lockout: %w", err)
	}
	s.event(ctx, "user.unlocked", slog.String("email", MaskEmail(norm)))
	return nil
}
