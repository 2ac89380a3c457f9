package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/dburl"
	"github.com/google/go-cmp/cmp"
)

func TestReaderDSN(t *testing.T) {
	u, err := dburl.FromDSN("sqlite", "/tmp/a.db")
	if err != nil {
		t.Fatal(err)
	}
	dsn, err := sqliteDialect.driverDSN(u)
	if err != nil {
		t.Fatal(err)
	}
	got := readerDSN(dsn, 1500*time.Millisecond)
	for _, want := range []string{"_pragma=busy_timeout(1500)", "_pragma=foreign_keys(1)", "&_pragma=query_only(1)"} {
		if !strings.Contains(got, want) {
			t.Errorf("readerDSN = %q, want %s in it", got, want)
		}
	}
	if strings.Contains(got, "busy_timeout(5000)") {
		t.Errorf("readerDSN = %q keeps the writers' busy_timeout", got)
	}
	if got := readerDSN(dsn, 0); !strings.Contains(got, "busy_timeout(1)") {
		t.Errorf("readerDSN(0) = %q, want a busy_timeout of at least 1 ms", got)
	}
}

// TestSQLiteReadersAnswerAsThePool: the readers answer every kind of
// question exactly as the pool's statement does, from many goroutines.
func TestSQLiteReadersAnswerAsThePool(t *testing.T) {
	s := openMigrated(t, engines[0].opts(t))
	if s.readers == nil {
		t.Fatal("a SQLite file has no readers")
	}
	ctx := context.Background()
	questions := lookupQuestions(t, s)
	want := make([]lookup, len(questions))
	for i, q := range questions {
		want[i] = q
		if err := s.lookupOne(ctx, &want[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i, q := range questions {
				if err := s.readers.lookup(ctx, &q); err != nil {
					t.Errorf("readers.lookup(%+v) = %v", questions[i], err)
					return
				}
				if w := want[i]; q.found != w.found || q.live != w.live || !cmp.Equal(q.user, w.user) {
					t.Errorf("lookup %+v: readers (%v, %v, %+v), pool (%v, %v, %+v)", questions[i],
						q.found, q.live, q.user, w.found, w.live, w.user)
				}
			}
		})
	}
	wg.Wait()
}

// TestSQLiteReadersSeeOtherProcesses: a revocation or deletion committed
// through another connection pool (the CLI, in another process) is seen
// by the very next lookup.
func TestSQLiteReadersSeeOtherProcesses(t *testing.T) {
	o := engines[0].opts(t)
	s := openMigrated(t, o)
	other := openMigrated(t, o)
	ctx := context.Background()
	now := time.Now()
	u, err := s.CreateUser(ctx, auth.NewUser{Email: "cli@example.com", PasswordHash: "h", IsActive: true, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := s.CreateSession(ctx, auth.Session{ID: id, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
			Deadline: now.Add(time.Hour)}, auth.RefreshToken{Hash: "rt-" + id, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UserForSession(ctx, u.ID, id, now); err != nil {
			t.Fatalf("UserForSession(%s) before = %v", id, err)
		}
	}
	if err := other.RevokeSession(ctx, u.ID, "a", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserForSession(ctx, u.ID, "a", now); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Errorf("UserForSession after another pool revoked it = %v, want ErrSessionRevoked", err)
	}
	if err := other.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserForSession(ctx, u.ID, "b", now); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("UserForSession after another pool deleted the user = %v, want ErrUserNotFound", err)
	}
}

// TestSQLiteReadersBusyIsBounded: the readers take no cancellable
// context; the operation timeout still bounds them, as their
// busy_timeout. A connection in exclusive locking mode that has written
// keeps every other connection out of a WAL database until it closes (it
// can only take that lock while no other connection is open, so the
// store's are closed first and the readers have not opened theirs).
func TestSQLiteReadersBusyIsBounded(t *testing.T) {
	o := engines[0].opts(t)
	o.OpTimeout = 300 * time.Millisecond
	s := openMigrated(t, o)
	ctx := context.Background()
	now := time.Now()
	u, err := s.CreateUser(ctx, auth.NewUser{Email: "busy@example.com", PasswordHash: "h", IsActive: true, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	s.db.SetMaxIdleConns(0) // closes the pool's idle connections
	defer s.db.SetMaxIdleConns(sqliteMaxOpen)
	locker, err := sql.Open("sqlite", o.DSN+"?_pragma=locking_mode(EXCLUSIVE)")
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	locker.SetMaxOpenConns(1)
	if _, err := locker.ExecContext(ctx, "UPDATE users SET first_name = 'x' WHERE id = ?", u.ID); err != nil {
		t.Fatalf("exclusive write = %v", err)
	}
	start := time.Now()
	_, err = s.UserForSession(ctx, u.ID, "none", now)
	took := time.Since(start)
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("UserForSession while locked out = %v, want ErrUnavailable (an outage, to the breaker)", err)
	}
	if took < 250*time.Millisecond || took > 2500*time.Millisecond {
		t.Errorf("UserForSession gave up after %v, want about the 300ms operation timeout (the writers' busy_timeout is 5s)", took)
	}
	// Once the lock is gone, the same reader answers again.
	if err := locker.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserForSession(ctx, u.ID, "none", now); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Errorf("UserForSession after the lock = %v, want ErrSessionRevoked (no such session)", err)
	}
}

// TestSQLiteReaders covers the readers' own paths: a lookup before the
// tables exist fails and the next one, after Migrate, succeeds on a new
// connection; a caller waits for a free reader only as long as its
// context allows; reader connections cannot write; Close waits for
// readers in use and may be called twice.
func TestSQLiteReaders(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "auth.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := lookup{userID: 1, sessionID: "x", now: time.Now()}
	if err := s.readers.lookup(ctx, &l); err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Errorf("lookup before Migrate = %v, want no such table", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.readers.lookup(ctx, &l); err != nil || l.found {
		t.Errorf("lookup after Migrate = %v (found %v), want no error and no user", err, l.found)
	}

	// Every reader busy: a caller gives up with its context.
	var held []*sqliteReader
	for range cap(s.readers.slots) {
		held = append(held, <-s.readers.slots)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := s.readers.lookup(tctx, &l); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("lookup with every reader busy = %v, want the context's deadline", err)
	}
	// A reader connection is query_only.
	for _, rd := range held {
		if rd.conn == nil {
			continue
		}
		_, err := rd.conn.(driver.ExecerContext).ExecContext(ctx, "DELETE FROM users", nil)
		if err == nil || !strings.Contains(err.Error(), "readonly") {
			t.Errorf("a reader's DELETE = %v, want a read-only refusal", err)
		}
	}
	closed := make(chan struct{})
	go func() {
		s.readers.close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("close returned with readers in use")
	case <-time.After(50 * time.Millisecond):
	}
	for _, rd := range held {
		s.readers.slots <- rd
	}
	<-closed
	s.readers.close() // again: nothing left to close, and no wait
	if err := s.readers.lookup(ctx, &l); !errors.Is(err, errReadersClosed) {
		t.Errorf("lookup after close = %v, want errReadersClosed", err)
	}
}
