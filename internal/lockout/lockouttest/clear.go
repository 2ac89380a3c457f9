package lockouttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// RunClear checks the administrator's side of auth.Lockout: Locked sees a
// lock on a key or on any key of its family, and Clear forgets them all
// (the per-address keys of one email, and the account-wide key), leaving
// other emails' keys alone.
func RunClear(t *testing.T, newLockout func(t *testing.T) auth.Lockout) {
	t.Run("ClearFamily", func(t *testing.T) { testClearFamily(t, newLockout(t)) })
	t.Run("ClearExactKey", func(t *testing.T) { testClearExact(t, newLockout(t)) })
}

// family returns a fresh email's per-address family and account key.
func family() (fam, acct, other string) {
	b := make([]byte, 8)
	rand.Read(b)
	email := "cleartest-" + hex.EncodeToString(b) + "@example.com"
	return "pair:" + email, "acct:" + email, "pair:x" + email
}

func mustLocked(t *testing.T, l auth.Lockout, key string, now time.Time, want bool) {
	t.Helper()
	got, err := l.Locked(context.Background(), key, now)
	if err != nil {
		t.Fatalf("Locked(%q) error = %v", key, err)
	}
	if got != want {
		t.Fatalf("Locked(%q) = %v, want %v", key, got, want)
	}
}

func lock(t *testing.T, l auth.Lockout, key string, now time.Time) {
	t.Helper()
	failures(t, l, key, now, limit-1)
	last := now.Add(time.Duration(limit-1) * time.Second)
	mustReserve(t, l, key, last, 0)
	mustFail(t, l, key, last, true)
}

func testClearFamily(t *testing.T, l auth.Lockout) {
	ctx := context.Background()
	fam, _, other := family()
	t0 := start()
	a, b := fam+"|198.51.100.7", fam+"|2001:db8::1"
	mustLocked(t, l, fam, t0, false)
	lock(t, l, a, t0)
	failures(t, l, b, t0, 1)
	lock(t, l, other+"|198.51.100.7", t0)
	now := t0.Add(time.Minute)
	mustLocked(t, l, fam, now, true)
	// A lock that has run out is no lock.
	mustLocked(t, l, fam, t0.Add(lockFor+time.Hour), false)

	if err := l.Clear(ctx, fam); err != nil {
		t.Fatalf("Clear(%q) error = %v", fam, err)
	}
	mustLocked(t, l, fam, now, false)
	// Both addresses start afresh: the full limit again.
	for _, key := range []string{a, b} {
		failures(t, l, key, now, limit-1)
	}
	// Another email's lock (whose family name begins alike) stays.
	mustLocked(t, l, other, now, true)
	mustReserve(t, l, other+"|198.51.100.7", now, lockFor-time.Minute+time.Duration(limit-1)*time.Second)
}

func testClearExact(t *testing.T, l auth.Lockout) {
	ctx := context.Background()
	_, acct, _ := family()
	t0 := start()
	lock(t, l, acct, t0)
	now := t0.Add(time.Second * 10)
	mustLocked(t, l, acct, now, true)
	if err := l.Clear(ctx, acct); err != nil {
		t.Fatalf("Clear(%q) error = %v", acct, err)
	}
	mustLocked(t, l, acct, now, false)
	mustReserve(t, l, acct, now, 0)
	// Clearing what was never counted is no error.
	if err := l.Clear(ctx, acct+"-unknown"); err != nil {
		t.Fatalf("Clear(unknown) error = %v", err)
	}
}
