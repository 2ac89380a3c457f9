package breaker

import (
	"context"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// The op names below label Observer.DBCall reports (and so metrics); they
// are the Store and Lockout method names in snake case.

// CreateUser calls the inner store's CreateUser through the breaker.
func (s *Store) CreateUser(ctx context.Context, u auth.NewUser) (auth.User, error) {
	return call(ctx, s, "create_user", func(ctx context.Context) (auth.User, error) {
		return s.inner.CreateUser(ctx, u)
	})
}

// UserByEmail calls the inner store's UserByEmail through the breaker.
func (s *Store) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	return call(ctx, s, "user_by_email", func(ctx context.Context) (auth.User, error) {
		return s.inner.UserByEmail(ctx, email)
	})
}

// UserByID calls the inner store's UserByID through the breaker.
func (s *Store) UserByID(ctx context.Context, id int64) (auth.User, error) {
	return call(ctx, s, "user_by_id", func(ctx context.Context) (auth.User, error) {
		return s.inner.UserByID(ctx, id)
	})
}

// ListUsers calls the inner store's ListUsers through the breaker.
func (s *Store) ListUsers(ctx context.Context, limit int) ([]auth.User, error) {
	return call(ctx, s, "list_users", func(ctx context.Context) ([]auth.User, error) {
		return s.inner.ListUsers(ctx, limit)
	})
}

// SetUserActive calls the inner store's SetUserActive through the breaker.
func (s *Store) SetUserActive(ctx context.Context, id int64, active bool, now time.Time) (auth.User, error) {
	return call(ctx, s, "set_user_active", func(ctx context.Context) (auth.User, error) {
		return s.inner.SetUserActive(ctx, id, active, now)
	})
}

// DeleteUser calls the inner store's DeleteUser through the breaker.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return exec(ctx, s, "delete_user", func(ctx context.Context) error {
		return s.inner.DeleteUser(ctx, id)
	})
}

// CreateSession calls the inner store's CreateSession through the breaker.
func (s *Store) CreateSession(ctx context.Context, sess auth.Session, first auth.RefreshToken) error {
	return exec(ctx, s, "create_session", func(ctx context.Context) error {
		return s.inner.CreateSession(ctx, sess, first)
	})
}

// UserForSession calls the inner store's UserForSession through the breaker.
func (s *Store) UserForSession(ctx context.Context, userID int64, sessionID string, now time.Time) (auth.User, error) {
	return call(ctx, s, "user_for_session", func(ctx context.Context) (auth.User, error) {
		return s.inner.UserForSession(ctx, userID, sessionID, now)
	})
}

// Rotate calls the inner store's Rotate through the breaker. Its result is
// passed on with domain errors too: auth.ErrRefreshReused comes with the
// session and user filled in.
func (s *Store) Rotate(ctx context.Context, r auth.Rotation) (auth.Rotated, error) {
	return call(ctx, s, "rotate", func(ctx context.Context) (auth.Rotated, error) {
		return s.inner.Rotate(ctx, r)
	})
}

// RevokeSessionByToken calls the inner store's RevokeSessionByToken through
// the breaker.
func (s *Store) RevokeSessionByToken(ctx context.Context, hash string, now time.Time) (auth.Session, error) {
	return call(ctx, s, "revoke_session_by_token", func(ctx context.Context) (auth.Session, error) {
		return s.inner.RevokeSessionByToken(ctx, hash, now)
	})
}

// RevokeSession calls the inner store's RevokeSession through the breaker.
func (s *Store) RevokeSession(ctx context.Context, userID int64, sessionID string, now time.Time) error {
	return exec(ctx, s, "revoke_session", func(ctx context.Context) error {
		return s.inner.RevokeSession(ctx, userID, sessionID, now)
	})
}

// RevokeAllSessions calls the inner store's RevokeAllSessions through the
// breaker.
func (s *Store) RevokeAllSessions(ctx context.Context, userID int64, now time.Time) (int, error) {
	return call(ctx, s, "revoke_all_sessions", func(ctx context.Context) (int, error) {
		return s.inner.RevokeAllSessions(ctx, userID, now)
	})
}

// ListSessions calls the inner store's ListSessions through the breaker.
func (s *Store) ListSessions(ctx context.Context, userID int64, now time.Time) ([]auth.Session, error) {
	return call(ctx, s, "list_sessions", func(ctx context.Context) ([]auth.Session, error) {
		return s.inner.ListSessions(ctx, userID, now)
	})
}

// Ping calls the inner store's Ping through the breaker, so readiness
// checks both see an open circuit and serve as half-open trials.
func (s *Store) Ping(ctx context.Context) error {
	return exec(ctx, s, "ping", s.inner.Ping)
}

// Reserve calls the lockout store's Reserve through the breaker.
func (s *Store) Reserve(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (time.Duration, error) {
	if s.lock == nil {
		return 0, errNoLockout
	}
	return call(ctx, s, "lockout_reserve", func(ctx context.Context) (time.Duration, error) {
		return s.lock.Reserve(ctx, key, limit, lockFor, now)
	})
}

// Fail calls the lockout store's Fail through the breaker.
func (s *Store) Fail(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (bool, error) {
	if s.lock == nil {
		return false, errNoLockout
	}
	return call(ctx, s, "lockout_fail", func(ctx context.Context) (bool, error) {
		return s.lock.Fail(ctx, key, limit, lockFor, now)
	})
}

// Succeed calls the lockout store's Succeed through the breaker.
func (s *Store) Succeed(ctx context.Context, key string, reset bool) error {
	if s.lock == nil {
		return errNoLockout
	}
	return exec(ctx, s, "lockout_succeed", func(ctx context.Context) error {
		return s.lock.Succeed(ctx, key, reset)
	})
}
