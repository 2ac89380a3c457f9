package lockout

import (
	"context"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/lockouttest"
)

func (s *switchable) Clear(ctx context.Context, exact, prefix string) error {
	s.calls.Add(1)
	if s.fail.Load() {
		return errDown
	}
	return s.inner.Clear(ctx, exact, prefix)
}

func (s *switchable) Locked(ctx context.Context, exact, prefix string, now time.Time) (bool, error) {
	s.calls.Add(1)
	if s.fail.Load() {
		return false, errDown
	}
	return s.inner.Locked(ctx, exact, prefix, now)
}

func TestRedisClear(t *testing.T) {
	c := testRedis(t)
	lockouttest.RunClear(t, func(t *testing.T) auth.Lockout { return NewRedis(c, testPrefix(t, c)) })
}

func TestFallbackClear(t *testing.T) {
	c := testRedis(t)
	lockouttest.RunClear(t, func(t *testing.T) auth.Lockout { return NewFallback(testLockout(t, c), testLockout(t, c), nil) })
}

// TestFallbackClearsBothSides: a lock taken in the fallback during an
// outage of the primary is cleared too, and so is the primary's; while
// the primary is down, Clear fails rather than leave its locks behind.
func TestFallbackClearsBothSides(t *testing.T) {
	c := testRedis(t)
	ctx := context.Background()
	primary := &switchable{inner: testLockout(t, c)}
	back := testLockout(t, c)
	l := NewFallback(primary, back, nil)
	now := time.Now()
	key := "pair:both@example.com|198.51.100.7"
	for _, side := range []auth.Lockout{primary.inner, back} {
		if _, err := side.Fail(ctx, key, 1, time.Hour, now); err != nil {
			t.Fatal(err)
		}
	}
	if locked, err := l.Locked(ctx, "", "pair:both@example.com|", now); err != nil || !locked {
		t.Fatalf("Locked() = %v, %v; want true", locked, err)
	}
	primary.fail.Store(true)
	if err := l.Clear(ctx, "", "pair:both@example.com|"); err == nil {
		t.Errorf("Clear() with the primary down = nil, want an error")
	}
	primary.fail.Store(false)
	if err := l.Clear(ctx, "", "pair:both@example.com|"); err != nil {
		t.Fatalf("Clear() = %v", err)
	}
	for name, side := range map[string]auth.Lockout{"primary": primary.inner, "fallback": back} {
		if locked, _ := side.Locked(ctx, "", "pair:both@example.com|", now); locked {
			t.Errorf("%s still locked after Clear", name)
		}
	}
}
