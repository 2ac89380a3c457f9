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
)

func TestExplore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	s := openMigrated(t, Options{Driver: "sqlite", DSN: path})
	_, err := s.CreateUser(ctx, auth.NewUser{Email: "a@example.com", PasswordHash: "x", IsActive: true})
	t.Logf("create: %v", err)

	ro, err := Open(ctx, Options{Driver: "sqlite", DSN: "file:" + path + "?mode=ro"})
	t.Logf("open ro: %v", err)
	if err == nil {
		u, err := ro.UserByEmail(ctx, "a@example.com")
		t.Logf("ro read: %v %v", u.ID, err)
		_, err = ro.CreateUser(ctx, auth.NewUser{Email: "b@example.com", PasswordHash: "x", IsActive: true})
		code, _ := sqliteCode(err)
		t.Logf("ro write: %v code=%d unavailable=%v", err, code, err != nil && errorsIs(err, auth.ErrUnavailable))
		ro.Close()
	}

	// lock
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, _ := other.Conn(ctx)
	_, err = conn.ExecContext(ctx, "BEGIN EXCLUSIVE")
	t.Logf("begin exclusive: %v", err)
	c2, _ := context.WithTimeout(ctx, 300*time.Millisecond)
	start := time.Now()
	_, err = s.CreateUser(c2, auth.NewUser{Email: "c@example.com", PasswordHash: "x", IsActive: true})
	code, _ := sqliteCode(err)
	t.Logf("locked write (ctx 300ms): %v after %v code=%d", err, time.Since(start), code)
	start = time.Now()
	u, err := s.UserByEmail(c2, "a@example.com")
	t.Logf("locked read: %v %v after %v", u.ID, err, time.Since(start))
	conn.ExecContext(ctx, "ROLLBACK")
	conn.Close()

	// moved
	os.Rename(path, path+".moved")
	_, err = s.CreateUser(ctx, auth.NewUser{Email: "d@example.com", PasswordHash: "x", IsActive: true})
	code, _ = sqliteCode(err)
	t.Logf("moved write: %v code=%d", err, code)
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
