package token

import (
	"errors"
	"testing"
	"time"
)

// A remembered token must be judged exactly like a fresh one at every
// clock reading: the cache may skip only the work that cannot change.
func TestVerifiedCacheKeepsClockChecks(t *testing.T) {
	ks, err := NewHMACKeySet(testSecret())
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, Config{TTL: 15 * time.Minute}, ks)
	issued := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	raw, exp, err := m.Issue(7, "sid-1", issued)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"at issue", issued, nil},
		{"within leeway before iat", issued.Add(-500 * time.Millisecond), nil},
		{"before iat", issued.Add(-2 * time.Second), ErrInvalid},
		{"just before exp", exp.Add(-time.Second), nil},
		{"within leeway after exp", exp.Add(500 * time.Millisecond), nil},
		{"after exp", exp.Add(2 * time.Second), ErrExpired},
	}
	for _, tt := range tests {
		// Once fresh (a new manager has an empty cache), once remembered.
		fresh := newManager(t, Config{TTL: 15 * time.Minute}, ks)
		_, errFresh := fresh.Verify(raw, tt.now)
		if _, err := m.Verify(raw, issued); err != nil {
			t.Fatalf("Verify at issue: %v", err)
		}
		c, errCached := m.Verify(raw, tt.now)
		for _, got := range []error{errFresh, errCached} {
			if (tt.want == nil) != (got == nil) || (tt.want != nil && !errors.Is(got, tt.want)) {
				t.Errorf("%s: Verify = %v, want %v", tt.name, got, tt.want)
			}
		}
		if tt.want == nil && (c.UserID != 7 || c.SessionID != "sid-1") {
			t.Errorf("%s: remembered claims = %+v", tt.name, c)
		}
	}
	// A different spelling of the token is not the remembered one.
	if _, err := m.Verify(raw+"A", issued); !errors.Is(err, ErrInvalid) {
		t.Errorf("Verify(token with a byte added) = %v, want ErrInvalid", err)
	}
}

func TestVerifiedCacheIsBounded(t *testing.T) {
	c := newVerifiedCache(3)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		c.put(k, Claims{ID: k})
	}
	if n := len(c.m); n != 3 {
		t.Errorf("cache holds %d entries, want 3", n)
	}
	if cl, ok := c.get("e"); !ok || cl.ID != "e" {
		t.Errorf("get(newest) = %+v, %v", cl, ok)
	}
}
