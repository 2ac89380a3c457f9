package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/pgtest"
)

func TestPgPooled(t *testing.T) {
	tests := []struct {
		dsn  string
		want bool
	}{
		{"postgres://u@h/db", false},
		{"postgres://u@h/db?default_query_exec_mode=cache_statement", false},
		{"postgres://u@h/db?default_query_exec_mode=cache_describe", false},
		{"postgres://u@h/db?default_query_exec_mode=exec", true},
		{"postgres://u@h/db?sslmode=disable&default_query_exec_mode=simple_protocol", true},
		{"postgres://u@h/db?default_query_exec_mode=describe_exec", true},
		{"host=h dbname=db default_query_exec_mode=exec", true},
		{"postgres://u@h/db?default_query_exec_mode=bogus", false}, // Open reports it
	}
	for _, tc := range tests {
		if _, got := pgPooled(tc.dsn); got != tc.want {
			t.Errorf("pgPooled(%q) = %v, want %v", tc.dsn, got, tc.want)
		}
	}
}

// withParam adds a query parameter to a postgres:// URL.
func withParam(dsn, param string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&" + param
	}
	return dsn + "?" + param
}

// TestPooledPreparesNothing: with default_query_exec_mode=exec the store
// leaves no named prepared statement on its server connection; without it
// the same work does (the control, which shows the check can fail).
func TestPooledPreparesNothing(t *testing.T) {
	pgtest.SkipIfUnset(t)
	tests := []struct {
		name     string
		param    string
		prepared bool
	}{
		{"default", "", true},
		{"exec", "default_query_exec_mode=exec", false},
		{"simple_protocol", "default_query_exec_mode=simple_protocol", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			if tc.param != "" {
				dsn = withParam(dsn, tc.param)
			}
			// One connection: what the store prepared is on the one the
			// check asks.
			s := openMigrated(t, Options{Driver: "postgres", DSN: dsn, MaxOpenConns: 1})
			if s.pooled == tc.prepared {
				t.Fatalf("pooled = %v for %q", s.pooled, tc.param)
			}
			ctx := context.Background()
			now := time.Now()
			u, err := s.CreateUser(ctx, auth.NewUser{Email: "p@example.com", PasswordHash: "h", IsActive: true, CreatedAt: now})
			if err != nil {
				t.Fatalf("CreateUser() = %v", err)
			}
			ss := auth.Session{ID: "s1", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), Deadline: now.Add(2 * time.Hour)}
			if err := s.CreateSession(ctx, ss, auth.RefreshToken{Hash: "t1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatalf("CreateSession() = %v", err)
			}
			if _, err := s.Rotate(ctx, auth.Rotation{PresentedHash: "t1", Next: auth.RefreshToken{Hash: "t2", ExpiresAt: now.Add(time.Hour)}, Now: now}); err != nil {
				t.Fatalf("Rotate() = %v", err)
			}
			if _, err := s.UserByEmail(ctx, "p@example.com"); err != nil {
				t.Fatalf("UserByEmail() = %v", err)
			}
			var n int
			if err := s.DB().QueryRowContext(ctx, "SELECT count(*) FROM pg_prepared_statements").Scan(&n); err != nil {
				t.Fatalf("count prepared statements: %v", err)
			}
			if (n > 0) != tc.prepared {
				t.Errorf("%d named prepared statements on the connection, want any: %v", n, tc.prepared)
			}
		})
	}
}

// TestMigrateThroughPooler: without a migration URL, replicas starting
// together migrate through the pooler itself, taking turns on a table
// lease (a session's advisory lock would stay on a lent connection).
func TestMigrateThroughPooler(t *testing.T) {
	pooled, _ := pgtest.PooledDSN(t)
	ctx := context.Background()
	const replicas = 3
	stores := make([]*Store, replicas)
	for i := range stores {
		s, err := Open(ctx, Options{Driver: "postgres", DSN: pooled})
		if err != nil {
			t.Fatalf("Open() = %v", err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Migrate() = %v", i, err)
		}
	}
	var applied, distinct int
	if err := stores[0].DB().QueryRowContext(ctx,
		"SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0").Scan(&applied, &distinct); err != nil {
		t.Fatalf("read goose_db_version: %v", err)
	}
	if applied == 0 || applied != distinct {
		t.Errorf("goose_db_version has %d applied rows for %d versions, want each version once", applied, distinct)
	}
	if _, err := stores[1].CreateUser(ctx, auth.NewUser{Email: "m@example.com", PasswordHash: "h", CreatedAt: time.Now()}); err != nil {
		t.Errorf("CreateUser() after migrating through the pooler = %v", err)
	}
}

// TestMigrateDSN: migrations take the migration URL when there is one, and
// an unreachable one is ErrMigrateDatabase, without the password.
func TestMigrateDSN(t *testing.T) {
	pooled, direct := pgtest.PooledDSN(t)
	ctx := context.Background()
	s := openMigrated(t, Options{Driver: "postgres", DSN: pooled, MigrateDSN: direct})
	current, err := s.SchemaCurrent(ctx)
	if err != nil || !current {
		t.Fatalf("SchemaCurrent() = %v, %v after Migrate, want true", current, err)
	}
	// No lease table: the direct session took the advisory lock.
	var leases bool
	if err := s.DB().QueryRowContext(ctx, "SELECT to_regclass('migration_lease') IS NOT NULL").Scan(&leases); err != nil {
		t.Fatalf("look for the lease table: %v", err)
	}
	if leases {
		t.Errorf("migration_lease exists, want the migration URL's advisory lock used instead")
	}

	unreachable := fmt.Sprintf("postgres://postgres:s3cret-pw@127.0.0.1:%d/x?connect_timeout=2", freePort(t))
	bad, err := Open(ctx, Options{Driver: "postgres", DSN: pooled, MigrateDSN: unreachable})
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	defer bad.Close()
	err = bad.Migrate(ctx)
	if !errors.Is(err, ErrMigrateDatabase) || !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("Migrate() with an unreachable migration URL = %v, want ErrMigrateDatabase, an outage", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Migrate() error %q quotes the password", err)
	}
}

// freePort returns a loopback TCP port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}
