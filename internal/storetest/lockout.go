package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

const lockFor = 15 * time.Minute

// RunLockout runs the auth.Lockout contract against lockouts made by open,
// one fresh lockout per subtest, subtests in parallel.
func RunLockout(t *testing.T, open func(t *testing.T) auth.Lockout) {
	tests := []struct {
		name string
		fn   func(t *testing.T, l auth.Lockout)
	}{
		{"LocksAtLimit", testLocksAtLimit},
		{"LockExpires", testLockExpires},
		{"StateExpires", testStateExpires},
		{"SuccessResets", testSuccessResets},
		{"ReservationsCount", testReservationsCount},
		{"KeysAreIndependent", testKeysAreIndependent},
		{"ParallelReserve", testParallelReserve},
		{"Clear", testClear},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// failOnce reserves and then fails one attempt at now, and reports
// whether that failure locked the key.
func failOnce(t *testing.T, l auth.Lockout, key string, limit int, now time.Time) bool {
	t.Helper()
	ctx := context.Background()
	if retry, err := l.Reserve(ctx, key, limit, lockFor, now); err != nil || retry != 0 {
		t.Fatalf("Reserve(%q) at %v = %v, %v, want 0, nil", key, now, retry, err)
	}
	locked, err := l.Fail(ctx, key, limit, lockFor, now)
	if err != nil {
		t.Fatalf("Fail(%q) = %v", key, err)
	}
	return locked
}

func testLocksAtLimit(t *testing.T, l auth.Lockout) {
	ctx := context.Background()
	const limit = 3
	for i := range limit {
		now := t0.Add(time.Duration(i) * time.Second)
		if locked, want := failOnce(t, l, "k", limit, now), i == limit-1; locked != want {
			t.Errorf("failure %d of limit %d: locked = %v, want %v", i+1, limit, locked, want)
		}
	}
	lockedAt := t0.Add((limit - 1) * time.Second)
	tests := []struct {
		now  time.Time
		want time.Duration
	}{
		{lockedAt, lockFor},
		{lockedAt.Add(time.Minute), lockFor - time.Minute},
		{lockedAt.Add(lockFor - time.Microsecond), time.Microsecond},
	}
	for _, tc := range tests {
		retry, err := l.Reserve(ctx, "k", limit, lockFor, tc.now)
		if err != nil || retry != tc.want {
			t.Errorf("Reserve(locked key) %v after the lock = %v, %v, want %v, nil", tc.now.Sub(lockedAt), retry, err, tc.want)
		}
	}
	// A failure already in flight when the lock fell does not report the
	// lock a second time.
	if locked, err := l.Fail(ctx, "k", limit, lockFor, lockedAt.Add(time.Second)); err != nil || locked {
		t.Errorf("Fail(already locked key) = %v, %v, want false, nil", locked, err)
	}
}

func testLockExpires(t *testing.T, l auth.Lockout) {
	ctx := context.Background()
	const limit = 2
	failOnce(t, l, "k", limit, t0)
	if !failOnce(t, l, "k", limit, t0) {
		t.Fatalf("second failure of limit %d did not lock", limit)
	}
	// Once the lock has run out, the count starts afresh: limit-1
	// failures do not lock again.
	after := t0.Add(lockFor)
	if locked := failOnce(t, l, "k", limit, after); locked {
		t.Errorf("first failure after the lock expired locked the key again")
	}
	if retry, err := l.Reserve(ctx, "k", limit, lockFor, after); err != nil || retry != 0 {
		t.Errorf("Reserve after the lock expired = %v, %v, want 0, nil", retry, err)
	}
}

func testStateExpires(t *testing.T, l auth.Lockout) {
	const limit = 3
	failOnce(t, l, "k", limit, t0)
	failOnce(t, l, "k", limit, t0.Add(time.Minute))
	// lockFor after the last change, the two failures are forgotten.
	later := t0.Add(time.Minute + lockFor)
	for i := range limit - 1 {
		if failOnce(t, l, "k", limit, later) {
			t.Errorf("failure %d after the state expired locked the key, want the count restarted", i+1)
		}
	}
	if !failOnce(t, l, "k", limit, later) {
		t.Errorf("failure %d after the state expired did not lock the key", limit)
	}
}

func testSuccessResets(t *testing.T, l auth.Lockout) {
	ctx := context.Background()
	const limit = 3
	failOnce(t, l, "k", limit, t0)
	failOnce(t, l, "k", limit, t0)
	if retry, err := l.Reserve(ctx, "k", limit, lockFor, t0); err != nil || retry != 0 {
		t.Fatalf("Reserve = %v, %v, want 0, nil", retry, err)
	}
	if err := l.Succeed(ctx, "k", true); err != nil {
		t.Fatalf("Succeed(reset) = %v", err)
	}
	for i := range limit - 1 {
		if failOnce(t, l, "k", limit, t0) {
			t.Errorf("failure %d after a successful login locked the key, want the count reset", i+1)
		}
	}
	// Succeed on a key that has no state is harmless.
	if err := l.Succeed(ctx, "never-seen", true); err != nil {
		t.Errorf("Succeed(unknown key, reset) = %v, want nil", err)
	}
	if err := l.Succeed(ctx, "never-seen", false); err != nil {
		t.Errorf("Succeed(unknown key) = %v, want nil", err)
	}
}

func testReservationsCount(t *testing.T, l auth.Lockout) {
	ctx := context.Background()
	const limit = 2
	for i := range limit {
		if retry, err := l.Reserve(ctx, "k", limit, lockFor, t0); err != nil || retry != 0 {
			t.Fatalf("Reserve #%d = %v, %v, want 0, nil", i+1, retry, err)
		}
	}
	// limit attempts in flight: the next one waits, counting nothing.
	for range 3 {
		if retry, err := l.Reserve(ctx, "k", limit, lockFor, t0); err != nil || retry <= 0 {
			t.Errorf("Reserve beyond limit in-flight attempts = %v, %v, want a positive retry-after", retry, err)
		}
	}
	// Releasing one reservation (success without reset) makes room for
	// exactly one more.
	if err := l.Succeed(ctx, "k", false); err != nil {
		t.Fatalf("Succeed(no reset) = %v", err)
	}
	if retry, err := l.Reserve(ctx, "k", limit, lockFor, t0); err != nil || retry != 0 {
		t.Errorf("Reserve after a release = %v, %v, want 0, nil", retry, err)
	}
	if retry, err := l.Reserve(ctx, "k", limit, lockFor, t0); err != nil || retry <= 0 {
		t.Errorf("Reserve beyond limit after a release = %v, %v, want a positive retry-after", retry, err)
	}
	// The in-flight attempts failing lock the key once.
	locks := 0
	for range limit {
		locked, err := l.Fail(ctx, "k", limit, lockFor, t0)
		if err != nil {
			t.Fatalf("Fail = %v", err)
		}
		if locked {
			locks++
		}
	}
	if locks != 1 {
		t.Errorf("%d failures of limit %d reported locked %d times, want once", limit, limit, locks)
	}
}

func testKeysAreIndependent(t *testing.T, l auth.Lockout) {
	ctx := context.Background()
	const limit = 2
	failOnce(t, l, "alice@example.com|192.0.2.1", limit, t0)
	failOnce(t, l, "alice@example.com|192.0.2.1", limit, t0)
	for _, key := range []string{"alice@example.com|192.0.2.2", "bob@example.com|192.0.2.1", "alice@example.com"} {
		if retry, err := l.Reserve(ctx, key, limit, lockFor, t0); err != nil || retry != 0 {
			t.Errorf("Reserve(%q) while another key is locked = %v, %v, want 0, nil", key, retry, err)
		}
	}
}

func testParallelReserve(t *testing.T, l auth.Lockout) {
	const n, limit, rounds = 30, 5, 3
	ctx := context.Background()
	warm(t, n, func() error { return l.Succeed(ctx, "warm-up", true) })
	for round := range rounds {
		key := fmt.Sprintf("k%d", round)
		retries := make([]time.Duration, n)
		errs := race(n, func(i int) error {
			var err error
			retries[i], err = l.Reserve(ctx, key, limit, lockFor, t0)
			return err
		})
		granted := 0
		for i := range n {
			switch {
			case errs[i] != nil:
				t.Errorf("round %d: Reserve #%d of %d parallel = %v", round, i, n, errs[i])
			case retries[i] == 0:
				granted++
			case retries[i] < 0:
				t.Errorf("round %d: Reserve #%d of %d parallel retry-after = %v, want positive", round, i, n, retries[i])
			}
		}
		if granted != limit {
			t.Errorf("round %d: %d parallel Reserve with limit %d: %d granted, want exactly %d", round, n, limit, granted, limit)
		}
	}
}
