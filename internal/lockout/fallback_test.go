package lockout

import (
	"github.com/authserve/authserve/internal/logtest"

	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/fallback"
	"github.com/authserve/authserve/internal/lockouttest"
)

// switchable is a primary whose failure a test turns on and off.
type switchable struct {
	inner auth.Lockout
	fail  atomic.Bool
	calls atomic.Int64
}

var errDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func (s *switchable) Reserve(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (time.Duration, error) {
	s.calls.Add(1)
	if s.fail.Load() {
		return 0, errDown
	}
	return s.inner.Reserve(ctx, key, limit, lockFor, now)
}

func (s *switchable) Fail(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (bool, error) {
	s.calls.Add(1)
	if s.fail.Load() {
		return false, errDown
	}
	return s.inner.Fail(ctx, key, limit, lockFor, now)
}

func (s *switchable) Succeed(ctx context.Context, key string, reset bool) error {
	s.calls.Add(1)
	if s.fail.Load() {
		return errDown
	}
	return s.inner.Succeed(ctx, key, reset)
}

func (s *switchable) Clear(ctx context.Context, exact, prefix string) error {
	s.calls.Add(1)
	if s.fail.Load() {
		return errDown
	}
	return s.inner.Clear(ctx, exact, prefix)
}

const (
	downMsg = "lockout falling back to the database"
	upMsg   = "lockout recovered"
)

// testLockout is a Redis lockout with keys of its own: the fallback's
// other side in these tests (the database's counters in production).
func testLockout(t *testing.T, c redis.UniversalClient) auth.Lockout {
	return NewRedis(c, testPrefix(t, c))
}

func TestFallbackConformance(t *testing.T) {
	c := testRedis(t)
	t.Run("primary up", func(t *testing.T) {
		lockouttest.Run(t, func(t *testing.T) auth.Lockout { return NewFallback(testLockout(t, c), testLockout(t, c), nil) })
	})
	t.Run("primary down", func(t *testing.T) {
		lockouttest.Run(t, func(t *testing.T) auth.Lockout {
			primary := &switchable{inner: testLockout(t, c)}
			primary.fail.Store(true)
			return NewFallback(primary, testLockout(t, c), nil)
		})
	})
}

func TestFallbackClosedPort(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	logger, logs := logtest.NewLogger()
	l := NewFallback(NewRedis(c, "closed:"), testLockout(t, testRedis(t)), logger)
	now := time.Now()

	start := time.Now()
	var granted atomic.Int64
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			got, err := l.Reserve(context.Background(), "victim@example.com", 5, time.Minute, now)
			if err != nil {
				t.Errorf("Reserve() during outage error = %v, want nil", err)
			}
			if got == 0 {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took > time.Second {
		t.Errorf("30 calls during an outage took %v, want well under 1s", took)
	}
	if got := granted.Load(); got != 5 {
		t.Errorf("parallel Reserve(limit 5) during outage granted %d, want 5", got)
	}
	if got := logs.Count(downMsg); got != 1 {
		t.Errorf("%q logged %d times, want 1", downMsg, got)
	}
}

func TestFallbackOutageAndRecovery(t *testing.T) {
	ctx := context.Background()
	c := testRedis(t)
	primary := &switchable{inner: testLockout(t, c)}
	local := testLockout(t, c)
	logger, logs := logtest.NewLogger()
	clock := time.Now().Truncate(time.Second)
	l := newFallback(primary, local, fallback.Options{Name: "lockout", To: "the database", Logger: logger, Now: func() time.Time { return clock }})
	const key = "a@example.com|198.51.100.7"

	type want struct{ primaryCalls, down, up int }
	check := func(step string, w want) {
		t.Helper()
		got := want{int(primary.calls.Load()), logs.Count(downMsg), logs.Count(upMsg)}
		if got != w {
			t.Errorf("%s: (primary calls, down logs, up logs) = %+v, want %+v", step, got, w)
		}
	}
	attempt := func(wantLocked bool) {
		t.Helper()
		if got, err := l.Reserve(ctx, key, 3, time.Minute, clock); err != nil || got != 0 {
			t.Fatalf("Reserve() = %v, %v; want 0, nil", got, err)
		}
		if got, err := l.Fail(ctx, key, 3, time.Minute, clock); err != nil || got != wantLocked {
			t.Fatalf("Fail() = %v, %v; want %v, nil", got, err, wantLocked)
		}
	}

	attempt(false)
	check("primary up", want{2, 0, 0})

	primary.fail.Store(true)
	attempt(false)
	check("outage: one failed call, then fallback only", want{3, 1, 0})
	if got, _ := local.Reserve(ctx, key, 1, time.Minute, clock); got == 0 {
		t.Errorf("fallback holds no failure for the key, want the one counted during the outage")
	}

	for range 10 {
		l.Succeed(ctx, "other", true)
	}
	check("outage: primary not hammered", want{3, 1, 0})

	primary.fail.Store(false)
	clock = clock.Add(time.Second)
	// The probe succeeds and the primary's count from before the outage
	// (one failure) goes on: two more failures lock at limit 3.
	attempt(false)
	attempt(true)
	check("recovered", want{7, 1, 1})

	primary.fail.Store(true)
	l.Succeed(ctx, key, true)
	check("second outage logged again", want{8, 2, 1})
}

func TestFallbackCallerCancelIsNoOutage(t *testing.T) {
	c := testRedis(t)
	primary := &switchable{inner: testLockout(t, c)}
	primary.fail.Store(true)
	logger, logs := logtest.NewLogger()
	l := NewFallback(primary, testLockout(t, c), logger)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The fallback (Redis here) sees the cancelled context too: what it
	// answers does not matter, only that the primary is not taken down.
	_, _ = l.Reserve(ctx, "k", 5, time.Minute, time.Now())
	if got := logs.Count(downMsg); got != 0 {
		t.Errorf("%q logged %d times after a cancelled call, want 0", downMsg, got)
	}
	if l.(*fallbackLockout).sw.Down() {
		t.Errorf("primary marked down after the caller cancelled, want up")
	}
}
