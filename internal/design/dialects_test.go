package design

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/authserve/authserve/internal/mysqltest"
	"github.com/authserve/authserve/internal/pgtest"
	"github.com/authserve/authserve/internal/sqlstore"
)

// TestSchemaSameOnEveryDialect backs the schema diagram's legend: the
// PostgreSQL and MySQL/MariaDB migrations create the same tables with the
// same columns as the SQLite ones the diagram is drawn from. It runs for
// each server whose test URL is set.
func TestSchemaSameOnEveryDialect(t *testing.T) {
	want := migratedColumns(t, "sqlite", filepath.Join(t.TempDir(), "s.db"), `SELECT m.name || '.' || c.name
		FROM sqlite_schema AS m, pragma_table_info(m.name) AS c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version'`)
	// The differences the diagram's legend names, and why.
	sqliteOnly := []string{
		// SQLite has no advisory lock: a lease row serialises migrations.
		"migration_lock.expires_at", "migration_lock.id", "migration_lock.owner",
	}
	for _, tc := range []struct {
		name, driver, query string
		dsn                 func(testing.TB) string
		only                []string // columns of this dialect alone
	}{
		{"postgres", "postgres", `SELECT table_name || '.' || column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'`, pgtest.DSN, nil},
		{"mysql", "mysql", `SELECT CONCAT(table_name, '.', column_name) FROM information_schema.columns
			WHERE table_schema = DATABASE() AND table_name <> 'goose_db_version'`, mysqltest.DSN,
			// A generated LOWER(email) column carries the case-insensitive
			// unique index, as MariaDB indexes no expressions.
			[]string{"users.email_lower"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := migratedColumns(t, tc.driver, tc.dsn(t), tc.query)
			got = slices.DeleteFunc(got, func(c string) bool { return slices.Contains(tc.only, c) })
			want := slices.DeleteFunc(slices.Clone(want), func(c string) bool { return slices.Contains(sqliteOnly, c) })
			if !slices.Equal(got, want) {
				t.Errorf("%s tables.columns = %v\nwant SQLite's %v", tc.name, got, want)
			}
		})
	}
}

// migratedColumns migrates a database and returns the table.column names
// query lists, sorted.
func migratedColumns(t *testing.T, driver, dsn, query string) []string {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Options{Driver: driver, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	names, err := strings1(ctx, s.DB(), query)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("%s: no columns", driver)
	}
	slices.Sort(names)
	return names
}
