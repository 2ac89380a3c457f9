package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/jackc/pgx/v5/pgconn"
	sqlite3 "modernc.org/sqlite/lib"
)

// fakeSQLiteError has the shape of modernc's *sqlite.Error, whose fields
// cannot be set from outside its package.
type fakeSQLiteError int

func (e fakeSQLiteError) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e fakeSQLiteError) Code() int     { return int(e) }

func TestClassification(t *testing.T) {
	pg := &Store{d: postgresDialect}
	lite := &Store{d: sqliteDialect}
	tests := []struct {
		name       string
		s          *Store
		err        error
		wantKind   error // auth.ErrUnavailable or auth.ErrDatabase
		wantUnique bool
		wantFK     bool
	}{
		// Whatever the engine.
		{"deadline", lite, fmt.Errorf("query: %w", context.DeadlineExceeded), auth.ErrUnavailable, false, false},
		{"canceled", pg, context.Canceled, auth.ErrUnavailable, false, false},
		{"bad conn", pg, driver.ErrBadConn, auth.ErrUnavailable, false, false},
		{"conn done", pg, sql.ErrConnDone, auth.ErrUnavailable, false, false},
		{"EOF", pg, io.EOF, auth.ErrUnavailable, false, false},
		{"unexpected EOF", pg, fmt.Errorf("read: %w", io.ErrUnexpectedEOF), auth.ErrUnavailable, false, false},
		{"refused", pg, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, auth.ErrUnavailable, false, false},
		{"reset", pg, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, auth.ErrUnavailable, false, false},
		{"pgx conn closed", pg, pgconn.ErrConnClosed, auth.ErrUnavailable, false, false},
		{"other", pg, errors.New("boom"), auth.ErrDatabase, false, false},
		{"no rows reaching wrap", lite, sql.ErrNoRows, auth.ErrDatabase, false, false},

		// PostgreSQL SQLSTATEs.
		{"pg unique", pg, &pgconn.PgError{Code: "23505"}, auth.ErrDatabase, true, false},
		{"pg foreign key", pg, &pgconn.PgError{Code: "23503"}, auth.ErrDatabase, false, true},
		{"pg check", pg, &pgconn.PgError{Code: "23514"}, auth.ErrDatabase, false, false},
		{"pg too long", pg, &pgconn.PgError{Code: "22001"}, auth.ErrDatabase, false, false},
		{"pg undefined table", pg, &pgconn.PgError{Code: "42P01"}, auth.ErrDatabase, false, false},
		{"pg deadlock", pg, &pgconn.PgError{Code: "40P01"}, auth.ErrDatabase, false, false},
		{"pg connection failure", pg, &pgconn.PgError{Code: "08006"}, auth.ErrUnavailable, false, false},
		{"pg connection exception", pg, &pgconn.PgError{Code: "08000"}, auth.ErrUnavailable, false, false},
		{"pg too many connections", pg, &pgconn.PgError{Code: "53300"}, auth.ErrUnavailable, false, false},
		{"pg disk full", pg, &pgconn.PgError{Code: "53100"}, auth.ErrUnavailable, false, false},
		{"pg admin shutdown", pg, &pgconn.PgError{Code: "57P01"}, auth.ErrUnavailable, false, false},
		{"pg crash shutdown", pg, &pgconn.PgError{Code: "57P02"}, auth.ErrUnavailable, false, false},
		{"pg cannot connect now", pg, &pgconn.PgError{Code: "57P03"}, auth.ErrUnavailable, false, false},
		{"pg statement timeout", pg, &pgconn.PgError{Code: "57014"}, auth.ErrUnavailable, false, false},
		{"pg read-only standby", pg, &pgconn.PgError{Code: "25006"}, auth.ErrUnavailable, false, false},
		{"pg io error", pg, &pgconn.PgError{Code: "58030"}, auth.ErrUnavailable, false, false},
		{"pg wrapped", pg, fmt.Errorf("exec: %w", &pgconn.PgError{Code: "57P01"}), auth.ErrUnavailable, false, false},

		// SQLite result codes, primary and extended.
		{"sqlite unique", lite, fakeSQLiteError(sqlite3.SQLITE_CONSTRAINT_UNIQUE), auth.ErrDatabase, true, false},
		{"sqlite primary key", lite, fakeSQLiteError(sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY), auth.ErrDatabase, true, false},
		{"sqlite foreign key", lite, fakeSQLiteError(sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY), auth.ErrDatabase, false, true},
		{"sqlite check", lite, fakeSQLiteError(sqlite3.SQLITE_CONSTRAINT_CHECK), auth.ErrDatabase, false, false},
		{"sqlite generic error", lite, fakeSQLiteError(sqlite3.SQLITE_ERROR), auth.ErrDatabase, false, false},
		{"sqlite corrupt", lite, fakeSQLiteError(sqlite3.SQLITE_CORRUPT), auth.ErrDatabase, false, false},
		{"sqlite busy", lite, fakeSQLiteError(sqlite3.SQLITE_BUSY), auth.ErrUnavailable, false, false},
		{"sqlite busy snapshot", lite, fakeSQLiteError(sqlite3.SQLITE_BUSY_SNAPSHOT), auth.ErrUnavailable, false, false},
		{"sqlite locked", lite, fakeSQLiteError(sqlite3.SQLITE_LOCKED), auth.ErrUnavailable, false, false},
		{"sqlite ioerr", lite, fakeSQLiteError(sqlite3.SQLITE_IOERR), auth.ErrUnavailable, false, false},
		{"sqlite ioerr fsync", lite, fakeSQLiteError(sqlite3.SQLITE_IOERR_FSYNC), auth.ErrUnavailable, false, false},
		{"sqlite cantopen", lite, fakeSQLiteError(sqlite3.SQLITE_CANTOPEN), auth.ErrUnavailable, false, false},
		{"sqlite full", lite, fakeSQLiteError(sqlite3.SQLITE_FULL), auth.ErrUnavailable, false, false},
		{"sqlite readonly", lite, fakeSQLiteError(sqlite3.SQLITE_READONLY), auth.ErrUnavailable, false, false},
		{"sqlite readonly dbmoved", lite, fakeSQLiteError(sqlite3.SQLITE_READONLY_DBMOVED), auth.ErrUnavailable, false, false},
		{"sqlite wrapped", lite, fmt.Errorf("step: %w", fakeSQLiteError(sqlite3.SQLITE_BUSY)), auth.ErrUnavailable, false, false},
	}
	for _, tc := range tests {
		err := tc.s.wrap("op", tc.err)
		other := auth.ErrDatabase
		if tc.wantKind == auth.ErrDatabase {
			other = auth.ErrUnavailable
		}
		if !errors.Is(err, tc.wantKind) || errors.Is(err, other) || !errors.Is(err, tc.err) {
			t.Errorf("%s: wrap(%v) = %v, want %v and only it, with the cause kept", tc.name, tc.err, err, tc.wantKind)
		}
		if got := tc.s.d.isUnique(tc.err); got != tc.wantUnique {
			t.Errorf("%s: isUnique(%v) = %v, want %v", tc.name, tc.err, got, tc.wantUnique)
		}
		if got := tc.s.d.isForeignKey(tc.err); got != tc.wantFK {
			t.Errorf("%s: isForeignKey(%v) = %v, want %v", tc.name, tc.err, got, tc.wantFK)
		}
	}
	if err := pg.wrap("op", nil); err != nil {
		t.Errorf("wrap(nil) = %v, want nil", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		opts Options
		want error // nil: any error that is neither kind
	}{
		{"unknown driver", Options{Driver: "oracle", DSN: "x"}, nil},
		{"empty DSN", Options{Driver: "sqlite"}, nil},
		{"postgres refused", Options{Driver: "postgres", DSN: "postgres://u@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"},
			auth.ErrUnavailable},
		{"sqlite directory missing",
			Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "missing", "auth.db")}, auth.ErrUnavailable},
	}
	for _, tc := range tests {
		s, err := Open(ctx, tc.opts)
		if err == nil {
			s.Close()
			t.Errorf("%s: Open = nil error, want one", tc.name)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: Open = %v, want %v", tc.name, err, tc.want)
		}
		if tc.want == nil && (errors.Is(err, auth.ErrUnavailable) || errors.Is(err, auth.ErrDatabase)) {
			t.Errorf("%s: Open = %v, want a configuration error", tc.name, err)
		}
	}
	// Open does not create the missing parent directory.
	dir := filepath.Join(t.TempDir(), "missing")
	if _, err := Open(ctx, Options{Driver: "sqlite", DSN: filepath.Join(dir, "auth.db")}); err == nil {
		t.Errorf("Open(file in a missing directory) = nil error")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open created the missing directory %s (stat: %v)", dir, err)
	}
}

func TestContextEndIsUnavailable(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := openMigrated(t, e.opts(t))
			canceled, cancel := context.WithCancel(context.Background())
			cancel()
			expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			defer cancel2()
			for name, ctx := range map[string]context.Context{"canceled": canceled, "expired": expired} {
				if _, err := s.UserByID(ctx, 1); !errors.Is(err, auth.ErrUnavailable) {
					t.Errorf("UserByID(%s context) = %v, want ErrUnavailable", name, err)
				}
				if _, err := s.Rotate(ctx, auth.Rotation{PresentedHash: "x", Now: time.Now()}); !errors.Is(err, auth.ErrUnavailable) {
					t.Errorf("Rotate(%s context) = %v, want ErrUnavailable", name, err)
				}
			}
		})
	}
}
