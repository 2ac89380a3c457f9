package dburl

import (
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw               string
		driver, dsn, path string
		memory, ro, file  bool
		printed           string
	}{
		{"sqlite:authserve.db", "sqlite", "authserve.db", "authserve.db", false, false, true, "sqlite:authserve.db"},
		{"SQLite:/tmp/a.db?_pragma=foreign_keys(1)", "sqlite", "/tmp/a.db?_pragma=foreign_keys(1)", "/tmp/a.db", false, false, true, "sqlite:/tmp/a.db"},
		{"sqlite::memory:", "sqlite", ":memory:", ":memory:", true, false, false, "sqlite::memory:"},
		{"sqlite:file:x?mode=memory", "sqlite", "file:x?mode=memory", "x", true, false, false, "sqlite:x"},
		{"sqlite:file::memory:?cache=shared", "sqlite", "file::memory:?cache=shared", ":memory:", true, false, false, "sqlite::memory:"},
		{"sqlite:file:data/a.db?mode=ro", "sqlite", "file:data/a.db?mode=ro", "data/a.db", false, true, true, "sqlite:data/a.db"},
		{"postgres://u:p@h:5432/d?sslmode=disable", "postgres", "postgres://u:p@h:5432/d?sslmode=disable", "", false, false, false, "postgres://u:xxxxx@h:5432/d"},
		{"postgresql:///d?host=/run/postgresql", "postgres", "postgresql:///d?host=/run/postgresql", "", false, false, false, "postgresql:///d"},
		{"mysql://u:p@h:3306/d", "mysql", "mysql://u:p@h:3306/d", "", false, false, false, "mysql://u:xxxxx@h:3306/d"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.raw)
		if err != nil {
			t.Errorf("Parse(%q) error = %v", tt.raw, err)
			continue
		}
		if got.Driver() != tt.driver || got.DSN() != tt.dsn || got.Path() != tt.path ||
			got.InMemory() != tt.memory || got.ReadOnly() != tt.ro || got.File() != tt.file {
			t.Errorf("Parse(%q) = driver %q dsn %q path %q memory %v ro %v file %v, want %q %q %q %v %v %v", tt.raw,
				got.Driver(), got.DSN(), got.Path(), got.InMemory(), got.ReadOnly(), got.File(),
				tt.driver, tt.dsn, tt.path, tt.memory, tt.ro, tt.file)
		}
		for _, verb := range []string{"%v", "%+v", "%s", "%#v", "%q", "%x"} {
			if out := fmt.Sprintf(verb, struct{ DB URL }{got}); strings.Contains(out, ":p@") {
				t.Errorf("Sprintf(%s) of Parse(%q) = %s, reveals the password", verb, tt.raw, out)
			}
		}
		if got.String() != tt.printed {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.raw, got.String(), tt.printed)
		}
	}
	bad := []string{"", "sqlite://auth.db", "sqlite:", "sqlite:?mode=memory", "postgres:auth", "mysql:x", "redis://h", "C:\\data\\auth.db", "://x"}
	for _, raw := range bad {
		if got, err := Parse(raw); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", raw, got)
		}
	}
}

func TestFromDSN(t *testing.T) {
	if _, err := FromDSN("oracle", "x"); err == nil {
		t.Error(`FromDSN("oracle", "x") = nil error, want unknown driver`)
	}
	u, err := FromDSN("sqlite", ":memory:")
	if err != nil || !u.InMemory() || u.File() {
		t.Errorf(`FromDSN("sqlite", ":memory:") = %v (memory %v), %v; want in memory`, u, u.InMemory(), err)
	}
}
