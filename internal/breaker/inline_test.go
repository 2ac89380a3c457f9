package breaker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// goroutineID returns the id of the calling goroutine, from its stack's
// first line ("goroutine 42 [running]:").
func goroutineID() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	id, _ := strconv.ParseInt(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return id
}

// TestInlineCallsRunOnTheCaller shows that with InlineCalls the inner
// store runs on the caller's goroutine (no goroutine per call) and without
// it on another one.
func TestInlineCallsRunOnTheCaller(t *testing.T) {
	for _, inline := range []bool{true, false} {
		var inner int64
		f := &fakeStore{hook: func(context.Context, string) error { inner = goroutineID(); return nil }}
		s := NewStore(f, nil, Options{InlineCalls: inline})
		if _, err := s.UserByID(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		if same := inner == goroutineID(); same != inline {
			t.Errorf("InlineCalls %v: inner ran on the caller's goroutine: %v", inline, same)
		}
	}
}

// TestInlineTimeout is TestTimeout for a store that honours its context,
// the only kind InlineCalls is for; a driver that reports the interruption
// its own way (SQLite's "interrupted") still counts as the deadline.
func TestInlineTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	tests := []struct {
		name  string
		inner func(ctx context.Context) error
	}{
		{"inner honours the context", func(ctx context.Context) error {
			<-ctx.Done()
			return fmt.Errorf("query: %w: %w", auth.ErrUnavailable, ctx.Err())
		}},
		{"inner answers with a bare deadline error", func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}},
		{"driver's own interruption error", func(ctx context.Context) error {
			<-ctx.Done()
			return fmt.Errorf("query: %w: interrupted (9)", auth.ErrDatabase)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			f := &fakeStore{hook: func(ctx context.Context, _ string) error { return tt.inner(ctx) }}
			s := NewStore(f, nil, Options{Timeout: timeout, Observer: rec, InlineCalls: true})
			start := time.Now()
			_, err := s.UserByEmail(t.Context(), "a@example.com")
			took := time.Since(start)
			if !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("UserByEmail() error = %v, want %v wrapping %v", err, auth.ErrUnavailable, context.DeadlineExceeded)
			}
			if took < timeout || took > timeout+2*time.Second {
				t.Errorf("UserByEmail() returned after %v, want about %v", took, timeout)
			}
			if calls, _ := rec.snapshot(); !slices.Equal(calls, []string{"user_by_email failure"}) {
				t.Errorf("observed calls = %q, want [user_by_email failure]", calls)
			}
		})
	}
}

// TestInlineDomainErrorsAndPanics shows the inline form keeps the rest of
// call's rules: domain errors pass through as successes of the database,
// the caller's cancellation counts as nothing, and a panic reaches the
// caller without opening the circuit.
func TestInlineDomainErrorsAndPanics(t *testing.T) {
	rec := &recorder{}
	f := &fakeStore{}
	s := NewStore(f, nil, Options{MaxFailures: 1, Observer: rec, InlineCalls: true})

	f.setHook(func(context.Context, string) error { return auth.ErrUserNotFound })
	if _, err := s.UserByID(t.Context(), 1); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("UserByID() = %v, want %v", err, auth.ErrUserNotFound)
	}

	ctx, cancel := context.WithCancel(t.Context())
	f.setHook(func(ctx context.Context, _ string) error {
		cancel()
		<-ctx.Done()
		return fmt.Errorf("query: %w: %w", auth.ErrUnavailable, ctx.Err())
	})
	if _, err := s.UserByID(ctx, 1); !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("UserByID() with the caller gone = %v, want %v", err, auth.ErrUnavailable)
	}

	boom := errors.New("boom")
	f.setHook(func(context.Context, string) error { panic(boom) })
	func() {
		defer func() {
			if err, ok := recover().(error); !ok || !errors.Is(err, boom) {
				t.Errorf("recovered %v, want an error wrapping %v", err, boom)
			}
		}()
		_ = s.Ping(t.Context())
		t.Error("Ping() returned, want a panic")
	}()
	if got := s.State(); got != StateClosed {
		t.Errorf("State() = %q, want %q: neither a domain error, a cancellation nor a panic is an outage", got, StateClosed)
	}
	if calls, _ := rec.snapshot(); !slices.Equal(calls, []string{"user_by_id domain", "user_by_id canceled", "ping panic"}) {
		t.Errorf("observed calls = %q", calls)
	}
}

// BenchmarkCall compares the two forms of a call that succeeds at once:
// the breaker's own cost per database call.
func BenchmarkCall(b *testing.B) {
	for _, inline := range []bool{false, true} {
		b.Run(fmt.Sprintf("inline=%v", inline), func(b *testing.B) {
			s := NewStore(&fakeStore{}, nil, Options{InlineCalls: inline})
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.UserByID(ctx, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
