package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// LockoutBusyRetry is what Lockout.Reserve returns when a key is not
// locked but its remaining attempts are all in progress: they end within a
// password check, so a short wait tells whether they locked the key or
// freed it. Every implementation answers the same.
const LockoutBusyRetry = time.Second

// Lockout counts login attempts per key (an email, or an email and client
// address) atomically, so that parallel guesses cannot exceed the limit.
// A key's state expires lockFor after its last change.
type Lockout interface {
	// Reserve counts one attempt in progress against key. It returns a
	// positive retry-after, counting nothing, when key is locked (the rest
	// of the lock) or when limit attempts are already counted
	// (LockoutBusyRetry).
	Reserve(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (time.Duration, error)
	// Fail turns a reserved attempt into a failure; when the count reaches
	// limit the key is locked for lockFor and locked reports true (once).
	Fail(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (locked bool, err error)
	// Succeed ends a reserved attempt that succeeded: reset clears the key,
	// otherwise only the reservation is released.
	Succeed(ctx context.Context, key string, reset bool) error
	// Clear forgets the key exact and every key that begins with prefix
	// (either may be empty), locked or not: a password reset or an
	// administrator unlocking an email clears all of its keys, whatever
	// client addresses they name. A prefix ends with "|" (the domain's
	// "pair:EMAIL|" groups).
	Clear(ctx context.Context, exact, prefix string) error
	// Locked reports whether the key exact, or a key that begins with
	// prefix, is locked at now.
	Locked(ctx context.Context, exact, prefix string, now time.Time) (bool, error)
}

// attemptKeys are the lockout keys a login attempt reserved: per email
// and client address, and per email from everywhere; "" when not counted.
type attemptKeys struct{ pair, account string }

func (s *Service) reserveAttempt(ctx context.Context, email string, c Client) (attemptKeys, error) {
	var k attemptKeys
	if s.lockout == nil {
		return k, nil
	}
	now := s.now()
	if s.cfg.LockoutThreshold > 0 {
		key := "pair:" + email + "|" + c.IP
		wait, err := s.lockout.Reserve(ctx, key, s.cfg.LockoutThreshold, s.cfg.LockoutDuration, now)
		if err != nil {
			return k, fmt.Errorf("reserve login attempt: %w", err)
		}
		if wait > 0 {
			s.event(ctx, "user.login_failed", slog.String("reason", "locked"), slog.String("email", MaskEmail(email)), slog.String("client_ip", c.IP))
			s.auditAsync(ctx, "user.login_failed", 0, map[string]any{"reason": "locked", "email": MaskEmail(email)})
			return k, &RetryError{Kind: ErrLocked, RetryAfter: wait}
		}
		k.pair = key
	}
	if s.cfg.LockoutAccountThreshold > 0 {
		key := "acct:" + email
		wait, err := s.lockout.Reserve(ctx, key, s.cfg.LockoutAccountThreshold, s.cfg.LockoutDuration, now)
		if err == nil && wait > 0 {
			err = &RetryError{Kind: ErrLocked, RetryAfter: wait}
			s.event(ctx, "user.login_failed", slog.String("reason", "locked"), slog.String("email", MaskEmail(email)), slog.String("client_ip", c.IP))
			s.auditAsync(ctx, "user.login_failed", 0, map[string]any{"reason": "locked", "email": MaskEmail(email)})
		}
		if err != nil {
			s.releaseAttempt(ctx, k, false)
			if errors.Is(err, ErrLocked) {
				return attemptKeys{}, err
			}
			return attemptKeys{}, fmt.Errorf("reserve login attempt: %w", err)
		}
		k.account = key
	}
	return k, nil
}

func (s *Service) failAttempt(ctx context.Context, k attemptKeys, email string, c Client) {
	now := s.now()
	for _, f := range []struct {
		key   string
		limit int
		scope string
	}{{k.pair, s.cfg.LockoutThreshold, "client"}, {k.account, s.cfg.LockoutAccountThreshold, "account"}} {
		if f.key == "" {
			continue
		}
		locked, err := s.lockout.Fail(ctx, f.key, f.limit, s.cfg.LockoutDuration, now)
		if err != nil {
			s.log.WarnContext(ctx, "lockout counter failed", slog.String("error", err.Error()))
			continue
		}
		if locked {
			s.event(ctx, "user.locked", slog.String("scope", f.scope), slog.String("email", MaskEmail(email)), slog.String("client_ip", c.IP), slog.Duration("duration", s.cfg.LockoutDuration))
			s.auditAsync(ctx, "user.locked", 0, map[string]any{"scope": f.scope, "email": MaskEmail(email), "duration": s.cfg.LockoutDuration.String()})
		}
	}
}

// releaseAttempt ends reserved attempts that did not fail: success resets
// the per-client count; the account-wide count only drops the reservation
// so that one success cannot wipe out a distributed attack's tally.
func (s *Service) releaseAttempt(ctx context.Context, k attemptKeys, success bool) {
	if k.pair != "" {
		if err := s.lockout.Succeed(ctx, k.pair, success); err != nil {
			s.log.WarnContext(ctx, "lockout counter failed", slog.String("error", err.Error()))
		}
	}
	if k.account != "" {
		if err := s.lockout.Succeed(ctx, k.account, false); err != nil {
			s.log.WarnContext(ctx, "lockout counter failed", slog.String("error", err.Error()))
		}
	}
}
