package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/authserve/authserve/internal/auth"
	"github.com/jackc/pgx/v5/pgconn"
	sqlite3 "modernc.org/sqlite/lib"
)

// fault marks a driver error with the domain's kind (auth.ErrUnavailable or
// auth.ErrDatabase) while keeping the cause reachable by errors.Is/As.
type fault struct {
	kind  error
	cause error
}

func (e *fault) Error() string   { return e.kind.Error() + ": " + e.cause.Error() }
func (e *fault) Unwrap() []error { return []error{e.kind, e.cause} }

// wrap classifies a driver error for the operation op: outages get
// auth.ErrUnavailable, anything else auth.ErrDatabase.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	kind := auth.ErrDatabase
	if s.isInfrastructure(err) {
		kind = auth.ErrUnavailable
	}
	return fmt.Errorf("%s: %w", op, &fault{kind: kind, cause: err})
}

// wrapUser is wrap for writes that reference a user: a foreign-key
// failure means the user was deleted meanwhile, auth.ErrUserNotFound.
func (s *Store) wrapUser(op string, err error) error {
	if err != nil && s.d.isForeignKey(err) {
		return auth.ErrUserNotFound
	}
	return s.wrap(op, err)
}

// wrapKeep is wrap that lets through, as is, the sentinel a transaction
// returned on purpose (auth.ErrNotFound for a row that was not there).
func (s *Store) wrapKeep(op string, err, sentinel error) error {
	if errors.Is(err, sentinel) {
		return sentinel
	}
	return s.wrap(op, err)
}

// isInfrastructure reports whether err means the database could not be
// reached or could not do its work (as opposed to refusing this query).
// Connection-level errors are recognised whatever the dialect, since a
// broken pipe looks the same to both drivers.
func (s *Store) isInfrastructure(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, pgconn.ErrConnClosed):
		return true
	case errors.As(err, &connectErr):
		// Before the PgError check: a refused login (28P01) or a missing
		// database (3D000) arrives as a PgError inside a ConnectError, and
		// it is the connection that failed.
		return true
	case errors.As(err, &netErr):
		return true
	case pgconn.Timeout(err) || pgconn.SafeToRetry(err):
		// SafeToRetry: pgx failed before sending anything, i.e. while
		// acquiring or writing to the connection.
		return true
	}
	return s.d.isOutage(err)
}

// sqliteError is what modernc's *sqlite.Error offers: its fields are
// unexported, so an interface is also what lets tests build one.
type sqliteError interface {
	error
	Code() int
}

func sqliteCode(err error) (int, bool) {
	var e sqliteError
	if !errors.As(err, &e) {
		return 0, false
	}
	return e.Code(), true
}

// sqliteOutage: the database is busy beyond busy_timeout, locked, cannot
// be read, written, opened or grown, or its file turned read-only.
func sqliteOutage(err error) bool {
	code, ok := sqliteCode(err)
	if !ok {
		return false
	}
	switch code & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_PROTOCOL:
		return true
	}
	return false
}

func sqliteUnique(err error) bool {
	code, ok := sqliteCode(err)
	return ok && (code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func sqliteForeignKey(err error) bool {
	code, ok := sqliteCode(err)
	return ok && code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// pgOutage: SQLSTATE classes and codes that mean the server cannot serve
// us right now, as opposed to refusing this statement.
func pgOutage(err error) bool {
	code := pgCode(err)
	if len(code) != 5 {
		return false
	}
	switch {
	case strings.HasPrefix(code, "08"), // connection exception
		strings.HasPrefix(code, "53"), // insufficient resources: too many connections, disk full
		strings.HasPrefix(code, "58"): // system error: I/O error
		return true
	}
	switch code {
	case "57P01", // admin_shutdown
		"57P02", // crash_shutdown
		"57P03", // cannot_connect_now: starting up, recovering
		"57014", // query_canceled: statement_timeout
		"55P03", // lock_not_available: lock_timeout
		"25006": // read_only_sql_transaction: a standby after a failover
		return true
	}
	return false
}

// pgConflict: serialization_failure or deadlock_detected, after which the
// aborted work may simply run again. The store's own statements take their
// locks in one order (see dialect.lockRotation), so this is a safety net.
func pgConflict(err error) bool {
	code := pgCode(err)
	return code == "40001" || code == "40P01"
}

func pgUnique(err error) bool     { return pgCode(err) == "23505" }
func pgForeignKey(err error) bool { return pgCode(err) == "23503" }
