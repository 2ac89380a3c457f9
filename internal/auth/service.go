package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/authserve/authserve/internal/token"
	"github.com/authserve/authserve/internal/totp"
)

// maxNameLength bounds first and last names, in characters.
const maxNameLength = 100

// Config holds the domain's rules, parsed from the environment by cmd.
type Config struct {
	Password             PasswordPolicy
	RefreshTokenTTL      time.Duration
	SessionMaxLifetime   time.Duration
	RefreshReuseInterval time.Duration

	LockoutThreshold        int // per email and client address; 0 disables
	LockoutAccountThreshold int // per email from everywhere; 0 disables
	LockoutDuration         time.Duration

	// Recovery holds the rules of email verification and password reset.
	Recovery RecoveryConfig
}

// Service implements registration, login, token refresh, logout and the
// session operations on top of a Store.
type Service struct {
	cfg     Config
	store   Store
	hasher  *Hasher
	tokens  *token.Manager
	lockout Lockout
	log     *slog.Logger
	obs     Observer
	now     func() time.Time
	rec     RecoveryStore
	mail    MailComposer

	// MFA (mfa.go).
	mfa       MFAStore
	sealer    *totp.Sealer
	mfaIssuer string

	// The audit log (audit.go) and administration (manage.go).
	auditOn  bool
	auditQ   AuditQueue
	admin    AdminStore
	auditLog AuditStore
}

// Deps are the collaborators of a Service. Lockout and Observer may be nil.
type Deps struct {
	Store    Store
	Hasher   *Hasher
	Tokens   *token.Manager
	Lockout  Lockout
	Logger   *slog.Logger
	Observer Observer
	Now      func() time.Time
	// Recovery and Mail enable email verification, password reset and
	// change; without them those operations fail.
	Recovery RecoveryStore
	Mail     MailComposer
	// MFAStore defaults to Store when Store implements it. Sealer seals
	// TOTP secrets; nil stores them unencrypted (development). MFAIssuer
	// labels the account in authenticator apps; default "authserve".
	MFAStore  MFAStore
	Sealer    *totp.Sealer
	MFAIssuer string
	// Audit, when not nil, turns the audit log on: events of state
	// changes are committed with them, the others go to this queue.
	Audit AuditQueue
	// Admin and AuditLog serve the administration API, the admin keys
	// and the audit queries; those operations fail without them.
	Admin    AdminStore
	AuditLog AuditStore
}

// NewService wires a Service.
func NewService(cfg Config, d Deps) *Service {
	if d.Observer == nil {
		d.Observer = nopObserver{}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MFAStore == nil {
		d.MFAStore, _ = d.Store.(MFAStore)
	}
	if d.Sealer == nil {
		d.Sealer, _ = totp.NewSealer(nil)
	}
	return &Service{cfg: cfg, store: d.Store, hasher: d.Hasher, tokens: d.Tokens, lockout: d.Lockout, log: d.Logger, obs: d.Observer, now: d.Now,
		rec: d.Recovery, mail: d.Mail, mfa: d.MFAStore, sealer: d.Sealer, mfaIssuer: cmp.Or(d.MFAIssuer, "authserve"),
		auditOn: d.Audit != nil, auditQ: d.Audit, admin: d.Admin, auditLog: d.AuditLog}
}

// Registration is the input of Register.
type Registration struct {
	Email     string
	Password  string
	FirstName string
	LastName  string
}

// Tokens is the outcome of a login or refresh.
type Tokens struct {
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string
	SessionID    string
	User         User
}

// Principal is the caller behind a verified access token.
type Principal struct {
	User      User
	SessionID string
	// AAL is the assurance level of the session: token.AAL1 or AAL2.
	AAL string
}

// Register validates r and creates an active account.
func (s *Service) Register(ctx context.Context, r Registration) (User, error) {
	return s.register(ctx, r, "user.registered")
}

// register creates an active account, recording event in the audit log.
func (s *Service) register(ctx context.Context, r Registration, event string) (User, error) {
	email, password, first, last, err := s.validateRegistration(r)
	if err != nil {
		return User{}, err
	}
	// Refuse a taken email before paying for a hash; the unique constraint
	// still decides races.
	if _, err := s.store.UserByEmail(ctx, email); err == nil {
		return User{}, ErrEmailTaken
	} else if !errors.Is(err, ErrUserNotFound) {
		return User{}, fmt.Errorf("look up email: %w", err)
	}
	// Hash outside any transaction: it is the slow part.
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	u, err := s.store.CreateUser(s.audit(ctx, event, 0, nil), NewUser{
		Email: email, PasswordHash: hash, FirstName: first, LastName: last,
		IsActive: true, CreatedAt: s.now().UTC(),
	})
	if err != nil {
		if errors.Is(err, ErrEmailTaken) {
			return User{}, ErrEmailTaken
		}
		return User{}, fmt.Errorf("create user: %w", err)
	}
	s.event(ctx, event, slog.Int64("user_id", u.ID))
	s.sendVerification(ctx, u)
	return u, nil
}

func (s *Service) validateRegistration(r Registration) (email, password, first, last string, err error) {
	var v ValidationError
	email, msg := NormalizeEmail(r.Email)
	if msg != "" {
		v.Add("email", msg)
	}
	password = NormalizePassword(r.Password)
	if r.Password == "" {
		v.Add("password", "is required")
	} else {
		for _, m := range s.cfg.Password.Check(password) {
			v.Add("password", m)
		}
	}
	first, msg = cleanName(r.FirstName)
	if msg != "" {
		v.Add("first_name", msg)
	}
	last, msg = cleanName(r.LastName)
	if msg != "" {
		v.Add("last_name", msg)
	}
	return email, password, first, last, v.OrNil()
}

func cleanName(s string) (string, string) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", "must be valid UTF-8"
	}
	if utf8.RuneCountInString(s) > maxNameLength {
		return "", "must be at most 100 characters"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", "must not contain control characters"
		}
	}
	return s, ""
}

// Login exchanges an email and password for tokens, starting a session.
// Unknown emails and wrong passwords fail alike, after a real comparison.
func (s *Service) Login(ctx context.Context, email, password string, c Client) (Tokens, error) {
	var v ValidationError
	if strings.TrimSpace(email) == "" {
		v.Add("email", "is required")
	}
	if password == "" {
		v.Add("password", "is required")
	}
	if err := v.OrNil(); err != nil {
		return Tokens{}, err
	}
	// A malformed address cannot belong to an account; it takes the same
	// path as an unknown one so nothing distinguishes them.
	norm, msg := NormalizeEmail(email)
	if msg != "" {
		norm = strings.ToLower(strings.TrimSpace(email))
	}
	password = NormalizePassword(password)

	keys, err := s.reserveAttempt(ctx, norm, c)
	if err != nil {
		return Tokens{}, err
	}
	u, err := s.store.UserByEmail(ctx, norm)
	if err != nil && !errors.Is(err, ErrUserNotFound) {
		s.releaseAttempt(ctx, keys, false)
		return Tokens{}, fmt.Errorf("find user by email: %w", err)
	}
	ok, err := s.hasher.Compare(ctx, u.PasswordHash, password)
	if err != nil {
		s.releaseAttempt(ctx, keys, false)
		return Tokens{}, fmt.Errorf("compare password: %w", err)
	}
	if !ok {
		s.failAttempt(ctx, keys, norm, c)
		reason := "wrong_password"
		if u.ID == 0 {
			reason = "unknown_email"
		}
		s.event(ctx, "user.login_failed", slog.String("reason", reason), slog.String("email", MaskEmail(norm)), slog.String("client_ip", c.IP))
		s.auditAsync(ctx, "user.login_failed", u.ID, map[string]any{"reason": reason, "email": MaskEmail(norm)})
		return Tokens{}, ErrInvalidCredentials
	}
	// Only a completed login resets the count: for an account with a
	// second factor, that is the verification step (mfa.go).
	s.releaseAttempt(ctx, keys, !u.MFAEnabled)
	if !u.IsActive {
		s.event(ctx, "user.login_failed", slog.String("reason", "account_disabled"), slog.String("email", MaskEmail(norm)), slog.Int64("user_id", u.ID))
		s.auditAsync(ctx, "user.login_failed", u.ID, map[string]any{"reason": "account_disabled"})
		return Tokens{}, ErrAccountDisabled
	}
	if err := s.checkVerified(ctx, u); err != nil {
		return Tokens{}, err
	}
	if u.MFAEnabled {
		return Tokens{}, s.challengeMFA(ctx, u, c)
	}
	t, err := s.startSession(ctx, u, c)
	if err != nil {
		return Tokens{}, err
	}
	s.event(ctx, "user.login_succeeded", slog.Int64("user_id", u.ID), slog.String("session_id", t.SessionID))
	return t, nil
}

func (s *Service) startSession(ctx context.Context, u User, c Client) (Tokens, error) {
	now := s.now().UTC()
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return Tokens{}, fmt.Errorf("new refresh token: %w", err)
	}
	deadline := now.Add(s.cfg.SessionMaxLifetime)
	exp := minTime(now.Add(s.cfg.RefreshTokenTTL), deadline)
	sess := Session{
		ID: token.NewSessionID(), UserID: u.ID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: exp, Deadline: deadline, ClientIP: c.IP, UserAgent: truncate(c.UserAgent, 512),
	}
	rt := RefreshToken{Hash: hash, SessionID: sess.ID, UserID: u.ID, IssuedAt: now, ExpiresAt: exp}
	ctx = s.audit(ctx, "user.login_succeeded", u.ID, map[string]any{"session_id": sess.ID})
	if err := s.store.CreateSession(ctx, sess, rt); err != nil {
		return Tokens{}, fmt.Errorf("create session: %w", err)
	}
	return s.issue(u, sess.ID, raw, now)
}

func (s *Service) issue(u User, sessionID, refresh string, now time.Time) (Tokens, error) {
	// JWT times are whole seconds; truncating keeps expires_in exact.
	now = now.Truncate(time.Second)
	access, exp, err := s.tokens.Issue(u.ID, sessionID, now)
	if err != nil {
		return Tokens{}, fmt.Errorf("issue access token: %w", err)
	}
	return Tokens{AccessToken: access, ExpiresIn: exp.Sub(now), RefreshToken: refresh, SessionID: sessionID, User: u}, nil
}

// Refresh rotates a refresh token: the presented one is spent and a new
// pair is issued. A spent token presented again after the reuse interval
// revokes its whole session (theft detection).
func (s *Service) Refresh(ctx context.Context, refresh string) (Tokens, error) {
	if refresh == "" {
		return Tokens{}, &ValidationError{Fields: []FieldError{{Field: "refresh_token", Message: "is required"}}}
	}
	now := s.now().UTC()
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return Tokens{}, fmt.Errorf("new refresh token: %w", err)
	}
	// Committed only if the rotation turns out to be reuse (Store.Rotate).
	r, err := s.store.Rotate(s.audit(ctx, "token.reuse_detected", 0, nil), Rotation{
		PresentedHash: token.HashRefresh(refresh),
		Next:          RefreshToken{Hash: hash, IssuedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTokenTTL)},
		Now:           now,
		Grace:         s.cfg.RefreshReuseInterval,
	})
	switch {
	case errors.Is(err, ErrRefreshReused):
		s.event(ctx, "token.reuse_detected", slog.Int64("user_id", r.User.ID), slog.String("session_id", r.Session.ID))
		return Tokens{}, ErrRefreshReused
	case errors.Is(err, ErrSessionRevoked):
		return Tokens{}, ErrInvalidToken
	case err != nil:
		return Tokens{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	t, err := s.issueLevel(r.User, r.Session.ID, raw, levelOf(r.Session), now)
	if err != nil {
		return Tokens{}, err
	}
	s.event(ctx, "token.refreshed", slog.Int64("user_id", r.User.ID), slog.String("session_id", r.Session.ID))
	return t, nil
}

// Logout revokes the session of a refresh token. Unknown, expired or
// already revoked tokens succeed silently, as in RFC 7009.
func (s *Service) Logout(ctx context.Context, refresh string) error {
	if refresh == "" {
		return &ValidationError{Fields: []FieldError{{Field: "refresh_token", Message: "is required"}}}
	}
	sess, err := s.store.RevokeSessionByToken(s.audit(ctx, "user.logged_out", 0, nil), token.HashRefresh(refresh), s.now().UTC())
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	s.event(ctx, "user.logged_out", slog.Int64("user_id", sess.UserID), slog.String("session_id", sess.ID))
	return nil
}

// Authenticate verifies a bearer access token and returns its user, in
// one database round trip that also checks the session is still live.
func (s *Service) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	now := s.now()
	c, err := s.tokens.Verify(bearer, now)
	switch {
	case errors.Is(err, token.ErrExpired):
		return Principal{}, ErrTokenExpired
	case err != nil:
		return Principal{}, ErrInvalidToken
	}
	u, err := s.store.UserForSession(ctx, c.UserID, c.SessionID, now.UTC())
	switch {
	case errors.Is(err, ErrSessionRevoked):
		return Principal{}, ErrInvalidToken
	case errors.Is(err, ErrUserNotFound):
		return Principal{}, ErrUserNotFound
	case err != nil:
		return Principal{}, fmt.Errorf("find user for session: %w", err)
	}
	return Principal{User: u, SessionID: c.SessionID, AAL: c.AAL}, nil
}

// Sessions lists the principal's live sessions.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]Session, error) {
	list, err := s.store.ListSessions(ctx, p.User.ID, s.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return list, nil
}

// RevokeSession ends one of the principal's sessions; ErrNotFound when
// the id is not one of theirs.
func (s *Service) RevokeSession(ctx context.Context, p Principal, id string) error {
	ctx = s.audit(ctx, "session.revoked", p.User.ID, map[string]any{"session_id": id})
	if err := s.store.RevokeSession(ctx, p.User.ID, id, s.now().UTC()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("revoke session: %w", err)
	}
	s.event(ctx, "session.revoked", slog.Int64("user_id", p.User.ID), slog.String("session_id", id))
	return nil
}

// Ready reports whether the store answers.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

func (s *Service) event(ctx context.Context, name string, attrs ...slog.Attr) {
	s.obs.Event(name)
	s.log.LogAttrs(ctx, slog.LevelInfo, name, append([]slog.Attr{slog.String("event", name)}, attrs...)...)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
