// Package lockouttest is the one conformance suite of auth.Lockout: every
// implementation (the SQL store on each engine, Redis, and the fallback
// between them) runs it from its own tests, so that all of them count,
// lock, expire and hint alike.
package lockouttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

const (
	limit   = 3
	lockFor = 15 * time.Minute
)

// Run checks that the lockouts made by newLockout keep the contract of
// auth.Lockout. newLockout is called once per subtest; the lockouts may
// share state (one server), since every subtest uses keys of its own. All
// times are explicit and whole seconds, so no test sleeps, and
// implementations may store times with millisecond precision.
func Run(t *testing.T, newLockout func(t *testing.T) auth.Lockout) {
	tests := []struct {
		name string
		run  func(t *testing.T, l auth.Lockout)
	}{
		{"LocksAtLimit", testLocksAtLimit},
		{"FailWhileLockedReportsNoNewLock", testFailWhileLocked},
		{"LockExpires", testLockExpires},
		{"FailuresExpireAfterLastChange", testFailuresExpire},
		{"SucceedResetsOrReleases", testSucceed},
		{"ReservationsCountTowardsLimit", testReservationsCount},
		{"KeysIndependent", testKeysIndependent},
		{"SucceedOnUnknownKey", testSucceedUnknown},
		{"ParallelReserve", testParallelReserve},
		{"ParallelFailLocksOnce", testParallelFail},
		{"Clear", testClear},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newLockout(t))
		})
	}
}

// RunShared checks that a and b, two lockouts meant to share state (two
// replicas on one server), see each other's attempts and locks.
func RunShared(t *testing.T, a, b auth.Lockout) {
	ctx := context.Background()
	key := Key(t)
	t0 := start()
	for i := range limit {
		l := []auth.Lockout{a, b}[i%2]
		now := t0.Add(time.Duration(i) * time.Second)
		mustReserve(t, l, key, now, 0)
		mustFail(t, l, key, now, i == limit-1)
	}
	locked := t0.Add(time.Duration(limit-1) * time.Second)
	for name, l := range map[string]auth.Lockout{"a": a, "b": b} {
		got, err := l.Reserve(ctx, key, limit, lockFor, locked.Add(time.Minute))
		if err != nil {
			t.Fatalf("%s.Reserve() error = %v", name, err)
		}
		if want := lockFor - time.Minute; !near(got, want) {
			t.Errorf("%s.Reserve() on a key locked through the other = %v, want %v", name, got, want)
		}
	}
	if err := b.Succeed(ctx, key, true); err != nil {
		t.Fatalf("b.Succeed(reset) error = %v", err)
	}
	mustReserve(t, a, key, locked.Add(2*time.Minute), 0)
}

// Key returns a key no other test uses, shaped like the service's
// email-and-address keys.
func Key(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	return "lockouttest-" + hex.EncodeToString(b) + "@example.com|198.51.100.7"
}

// start is a base time of whole seconds near the real clock, so that
// stores with their own expiry (a Redis TTL) agree with it.
func start() time.Time {
	return time.Now().Truncate(time.Second)
}

// near reports whether got is want up to the millisecond precision a
// store may keep.
func near(got, want time.Duration) bool {
	d := got - want
	return d > -time.Millisecond && d < time.Millisecond
}

func mustReserve(t *testing.T, l auth.Lockout, key string, now time.Time, want time.Duration) {
	t.Helper()
	got, err := l.Reserve(context.Background(), key, limit, lockFor, now)
	if err != nil {
		t.Fatalf("Reserve(%q, %d, %v, %v) error = %v", key, limit, lockFor, now, err)
	}
	if !near(got, want) {
		t.Fatalf("Reserve(%q, %d, %v, %v) = %v, want %v", key, limit, lockFor, now, got, want)
	}
}

func mustFail(t *testing.T, l auth.Lockout, key string, now time.Time, want bool) {
	t.Helper()
	got, err := l.Fail(context.Background(), key, limit, lockFor, now)
	if err != nil {
		t.Fatalf("Fail(%q, %d, %v, %v) error = %v", key, limit, lockFor, now, err)
	}
	if got != want {
		t.Fatalf("Fail(%q, %d, %v, %v) = %v, want %v", key, limit, lockFor, now, got, want)
	}
}

func mustSucceed(t *testing.T, l auth.Lockout, key string, reset bool) {
	t.Helper()
	if err := l.Succeed(context.Background(), key, reset); err != nil {
		t.Fatalf("Succeed(%q, %v) error = %v", key, reset, err)
	}
}

// failures records n reserved-then-failed attempts one second apart from
// now and returns the time of the last.
func failures(t *testing.T, l auth.Lockout, key string, now time.Time, n int) time.Time {
	t.Helper()
	last := now
	for i := range n {
		last = now.Add(time.Duration(i) * time.Second)
		mustReserve(t, l, key, last, 0)
		mustFail(t, l, key, last, false)
	}
	return last
}

func testLocksAtLimit(t *testing.T, l auth.Lockout) {
	key := Key(t)
	t0 := start()
	last := failures(t, l, key, t0, limit-1)
	mustReserve(t, l, key, last, 0)
	mustFail(t, l, key, last, true)
	// Locked for lockFor from the failure that locked, right password or
	// not: the retry-after counts down.
	mustReserve(t, l, key, last, lockFor)
	mustReserve(t, l, key, last.Add(5*time.Minute), lockFor-5*time.Minute)
	mustReserve(t, l, key, last.Add(lockFor-time.Second), time.Second)
}

// testFailWhileLocked: a failure already in flight when the lock fell does
// not report the lock a second time, nor extend it.
func testFailWhileLocked(t *testing.T, l auth.Lockout) {
	key := Key(t)
	t0 := start()
	for range limit {
		mustReserve(t, l, key, t0, 0)
	}
	for i := range limit {
		mustFail(t, l, key, t0, i == limit-1)
	}
	mustFail(t, l, key, t0.Add(time.Second), false)
	mustReserve(t, l, key, t0.Add(time.Minute), lockFor-time.Minute)
}

func testLockExpires(t *testing.T, l auth.Lockout) {
	key := Key(t)
	t0 := failures(t, l, key, start(), limit-1)
	mustReserve(t, l, key, t0, 0)
	mustFail(t, l, key, t0, true)
	// Refused reservations during the lock change nothing, so they do not
	// make it last longer.
	for m := 1; m < 15; m++ {
		wait := time.Duration(m) * time.Minute
		mustReserve(t, l, key, t0.Add(wait), lockFor-wait)
	}
	// At its end the key starts afresh: limit more failures to lock again.
	last := failures(t, l, key, t0.Add(lockFor), limit-1)
	mustReserve(t, l, key, last, 0)
	mustFail(t, l, key, last, true)
}

func testFailuresExpire(t *testing.T, l auth.Lockout) {
	t0 := start()
	t.Run("just before expiry the count holds", func(t *testing.T) {
		key := Key(t)
		last := failures(t, l, key, t0, limit-1)
		at := last.Add(lockFor - time.Second)
		mustReserve(t, l, key, at, 0)
		mustFail(t, l, key, at, true)
	})
	t.Run("at expiry the count is gone", func(t *testing.T) {
		key := Key(t)
		last := failures(t, l, key, t0, limit-1)
		at := last.Add(lockFor)
		failures(t, l, key, at, limit-1)
	})
	t.Run("each failure extends the expiry", func(t *testing.T) {
		key := Key(t)
		failures(t, l, key, t0, 1)
		mid := t0.Add(10 * time.Minute)
		failures(t, l, key, mid, 1)
		// 20 minutes after the first failure, 10 after the second: with
		// limit 3 the third failure locks only if both still count.
		at := t0.Add(20 * time.Minute)
		mustReserve(t, l, key, at, 0)
		mustFail(t, l, key, at, true)
	})
	t.Run("expiry counts from the failure, not its reservation", func(t *testing.T) {
		key := Key(t)
		mustReserve(t, l, key, t0, 0)
		// A slow attempt: its failure lands 10 minutes after it began.
		mustFail(t, l, key, t0.Add(10*time.Minute), false)
		at := t0.Add(20 * time.Minute)
		failures(t, l, key, at, limit-2)
		mustReserve(t, l, key, at, 0)
		mustFail(t, l, key, at, true)
	})
}

// testSucceed: a success with reset clears the key (limit more failures
// to lock), one without only releases its reservation (the next failure
// locks).
func testSucceed(t *testing.T, l auth.Lockout) {
	for _, tt := range []struct {
		reset         bool
		failuresAfter int
	}{{true, limit - 1}, {false, 0}} {
		key := Key(t)
		last := failures(t, l, key, start(), limit-1)
		mustReserve(t, l, key, last, 0)
		mustSucceed(t, l, key, tt.reset)
		last = failures(t, l, key, last.Add(time.Second), tt.failuresAfter)
		next := last.Add(time.Second)
		mustReserve(t, l, key, next, 0)
		mustFail(t, l, key, next, true)
	}
}

func testReservationsCount(t *testing.T, l auth.Lockout) {
	key := Key(t)
	t0 := start()
	failures(t, l, key, t0, 1)
	for range limit - 1 {
		mustReserve(t, l, key, t0, 0)
	}
	// Every remaining attempt is in progress: refused, not locked, with
	// the same short hint from every implementation, and the refusal
	// counts nothing.
	for range 3 {
		mustReserve(t, l, key, t0, auth.LockoutBusyRetry)
	}
	// Ending one attempt frees exactly one place.
	mustSucceed(t, l, key, false)
	mustReserve(t, l, key, t0, 0)
	mustReserve(t, l, key, t0, auth.LockoutBusyRetry)
	// Failures of the attempts in progress lock the key once.
	mustFail(t, l, key, t0, false)
	mustFail(t, l, key, t0, true)
	mustReserve(t, l, key, t0, lockFor)
}

func testKeysIndependent(t *testing.T, l auth.Lockout) {
	a, b := Key(t), Key(t)
	t0 := start()
	failures(t, l, a, t0, limit-1)
	mustReserve(t, l, a, t0, 0)
	mustFail(t, l, a, t0, true)
	mustReserve(t, l, b, t0, 0)
	mustFail(t, l, b, t0, false)
	mustSucceed(t, l, b, true)
	mustReserve(t, l, a, t0, lockFor)
}

func testSucceedUnknown(t *testing.T, l auth.Lockout) {
	key := Key(t)
	mustSucceed(t, l, key, false)
	mustSucceed(t, l, key, true)
	t0 := start()
	last := failures(t, l, key, t0, limit-1)
	mustReserve(t, l, key, last, 0)
	mustFail(t, l, key, last, true)
}

func testParallelReserve(t *testing.T, l auth.Lockout) {
	const (
		callers = 30
		lim     = 5
	)
	key := Key(t)
	now := start()
	var granted, refused atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			got, err := l.Reserve(context.Background(), key, lim, lockFor, now)
			switch {
			case err != nil:
				t.Errorf("Reserve() error = %v", err)
			case got == 0:
				granted.Add(1)
			case got > 0:
				refused.Add(1)
			default:
				t.Errorf("Reserve() = %v, want 0 or positive", got)
			}
		})
	}
	wg.Wait()
	if got := granted.Load(); got != lim {
		t.Errorf("%d parallel Reserve(limit %d) granted %d, want %d", callers, lim, got, lim)
	}
	if got := refused.Load(); got != callers-lim {
		t.Errorf("%d parallel Reserve(limit %d) refused %d, want %d", callers, lim, got, callers-lim)
	}
}

func testParallelFail(t *testing.T, l auth.Lockout) {
	const lim = 5
	key := Key(t)
	now := start()
	for range lim {
		got, err := l.Reserve(context.Background(), key, lim, lockFor, now)
		if err != nil || got != 0 {
			t.Fatalf("Reserve() = %v, %v; want 0, nil", got, err)
		}
	}
	var locks atomic.Int64
	var wg sync.WaitGroup
	for range lim {
		wg.Go(func() {
			locked, err := l.Fail(context.Background(), key, lim, lockFor, now)
			if err != nil {
				t.Errorf("Fail() error = %v", err)
			}
			if locked {
				locks.Add(1)
			}
		})
	}
	wg.Wait()
	if got := locks.Load(); got != 1 {
		t.Errorf("%d parallel Fail(limit %d) reported locked %d times, want 1", lim, lim, got)
	}
	got, err := l.Reserve(context.Background(), key, lim, lockFor, now)
	if err != nil || !near(got, lockFor) {
		t.Errorf("Reserve() after parallel failures = %v, %v; want %v", got, err, lockFor)
	}
}
