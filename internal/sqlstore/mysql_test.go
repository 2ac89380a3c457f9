package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/mysqltest"
	"github.com/go-sql-driver/mysql"
)

// mysqlSettings is what mysqlDSN appends to every DSN, in FormatDSN's order.
const mysqlSettings = "innodb_lock_wait_timeout=10" +
	"&sql_mode=%27STRICT_ALL_TABLES%2CNO_ZERO_IN_DATE%2CNO_ZERO_DATE%2CERROR_FOR_DIVISION_BY_ZERO%2CNO_ENGINE_SUBSTITUTION%27" +
	"&time_zone=%27%2B00%3A00%27"

func TestMySQLDSN(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"minimal", "mysql://root@127.0.0.1:3306/test",
			"root@tcp(127.0.0.1:3306)/test?clientFoundRows=true&charset=utf8mb4&parseTime=true&" + mysqlSettings},
		{"password with reserved characters, default port", "mysql://app:p%40ss%2Fw%3Ard@db.example/auth",
			"app:p@ss/w:rd@tcp(db.example:3306)/auth?clientFoundRows=true&charset=utf8mb4&parseTime=true&" + mysqlSettings},
		{"IPv6 host", "mysql://u@[::1]:3307/auth",
			"u@tcp([::1]:3307)/auth?clientFoundRows=true&charset=utf8mb4&parseTime=true&" + mysqlSettings},
		{"no host: the local server", "mysql:///auth",
			"tcp(127.0.0.1:3306)/auth?clientFoundRows=true&charset=utf8mb4&parseTime=true&" + mysqlSettings},
		{"the user's parameters are kept, ours repeated are fine",
			"mysql://u:p@h/auth?tls=skip-verify&timeout=5s&innodb_lock_wait_timeout=3&wait_timeout=600" +
				"&parseTime=1&loc=UTC&charset=utf8mb4&collation=utf8mb4_unicode_ci&connectionAttributes=app:authserve/1",
			"u:p@tcp(h:3306)/auth?clientFoundRows=true&charset=utf8mb4&collation=utf8mb4_unicode_ci" +
				"&connectionAttributes=app%3Aauthserve%2F1&parseTime=true&timeout=5s&tls=skip-verify" +
				"&innodb_lock_wait_timeout=3" + strings.TrimPrefix(mysqlSettings, "innodb_lock_wait_timeout=10") +
				"&wait_timeout=600"},
	}
	for _, tc := range tests {
		got, err := mysqlDSN(tc.url)
		if err != nil || got != tc.want {
			t.Errorf("%s: mysqlDSN(%q) =\n%q, %v\nwant\n%q", tc.name, tc.url, got, err, tc.want)
			continue
		}
		// The driver reads back exactly what the URL said.
		cfg, err := mysql.ParseDSN(got)
		if err != nil {
			t.Errorf("%s: mysql.ParseDSN(mysqlDSN(%q)) = %v", tc.name, tc.url, err)
			continue
		}
		if !cfg.ParseTime || cfg.Loc != time.UTC || !cfg.ClientFoundRows || cfg.Params["sql_mode"] == "" {
			t.Errorf("%s: mysqlDSN(%q) parsed = %+v, want parseTime, UTC, clientFoundRows and sql_mode", tc.name, tc.url, cfg)
		}
	}
	if cfg, err := mysql.ParseDSN(tests[1].want); err != nil || cfg.Passwd != "p@ss/w:rd" || cfg.DBName != "auth" {
		t.Errorf("password with reserved characters: parsed back as %q, db %q, %v; want p@ss/w:rd, auth", cfg.Passwd, cfg.DBName, err)
	}
}

func TestMySQLDSNErrors(t *testing.T) {
	const secret = "s3cret-pw"
	tests := []struct {
		name, url, want string // want: a part of the error
	}{
		{"not mysql", "postgres://u:" + secret + "@h/db", "mysql://"},
		{"no database", "mysql://u:" + secret + "@h:3306/", "database name"},
		{"no path", "mysql://u:" + secret + "@h", "database name"},
		{"database with a slash", "mysql://u:" + secret + "@h/a/b", "database name"},
		{"bad escape", "mysql://u:" + secret + "@h/db?x=%zz", "query"},
		{"parseTime off", "mysql://u:" + secret + "@h/db?parseTime=false", "parseTime=true"},
		{"local times", "mysql://u:" + secret + "@h/db?loc=Local", "loc=UTC"},
		{"found rows off", "mysql://u:" + secret + "@h/db?clientFoundRows=false", "clientFoundRows=true"},
		{"three-byte utf8", "mysql://u:" + secret + "@h/db?charset=utf8", "charset=utf8mb4"},
		{"foreign collation", "mysql://u:" + secret + "@h/db?collation=latin1_swedish_ci", "utf8mb4"},
		{"sql_mode", "mysql://u:" + secret + "@h/db?sql_mode=ANSI", "sets sql_mode itself"},
		{"time_zone", "mysql://u:" + secret + "@h/db?time_zone=SYSTEM", "sets time_zone itself"},
		{"strict, which panics the driver", "mysql://u:" + secret + "@h/db?strict=true", "sets strict itself"},
		{"bad driver option", "mysql://u:" + secret + "@h/db?interpolateParams=maybe", "invalid bool"},
	}
	for _, tc := range tests {
		got, err := mysqlDSN(tc.url)
		if err == nil {
			t.Errorf("%s: mysqlDSN(%q) = %q, want an error", tc.name, tc.url, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: mysqlDSN(%q) error = %q, want one containing %q and not the password", tc.name, tc.url, err, tc.want)
		}
	}
}

func TestMySQLClassification(t *testing.T) {
	my := &Store{d: mysqlDialect}
	num := func(n uint16) error { return &mysql.MySQLError{Number: n, Message: "m"} }
	tests := []struct {
		name         string
		err          error
		wantKind     error // auth.ErrUnavailable or auth.ErrDatabase
		wantUnique   bool
		wantFK       bool
		wantConflict bool
	}{
		{"duplicate entry", num(1062), auth.ErrDatabase, true, false, false},
		{"duplicate entry with key name", num(1586), auth.ErrDatabase, true, false, false},
		{"wrapped duplicate", fmt.Errorf("exec: %w", num(1062)), auth.ErrDatabase, true, false, false},
		{"no referenced row", num(1452), auth.ErrDatabase, false, true, false},
		{"no referenced row (old)", num(1216), auth.ErrDatabase, false, true, false},
		{"row is referenced", num(1451), auth.ErrDatabase, false, true, false},
		{"deadlock", num(1213), auth.ErrDatabase, false, false, true},
		{"lock wait timeout", num(1205), auth.ErrUnavailable, false, false, true},
		{"syntax error", num(1064), auth.ErrDatabase, false, false, false},
		{"no such table", num(1146), auth.ErrDatabase, false, false, false},
		{"data too long", num(1406), auth.ErrDatabase, false, false, false},
		{"incorrect string value", num(1366), auth.ErrDatabase, false, false, false},
		{"too many connections", num(1040), auth.ErrUnavailable, false, false, false},
		{"too many user connections", num(1203), auth.ErrUnavailable, false, false, false},
		{"server shutdown", num(1053), auth.ErrUnavailable, false, false, false},
		{"access denied at connect", num(1045), auth.ErrUnavailable, false, false, false},
		{"unknown database at connect", num(1049), auth.ErrUnavailable, false, false, false},
		{"host blocked", num(1129), auth.ErrUnavailable, false, false, false},
		{"read-only server", num(1290), auth.ErrUnavailable, false, false, false},
		{"read-only transaction", num(1792), auth.ErrUnavailable, false, false, false},
		{"query killed", num(1317), auth.ErrUnavailable, false, false, false},
		{"connection killed (MariaDB)", num(1927), auth.ErrUnavailable, false, false, false},
		{"statement timeout (MariaDB)", num(1969), auth.ErrUnavailable, false, false, false},
		{"query timeout (MySQL)", num(3024), auth.ErrUnavailable, false, false, false},
		{"disk full", num(1021), auth.ErrUnavailable, false, false, false},
		{"table full", num(1114), auth.ErrUnavailable, false, false, false},
		{"out of memory", num(1037), auth.ErrUnavailable, false, false, false},
		{"net read error", num(1158), auth.ErrUnavailable, false, false, false},
		{"Galera node not ready", num(1047), auth.ErrUnavailable, false, false, false},
		{"idle disconnect (MySQL)", num(4031), auth.ErrUnavailable, false, false, false},
		{"client: cannot connect", num(2002), auth.ErrUnavailable, false, false, false},
		{"client: host unreachable", num(2003), auth.ErrUnavailable, false, false, false},
		{"client: server gone", num(2006), auth.ErrUnavailable, false, false, false},
		{"client: lost connection", num(2013), auth.ErrUnavailable, false, false, false},
		{"driver: invalid connection", mysql.ErrInvalidConn, auth.ErrUnavailable, false, false, false},
		{"driver: malformed packet", fmt.Errorf("read: %w", mysql.ErrMalformPkt), auth.ErrUnavailable, false, false, false},
		{"driver: commands out of sync", mysql.ErrPktSync, auth.ErrUnavailable, false, false, false},
		{"bad conn", fmt.Errorf("query: %w", driver.ErrBadConn), auth.ErrUnavailable, false, false, false},
		{"driver: packet too large", mysql.ErrPktTooLarge, auth.ErrDatabase, false, false, false},
		{"other", errors.New("boom"), auth.ErrDatabase, false, false, false},
	}
	for _, tc := range tests {
		err := my.wrap("op", tc.err)
		other := auth.ErrDatabase
		if tc.wantKind == auth.ErrDatabase {
			other = auth.ErrUnavailable
		}
		if !errors.Is(err, tc.wantKind) || errors.Is(err, other) || !errors.Is(err, tc.err) {
			t.Errorf("%s: wrap(%v) = %v, want %v and only it, with the cause kept", tc.name, tc.err, err, tc.wantKind)
		}
		if got := my.d.isUnique(tc.err); got != tc.wantUnique {
			t.Errorf("%s: isUnique(%v) = %v, want %v", tc.name, tc.err, got, tc.wantUnique)
		}
		if got := my.d.isForeignKey(tc.err); got != tc.wantFK {
			t.Errorf("%s: isForeignKey(%v) = %v, want %v", tc.name, tc.err, got, tc.wantFK)
		}
		if got := my.d.isConflict(tc.err); got != tc.wantConflict {
			t.Errorf("%s: isConflict(%v) = %v, want %v", tc.name, tc.err, got, tc.wantConflict)
		}
	}
}

func TestMySQLTxRetriesDeadlocks(t *testing.T) {
	s := &Store{d: mysqlDialect}
	deadlock := &mysql.MySQLError{Number: 1213}
	tests := []struct {
		name      string
		errs      []error // returned by successive calls; nil afterwards
		wantCalls int
		wantErr   error
	}{
		{"success", nil, 1, nil},
		{"one deadlock", []error{deadlock}, 2, nil},
		{"lock wait timeout", []error{&mysql.MySQLError{Number: 1205}}, 2, nil},
		{"deadlocks throughout", []error{deadlock, deadlock, deadlock, deadlock}, 3, deadlock},
		{"duplicate", []error{&mysql.MySQLError{Number: 1062}}, 1, &mysql.MySQLError{Number: 1062}},
	}
	for _, tc := range tests {
		calls := 0
		err := s.retry(func() error {
			calls++
			if calls <= len(tc.errs) {
				return tc.errs[calls-1]
			}
			return nil
		})
		if calls != tc.wantCalls || !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
			t.Errorf("%s: retry = %v after %d calls, want %v after %d", tc.name, err, calls, tc.wantErr, tc.wantCalls)
		}
	}
}

func TestAttemptKey(t *testing.T) {
	long := "pair:" + strings.Repeat("é", 300) + "@example.com|192.0.2.1" // over 512 bytes
	tests := []struct {
		d         *dialect
		key, want string
	}{
		{mysqlDialect, "pair:alice@example.com|192.0.2.1", "pair:alice@example.com|192.0.2.1"},
		{mysqlDialect, strings.Repeat("k", 512), strings.Repeat("k", 512)},
		{mysqlDialect, strings.Repeat("k", 513), hashedKey(strings.Repeat("k", 513))},
		{mysqlDialect, long, hashedKey(long)},
		{postgresDialect, "pair:alice@example.com|192.0.2.1", "pair:alice@example.com|192.0.2.1"},
		{postgresDialect, long, hashedKey(long)},
		{sqliteDialect, long, long},
	}
	for _, tc := range tests {
		if got := tc.d.attemptKey(tc.key); got != tc.want {
			t.Errorf("%s: attemptKey(%d bytes) = %q, want %q", tc.d.name, len(tc.key), got, tc.want)
		}
	}
	if h := hashedKey(long); len(h) != len("sha256:")+64 || hashedKey(long+"x") == h {
		t.Errorf("hashedKey(%d bytes) = %q, want sha256: and 64 hex digits, distinct per key", len(long), h)
	}
}

// TestLongLockoutKeys: a key as long as a request body (a login's email is
// validated only after its attempt is counted) works like any other, on
// every engine, and two long keys stay apart.
func TestLongLockoutKeys(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := openMigrated(t, e.opts(t))
			ctx := context.Background()
			t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			const limit, lockFor = 2, 15 * time.Minute
			// Random, so that no engine can compress it into its index.
			email := make([]byte, 30_000)
			_, _ = rand.Read(email)
			a := "pair:" + hex.EncodeToString(email) + "|192.0.2.1"
			b := "pair:" + hex.EncodeToString(email) + "|192.0.2.2"
			for i := range limit {
				if retry, err := s.Reserve(ctx, a, limit, lockFor, t0); err != nil || retry != 0 {
					t.Fatalf("Reserve(long key) #%d = %v, %v, want 0, nil", i+1, retry, err)
				}
				locked, err := s.Fail(ctx, a, limit, lockFor, t0)
				if err != nil || locked != (i == limit-1) {
					t.Errorf("Fail(long key) #%d = %v, %v, want %v, nil", i+1, locked, err, i == limit-1)
				}
			}
			if retry, err := s.Reserve(ctx, a, limit, lockFor, t0); err != nil || retry != lockFor {
				t.Errorf("Reserve(locked long key) = %v, %v, want %v, nil", retry, err, lockFor)
			}
			if retry, err := s.Reserve(ctx, b, limit, lockFor, t0); err != nil || retry != 0 {
				t.Errorf("Reserve(another long key) = %v, %v, want 0, nil (keys independent)", retry, err)
			}
			if err := s.Succeed(ctx, a, true); err != nil {
				t.Fatalf("Succeed(long key, reset) = %v", err)
			}
			if retry, err := s.Reserve(ctx, a, limit, lockFor, t0); err != nil || retry != 0 {
				t.Errorf("Reserve(long key) after a reset = %v, %v, want 0, nil", retry, err)
			}
		})
	}
}

// TestMySQLSessionSettings: every connection of the pool gets the settings
// the store relies on.
func TestMySQLSessionSettings(t *testing.T) {
	mysqltest.SkipIfUnset(t)
	s := openMigrated(t, Options{Driver: "mysql", DSN: mysqltest.DSN(t), MaxOpenConns: 3})
	ctx := context.Background()
	// Hold every connection of the pool at once, so none is reused.
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatalf("Conn() #%d = %v", i, err)
		}
		conns[i] = c
	}
	for i, c := range conns {
		var mode, zone, charset string
		var lockWait int
		if err := c.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode, @@SESSION.time_zone, "+
			"@@SESSION.character_set_connection, @@SESSION.innodb_lock_wait_timeout").Scan(&mode, &zone, &charset, &lockWait); err != nil {
			t.Fatalf("connection %d: read settings: %v", i, err)
		}
		if !strings.Contains(mode, "STRICT_ALL_TABLES") || zone != "+00:00" || charset != "utf8mb4" || lockWait != 10 {
			t.Errorf("connection %d: sql_mode %q, time_zone %q, charset %q, lock wait %d; want strict, +00:00, utf8mb4, 10",
				i, mode, zone, charset, lockWait)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	// A value too long for its column is refused, not truncated.
	if _, err := s.CreateUser(ctx, auth.NewUser{Email: "long@example.com", PasswordHash: strings.Repeat("h", 300),
		IsActive: true}); !errors.Is(err, auth.ErrDatabase) {
		t.Errorf("CreateUser(300-character hash) = %v, want ErrDatabase (strict mode)", err)
	}
}

// TestMySQLExactKeys: emails, session ids and token hashes compare exactly.
// A case- or accent-insensitive collation, or VARCHAR's PAD SPACE, would
// let one account, session or token stand for another.
func TestMySQLExactKeys(t *testing.T) {
	mysqltest.SkipIfUnset(t)
	s := openMigrated(t, Options{Driver: "mysql", DSN: mysqltest.DSN(t)})
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	users := map[string]auth.User{}
	for _, email := range []string{"zoë@exämple.org", "zoe@example.org", "strasse@example.org", "straße@example.org"} {
		u, err := s.CreateUser(ctx, auth.NewUser{Email: email, PasswordHash: "h", IsActive: true, CreatedAt: now})
		if err != nil {
			t.Fatalf("CreateUser(%q) = %v, want a separate account", email, err)
		}
		users[email] = u
	}
	for email, want := range users {
		if got, err := s.UserByEmail(ctx, email); err != nil || got.ID != want.ID {
			t.Errorf("UserByEmail(%q) = user %d, %v, want user %d", email, got.ID, err, want.ID)
		}
	}
	// Written without the store's lower-casing: the database alone keeps
	// the non-ASCII upper case out.
	_, err := s.DB().ExecContext(ctx, `INSERT INTO users (email, hashed_password) VALUES ('ZOË@EXÄMPLE.ORG', 'h')`)
	if !s.d.isUnique(err) {
		t.Errorf("insert ZOË@EXÄMPLE.ORG beside zoë@exämple.org = %v, want a unique violation", err)
	}

	u := users["zoe@example.org"]
	for _, id := range []string{"AbC", "abc"} {
		if err := s.CreateSession(ctx, auth.Session{ID: id, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
			Deadline: now.Add(time.Hour)}, auth.RefreshToken{Hash: "t-" + id, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatalf("CreateSession(%q) = %v, want sessions whose ids differ in case kept apart", id, err)
		}
	}
	if err := s.RevokeSession(ctx, u.ID, "abc ", now); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RevokeSession(%q) = %v, want ErrNotFound (no trailing-space match)", "abc ", err)
	}
	if err := s.RevokeSession(ctx, u.ID, "\xffabc", now); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RevokeSession(invalid UTF-8) = %v, want ErrNotFound", err)
	}
	if _, err := s.RevokeSessionByToken(ctx, "T-abc", now); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RevokeSessionByToken(%q) = %v, want ErrNotFound (hashes are case-sensitive)", "T-abc", err)
	}
	if err := s.RevokeSession(ctx, u.ID, "abc", now); err != nil {
		t.Errorf("RevokeSession(%q) = %v, want nil", "abc", err)
	}
	if _, err := s.UserForSession(ctx, u.ID, "AbC", now); err != nil {
		t.Errorf("UserForSession(%q) after revoking %q = %v, want nil", "AbC", "abc", err)
	}
}

// TestMySQLMigrationLock: the lock is per database, and a second holder
// waits for the first.
func TestMySQLMigrationLock(t *testing.T) {
	mysqltest.SkipIfUnset(t)
	ctx := context.Background()
	a := openMigrated(t, Options{Driver: "mysql", DSN: mysqltest.DSN(t)})
	b := openMigrated(t, Options{Driver: "mysql", DSN: mysqltest.DSN(t)})
	la, err := a.newMySQLLocker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.newMySQLLocker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if la.name == lb.name || len(la.name) > 64 {
		t.Errorf("lock names %q and %q, want distinct per database and at most 64 characters", la.name, lb.name)
	}

	conn := func(s *Store) *sql.Conn {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	first, second := conn(a), conn(a)
	if err := la.SessionLock(ctx, first); err != nil {
		t.Fatalf("SessionLock = %v", err)
	}
	// Another database's lock is free meanwhile.
	other := conn(b)
	if err := lb.SessionLock(ctx, other); err != nil {
		t.Errorf("SessionLock(other database) while the first is held = %v, want nil", err)
	} else if err := lb.SessionUnlock(ctx, other); err != nil {
		t.Errorf("SessionUnlock(other database) = %v", err)
	}
	waiting := &mysqlLocker{name: la.name, wait: time.Second}
	start := time.Now()
	if err := waiting.SessionLock(ctx, second); err == nil {
		t.Errorf("SessionLock while held = nil, want an error after waiting %v", waiting.wait)
	} else if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("SessionLock while held failed after %v, want a wait of about %v", d, waiting.wait)
	}
	if err := waiting.SessionUnlock(ctx, second); err == nil {
		t.Errorf("SessionUnlock by a connection that does not hold the lock = nil, want an error")
	}
	if err := la.SessionUnlock(ctx, first); err != nil {
		t.Fatalf("SessionUnlock = %v", err)
	}
	if err := waiting.SessionLock(ctx, second); err != nil {
		t.Errorf("SessionLock after release = %v, want nil", err)
	}
}
