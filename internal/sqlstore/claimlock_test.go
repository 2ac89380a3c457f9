package sqlstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/mysqltest"
	"github.com/authserve/authserve/internal/storetest"
)

func TestMySQLHasSkipLocked(t *testing.T) {
	tests := []struct {
		version string
		want    bool
	}{
		{"10.5.23-MariaDB-1:10.5.23+maria~deb11", false},
		{"10.5.0-MariaDB", false},
		{"10.4.34-MariaDB-log", false},
		{"10.3.39-MariaDB", false},
		{"10.6.0-MariaDB", true},
		{"10.6.18-MariaDB-0ubuntu0.22.04.1", true},
		{"10.11.19-MariaDB-0+deb12u1", true},
		{"11.4.2-MariaDB", true},
		{"12.0.1-MariaDB-ubu2404", true},
		{"5.5.5-10.5.23-MariaDB-1:10.5.23+maria~deb11", false}, // handshake form
		{"5.5.5-10.11.6-MariaDB", true},
		{"10.5.23-mariadb", false}, // case
		{"8.0.36", true},           // MySQL
		{"8.0.36-0ubuntu0.22.04.1", true},
		{"8.0.36-28", true}, // Percona Server
		{"8.4.3", true},
		{"9.1.0-commercial", true},
		{"5.7.44-log", false}, // MySQL 5.7: no SKIP LOCKED either
		// Unreadable: no SKIP LOCKED, correct everywhere (see
		// mysqlHasSkipLocked).
		{"", false},
		{"garbage", false},
		{"MariaDB", false},
		{"10", false},
		{"x.y.z-MariaDB", false},
		{"10..5-MariaDB", false},
	}
	for _, tc := range tests {
		if got := mysqlHasSkipLocked(tc.version); got != tc.want {
			t.Errorf("mysqlHasSkipLocked(%q) = %v, want %v", tc.version, got, tc.want)
		}
	}
}

// mysqlOptions are the MySQL engine's options (the test is skipped when
// AUTH_TEST_MYSQL_URL is unset).
func mysqlOptions(t testing.TB) Options {
	t.Helper()
	mysqltest.SkipIfUnset(t)
	return Options{Driver: "mysql", DSN: mysqltest.DSN(t)}
}

// openNoSkipLocked opens a fresh, migrated MySQL store that claims outbox
// mail without SKIP LOCKED, as it does on MariaDB 10.5, whatever the test
// server's version.
func openNoSkipLocked(t testing.TB, o Options) *Store {
	t.Helper()
	s := openMigrated(t, o)
	s.noSkipLocked = true
	// Prepared again, without the lock, on first use.
	s.resetStatements()
	if got := s.claimLock(); got != "" {
		t.Fatalf("claimLock() = %q, want none", got)
	}
	return s
}

// TestMySQLServerVersion: Open reads the test server's version and picks
// the claim lock from it (SKIP LOCKED on the MariaDB 10.11 / MySQL 8 that
// tests run on; none on a MariaDB 10.5).
func TestMySQLServerVersion(t *testing.T) {
	s := openMigrated(t, mysqlOptions(t))
	var version string
	if err := s.DB().QueryRowContext(context.Background(), "SELECT VERSION()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	want := " FOR UPDATE SKIP LOCKED"
	if !mysqlHasSkipLocked(version) {
		want = ""
	}
	if got := s.claimLock(); got != want {
		t.Errorf("server %q: claimLock() = %q, want %q", version, got, want)
	}
	t.Logf("server %q: claim lock %q", version, s.claimLock())
}

// TestRecoveryNoSkipLocked runs the recovery and outbox contract on the
// MySQL test server through the MariaDB 10.5 path, no SKIP LOCKED. Its
// concurrent claims check that each message is claimed exactly once and
// that every MarkSent succeeds (a plain FOR UPDATE claim failed the
// latter: see claimLock).
func TestRecoveryNoSkipLocked(t *testing.T) {
	mysqltest.SkipIfUnset(t)
	storetest.RunRecovery(t, func(t *testing.T) storetest.Recovery {
		return openNoSkipLocked(t, mysqlOptions(t))
	})
}

// TestMySQLClaimWhileAnotherHolds: a sender claims while another's claim
// transaction still holds a row. With SKIP LOCKED it passes the row over at
// once; without (MariaDB 10.5) it picks the row too, as the other's claim
// is not committed, and its claim of that row waits for the holder to
// commit, then, checking the row as committed (claimed, lease running),
// leaves it and takes only the others.
func TestMySQLClaimWhileAnotherHolds(t *testing.T) {
	for _, tc := range []struct {
		name         string
		noSkipLocked bool
	}{{"SkipLocked", false}, {"NoSkipLocked", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var s *Store
			if tc.noSkipLocked {
				s = openNoSkipLocked(t, mysqlOptions(t))
			} else {
				s = openMigrated(t, mysqlOptions(t))
				if s.noSkipLocked {
					t.Skip("the test server has no SKIP LOCKED")
				}
			}
			testClaimWhileAnotherHolds(t, s, tc.noSkipLocked)
		})
	}
}

// claimResult is what a ClaimOutbox in another goroutine returned.
type claimResult struct {
	ids []int64
	err error
}

func testClaimWhileAnotherHolds(t *testing.T, s *Store, wantWait bool) {
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now, lease := t0.Add(time.Second), time.Minute
	var ids []int64
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		res, err := s.DB().ExecContext(ctx, qInsertOutbox, nil, to, "verify_email", "s", "t", "h", s.d.ts(t0), s.d.ts(t0))
		if err != nil {
			t.Fatalf("insert outbox row: %v", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	q, err := s.queries(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Sender a claims the first row, ClaimOutbox's statements in a
	// transaction left open.
	txA, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = txA.Rollback() }()
	var held int64
	if err := txA.StmtContext(ctx, q.rec.claimDue).QueryRowContext(ctx, s.d.ts(now), s.d.ts(now), 1).Scan(&held); err != nil {
		t.Fatalf("claim one row in a: %v", err)
	}
	if held != ids[0] {
		t.Fatalf("a picked row %d, want the first, %d", held, ids[0])
	}
	if err := execOne(ctx, txA, q.rec.claimOne, errors.New("not claimed"), "a", s.d.ts(now.Add(lease)), held,
		s.d.ts(now), s.d.ts(now)); err != nil {
		t.Fatalf("claim row %d for a: %v", held, err)
	}

	// Sender b claims everything due.
	done := make(chan claimResult, 1)
	go func() {
		msgs, err := s.ClaimOutbox(ctx, "b", now, lease, 10)
		var got []int64
		for _, m := range msgs {
			got = append(got, m.ID)
		}
		done <- claimResult{got, err}
	}()

	var b claimResult
	if wantWait {
		// b's claim of a's row waits for a's lock; a commits once b is
		// seen waiting.
		waitForLockWait(t, s, done)
		if err := txA.Commit(); err != nil {
			t.Fatalf("commit a: %v", err)
		}
		b = <-done
	} else {
		// b does not wait: it answers while a still holds its row.
		select {
		case b = <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("ClaimOutbox(b) waited for a's transaction despite SKIP LOCKED")
		}
		if err := txA.Commit(); err != nil {
			t.Fatalf("commit a: %v", err)
		}
	}
	if b.err != nil {
		t.Fatalf("ClaimOutbox(b) = %v", b.err)
	}
	if slices.Contains(b.ids, held) {
		t.Errorf("ClaimOutbox(b) = %v: took row %d, which a claimed", b.ids, held)
	}
	if wantWait && !slices.Equal(b.ids, ids[1:]) {
		// SKIP LOCKED may pass over more rows than a returned (whatever
		// a's plan locked); without it b picks all three and claims the
		// two still free.
		t.Errorf("ClaimOutbox(b) after a committed = %v, want the other rows %v", b.ids, ids[1:])
	}
	var owner string
	if err := s.DB().QueryRowContext(ctx, "SELECT claimed_by FROM email_outbox WHERE id = ?", held).Scan(&owner); err != nil || owner != "a" {
		t.Errorf("row %d claimed_by = %q, %v; want a", held, owner, err)
	}
	t.Logf("a claimed %d, b then claimed %v", held, b.ids)
}

// waitForLockWait returns once a transaction on s's database waits for a
// row lock; it fails the test if ClaimOutbox answers first (done) or
// nothing waits within 5 s (innodb_lock_wait_timeout is 10 s).
func waitForLockWait(t *testing.T, s *Store, done <-chan claimResult) {
	t.Helper()
	const query = `SELECT COUNT(*) FROM information_schema.INNODB_TRX t
JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()`
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		if err := s.DB().QueryRow(query).Scan(&n); err != nil {
			t.Fatalf("look for lock waits: %v", err)
		}
		if n > 0 {
			return
		}
		select {
		case r := <-done:
			t.Fatalf("ClaimOutbox(b) = %v, %v without waiting for a's lock; want a wait (no SKIP LOCKED)", r.ids, r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("ClaimOutbox(b) is not waiting for a's lock after 5 s")
		}
		// InnoDB refreshes INNODB_TRX only when it has not been read for
		// 100 ms: polling faster would read the first answer forever.
		time.Sleep(200 * time.Millisecond)
	}
}
