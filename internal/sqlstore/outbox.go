package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

var _ auth.Outbox = (*Store)(nil)

// maxErrorLen bounds the stored delivery error.
const maxErrorLen = 500

func scanOutbox(row scanner) (auth.OutboxMessage, error) {
	var m auth.OutboxMessage
	err := row.Scan(&m.ID, &m.UserID, &m.To, &m.Kind, &m.Message.Subject, &m.Message.Text, &m.Message.HTML,
		&m.Status, &m.Attempts, timeDest{&m.CreatedAt}, timeDest{&m.NextAttemptAt}, nullTimeDest{&m.SentAt}, &m.LastError)
	return m, err
}

// ClaimOutbox claims up to limit due messages for owner in one transaction:
// on PostgreSQL, MySQL and MariaDB 10.6+ the rows are picked FOR UPDATE
// SKIP LOCKED, so replicas claiming at once take different messages; on
// MariaDB 10.5 they are picked without a lock and a replica claims only
// those still free, so replicas take turns (see claimLock); on SQLite the
// immediate transaction is the only writer. Each claim lasts until
// now+lease and counts an attempt, so that a message whose sender died
// mid-delivery still runs out of attempts.
func (s *Store) ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]auth.OutboxMessage, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return nil, s.wrap("claim outbox", err)
	}
	now = utc(now)
	var out []auth.OutboxMessage
	err = s.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.StmtContext(ctx, q.rec.claimDue).QueryContext(ctx, s.d.ts(now), s.d.ts(now), limit)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			res, err := tx.StmtContext(ctx, q.rec.claimOne).ExecContext(ctx, owner, s.d.ts(now.Add(lease)), id,
				s.d.ts(now), s.d.ts(now))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 0 {
				// Claimed by another sender since it was picked (only
				// where the pick took no lock: claimLock).
				continue
			}
			m, err := scanOutbox(tx.StmtContext(ctx, q.rec.outboxByID).QueryRowContext(ctx, id))
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("claim outbox", err)
	}
	return out, nil
}

// outboxUpdate runs one of the owner-checked updates; a message no longer
// held by owner (its lease ran out and another sender claimed it) gives
// auth.ErrNotFound.
func (s *Store) outboxUpdate(ctx context.Context, op string, pick func(*statements) *sql.Stmt, args ...any) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap(op, err)
	}
	res, err := pick(q).ExecContext(ctx, args...)
	if err != nil {
		return s.wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap(op, err)
	}
	if n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// MarkSent records a delivery and clears the body.
func (s *Store) MarkSent(ctx context.Context, id int64, owner string, now time.Time) error {
	return s.outboxUpdate(ctx, "mark sent", func(q *statements) *sql.Stmt { return q.rec.outboxSent }, s.d.ts(now), id, owner)
}

// MarkRetry releases a failed attempt, to be tried again at next.
func (s *Store) MarkRetry(ctx context.Context, id int64, owner string, next time.Time, reason string) error {
	return s.outboxUpdate(ctx, "mark retry", func(q *statements) *sql.Stmt { return q.rec.outboxRetry },
		s.d.ts(next), clip(reason), id, owner)
}

// MarkFailed gives up on a message and clears the body.
func (s *Store) MarkFailed(ctx context.Context, id int64, owner string, now time.Time, reason string) error {
	return s.outboxUpdate(ctx, "mark failed", func(q *statements) *sql.Stmt { return q.rec.outboxFailed },
		clip(reason), s.d.ts(now), id, owner)
}

// ReleaseOutbox hands back a claim that was not attempted.
func (s *Store) ReleaseOutbox(ctx context.Context, id int64, owner string) error {
	return s.outboxUpdate(ctx, "release outbox", func(q *statements) *sql.Stmt { return q.rec.outboxRelease }, id, owner)
}

// ListOutbox lists up to limit messages of status ("" for all), newest
// first.
func (s *Store) ListOutbox(ctx context.Context, status string, limit int) ([]auth.OutboxMessage, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return nil, s.wrap("list outbox", err)
	}
	out, err := collect(ctx, q.rec.listOutbox, scanOutbox, status, status, limit)
	return out, s.wrap("list outbox", err)
}

// OutboxDepth counts the pending messages.
func (s *Store) OutboxDepth(ctx context.Context) (int, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return 0, s.wrap("outbox depth", err)
	}
	var n int
	if err := q.rec.outboxDepth.QueryRowContext(ctx).Scan(&n); err != nil {
		return 0, s.wrap("outbox depth", err)
	}
	return n, nil
}

// clip bounds a stored error message, on a rune boundary.
func clip(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	r := []rune(s[:maxErrorLen])
	return string(r[:len(r)-1])
}
