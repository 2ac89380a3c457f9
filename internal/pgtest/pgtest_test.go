package pgtest

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestWithSearchPath(t *testing.T) {
	tests := []struct {
		dsn, want string
	}{
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
			"postgres://postgres@127.0.0.1:5432/test?search_path=s1&sslmode=disable"},
		{"postgresql://u:p@h/db", "postgresql://u:p@h/db?search_path=s1"},
		{"postgres://h/db?search_path=public", "postgres://h/db?search_path=s1"},
		{"host=h dbname=db", "host=h dbname=db search_path=s1"},
	}
	for _, tc := range tests {
		got, err := withSearchPath(tc.dsn, "s1")
		if err != nil || got != tc.want {
			t.Errorf("withSearchPath(%q) = %q, %v, want %q", tc.dsn, got, err, tc.want)
		}
	}
	if _, err := withSearchPath("postgres://u:secret@h:bad/db", "s1"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("withSearchPath(bad URL) error = %v, want an error that does not quote the password", err)
	}
}

func TestSchemaName(t *testing.T) {
	valid := regexp.MustCompile(`^t_[a-z0-9_]*_[0-9a-f]{16}$`)
	for _, name := range []string{"TestX", "TestStore/SQLite/Rotate_grace", strings.Repeat("Long", 40), "Ünïcode/ÄÖ"} {
		got := schemaName(name)
		if !valid.MatchString(got) || len(got) > 63 {
			t.Errorf("schemaName(%q) = %q, want t_<name>_<16 hex>, at most 63 bytes", name, got)
		}
		if again := schemaName(name); again == got {
			t.Errorf("schemaName(%q) twice = %q both times, want unique names", name, got)
		}
	}
}

func TestDSN(t *testing.T) {
	var schema string
	t.Run("inner", func(t *testing.T) {
		dsn := DSN(t)
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect to DSN: %v", err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatalf("current_schema(): %v", err)
		}
		if !strings.HasPrefix(schema, "t_") {
			t.Errorf("current_schema() = %q, want the test's own t_… schema", schema)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE probe (id int)"); err != nil {
			t.Fatalf("create table in the test schema: %v", err)
		}
	})
	if schema == "" {
		t.Skip(EnvURL + " not set: skipping PostgreSQL tests")
	}
	dsn := DSN(t) // a second schema, just to reach the server
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		t.Fatalf("look up schema: %v", err)
	}
	if exists {
		t.Errorf("schema %s still exists after its test ended, want it dropped", schema)
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		dsn, want string
	}{
		{"postgres://postgres@127.0.0.1:6432/test?sslmode=disable&default_query_exec_mode=exec",
			"postgres://postgres@127.0.0.1:6432/t_x?sslmode=disable&default_query_exec_mode=exec"},
		{"postgresql://u:p@h", "postgresql://u:p@h/t_x"},
	}
	for _, tc := range tests {
		got, err := withDatabase(tc.dsn, "t_x")
		if err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v, want %q", tc.dsn, got, err, tc.want)
		}
	}
	for _, bad := range []string{"host=h dbname=db", "postgres://u:secret@h:bad/db"} {
		if _, err := withDatabase(bad, "t_x"); err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("withDatabase(%q) error = %v, want an error that does not quote the password", bad, err)
		}
	}
}
