package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authserve/authserve/internal/auth"
)

// SQLite faults on every writing path. sqlite_test.go shows one write on a
// read-only file and one past its deadline behind a lock; here every write
// the service makes (the plain statements and the transactions, whose
// BEGIN IMMEDIATE is where a lock bites) meets each fault: a read-only
// file, a lock held past busy_timeout (a real SQLITE_BUSY) and a lock held
// past the caller's deadline. Each must be an outage (auth.ErrUnavailable:
// a 503 and a breaker failure), never auth.ErrDatabase (a 500), and reads
// must go on working.

// seedFaultDB returns the path of a migrated SQLite database holding one
// user with one session, that user and the session's refresh token hash.
func seedFaultDB(t *testing.T) (path string, u auth.User, tokenHash string) {
	t.Helper()
	ctx := context.Background()
	path = filepath.Join(t.TempDir(), "auth.db")
	s := openMigrated(t, Options{Driver: "sqlite", DSN: path})
	u, err := s.CreateUser(ctx, auth.NewUser{Email: "alice@example.com", PasswordHash: "hash", IsActive: true})
	if err != nil {
		t.Fatalf("CreateUser() = %v", err)
	}
	now := time.Now()
	sess := auth.Session{ID: "s1", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), Deadline: now.Add(time.Hour)}
	tok := auth.RefreshToken{Hash: "h1", SessionID: "s1", UserID: u.ID, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess, tok); err != nil {
		t.Fatalf("CreateSession() = %v", err)
	}
	return path, u, tok.Hash
}

// writeOp is one of the store's writing operations.
type writeOp struct {
	name string
	do   func(context.Context, *Store) error
}

// writeOps lists the writes, each on data of its own so that only the
// fault can make it fail.
func writeOps(u auth.User, tokenHash string) []writeOp {
	now := time.Now()
	return []writeOp{
		{"CreateUser", func(ctx context.Context, s *Store) error {
			_, err := s.CreateUser(ctx, auth.NewUser{Email: "bob@example.com", PasswordHash: "hash", IsActive: true})
			return err
		}},
		{"CreateSession", func(ctx context.Context, s *Store) error {
			return s.CreateSession(ctx,
				auth.Session{ID: "s2", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), Deadline: now.Add(time.Hour)},
				auth.RefreshToken{Hash: "h2", SessionID: "s2", UserID: u.ID, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		}},
		{"Rotate", func(ctx context.Context, s *Store) error {
			_, err := s.Rotate(ctx, auth.Rotation{
				PresentedHash: tokenHash,
				Next:          auth.RefreshToken{Hash: "h3", IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
				Now:           now,
			})
			return err
		}},
		{"RevokeSession", func(ctx context.Context, s *Store) error {
			return s.RevokeSession(ctx, u.ID, "s1", now)
		}},
		{"SetUserActive", func(ctx context.Context, s *Store) error {
			_, err := s.SetUserActive(ctx, u.ID, false, now)
			return err
		}},
		{"Fail", func(ctx context.Context, s *Store) error {
			_, err := s.Fail(ctx, "pair:alice@example.com|127.0.0.1", 5, time.Minute, now)
			return err
		}},
	}
}

// holdWriteLock takes the database's write lock from a connection of its
// own, as another process would, until release is called or the test ends.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatalf("BEGIN EXCLUSIVE: %v", err)
	}
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Errorf("ROLLBACK: %v", err)
		}
		conn.Close()
		db.Close()
	}
	t.Cleanup(release)
	return release
}

func TestSQLiteWriteFaults(t *testing.T) {
	tests := []struct {
		name string
		// open returns the store under the fault and a function ending
		// the fault (nil when it cannot end).
		open func(t *testing.T, path string) (*Store, func())
		// ctxTimeout, when set, bounds each write.
		ctxTimeout time.Duration
		// wantCode is the SQLite primary result code the error must
		// carry; 0 when it is the context's error instead.
		wantCode int
		// within bounds each write's duration.
		within time.Duration
	}{
		{
			// A file or directory that is not writable makes SQLite open
			// the database read-only; mode=ro does the same for root,
			// whom permissions do not stop.
			name: "read-only",
			open: func(t *testing.T, path string) (*Store, func()) {
				return openFaultStore(t, "file:"+path+"?mode=ro"), nil
			},
			wantCode: sqlite3.SQLITE_READONLY,
			within:   2 * time.Second,
		},
		{
			// The store waits up to busy_timeout (five seconds) for a
			// lock; shortened here on the store's only connection so that
			// the real SQLITE_BUSY arrives quickly.
			name: "locked past busy_timeout",
			open: func(t *testing.T, path string) (*Store, func()) {
				s := openFaultStore(t, path)
				shortenBusyTimeout(t, s, 50*time.Millisecond)
				return s, holdWriteLock(t, path)
			},
			wantCode: sqlite3.SQLITE_BUSY,
			within:   2 * time.Second,
		},
		{
			// With the default busy_timeout the caller's deadline ends the
			// wait: the breaker relies on it to get its connection back.
			name: "locked past the deadline",
			open: func(t *testing.T, path string) (*Store, func()) {
				return openFaultStore(t, path), holdWriteLock(t, path)
			},
			ctxTimeout: 200 * time.Millisecond,
			within:     200*time.Millisecond + 2*time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, u, tokenHash := seedFaultDB(t)
			s, end := tt.open(t, path)
			for _, w := range writeOps(u, tokenHash) {
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if tt.ctxTimeout > 0 {
					ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				}
				start := time.Now()
				err := w.do(ctx, s)
				took := time.Since(start)
				cancel()
				if !errors.Is(err, auth.ErrUnavailable) || errors.Is(err, auth.ErrDatabase) {
					t.Errorf("%s = %v, want an auth.ErrUnavailable error", w.name, err)
				} else if code, _ := sqliteCode(err); code&0xff != tt.wantCode {
					t.Errorf("%s = %v (SQLite code %d), want primary code %d", w.name, err, code, tt.wantCode)
				}
				if took > tt.within {
					t.Errorf("%s took %v, want at most %v", w.name, took, tt.within)
				}
			}
			// Readers are not blocked by a writer (WAL), nor by a
			// read-only file.
			if got, err := s.UserByEmail(context.Background(), "alice@example.com"); err != nil || got.ID != u.ID {
				t.Errorf("UserByEmail during the fault = %d, %v; want user %d", got.ID, err, u.ID)
			}
			if end == nil {
				return
			}
			end()
			for _, w := range writeOps(u, tokenHash) {
				if err := w.do(context.Background(), s); err != nil {
					t.Errorf("%s after the fault ended = %v, want nil", w.name, err)
				}
			}
		})
	}
}

func openFaultStore(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Driver: "sqlite", DSN: dsn})
	if err != nil {
		t.Fatalf("Open(%q) = %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// shortenBusyTimeout leaves s with one connection, whose busy_timeout is d.
func shortenBusyTimeout(t *testing.T, s *Store, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	s.db.SetMaxOpenConns(1)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() // back to the pool, where the store's calls find it
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.FormatInt(d.Milliseconds(), 10)); err != nil {
		t.Fatal(err)
	}
}
