package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// sessionDest lists the scan targets of sessionColumns, in order.
func sessionDest(ss *auth.Session) []any {
	return []any{&ss.ID, &ss.UserID, timeDest{&ss.CreatedAt}, timeDest{&ss.LastUsedAt},
		timeDest{&ss.ExpiresAt}, timeDest{&ss.Deadline}, nullTimeDest{&ss.RevokedAt}, &ss.ClientIP, &ss.UserAgent,
		aalDest{&ss.AAL}, amrDest{&ss.AMR}}
}

func scanSession(row scanner) (auth.Session, error) {
	var ss auth.Session
	err := row.Scan(sessionDest(&ss)...)
	return ss, err
}

// capAt returns t, or limit when t is later.
func capAt(t, limit time.Time) time.Time {
	if t.After(limit) {
		return limit
	}
	return t
}

// CreateSession stores a new login session and its first refresh token in
// one transaction. The session's and the token's expiries are capped at
// the session's deadline; the token's session and user are the session's.
// A user deleted meanwhile gives auth.ErrUserNotFound.
func (s *Store) CreateSession(ctx context.Context, ss auth.Session, first auth.RefreshToken) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("create session", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		return s.insertSession(ctx, tx, q, ss, first)
	})
	return s.wrapUser("create session", err)
}

// insertSession writes a session and its first refresh token in tx;
// CreateSession and CompleteMFA (mfa.go) share it.
func (s *Store) insertSession(ctx context.Context, tx *sql.Tx, q *statements, ss auth.Session, first auth.RefreshToken) error {
	if ss.LastUsedAt.IsZero() {
		ss.LastUsedAt = ss.CreatedAt
	}
	ss.ExpiresAt = capAt(ss.ExpiresAt, ss.Deadline)
	first.ExpiresAt = capAt(first.ExpiresAt, ss.Deadline)
	if _, err := tx.StmtContext(ctx, q.insertSession).ExecContext(ctx, ss.ID, ss.UserID,
		s.d.ts(ss.CreatedAt), s.d.ts(ss.LastUsedAt), s.d.ts(ss.ExpiresAt), s.d.ts(ss.Deadline),
		s.d.tsp(ss.RevokedAt), ss.ClientIP, ss.UserAgent, aalValue(ss.AAL), amrValue(ss.AMR)); err != nil {
		return err
	}
	if _, err := tx.StmtContext(ctx, q.insertToken).ExecContext(ctx, first.Hash, nullString(first.ParentHash),
		ss.ID, ss.UserID, s.d.ts(first.IssuedAt), s.d.ts(first.ExpiresAt), s.d.tsp(first.SpentAt)); err != nil {
		return err
	}
	// A new session is a login: its events commit with it (auth/audit.go).
	return s.writeAudit(ctx, tx, q, ss.UserID)
}

// UserForSession returns the user behind an access token in one query:
// on PostgreSQL, one shared with the lookups made at the same time
// (lookups.go); on a SQLite file, one on a reader connection of its own
// (readers.go).
func (s *Store) UserForSession(ctx context.Context, userID int64, sessionID string, now time.Time) (auth.User, error) {
	l := lookup{userID: userID, sessionID: sessionID, now: now}
	var err error
	switch {
	case s.lookups != nil:
		err = s.lookups.do(ctx, &l)
	case s.readers != nil:
		err = s.readers.lookup(ctx, &l)
	default:
		err = s.lookupOne(ctx, &l)
	}
	switch {
	case err != nil:
		return auth.User{}, s.wrap("user for session", err)
	case !l.found:
		return auth.User{}, auth.ErrUserNotFound
	case !l.live:
		return auth.User{}, auth.ErrSessionRevoked
	}
	return l.user, nil
}

// lookupOne answers l with the one-lookup statement.
func (s *Store) lookupOne(ctx context.Context, l *lookup) error {
	q, err := s.queries(ctx)
	if err != nil {
		return err
	}
	var live int64
	dest := append(userDest(&l.user), &live)
	err = q.userForSession.QueryRowContext(ctx, l.sessionID, s.d.ts(l.now), l.userID).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	l.found, l.live = err == nil, live != 0
	return err
}

// lookupMany answers a batch of lookups with one statement (PostgreSQL:
// the questions as arrays, unnested), or with the one-lookup statement
// when the batch is one.
func (s *Store) lookupMany(ctx context.Context, batch []*lookup) error {
	if len(batch) == 1 {
		return s.lookupOne(ctx, batch[0])
	}
	q, err := s.queries(ctx)
	if err != nil {
		return err
	}
	users := make([]int64, len(batch))
	sessions := make([]string, len(batch))
	at := make([]time.Time, len(batch))
	for i, l := range batch {
		users[i], sessions[i], at[i] = l.userID, l.sessionID, utc(l.now)
	}
	rows, err := q.usersForSessions.QueryContext(ctx, users, sessions, at)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var i int64
		var u auth.User
		var live bool
		if err := rows.Scan(append([]any{&i}, append(userDest(&u), &live)...)...); err != nil {
			return err
		}
		if i < 1 || i > int64(len(batch)) {
			return fmt.Errorf("batched lookup answered ordinal %d of %d", i, len(batch))
		}
		l := batch[i-1]
		l.user, l.found, l.live = u, true, live
	}
	return rows.Err()
}

// Rotate spends a refresh token and issues its successor, following the
// rules of auth.Rotation, in one transaction that holds the token and its
// session: rotations of one token, or of one session, run one after the
// other, so exactly one of several concurrent rotations finds the token
// unspent.
//
// Reuse is checked before revocation: when concurrent rotations race with
// Grace 0, the first loser revokes the session and the later ones must
// still learn that the token was reused, not merely that the session is
// gone.
func (s *Store) Rotate(ctx context.Context, r auth.Rotation) (auth.Rotated, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return auth.Rotated{}, s.wrap("rotate", err)
	}
	now := utc(r.Now)
	var out auth.Rotated
	var reused bool
	err = s.tx(ctx, func(tx *sql.Tx) error {
		out, reused = auth.Rotated{}, false
		var tok auth.RefreshToken
		var parent sql.NullString
		dest := append([]any{&parent, timeDest{&tok.IssuedAt}, timeDest{&tok.ExpiresAt}, nullTimeDest{&tok.SpentAt}},
			sessionDest(&out.Session)...)
		dest = append(dest, userDest(&out.User)...)
		err := tx.StmtContext(ctx, q.rotateLock).QueryRowContext(ctx, r.PresentedHash).Scan(dest...)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrInvalidToken
		}
		if err != nil {
			return err
		}
		ss := &out.Session
		tok.Hash, tok.SessionID, tok.UserID = r.PresentedHash, ss.ID, ss.UserID
		if parent.Valid {
			tok.ParentHash = parent.String
		}
		plan := auth.PlanRotation(auth.Rotation{PresentedHash: r.PresentedHash, Next: r.Next, Now: now, Grace: r.Grace},
			tok, *ss, out.User)
		if plan.RevokeSession {
			if _, err := tx.StmtContext(ctx, q.revokeSession).ExecContext(ctx, s.d.ts(now), ss.ID); err != nil {
				return err
			}
			ss.RevokedAt = &now
		}
		if errors.Is(plan.Err, auth.ErrRefreshReused) {
			// Theft: the revocation is committed, the reuse reported, and
			// the context's events, which describe reuse (auth/audit.go),
			// are committed with it.
			reused = true
			return s.writeAudit(ctx, tx, q, out.User.ID)
		}
		if plan.Err != nil {
			return plan.Err
		}
		if plan.Spend {
			if _, err := tx.StmtContext(ctx, q.spendToken).ExecContext(ctx, s.d.ts(now), r.PresentedHash); err != nil {
				return err
			}
		}
		next := plan.Next
		next.IssuedAt = utc(next.IssuedAt)
		next.ExpiresAt = utc(next.ExpiresAt)
		if _, err := tx.StmtContext(ctx, q.insertToken).ExecContext(ctx, next.Hash, next.ParentHash, next.SessionID,
			next.UserID, s.d.ts(next.IssuedAt), s.d.ts(next.ExpiresAt), nil); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, q.touchSession).ExecContext(ctx, s.d.ts(now), s.d.ts(next.ExpiresAt),
			ss.ID); err != nil {
			return err
		}
		ss.LastUsedAt = now
		ss.ExpiresAt = next.ExpiresAt
		out.Token = next
		return nil
	})
	switch {
	case err == nil && reused:
		return out, auth.ErrRefreshReused
	case err == nil:
		return out, nil
	case isSentinel(err):
		return auth.Rotated{}, err
	default:
		return auth.Rotated{}, s.wrap("rotate", err)
	}
}

// isSentinel reports whether err is one of the domain outcomes the
// transactions return as they are.
func isSentinel(err error) bool {
	switch err {
	case auth.ErrInvalidToken, auth.ErrSessionRevoked, auth.ErrTokenExpired, auth.ErrAccountDisabled:
		return true
	}
	return false
}

// RevokeSessionByToken revokes the session of the refresh token with this
// hash, spent or not, and returns it. A session already revoked keeps its
// first revocation time and is returned without error.
func (s *Store) RevokeSessionByToken(ctx context.Context, hash string, now time.Time) (auth.Session, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return auth.Session{}, s.wrap("revoke session by token", err)
	}
	var ss auth.Session
	if s.d.returning {
		err = s.audited(ctx, q, func(on stmtOn) (int64, error) {
			var err error
			ss, err = scanSession(on(q.revokeByToken).QueryRowContext(ctx, s.d.ts(now), hash))
			return ss.UserID, err
		})
	} else {
		// The update, then a read of the session it still holds locked.
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.StmtContext(ctx, q.revokeByToken).ExecContext(ctx, s.d.ts(now), hash); err != nil {
				return err
			}
			var err error
			if ss, err = scanSession(tx.StmtContext(ctx, q.sessionByToken).QueryRowContext(ctx, hash)); err != nil {
				return err
			}
			return s.writeAudit(ctx, tx, q, ss.UserID)
		})
	}
	switch {
	case err == nil:
		return ss, nil
	case errors.Is(err, sql.ErrNoRows):
		return auth.Session{}, auth.ErrNotFound
	default:
		return auth.Session{}, s.wrap("revoke session by token", err)
	}
}

// RevokeSession revokes one of the user's live sessions.
func (s *Store) RevokeSession(ctx context.Context, userID int64, sessionID string, now time.Time) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("revoke session", err)
	}
	t := s.d.ts(now)
	err = s.audited(ctx, q, func(on stmtOn) (int64, error) {
		res, err := on(q.revokeOwnSession).ExecContext(ctx, t, sessionID, userID, t, t)
		if err != nil {
			return 0, err
		}
		return userID, affected(res)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNoChange):
		return auth.ErrNotFound
	default:
		return s.wrap("revoke session", err)
	}
}

// RevokeAllSessions revokes every live session of the user.
func (s *Store) RevokeAllSessions(ctx context.Context, userID int64, now time.Time) (int, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return 0, s.wrap("revoke all sessions", err)
	}
	t := s.d.ts(now)
	var n int64
	err = s.audited(ctx, q, func(on stmtOn) (int64, error) {
		res, err := on(q.revokeAllSessions).ExecContext(ctx, t, userID, t, t)
		if err != nil {
			return 0, err
		}
		n, err = res.RowsAffected()
		return userID, err
	})
	if err != nil {
		return 0, s.wrap("revoke all sessions", err)
	}
	return int(n), nil
}

// ListSessions returns the user's live sessions at now, newest first.
func (s *Store) ListSessions(ctx context.Context, userID int64, now time.Time) ([]auth.Session, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return nil, s.wrap("list sessions", err)
	}
	t := s.d.ts(now)
	sessions, err := collect(ctx, q.listSessions, scanSession, userID, t, t)
	return sessions, s.wrap("list sessions", err)
}
