package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

func sqliteFile(t testing.TB) Options {
	return Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "auth.db")}
}

func TestSQLitePragmasOnEveryConnection(t *testing.T) {
	s := openMigrated(t, sqliteFile(t))
	ctx := context.Background()
	// Hold every connection of the pool at once, so none is reused.
	n := s.DB().Stats().MaxOpenConnections
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatalf("Conn() #%d = %v", i, err)
		}
		defer c.Close()
		conns[i] = c
	}
	tests := []struct {
		pragma string
		want   string
	}{
		{"busy_timeout", "5000"},
		{"foreign_keys", "1"},
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
	}
	for i, c := range conns {
		for _, tc := range tests {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s = %v", tc.pragma, err)
			}
			if got != tc.want {
				t.Errorf("connection %d: PRAGMA %s = %q, want %q", i, tc.pragma, got, tc.want)
			}
		}
	}
}

func TestSQLiteMemoryIsOneLastingConnection(t *testing.T) {
	s := openMigrated(t, Options{Driver: "sqlite", DSN: ":memory:", MaxOpenConns: 8, ConnMaxIdleTime: time.Millisecond})
	if got := s.DB().Stats().MaxOpenConnections; got != 1 {
		t.Errorf("MaxOpenConnections for :memory: = %d, want 1 (each connection is its own database)", got)
	}
	ctx := context.Background()
	u, err := s.CreateUser(ctx, auth.NewUser{Email: "m@example.com", PasswordHash: "h", IsActive: true})
	if err != nil {
		t.Fatalf("CreateUser = %v", err)
	}
	time.Sleep(5 * time.Millisecond) // past the ConnMaxIdleTime asked for
	if _, err := s.UserByID(ctx, u.ID); err != nil {
		t.Errorf("UserByID after the connection idled = %v, want the user (database kept alive)", err)
	}
}

func TestPoolSettings(t *testing.T) {
	tests := []struct {
		name                   string
		opts                   func(t testing.TB) Options
		wantMaxOpen            int
		wantLifetime, wantIdle time.Duration
	}{
		{"sqlite default", sqliteFile, sqliteMaxOpen, 0, 0},
		{"sqlite explicit", func(t testing.TB) Options {
			o := sqliteFile(t)
			o.MaxOpenConns, o.ConnMaxLifetime = 2, time.Hour
			return o
		}, 2, time.Hour, 0},
		{"postgres default", engines[2].opts, postgresMaxOpen, postgresConnLifetime, postgresConnIdleTime},
		{"postgres explicit", func(t testing.TB) Options {
			o := engines[2].opts(t)
			o.MaxOpenConns, o.ConnMaxIdleTime = 3, time.Minute
			return o
		}, 3, postgresConnLifetime, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts(t)
			s, err := Open(context.Background(), o)
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			defer s.Close()
			if got := s.DB().Stats().MaxOpenConnections; got != tc.wantMaxOpen {
				t.Errorf("MaxOpenConnections = %d, want %d", got, tc.wantMaxOpen)
			}
			// database/sql does not report the other settings: record
			// what configurePool makes of the same options.
			var p poolProbe
			configurePool(&p, s.d, o, false)
			if p.lifetime != tc.wantLifetime || p.idle != tc.wantIdle {
				t.Errorf("lifetime, idle time = %v, %v, want %v, %v", p.lifetime, p.idle, tc.wantLifetime, tc.wantIdle)
			}
			if p.maxIdle != p.maxOpen {
				t.Errorf("MaxIdleConns = %d, want MaxOpenConns %d (keep every connection)", p.maxIdle, p.maxOpen)
			}
		})
	}
}

// poolProbe records the pool settings configurePool makes.
type poolProbe struct {
	maxOpen, maxIdle int
	lifetime, idle   time.Duration
}

func (p *poolProbe) SetMaxOpenConns(n int)              { p.maxOpen = n }
func (p *poolProbe) SetMaxIdleConns(n int)              { p.maxIdle = n }
func (p *poolProbe) SetConnMaxLifetime(d time.Duration) { p.lifetime = d }
func (p *poolProbe) SetConnMaxIdleTime(d time.Duration) { p.idle = d }

func TestSQLiteStoresIntegerUTCNanos(t *testing.T) {
	s := openMigrated(t, sqliteFile(t))
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("CET", 3600))
	u, err := s.CreateUser(ctx, auth.NewUser{Email: "t@example.com", PasswordHash: "h", IsActive: true, CreatedAt: at})
	if err != nil {
		t.Fatalf("CreateUser = %v", err)
	}
	var typ string
	var raw int64
	if err := s.DB().QueryRow("SELECT typeof(created_at), created_at FROM users WHERE id = ?", u.ID).Scan(&typ, &raw); err != nil {
		t.Fatalf("read created_at: %v", err)
	}
	want := at.Truncate(time.Microsecond).UnixNano()
	if typ != "integer" || raw != want {
		t.Errorf("stored created_at = %s %d, want integer %d", typ, raw, want)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("UserByID().CreatedAt = %v, %v, want %v in UTC", got.CreatedAt, err, at.UTC().Truncate(time.Microsecond))
	}
}

// TestSQLiteReadOnly: a database file that turned read-only (a full or
// remounted disk, wrong permissions) is an outage, not a panic nor a
// database error. The test runs as root in CI, where chmod 0444 does not
// stop writes, so the file is opened read-only instead.
func TestSQLiteReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ro.db")
	rw := openMigrated(t, Options{Driver: "sqlite", DSN: path})
	u, err := rw.CreateUser(ctx, auth.NewUser{Email: "ro@example.com", PasswordHash: "h", IsActive: true})
	if err != nil {
		t.Fatalf("CreateUser = %v", err)
	}
	if err := rw.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}

	s, err := Open(ctx, Options{Driver: "sqlite", DSN: "file:" + path + "?mode=ro"})
	if err != nil {
		t.Fatalf("Open(read-only) = %v", err)
	}
	defer s.Close()
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.Email != "ro@example.com" {
		t.Errorf("UserByID on a read-only database = %+v, %v, want the user", got, err)
	}
	_, err = s.CreateUser(ctx, auth.NewUser{Email: "new@example.com", PasswordHash: "h", IsActive: true})
	var se *sqlite.Error
	if !errors.Is(err, auth.ErrUnavailable) || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_READONLY {
		t.Errorf("CreateUser on a read-only database = %v, want ErrUnavailable wrapping SQLITE_READONLY", err)
	}
	if _, err := s.Reserve(ctx, "k", 5, time.Minute, time.Now()); !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("Reserve on a read-only database = %v, want ErrUnavailable", err)
	}
}

// TestSQLiteBusy: a writer stuck behind another's lock gives up when its
// context ends, as an outage.
func TestSQLiteBusy(t *testing.T) {
	o := sqliteFile(t)
	s := openMigrated(t, o)
	other, err := sql.Open("sqlite", o.DSN)
	if err != nil {
		t.Fatalf("open second handle: %v", err)
	}
	defer other.Close()
	ctx := context.Background()
	holder, err := other.Conn(ctx)
	if err != nil {
		t.Fatalf("Conn = %v", err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("BEGIN IMMEDIATE = %v", err)
	}
	defer holder.ExecContext(ctx, "ROLLBACK")

	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.CreateUser(tctx, auth.NewUser{Email: "busy@example.com", PasswordHash: "h", IsActive: true})
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("CreateUser while another connection holds the write lock = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("CreateUser gave up after %v, want about its context's 200ms", took)
	}
}

// TestCaseInsensitiveEmailInDatabase: the unique index on lower(email)
// holds even for a writer that bypasses the store's lower-casing.
func TestCaseInsensitiveEmailInDatabase(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := openMigrated(t, e.opts(t))
			insert := s.d.rebind(`INSERT INTO users (email, hashed_password, is_active, created_at, updated_at)
VALUES (?, 'h', TRUE, ?, ?)`)
			now := s.d.ts(time.Now())
			if _, err := s.DB().Exec(insert, "bob@x.io", now, now); err != nil {
				t.Fatalf("insert bob@x.io = %v", err)
			}
			_, err := s.DB().Exec(insert, "Bob@X.io", now, now)
			if !s.d.isUnique(err) {
				t.Errorf("insert Bob@X.io after bob@x.io = %v, want a unique violation", err)
			}
		})
	}
}

// TestSQLiteFilePrivate: the database file holds password hashes, so a new
// one is readable by its owner only, whatever the umask; an existing one
// keeps the mode its operator gave it.
func TestSQLiteFilePrivate(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{filepath.Join(dir, "plain.db"), "file:" + filepath.Join(dir, "uri.db") + "?cache=shared"} {
		s, err := Open(context.Background(), Options{Driver: "sqlite", DSN: dsn})
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	for _, name := range []string{"plain.db", "uri.db"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", name, fi.Mode().Perm(), err)
		}
	}
	shared := filepath.Join(dir, "shared.db")
	if err := os.WriteFile(shared, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), Options{Driver: "sqlite", DSN: shared})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fi, _ := os.Stat(shared); fi.Mode().Perm() != 0o640 {
		t.Errorf("existing file's mode changed to %v, want 0640 kept", fi.Mode().Perm())
	}
}
