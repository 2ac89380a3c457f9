package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/lockouttest"
	"github.com/authserve/authserve/internal/mysqltest"
	"github.com/authserve/authserve/internal/pgtest"
	"github.com/authserve/authserve/internal/storetest"
	"github.com/jackc/pgx/v5/pgconn"
)

// engines are the ways this package is tested: SQLite always, PostgreSQL
// when AUTH_TEST_POSTGRES_URL is set, MySQL (or MariaDB) when
// AUTH_TEST_MYSQL_URL is.
var engines = []struct {
	name string
	// skip skips a test of an engine that is not available.
	skip func(t testing.TB)
	opts func(t testing.TB) Options
}{
	{"SQLiteFile", func(testing.TB) {}, func(t testing.TB) Options {
		return Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "auth.db")}
	}},
	{"SQLiteMemory", func(testing.TB) {}, func(testing.TB) Options { return Options{Driver: "sqlite", DSN: ":memory:"} }},
	{"Postgres", pgtest.SkipIfUnset, func(t testing.TB) Options {
		return Options{Driver: "postgres", DSN: pgtest.DSN(t)}
	}},
	{"MySQL", mysqltest.SkipIfUnset, func(t testing.TB) Options {
		return Options{Driver: "mysql", DSN: mysqltest.DSN(t)}
	}},
	// PostgreSQL again, through PgBouncer in transaction pooling, with
	// migrations over the direct URL as AUTH_MIGRATE_DATABASE_URL has it.
	{"PgBouncer", pgtest.SkipIfNoPgBouncer, func(t testing.TB) Options {
		pooled, direct := pgtest.PooledDSN(t)
		return Options{Driver: "postgres", DSN: pooled, MigrateDSN: direct}
	}},
}

// openMigrated opens a fresh, migrated store, closed when the test ends.
func openMigrated(t testing.TB, o Options) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, o)
	if err != nil {
		t.Fatalf("Open(%s) = %v", o.Driver, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate() = %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			e.skip(t)
			storetest.Run(t, func(t *testing.T) auth.Store { return openMigrated(t, e.opts(t)) })
		})
	}
}

func TestLockout(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			e.skip(t)
			lockouttest.Run(t, func(t *testing.T) auth.Lockout { return openMigrated(t, e.opts(t)) })
			lockouttest.RunLocked(t, func(t *testing.T) auth.Lockout { return openMigrated(t, e.opts(t)) })
		})
	}
}

func TestTxRetriesConflicts(t *testing.T) {
	base := openMigrated(t, Options{Driver: "sqlite", DSN: ":memory:"})
	// The SQLite database, judged by PostgreSQL's conflict codes.
	d := *sqliteDialect
	d.isConflict = pgConflict
	s := &Store{db: base.DB(), d: &d}
	deadlock := &pgconn.PgError{Code: "40P01"}
	other := &pgconn.PgError{Code: "23505"}
	tests := []struct {
		name      string
		errs      []error // returned by successive calls; nil afterwards
		wantCalls int
		wantErr   error
	}{
		{"success", nil, 1, nil},
		{"one deadlock", []error{deadlock}, 2, nil},
		{"serialization failure", []error{&pgconn.PgError{Code: "40001"}}, 2, nil},
		{"deadlocks throughout", []error{deadlock, deadlock, deadlock, deadlock}, 3, deadlock},
		{"other error", []error{other}, 1, other},
	}
	for _, tc := range tests {
		calls := 0
		err := s.tx(context.Background(), func(*sql.Tx) error {
			calls++
			if calls <= len(tc.errs) {
				return tc.errs[calls-1]
			}
			return nil
		})
		if calls != tc.wantCalls || !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
			t.Errorf("%s: tx = %v after %d calls, want %v after %d", tc.name, err, calls, tc.wantErr, tc.wantCalls)
		}
	}
}

// TestDeleteUserRacingRotate: deleting a user cascades through the rows a
// rotation locks, in the other order; whichever wins, neither fails.
func TestDeleteUserRacingRotate(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := openMigrated(t, e.opts(t))
			ctx := context.Background()
			now := time.Now()
			for i := range 15 {
				u, err := s.CreateUser(ctx, auth.NewUser{Email: fmt.Sprintf("u%d@example.com", i), PasswordHash: "h",
					IsActive: true, CreatedAt: now})
				if err != nil {
					t.Fatalf("CreateUser = %v", err)
				}
				id := fmt.Sprintf("s%d", i)
				if err := s.CreateSession(ctx, auth.Session{ID: id, UserID: u.ID, CreatedAt: now,
					ExpiresAt: now.Add(time.Hour), Deadline: now.Add(time.Hour)},
					auth.RefreshToken{Hash: "t" + id, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
					t.Fatalf("CreateSession = %v", err)
				}
				var wg sync.WaitGroup
				var rotateErr, deleteErr error
				wg.Go(func() {
					_, rotateErr = s.Rotate(ctx, auth.Rotation{PresentedHash: "t" + id,
						Next: auth.RefreshToken{Hash: "n" + id, ExpiresAt: now.Add(time.Hour)}, Now: now})
				})
				wg.Go(func() { deleteErr = s.DeleteUser(ctx, u.ID) })
				wg.Wait()
				if rotateErr != nil && !errors.Is(rotateErr, auth.ErrInvalidToken) {
					t.Errorf("Rotate racing DeleteUser = %v, want nil or ErrInvalidToken", rotateErr)
				}
				if deleteErr != nil {
					t.Errorf("DeleteUser racing Rotate = %v, want nil", deleteErr)
				}
			}
		})
	}
}

func TestPruneLoginAttempts(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := openMigrated(t, e.opts(t))
			ctx := context.Background()
			t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			const limit, lockFor = 2, 15 * time.Minute
			for i, key := range []string{"old1", "old2", "recent"} {
				at := t0.Add(time.Duration(i) * 10 * time.Minute) // 0, 10m, 20m
				for range limit {
					if _, err := s.Reserve(ctx, key, limit, lockFor, at); err != nil {
						t.Fatalf("Reserve(%q) = %v", key, err)
					}
					if _, err := s.Fail(ctx, key, limit, lockFor, at); err != nil {
						t.Fatalf("Fail(%q) = %v", key, err)
					}
				}
			}
			n, err := s.PruneLoginAttempts(ctx, t0.Add(15*time.Minute))
			if err != nil || n != 2 {
				t.Errorf("PruneLoginAttempts(t0+15m) = %d, %v, want 2, nil", n, err)
			}
			// The recent key is still locked; pruning forgot the others.
			now := t0.Add(25 * time.Minute)
			if retry, err := s.Reserve(ctx, "recent", limit, lockFor, now); err != nil || retry != 10*time.Minute {
				t.Errorf("Reserve(recent) after pruning = %v, %v, want 10m, nil", retry, err)
			}
			if n, err := s.PruneLoginAttempts(ctx, t0.Add(15*time.Minute)); err != nil || n != 0 {
				t.Errorf("PruneLoginAttempts again = %d, %v, want 0, nil", n, err)
			}
		})
	}
}
