package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PgBouncer is a PgBouncer of a test's own, in transaction pooling in front
// of the server of AUTH_TEST_POSTGRES_URL, for tests that stop and restart
// it: the shared one of AUTH_TEST_PGBOUNCER_URL must stay up for others.
type PgBouncer struct {
	// URL reaches the database "test" through it, with
	// default_query_exec_mode=exec; DSNs gives a database of the test's own.
	URL string

	t   testing.TB
	dir string
	mu  sync.Mutex
	cmd *exec.Cmd
	out lockedBuffer
}

// lockedBuffer is PgBouncer's output, written by exec's copying goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// StartPgBouncer skips the test unless AUTH_TEST_POSTGRES_URL is set and
// pgbouncer is installed; otherwise it starts one on a free loopback port
// and stops it when the test ends. As root it runs as the postgres user
// (PgBouncer refuses root).
func StartPgBouncer(t testing.TB) *PgBouncer {
	t.Helper()
	SkipIfUnset(t)
	if _, err := exec.LookPath("pgbouncer"); err != nil {
		t.Skip("pgbouncer not installed: skipping tests on a PgBouncer of their own")
	}
	base, err := url.Parse(os.Getenv(EnvURL))
	if err != nil || base.Hostname() == "" {
		t.Fatalf("pgtest: %s must be a postgres://host:port/… URL for a PgBouncer in front of it", EnvURL)
	}
	pgPort := base.Port()
	if pgPort == "" {
		pgPort = "5432"
	}
	user := base.User.Username()
	// Not t.TempDir: its parents are private to this user, and PgBouncer
	// may run as another.
	dir, err := os.MkdirTemp("", "authserve-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
server_idle_timeout = 5
ignore_startup_parameters = extra_float_digits
`, base.Hostname(), pgPort, port, filepath.Join(dir, "users.txt"))
	if err := os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.txt"), []byte(fmt.Sprintf("%q \"\"\n", user)), 0o644); err != nil {
		t.Fatal(err)
	}
	u := *base
	u.Host = fmt.Sprintf("127.0.0.1:%d", port)
	q := u.Query()
	q.Set("default_query_exec_mode", "exec")
	u.RawQuery = q.Encode()
	b := &PgBouncer{URL: u.String(), t: t, dir: dir}
	b.Start()
	t.Cleanup(b.Stop)
	return b
}

// DSNs returns a database of the test's own, pooled through b and direct,
// as PooledDSN does for the shared PgBouncer.
func (b *PgBouncer) DSNs(t testing.TB) (pooled, direct string) {
	t.Helper()
	return databaseVia(t, b.URL, "the test's PgBouncer")
}

// Start starts PgBouncer (again) and waits until it answers.
func (b *PgBouncer) Start() {
	b.t.Helper()
	b.mu.Lock()
	args := []string{filepath.Join(b.dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "postgres"}, args...)
	}
	cmd := exec.Command("pgbouncer", args...)
	cmd.Stdout, cmd.Stderr = &b.out, &b.out
	if err := cmd.Start(); err != nil {
		b.mu.Unlock()
		b.t.Fatalf("start pgbouncer: %v", err)
	}
	b.cmd = cmd
	b.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, b.URL)
		if err == nil {
			conn.Close(ctx)
			cancel()
			return
		}
		cancel()
		if time.Now().After(deadline) {
			b.t.Fatalf("pgbouncer did not answer within 10s: %v\n%s", err, b.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts PgBouncer down at once (SIGTERM: "immediate shutdown"),
// dropping every client and server connection, as a restart does.
func (b *PgBouncer) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	_ = b.cmd.Wait()
	b.cmd = nil
}

func (b *PgBouncer) output() string { return b.out.String() }
