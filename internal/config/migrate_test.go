package config

import (
	"strings"
	"testing"

	"github.com/authserve/authserve/internal/dburl"
)

func TestMigrateDatabaseURL(t *testing.T) {
	const pooled = "postgres://app:pw@pgbouncer:6432/auth?default_query_exec_mode=exec"
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // "" for none
		wantSet bool
	}{
		{"unset", map[string]string{"AUTH_DATABASE_URL": pooled}, "", false},
		{"direct beside pooled", map[string]string{"AUTH_DATABASE_URL": pooled,
			"AUTH_MIGRATE_DATABASE_URL": "postgres://app:pw@db:5432/auth"}, "", true},
		{"not a URL", map[string]string{"AUTH_DATABASE_URL": pooled,
			"AUTH_MIGRATE_DATABASE_URL": "postgres://app:hunter2@db:bad/auth"},
			`AUTH_MIGRATE_DATABASE_URL: not a valid URL: invalid port ":bad" after host`, false},
		{"another engine", map[string]string{"AUTH_DATABASE_URL": pooled,
			"AUTH_MIGRATE_DATABASE_URL": "mysql://root:hunter2@db:3306/auth"},
			"AUTH_MIGRATE_DATABASE_URL: a mysql URL beside a postgres AUTH_DATABASE_URL", false},
		{"sqlite", map[string]string{"AUTH_MIGRATE_DATABASE_URL": "sqlite:other.db"},
			"AUTH_MIGRATE_DATABASE_URL: only for a server database", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(func(k string) string { return tc.env[k] }, t.TempDir())
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("Load() = %v, want an error starting %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("Load() error %q quotes the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() = %v", err)
			}
			m, set := c.MigrateDatabase()
			if set != tc.wantSet {
				t.Fatalf("MigrateDatabase() = %v, %v, want set %v", m, set, tc.wantSet)
			}
			if set && (m.Driver() != dburl.DriverPostgres || m.DSN() != tc.env["AUTH_MIGRATE_DATABASE_URL"]) {
				t.Errorf("MigrateDatabase() = %s %v", m.Driver(), m)
			}
		})
	}
}
