package ratelimit

import (
	"github.com/authserve/authserve/internal/logtest"

	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authserve/authserve/internal/fallback"
	"github.com/authserve/authserve/internal/redistest"
)

// switchable is a primary whose failure a test turns on and off.
type switchable struct {
	inner Limiter
	fail  atomic.Bool
	calls atomic.Int64
}

func (s *switchable) Allow(ctx context.Context, key string) (Decision, error) {
	s.calls.Add(1)
	if s.fail.Load() {
		return Decision{}, errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	}
	return s.inner.Allow(ctx, key)
}

const (
	downMsg = "rate limiter falling back to in-process"
	upMsg   = "rate limiter recovered"
)

func TestFallbackClosedPort(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	primary := NewRedis(c, 5, "closed:")
	local := NewMemory(1000)
	defer local.Close()
	logger, logs := logtest.NewLogger()
	var served atomic.Int64
	l := NewFallback(primary, local, logger, func() { served.Add(1) })

	start := time.Now()
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 10 {
		wg.Go(func() {
			for range 5 {
				d, err := l.Allow(context.Background(), "198.51.100.1")
				if err != nil {
					t.Errorf("Allow() during outage error = %v, want nil", err)
				}
				if !d.Allowed {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took > time.Second {
		t.Errorf("50 calls during an outage took %v, want well under 1s", took)
	}
	if got := refused.Load(); got != 0 {
		t.Errorf("refusals during outage = %d, want 0", got)
	}
	if got := served.Load(); got != 50 {
		t.Errorf("decisions served by fallback = %d, want 50", got)
	}
	if got := logs.Count(downMsg); got != 1 {
		t.Errorf("%q logged %d times, want 1", downMsg, got)
	}
}

func TestFallbackKeepsLimiting(t *testing.T) {
	// The outage does not refuse requests, but the fallback still limits.
	primary := &switchable{inner: NewMemory(5)}
	primary.fail.Store(true)
	local := newTestMemory(t, 5, defaultMaxKeys, newFakeClock())
	l := NewFallback(primary, local, nil, nil)
	for i := range 5 {
		if d, _ := l.Allow(context.Background(), "k"); !d.Allowed {
			t.Fatalf("Allow() #%d = %+v, want allowed", i+1, d)
		}
	}
	if d, _ := l.Allow(context.Background(), "k"); d.Allowed || d.RetryAfter != 12*time.Second {
		t.Errorf("Allow() #6 = %+v, want refused by the fallback's own limit, RetryAfter 12s", d)
	}
}

func TestFallbackOutageAndRecovery(t *testing.T) {
	clock := newFakeClock()
	primary := &switchable{inner: newTestMemory(t, 1000, defaultMaxKeys, clock)}
	local := newTestMemory(t, 1000, defaultMaxKeys, clock)
	logger, logs := logtest.NewLogger()
	var served atomic.Int64
	l := newFallback(primary, local, fallback.Options{Name: "rate limiter", To: "in-process", Logger: logger, OnFallback: func() { served.Add(1) }, Now: clock.Now})
	ctx := context.Background()

	type want struct{ primaryCalls, served, down, up int64 }
	check := func(step string, w want) {
		t.Helper()
		got := want{primary.calls.Load(), served.Load(), int64(logs.Count(downMsg)), int64(logs.Count(upMsg))}
		if got != w {
			t.Errorf("%s: (primary calls, served by fallback, down logs, up logs) = %+v, want %+v", step, got, w)
		}
	}
	allow := func(n int) {
		for range n {
			if d, err := l.Allow(ctx, "k"); err != nil || !d.Allowed {
				t.Fatalf("Allow() = %+v, %v; want allowed", d, err)
			}
		}
	}

	allow(3)
	check("primary up", want{3, 0, 0, 0})

	primary.fail.Store(true)
	allow(1)
	check("outage starts", want{4, 1, 1, 0})

	allow(20)
	check("outage: primary not hammered", want{4, 21, 1, 0})

	clock.Advance(time.Second)
	allow(5)
	check("a second later: one probe, still down", want{5, 26, 1, 0})

	primary.fail.Store(false)
	clock.Advance(500 * time.Millisecond)
	allow(2)
	check("primary back, probe not due", want{5, 28, 1, 0})

	clock.Advance(500 * time.Millisecond)
	allow(3)
	check("probe succeeds: recovered", want{8, 28, 1, 1})

	primary.fail.Store(true)
	allow(2)
	check("second outage logged again", want{9, 30, 2, 1})
}

func TestFallbackCallerCancelIsNoOutage(t *testing.T) {
	primary := &switchable{inner: NewMemory(5)}
	primary.fail.Store(true)
	logger, logs := logtest.NewLogger()
	l := NewFallback(primary, newTestMemory(t, 5, defaultMaxKeys, newFakeClock()), logger, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d, err := l.Allow(ctx, "k"); err != nil || !d.Allowed {
		t.Errorf("Allow(cancelled ctx) = %+v, %v; want allowed from fallback", d, err)
	}
	if got := logs.Count(downMsg); got != 0 {
		t.Errorf("%q logged %d times after a cancelled call, want 0", downMsg, got)
	}
	if l.(*fallbackLimiter).sw.Down() {
		t.Errorf("primary marked down after the caller cancelled, want up")
	}
}

func TestFallbackWithRedis(t *testing.T) {
	c := redistest.Open(t, redistest.Single)
	primary := &switchable{inner: NewRedis(c, 5, testPrefix(t, c))}
	logger, logs := logtest.NewLogger()
	clock := newFakeClock()
	l := newFallback(primary, newTestMemory(t, 5, defaultMaxKeys, newFakeClock()), fallback.Options{Name: "rate limiter", To: "in-process", Logger: logger, Now: clock.Now})
	ctx := context.Background()
	for range 3 {
		l.Allow(ctx, "k")
	}
	primary.fail.Store(true)
	l.Allow(ctx, "k")
	primary.fail.Store(false)
	clock.Advance(time.Second)
	// Back on Redis, whose budget has 2 of 5 left.
	for i := range 2 {
		if d, _ := l.Allow(ctx, "k"); !d.Allowed || d.Remaining != 1-i {
			t.Errorf("Allow() #%d after recovery = %+v, want allowed with %d remaining", i+1, d, 1-i)
		}
	}
	if d, _ := l.Allow(ctx, "k"); d.Allowed {
		t.Errorf("Allow() after Redis budget = %+v, want refused", d)
	}
	if logs.Count(downMsg) != 1 || logs.Count(upMsg) != 1 {
		t.Errorf("logs = %q, want one outage and one recovery", logs.String())
	}
}
