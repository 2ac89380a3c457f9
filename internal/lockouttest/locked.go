package lockouttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// RunLocked checks Locked, the administrator's view of auth.Lockout, with
// Clear: Locked sees a lock on the exact key or on any key with the
// prefix, and after Clear none (the per-address keys of one email, and
// its account-wide key), while other emails' locks stay, an email that
// holds a '|' included.
func RunLocked(t *testing.T, newLockout func(t *testing.T) auth.Lockout) {
	t.Run("ClearEmail", func(t *testing.T) { testClearEmail(t, newLockout(t), "") })
	t.Run("ClearEmailWithBar", func(t *testing.T) { testClearEmail(t, newLockout(t), "a|b") })
	t.Run("ClearExactOnly", func(t *testing.T) { testClearExact(t, newLockout(t)) })
}

// emailKeys returns a fresh email's per-address prefix and account key,
// and those of an email that begins alike.
func emailKeys(local string) (prefix, acct, otherPrefix string) {
	b := make([]byte, 8)
	rand.Read(b)
	email := local + "cleartest-" + hex.EncodeToString(b) + "@example.com"
	return "pair:" + email + "|", "acct:" + email, "pair:" + email + ".evil|"
}

func mustLocked(t *testing.T, l auth.Lockout, exact, prefix string, now time.Time, want bool) {
	t.Helper()
	got, err := l.Locked(context.Background(), exact, prefix, now)
	if err != nil {
		t.Fatalf("Locked(%q, %q) error = %v", exact, prefix, err)
	}
	if got != want {
		t.Fatalf("Locked(%q, %q) = %v, want %v", exact, prefix, got, want)
	}
}

func lock(t *testing.T, l auth.Lockout, key string, now time.Time) {
	t.Helper()
	failures(t, l, key, now, limit-1)
	last := now.Add(time.Duration(limit-1) * time.Second)
	mustReserve(t, l, key, last, 0)
	mustFail(t, l, key, last, true)
}

func testClearEmail(t *testing.T, l auth.Lockout, local string) {
	ctx := context.Background()
	prefix, acct, other := emailKeys(local)
	t0 := start()
	a, b := prefix+"198.51.100.7", prefix+"2001:db8::1"
	mustLocked(t, l, acct, prefix, t0, false)
	lock(t, l, a, t0)
	failures(t, l, b, t0, 1)
	lock(t, l, acct, t0)
	lock(t, l, other+"198.51.100.7", t0)
	now := t0.Add(time.Minute)
	mustLocked(t, l, "", prefix, now, true)
	mustLocked(t, l, acct, "", now, true)
	// A lock that has run out is no lock.
	mustLocked(t, l, acct, prefix, t0.Add(lockFor+time.Hour), false)

	if err := l.Clear(ctx, acct, prefix); err != nil {
		t.Fatalf("Clear(%q, %q) error = %v", acct, prefix, err)
	}
	mustLocked(t, l, acct, prefix, now, false)
	// Every key starts afresh: the full limit again.
	for _, key := range []string{a, b, acct} {
		failures(t, l, key, now, limit-1)
	}
	// Another email's lock (whose keys begin alike) stays.
	mustLocked(t, l, "", other, now, true)
	mustReserve(t, l, other+"198.51.100.7", now, lockFor-time.Minute+time.Duration(limit-1)*time.Second)
}

func testClearExact(t *testing.T, l auth.Lockout) {
	ctx := context.Background()
	prefix, acct, _ := emailKeys("")
	t0 := start()
	lock(t, l, acct, t0)
	lock(t, l, prefix+"198.51.100.7", t0)
	now := t0.Add(10 * time.Second)
	if err := l.Clear(ctx, acct, ""); err != nil {
		t.Fatalf("Clear(%q, \"\") error = %v", acct, err)
	}
	mustLocked(t, l, acct, "", now, false)
	mustReserve(t, l, acct, now, 0)
	// The per-address lock was not named: it stays.
	mustLocked(t, l, "", prefix, now, true)
	// Clearing what was never counted is no error.
	if err := l.Clear(ctx, acct+"-unknown", "pair:unknown@example.com|"); err != nil {
		t.Fatalf("Clear(unknown) error = %v", err)
	}
}
