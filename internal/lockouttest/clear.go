package lockouttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// testClear checks Clear: the exact key and every key of the prefix are
// forgotten, locked or not, and nothing else is; the prefix is literal
// (LIKE or glob wildcards in an email match only themselves). The emails
// are unique to the test, since a server may be shared.
func testClear(t *testing.T, l auth.Lockout) {
	ctx := context.Background()
	now := start()
	b := make([]byte, 6)
	rand.Read(b)
	id := hex.EncodeToString(b)
	email := "a_b%c*" + id + "@example.com"
	cleared := []string{"acct:" + email, "pair:" + email + "|192.0.2.1", "pair:" + email + "|2001:db8::1"}
	kept := []string{
		"acct:" + email + ".evil",             // the exact key is exact
		"pair:" + email + ".evil|192.0.2.1",   // the prefix ends at '|'
		"pair:aXbYcZ" + id + "@example.com|1", // _, % and * are not wildcards
		"pair:other" + id + "@example.com|192.0.2.1",
	}
	const limit = 1
	for _, k := range append(append([]string(nil), cleared...), kept...) {
		if retry, err := l.Reserve(ctx, k, limit, lockFor, now); err != nil || retry != 0 {
			t.Fatalf("Reserve(%q) = %v, %v, want 0, nil", k, retry, err)
		}
		if locked, err := l.Fail(ctx, k, limit, lockFor, now); err != nil || !locked {
			t.Fatalf("Fail(%q) = %v, %v, want locked", k, locked, err)
		}
	}
	if err := l.Clear(ctx, "acct:"+email, "pair:"+email+"|"); err != nil {
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
	if err := l.Clear(ctx, "acct:nobody-"+id+"@example.com", "pair:nobody-"+id+"@example.com|"); err != nil {
		t.Errorf("Clear(unknown) = %v", err)
	}
}
