package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// LockoutClear checks auth.Lockout's Clear at now: the exact key and every
// key of the prefix are forgotten, locked or not, and nothing else is; the
// prefix is literal (LIKE or glob wildcards in an email match only
// themselves). It is part of RunLockout, and exported so that the lockouts
// outside the SQL store run it too.
func LockoutClear(t *testing.T, l auth.Lockout, now time.Time) {
	ctx := context.Background()
	const limit = 1
	cleared := []string{"acct:a_b%c@example.com", "pair:a_b%c@example.com|192.0.2.1", "pair:a_b%c@example.com|2001:db8::1"}
	kept := []string{
		"acct:a_b%c@example.com.evil",           // the exact key is exact
		"pair:a_b%c@example.com.evil|192.0.2.1", // the prefix ends at '|'
		"pair:aXbYc@example.com|192.0.2.1",      // _ and % are not wildcards
		"pair:other@example.com|192.0.2.1",
	}
	for _, k := range append(append([]string(nil), cleared...), kept...) {
		if retry, err := l.Reserve(ctx, k, limit, lockFor, now); err != nil || retry != 0 {
			t.Fatalf("Reserve(%q) = %v, %v, want 0, nil", k, retry, err)
		}
		if locked, err := l.Fail(ctx, k, limit, lockFor, now); err != nil || !locked {
			t.Fatalf("Fail(%q) = %v, %v, want locked", k, locked, err)
		}
	}
	if err := l.Clear(ctx, "acct:a_b%c@example.com", "pair:a_b%c@example.com|"); err != nil {
		t.Fatalf("Clear() = %v", err)
	}
	later := now.Add(time.Second)
	for _, k := range cleared {
		if retry, err := l.Reserve(ctx, k, limit, lockFor, later); err != nil || retry != 0 {
			t.Errorf("Reserve(%q) after Clear = %v, %v, want 0, nil (cleared)", k, retry, err)
		}
	}
	for _, k := range kept {
		if retry, err := l.Reserve(ctx, k, limit, lockFor, later); err != nil || retry <= 0 {
			t.Errorf("Reserve(%q) after Clear = %v, %v, want still locked", k, retry, err)
		}
	}
	// Clearing what is not there is no error.
	if err := l.Clear(ctx, "acct:nobody@example.com", "pair:nobody@example.com|"); err != nil {
		t.Errorf("Clear(unknown) = %v", err)
	}
}

func testClear(t *testing.T, l auth.Lockout) { LockoutClear(t, l, t0) }
