package lockout

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/lockout/lockouttest"
	"github.com/redis/go-redis/v9"
)

func sortedStrings(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(msg string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), msg)
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

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
	downMsg = "lockout falling back to in-process"
	upMsg   = "lockout recovered"
)

func TestFallbackConformance(t *testing.T) {
	t.Run("primary up", func(t *testing.T) {
		lockouttest.Run(t, func(t *testing.T) auth.Lockout { return NewFallback(NewMemory(), NewMemory(), nil) })
	})
	t.Run("primary down", func(t *testing.T) {
		lockouttest.Run(t, func(t *testing.T) auth.Lockout {
			primary := &switchable{inner: NewMemory()}
			primary.fail.Store(true)
			return NewFallback(primary, NewMemory(), nil)
		})
	})
}

func TestFallbackClosedPort(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	logger, logs := newLogger()
	l := NewFallback(NewRedis(c, "closed:"), NewMemory(), logger)
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
	if got := logs.count(downMsg); got != 1 {
		t.Errorf("%q logged %d times, want 1", downMsg, got)
	}
}

func TestFallbackOutageAndRecovery(t *testing.T) {
	ctx := context.Background()
	primary := &switchable{inner: NewMemory()}
	local := NewMemory()
	logger, logs := newLogger()
	l := NewFallback(primary, local, logger).(*fallback)
	clock := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return clock }
	const key = "a@example.com|198.51.100.7"

	type want struct{ primaryCalls, down, up int }
	check := func(step string, w want) {
		t.Helper()
		got := want{int(primary.calls.Load()), logs.count(downMsg), logs.count(upMsg)}
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
	primary := &switchable{inner: NewMemory()}
	primary.fail.Store(true)
	logger, logs := newLogger()
	l := NewFallback(primary, NewMemory(), logger)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := l.Reserve(ctx, "k", 5, time.Minute, time.Now()); err != nil || got != 0 {
		t.Errorf("Reserve(cancelled ctx) = %v, %v; want 0 from fallback", got, err)
	}
	if got := logs.count(downMsg); got != 0 {
		t.Errorf("%q logged %d times after a cancelled call, want 0", downMsg, got)
	}
	if l.(*fallback).down.Load() {
		t.Errorf("primary marked down after the caller cancelled, want up")
	}
}
