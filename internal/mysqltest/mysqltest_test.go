package mysqltest

import (
	"context"
	"database/sql"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestDatabaseName(t *testing.T) {
	valid := regexp.MustCompile(`^authserve_t_[0-9a-f]{16}$`)
	seen := map[string]bool{}
	for range 5 {
		got := databaseName()
		if !valid.MatchString(got) || len(got) > 64 {
			t.Errorf("databaseName() = %q, want authserve_t_<16 hex>, at most 64 characters", got)
		}
		if seen[got] {
			t.Errorf("databaseName() = %q twice, want unique names", got)
		}
		seen[got] = true
	}
}

func TestAdminDSN(t *testing.T) {
	tests := []struct {
		url, want string
	}{
		{"mysql://root@127.0.0.1:3306/test", "root@tcp(127.0.0.1:3306)/?lock_wait_timeout=10"},
		{"mysql://u:p%40ss@db.example/auth?tls=true", "u:p@ss@tcp(db.example:3306)/?tls=true&lock_wait_timeout=10"},
		{"mysql://u@[::1]:3307/x?timeout=5s", "u@tcp([::1]:3307)/?timeout=5s&lock_wait_timeout=10"},
	}
	for _, tc := range tests {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		got, err := adminDSN(u)
		if err != nil || got != tc.want {
			t.Errorf("adminDSN(%q) = %q, %v, want %q", tc.url, got, err, tc.want)
		}
	}
}

func TestDSN(t *testing.T) {
	var name, dsn string
	t.Run("inner", func(t *testing.T) {
		dsn = DSN(t)
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("DSN() = %q, not a URL: %v", dsn, err)
		}
		admin, err := adminDSN(u)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := mysql.ParseDSN(admin)
		if err != nil {
			t.Fatal(err)
		}
		cfg.DBName = strings.TrimPrefix(u.Path, "/")
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ctx := context.Background()
		if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
			t.Fatalf("SELECT DATABASE(): %v", err)
		}
		if "/"+name != u.Path || !strings.HasPrefix(name, "authserve_t_") {
			t.Errorf("DATABASE() = %q for DSN path %q, want the test's own authserve_t_… database", name, u.Path)
		}
		if _, err := db.ExecContext(ctx, "CREATE TABLE probe (id INT)"); err != nil {
			t.Fatalf("create table in the test database: %v", err)
		}
	})
	if name == "" {
		t.Skip(EnvURL + " not set: skipping MySQL tests")
	}
	u, _ := url.Parse(dsn)
	admin, err := adminDSN(u)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&n); err != nil {
		t.Fatalf("look up database: %v", err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test ended, want it dropped", name)
	}
}
