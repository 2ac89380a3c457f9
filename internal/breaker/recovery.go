package breaker

import (
	"context"
	"errors"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// The wrappers of auth.RecoveryStore, auth.Outbox and Lockout.Clear: the
// same breaker and deadline as every other database call. The inner store
// must implement the interfaces (sqlstore.Store does); otherwise each call
// fails with errNoRecovery.

var (
	_ auth.RecoveryStore = (*Store)(nil)
	_ auth.Outbox        = (*Store)(nil)
)

var errNoRecovery = errors.New("breaker: the inner store has no recovery or outbox support")

func (s *Store) rec() (auth.RecoveryStore, error) {
	r, ok := s.inner.(auth.RecoveryStore)
	if !ok {
		return nil, errNoRecovery
	}
	return r, nil
}

func (s *Store) outbox() (auth.Outbox, error) {
	o, ok := s.inner.(auth.Outbox)
	if !ok {
		return nil, errNoRecovery
	}
	return o, nil
}

// Clear calls the lockout store's Clear through the breaker.
func (s *Store) Clear(ctx context.Context, exact, prefix string) error {
	if s.lock == nil {
		return errNoLockout
	}
	return exec(ctx, s, "lockout_clear", func(ctx context.Context) error {
		return s.lock.Clear(ctx, exact, prefix)
	})
}

// RequestLink calls the inner store's RequestLink through the breaker.
func (s *Store) RequestLink(ctx context.Context, r auth.LinkRequest) (bool, error) {
	rs, err := s.rec()
	if err != nil {
		return false, err
	}
	return call(ctx, s, "request_link", func(ctx context.Context) (bool, error) {
		return rs.RequestLink(ctx, r)
	})
}

// LinkTokenUser calls the inner store's LinkTokenUser through the breaker.
func (s *Store) LinkTokenUser(ctx context.Context, kind, hash string, now time.Time) (auth.User, error) {
	rs, err := s.rec()
	if err != nil {
		return auth.User{}, err
	}
	return call(ctx, s, "link_token_user", func(ctx context.Context) (auth.User, error) {
		return rs.LinkTokenUser(ctx, kind, hash, now)
	})
}

// VerifyEmail calls the inner store's VerifyEmail through the breaker.
func (s *Store) VerifyEmail(ctx context.Context, hash string, now time.Time) (auth.User, error) {
	rs, err := s.rec()
	if err != nil {
		return auth.User{}, err
	}
	return call(ctx, s, "verify_email", func(ctx context.Context) (auth.User, error) {
		return rs.VerifyEmail(ctx, hash, now)
	})
}

// resetResult carries ResetPassword's two results through call.
type resetResult struct {
	user    auth.User
	revoked int
}

// ResetPassword calls the inner store's ResetPassword through the breaker.
func (s *Store) ResetPassword(ctx context.Context, hash string, c auth.PasswordChange) (auth.User, int, error) {
	rs, err := s.rec()
	if err != nil {
		return auth.User{}, 0, err
	}
	r, err := call(ctx, s, "reset_password", func(ctx context.Context) (resetResult, error) {
		u, n, err := rs.ResetPassword(ctx, hash, c)
		return resetResult{u, n}, err
	})
	return r.user, r.revoked, err
}

// SetPassword calls the inner store's SetPassword through the breaker.
func (s *Store) SetPassword(ctx context.Context, c auth.PasswordChange) (int, error) {
	rs, err := s.rec()
	if err != nil {
		return 0, err
	}
	return call(ctx, s, "set_password", func(ctx context.Context) (int, error) {
		return rs.SetPassword(ctx, c)
	})
}

// SetEmailVerified calls the inner store's SetEmailVerified through the
// breaker.
func (s *Store) SetEmailVerified(ctx context.Context, userID int64, verified bool, now time.Time) (auth.User, error) {
	rs, err := s.rec()
	if err != nil {
		return auth.User{}, err
	}
	return call(ctx, s, "set_email_verified", func(ctx context.Context) (auth.User, error) {
		return rs.SetEmailVerified(ctx, userID, verified, now)
	})
}

// ClaimOutbox calls the inner store's ClaimOutbox through the breaker.
func (s *Store) ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]auth.OutboxMessage, error) {
	o, err := s.outbox()
	if err != nil {
		return nil, err
	}
	return call(ctx, s, "claim_outbox", func(ctx context.Context) ([]auth.OutboxMessage, error) {
		return o.ClaimOutbox(ctx, owner, now, lease, limit)
	})
}

// MarkSent calls the inner store's MarkSent through the breaker.
func (s *Store) MarkSent(ctx context.Context, id int64, owner string, now time.Time) error {
	o, err := s.outbox()
	if err != nil {
		return err
	}
	return exec(ctx, s, "mark_sent", func(ctx context.Context) error { return o.MarkSent(ctx, id, owner, now) })
}

// MarkRetry calls the inner store's MarkRetry through the breaker.
func (s *Store) MarkRetry(ctx context.Context, id int64, owner string, next time.Time, reason string) error {
	o, err := s.outbox()
	if err != nil {
		return err
	}
	return exec(ctx, s, "mark_retry", func(ctx context.Context) error { return o.MarkRetry(ctx, id, owner, next, reason) })
}

// MarkFailed calls the inner store's MarkFailed through the breaker.
func (s *Store) MarkFailed(ctx context.Context, id int64, owner string, now time.Time, reason string) error {
	o, err := s.outbox()
	if err != nil {
		return err
	}
	return exec(ctx, s, "mark_failed", func(ctx context.Context) error { return o.MarkFailed(ctx, id, owner, now, reason) })
}

// ReleaseOutbox calls the inner store's ReleaseOutbox through the breaker.
func (s *Store) ReleaseOutbox(ctx context.Context, id int64, owner string) error {
	o, err := s.outbox()
	if err != nil {
		return err
	}
	return exec(ctx, s, "release_outbox", func(ctx context.Context) error { return o.ReleaseOutbox(ctx, id, owner) })
}

// ListOutbox calls the inner store's ListOutbox through the breaker.
func (s *Store) ListOutbox(ctx context.Context, status string, limit int) ([]auth.OutboxMessage, error) {
	o, err := s.outbox()
	if err != nil {
		return nil, err
	}
	return call(ctx, s, "list_outbox", func(ctx context.Context) ([]auth.OutboxMessage, error) {
		return o.ListOutbox(ctx, status, limit)
	})
}

// OutboxDepth calls the inner store's OutboxDepth through the breaker.
func (s *Store) OutboxDepth(ctx context.Context) (int, error) {
	o, err := s.outbox()
	if err != nil {
		return 0, err
	}
	return call(ctx, s, "outbox_depth", o.OutboxDepth)
}

// PruneRecovery calls the inner store's PruneRecovery through the breaker.
func (s *Store) PruneRecovery(ctx context.Context, cutoff time.Time) (int64, error) {
	o, err := s.outbox()
	if err != nil {
		return 0, err
	}
	return call(ctx, s, "prune_recovery", func(ctx context.Context) (int64, error) {
		return o.PruneRecovery(ctx, cutoff)
	})
}
