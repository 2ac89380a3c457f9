package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// migrationStates parses MigrateStatus output into "file state" lines.
func migrationStates(t *testing.T, s *Store) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := s.MigrateStatus(context.Background(), &buf); err != nil {
		t.Fatalf("MigrateStatus() = %v", err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "MIGRATION") {
		t.Fatalf("MigrateStatus() output %q, want a header line first", buf.String())
	}
	applied := regexp.MustCompile(`^\S+\s+applied\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	pending := regexp.MustCompile(`^\S+\s+pending\s+-$`)
	var states []string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if !applied.MatchString(l) && !pending.MatchString(l) {
			t.Errorf("MigrateStatus() line %q, want FILE applied TIME or FILE pending -", l)
			continue
		}
		states = append(states, f[0]+" "+f[1])
	}
	return states
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	// states lists every embedded migration (the same set on every
	// engine), the first applied ones "applied", the rest "pending".
	entries, err := migrations.ReadDir("migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
	}
	if len(files) < 3 {
		t.Fatalf("embedded migrations = %q, want at least 3", files)
	}
	states := func(applied int) []string {
		out := make([]string, len(files))
		for i := range files {
			state := "pending"
			if i < applied {
				state = "applied"
			}
			out[i] = files[i] + " " + state
		}
		return out
	}
	n := len(files)
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s, err := Open(ctx, e.opts(t))
			if err != nil {
				t.Fatalf("Open() = %v", err)
			}
			defer s.Close()
			user := auth.NewUser{Email: "m@example.com", PasswordHash: "h", IsActive: true, CreatedAt: time.Now()}

			// Open does not migrate: queries fail, as a database fault.
			if _, err := s.CreateUser(ctx, user); !errors.Is(err, auth.ErrDatabase) {
				t.Errorf("CreateUser before Migrate = %v, want ErrDatabase", err)
			}
			steps := []struct {
				name string
				do   func() error
				want []string
			}{
				{"fresh", nil, states(0)},
				{"up", func() error { return s.Migrate(ctx) }, states(n)},
				{"up again", func() error { return s.Migrate(ctx) }, states(n)},
				{"down", func() error { return s.MigrateDown(ctx) }, states(n - 1)},
				{"down", func() error { return s.MigrateDown(ctx) }, states(n - 2)},
				{"up", func() error { return s.Migrate(ctx) }, states(n)},
			}
			for _, step := range steps {
				if step.do != nil {
					if err := step.do(); err != nil {
						t.Fatalf("%s: %v", step.name, err)
					}
				}
				if got := migrationStates(t, s); strings.Join(got, ",") != strings.Join(step.want, ",") {
					t.Errorf("after %s: MigrateStatus = %q, want %q", step.name, got, step.want)
				}
			}
			// Statements prepared before the schema changed are not reused.
			if _, err := s.CreateUser(ctx, user); err != nil {
				t.Errorf("CreateUser after down and up = %v, want nil", err)
			}
			for range n {
				if err := s.MigrateDown(ctx); err != nil {
					t.Fatalf("MigrateDown() = %v", err)
				}
			}
			if err := s.MigrateDown(ctx); !errors.Is(err, ErrNoMigration) {
				t.Errorf("MigrateDown() with nothing applied = %v, want ErrNoMigration", err)
			}
		})
	}
}

// TestMigrateConcurrently: replicas starting together each run Migrate.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines {
		if e.name == "SQLiteMemory" { // one connection: nothing to race
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			o := e.opts(t)
			const n = 3
			errs := make(chan error, n)
			for range n {
				go func() {
					s, err := Open(ctx, o)
					if err != nil {
						errs <- err
						return
					}
					defer s.Close()
					errs <- s.Migrate(ctx)
				}()
			}
			for range n {
				if err := <-errs; err != nil {
					t.Errorf("concurrent Migrate() = %v, want nil", err)
				}
			}
		})
	}
}

// TestSchemaCurrentChangesNothing: asking whether the schema is current
// (start-up with AUTH_AUTO_MIGRATE=false, the read-only commands) must not
// create goose's version table in an empty database.
func TestSchemaCurrentChangesNothing(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			e.skip(t)
			s, err := Open(ctx, e.opts(t))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if current, err := s.SchemaCurrent(ctx); err != nil || current {
				t.Fatalf("SchemaCurrent() on an empty database = %v, %v; want false, nil", current, err)
			}
			var exists bool
			if err := s.db.QueryRowContext(ctx, versionTableExists[s.d]).Scan(&exists); err != nil || exists {
				t.Fatalf("version table after SchemaCurrent: exists %v (%v), want not created", exists, err)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if current, err := s.SchemaCurrent(ctx); err != nil || !current {
				t.Errorf("SchemaCurrent() after Migrate = %v, %v; want true, nil", current, err)
			}
		})
	}
}
