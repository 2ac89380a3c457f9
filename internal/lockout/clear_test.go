package lockout

import (
	"context"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/lockouttest"
)

func (s *switchable) Locked(ctx context.Context, exact, prefix string, now time.Time) (bool, error) {
	s.calls.Add(1)
	if s.fail.Load() {
		return false, errDown
	}
	return s.inner.Locked(ctx, exact, prefix, now)
}

func TestRedisLocked(t *testing.T) {
	c := testRedis(t)
	lockouttest.RunLocked(t, func(t *testing.T) auth.Lockout { return NewRedis(c, testPrefix(t, c)) })
}

func TestFallbackLocked(t *testing.T) {
	c := testRedis(t)
	lockouttest.RunLocked(t, func(t *testing.T) auth.Lockout { return NewFallback(testLockout(t, c), testLockout(t, c), nil) })
}

// TestFallbackLockedBothSides: a lock taken in the fallback during an
// outage of the primary is seen, and so is the primary's; Clear clears
// both.
func TestFallbackLockedBothSides(t *testing.T) {
	c := testRedis(t)
	ctx := context.Background()
	primary := &switchable{inner: testLockout(t, c)}
	back := testLockout(t, c)
	l := NewFallback(primary, back, nil)
	now := time.Now()
	key := "pair:both@example.com|198.51.100.7"
	for name, side := range map[string]auth.Lockout{"primary": primary.inner, "fallback": back} {
		if _, err := side.Fail(ctx, key, 1, time.Hour, now); err != nil {
			t.Fatal(err)
		}
		if locked, err := l.Locked(ctx, "", "pair:both@example.com|", now); err != nil || !locked {
			t.Fatalf("Locked() with the %s's lock = %v, %v; want true", name, locked, err)
		}
		if err := l.Clear(ctx, "", "pair:both@example.com|"); err != nil {
			t.Fatalf("Clear() = %v", err)
		}
		if locked, _ := side.Locked(ctx, "", "pair:both@example.com|", now); locked {
			t.Errorf("%s still locked after Clear", name)
		}
	}
}
