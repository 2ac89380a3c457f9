package lockout

import (
	"context"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/lockout/lockouttest"
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

func TestMemoryClear(t *testing.T) {
	lockouttest.RunClear(t, func(t *testing.T) auth.Lockout { return NewMemory() })
}

func TestRedisClear(t *testing.T) {
	c := testRedis(t)
	lockouttest.RunClear(t, func(t *testing.T) auth.Lockout { return NewRedis(c, testPrefix(t, c)) })
}

func TestFallbackClear(t *testing.T) {
	lockouttest.RunClear(t, func(t *testing.T) auth.Lockout { return NewFallback(NewMemory(), NewMemory(), nil) })
}

// TestFallbackClearsBothSides: a lock taken in the fallback during an
// outage of the primary is cleared too, and so is the primary's.
func TestFallbackClearsBothSides(t *testing.T) {
	ctx := context.Background()
	primary := &switchable{inner: NewMemory()}
	back := NewMemory()
	l := NewFallback(primary, back, nil)
	now := time.Now()
	for _, side := range []auth.Lockout{primary.inner, back} {
		if _, err := side.Fail(ctx, "pair:a@example.com|198.51.100.7", 1, time.Hour, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Clear(ctx, "", "pair:a@example.com|"); err != nil {
		t.Fatalf("Clear() = %v", err)
	}
	for name, side := range map[string]auth.Lockout{"primary": primary.inner, "fallback": back} {
		if locked, _ := side.Locked(ctx, "", "pair:a@example.com|", now); locked {
			t.Errorf("%s still locked after Clear", name)
		}
	}
}
