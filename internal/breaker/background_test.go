package breaker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// TestBackgroundFailuresDoNotOpen: a background caller's infrastructure
// failures pass through (as ErrUnavailable) without opening the circuit;
// the same failures from a request do; once open, background calls are
// refused like any other.
func TestBackgroundFailuresDoNotOpen(t *testing.T) {
	inner := &fakeStore{}
	down := fmt.Errorf("%w: connection refused", auth.ErrUnavailable)
	inner.setHook(func(context.Context, string) error { return down })
	s := NewStore(inner, nil, Options{MaxFailures: 2, OpenTimeout: time.Minute, Timeout: time.Second})
	bg := Background(context.Background())
	for i := range 5 {
		if _, err := s.UserByID(bg, 1); !errors.Is(err, auth.ErrUnavailable) {
			t.Fatalf("background call %d = %v, want ErrUnavailable", i, err)
		}
	}
	if got := s.State(); got != StateClosed {
		t.Fatalf("after 5 background failures the circuit is %s, want closed", got)
	}
	for range 2 {
		_, _ = s.UserByID(context.Background(), 1)
	}
	if got := s.State(); got != StateOpen {
		t.Fatalf("after 2 request failures the circuit is %s, want open", got)
	}
	before := inner.calls.Load()
	if _, err := s.UserByID(bg, 1); !errors.Is(err, auth.ErrUnavailable) || inner.calls.Load() != before {
		t.Errorf("background call on an open circuit = %v, reached the store: %v; want refused", err, inner.calls.Load() != before)
	}
}
