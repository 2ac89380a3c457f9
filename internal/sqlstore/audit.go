package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// The audit log (auth.AuditStore), and the helpers that commit the audit
// events of a state change in its transaction (see auth/audit.go).

var _ auth.AuditStore = (*Store)(nil)

const (
	auditColumns = `id, occurred_at, event, user_id, actor, client_ip, user_agent, request_id, details`

	qInsertAudit = `INSERT INTO audit_events
(occurred_at, event, user_id, actor, client_ip, user_agent, request_id, details)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qPruneAudit = `DELETE FROM audit_events WHERE occurred_at < ?`

	// qListAudit* are newest first from a cursor: occurred_at, then id,
	// both descending, so that events written while a client pages (all
	// newer than what it has seen) never shift its later pages. A first
	// page's cursor is past every event.
	qListAuditHead = `SELECT ` + auditColumns + ` FROM audit_events WHERE occurred_at >= ?
AND (occurred_at < ? OR (occurred_at = ? AND id < ?))`
	qListAuditTail = ` ORDER BY occurred_at DESC, id DESC LIMIT ?`
)

// auditListQueries are the prepared variants of the audit listing: one
// per combination of filters, so that each can use its index.
type auditListQueries struct {
	all, byUser, byEvent, byUserEvent *sql.Stmt
}

func auditListSQL() (all, byUser, byEvent, byUserEvent string) {
	return qListAuditHead + qListAuditTail,
		qListAuditHead + ` AND user_id = ?` + qListAuditTail,
		qListAuditHead + ` AND event = ?` + qListAuditTail,
		qListAuditHead + ` AND user_id = ? AND event = ?` + qListAuditTail
}

// stmtOn gives the form of a prepared statement to run: itself, or its
// form inside a transaction.
type stmtOn func(*sql.Stmt) *sql.Stmt

// audited runs fn, a state change of one statement, with the audit events
// of ctx: without any, fn runs on the pool as it always did; with some, fn
// and the events' insert run in one transaction. fn returns the id of the
// user whose state it changed, for events that name none. fn may run more
// than once (see Store.tx).
func (s *Store) audited(ctx context.Context, q *statements, fn func(on stmtOn) (subject int64, err error)) error {
	if len(auth.PendingAudit(ctx)) == 0 {
		_, err := fn(func(st *sql.Stmt) *sql.Stmt { return st })
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		subject, err := fn(func(st *sql.Stmt) *sql.Stmt { return tx.StmtContext(ctx, st) })
		if err != nil {
			return err
		}
		return s.writeAudit(ctx, tx, q, subject)
	})
}

// txAudit is Store.tx for a change of the user subject: fn, then the
// audit events of ctx, in one transaction.
func (s *Store) txAudit(ctx context.Context, q *statements, subject int64, fn func(tx *sql.Tx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.writeAudit(ctx, tx, q, subject)
	})
}

// writeAudit inserts the audit events of ctx in tx; those that name no
// user get subject.
func (s *Store) writeAudit(ctx context.Context, tx *sql.Tx, q *statements, subject int64) error {
	return s.writeEvents(ctx, tx, q, auth.PendingAudit(ctx), subject)
}

func (s *Store) writeEvents(ctx context.Context, tx *sql.Tx, q *statements, events []auth.AuditEvent, subject int64) error {
	if len(events) == 0 {
		return nil
	}
	stmt := tx.StmtContext(ctx, q.insertAudit)
	for _, ev := range events {
		if ev.UserID == 0 {
			ev.UserID = subject
		}
		args, err := s.auditArgs(ev)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) auditArgs(ev auth.AuditEvent) ([]any, error) {
	details := []byte("{}")
	if len(ev.Details) > 0 {
		var err error
		if details, err = json.Marshal(ev.Details); err != nil {
			return nil, err
		}
	}
	var user any
	if ev.UserID != 0 {
		user = ev.UserID
	}
	at := ev.OccurredAt
	if at.IsZero() {
		at = time.Now()
	}
	return []any{s.d.ts(at), ev.Event, user, ev.Actor, ev.ClientIP, ev.UserAgent, ev.RequestID, string(details)}, nil
}

// InsertAudit writes events that accompany no state change, in one
// transaction.
func (s *Store) InsertAudit(ctx context.Context, events []auth.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("insert audit events", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		return s.writeEvents(ctx, tx, q, events, 0)
	})
	return s.wrap("insert audit events", err)
}

// ListAudit returns events matching q, newest first.
func (s *Store) ListAudit(ctx context.Context, aq auth.AuditQuery) ([]auth.AuditEvent, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return nil, s.wrap("list audit events", err)
	}
	before, beforeID := time.Unix(0, math.MaxInt64), int64(math.MaxInt64)
	if aq.After != nil {
		before, beforeID = aq.After.OccurredAt, aq.After.ID
	}
	since := aq.Since
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	args := []any{s.d.ts(since), s.d.ts(before), s.d.ts(before), beforeID}
	stmt := q.listAudit.all
	switch {
	case aq.UserID != 0 && aq.Event != "":
		stmt, args = q.listAudit.byUserEvent, append(args, aq.UserID, aq.Event)
	case aq.UserID != 0:
		stmt, args = q.listAudit.byUser, append(args, aq.UserID)
	case aq.Event != "":
		stmt, args = q.listAudit.byEvent, append(args, aq.Event)
	}
	out, err := collect(ctx, stmt, scanAuditEvent, append(args, aq.Limit)...)
	return out, s.wrap("list audit events", err)
}

// scanAuditEvent reads one row of the listAudit queries; details is JSON.
func scanAuditEvent(row scanner) (auth.AuditEvent, error) {
	var ev auth.AuditEvent
	var user sql.NullInt64
	var details []byte
	if err := row.Scan(&ev.ID, timeDest{&ev.OccurredAt}, &ev.Event, &user, &ev.Actor, &ev.ClientIP,
		&ev.UserAgent, &ev.RequestID, &details); err != nil {
		return ev, err
	}
	ev.UserID = user.Int64
	if len(details) > 0 {
		if err := json.Unmarshal(details, &ev.Details); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

// PruneAudit deletes events that occurred before cutoff.
func (s *Store) PruneAudit(ctx context.Context, cutoff time.Time) (int64, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return 0, s.wrap("prune audit events", err)
	}
	res, err := q.pruneAudit.ExecContext(ctx, s.d.ts(cutoff))
	if err != nil {
		return 0, s.wrap("prune audit events", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.wrap("prune audit events", err)
	}
	return n, nil
}

// errNoChange aborts an audited change that found nothing to change, so
// that its events are not committed; callers map it to their sentinel.
var errNoChange = errors.New("nothing changed")

// affected returns errNoChange when res changed no row.
func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return errNoChange
	}
	return nil
}
