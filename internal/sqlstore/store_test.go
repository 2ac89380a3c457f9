package sqlstore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/pgtest"
	"github.com/authserve/authserve/internal/storetest"
)

// engines are the ways this package is tested: SQLite always, PostgreSQL
// when AUTH_TEST_POSTGRES_URL is set.
var engines = []struct {
	name string
	opts func(t testing.TB) Options
}{
	{"SQLiteFile", func(t testing.TB) Options {
		return Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "auth.db")}
	}},
	{"SQLiteMemory", func(testing.TB) Options { return Options{Driver: "sqlite", DSN: ":memory:"} }},
	{"Postgres", func(t testing.TB) Options { return Options{Driver: "postgres", DSN: pgtest.DSN(t)} }},
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
			storetest.Run(t, func(t *testing.T) auth.Store { return openMigrated(t, e.opts(t)) })
		})
	}
}

func TestLockout(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			storetest.RunLockout(t, func(t *testing.T) auth.Lockout { return openMigrated(t, e.opts(t)) })
		})
	}
}
