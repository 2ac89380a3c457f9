package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// attempt is one key's lockout state: failed attempts, attempts reserved
// and still in progress, and the lock.
type attempt struct {
	failures, pending int
	lockedUntil       *time.Time
	updatedAt         time.Time
}

// expired reports whether the state no longer counts at now: lockFor has
// passed since its last change, or its lock has run out (a served lock
// starts the count afresh).
func (a *attempt) expired(now time.Time, lockFor time.Duration) bool {
	if a.lockedUntil != nil && !a.lockedUntil.After(now) {
		return true
	}
	return !a.updatedAt.Add(lockFor).After(now)
}

func (a *attempt) locked(now time.Time) bool {
	return a.lockedUntil != nil && a.lockedUntil.After(now)
}

// withAttempt runs fn on key's state inside a transaction that holds the
// key's row (PostgreSQL: FOR UPDATE; SQLite: the immediate transaction's
// write lock), and saves the state when fn reports a change. Expired state
// reaches fn as a fresh one. fn may run more than once (see Store.tx).
func (s *Store) withAttempt(ctx context.Context, op, key string, lockFor time.Duration, now time.Time,
	fn func(a *attempt) (changed bool)) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap(op, err)
	}
	now = utc(now)
	key = s.d.attemptKey(key)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var a attempt
		// A success that resets the key deletes its row: one committed
		// between our ensure (which found the row and left it) and our lock
		// leaves nothing to lock. Ensure again (a few times: resets racing
		// one key can repeat it): the row is then ours.
		for try := 1; ; try++ {
			if _, err := tx.StmtContext(ctx, q.ensureAttempt).ExecContext(ctx, key, s.d.ts(now)); err != nil {
				return err
			}
			err := tx.StmtContext(ctx, q.lockAttempt).QueryRowContext(ctx, key).Scan(
				&a.failures, &a.pending, nullTimeDest{&a.lockedUntil}, timeDest{&a.updatedAt})
			if err == nil {
				break
			}
			if !errors.Is(err, sql.ErrNoRows) || try == 10 {
				return err
			}
		}
		if a.expired(now, lockFor) {
			a = attempt{updatedAt: now}
		}
		if !fn(&a) {
			return nil
		}
		_, err := tx.StmtContext(ctx, q.saveAttempt).ExecContext(ctx, a.failures, a.pending,
			s.d.tsp(a.lockedUntil), s.d.ts(now), key)
		return err
	})
	return s.wrap(op, err)
}

// Reserve counts one attempt in progress against key, unless key is locked
// or limit attempts (failed or in progress) are already counted; then it
// returns how long to wait: until the lock ends, or auth.LockoutBusyRetry
// while attempts in progress fill the limit. A limit of zero or less
// disables the lockout.
func (s *Store) Reserve(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (time.Duration, error) {
	if limit <= 0 {
		return 0, nil
	}
	var retry time.Duration
	err := s.withAttempt(ctx, "reserve login attempt", key, lockFor, now, func(a *attempt) bool {
		now := utc(now)
		retry = 0
		switch {
		case a.locked(now):
			retry = a.lockedUntil.Sub(now)
			return false
		case a.failures+a.pending >= limit:
			retry = auth.LockoutBusyRetry
			return false
		}
		a.pending++
		return true
	})
	if err != nil {
		return 0, err
	}
	return retry, nil
}

// Fail turns a reserved attempt into a failure. The failure that brings the
// count to limit locks key for lockFor and is the only one to report
// locked.
func (s *Store) Fail(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (bool, error) {
	if limit <= 0 {
		return false, nil
	}
	var locked bool
	err := s.withAttempt(ctx, "fail login attempt", key, lockFor, now, func(a *attempt) bool {
		now := utc(now)
		locked = false
		wasLocked := a.locked(now)
		if a.pending > 0 {
			a.pending--
		}
		a.failures++
		if !wasLocked && a.failures >= limit {
			until := now.Add(lockFor)
			a.lockedUntil = &until
			locked = true
		}
		return true
	})
	if err != nil {
		return false, err
	}
	return locked, nil
}

// Succeed ends a reserved attempt that succeeded: reset forgets key
// altogether, otherwise only the reservation is released.
func (s *Store) Succeed(ctx context.Context, key string, reset bool) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("succeed login attempt", err)
	}
	stmt := q.releaseAttempt
	if reset {
		stmt = q.deleteAttempt
	}
	_, err = stmt.ExecContext(ctx, s.d.attemptKey(key))
	return s.wrap("succeed login attempt", err)
}

// PruneLoginAttempts deletes lockout state last changed before cutoff and
// reports how many keys it removed. State older than the lockout duration
// no longer counts, so now minus that duration is a safe cutoff; without
// pruning, keys that never succeed (guessed emails) stay forever.
func (s *Store) PruneLoginAttempts(ctx context.Context, cutoff time.Time) (int64, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return 0, s.wrap("prune login attempts", err)
	}
	res, err := q.pruneAttempts.ExecContext(ctx, s.d.ts(cutoff))
	if err != nil {
		return 0, s.wrap("prune login attempts", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.wrap("prune login attempts", err)
	}
	return n, nil
}
