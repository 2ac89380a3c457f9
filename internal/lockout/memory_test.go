package lockout

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/lockout/lockouttest"
	"github.com/google/go-cmp/cmp"
)

func TestMemoryConformance(t *testing.T) {
	lockouttest.Run(t, func(t *testing.T) auth.Lockout { return NewMemory() })
}

func TestMemoryDisabled(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		limit   int
		lockFor time.Duration
	}{
		{0, 15 * time.Minute},
		{-1, 15 * time.Minute},
		{5, 0},
	}
	for _, tt := range tests {
		m := NewMemory()
		for i := range 20 {
			if got, err := m.Reserve(ctx, "k", tt.limit, tt.lockFor, now); err != nil || got != 0 {
				t.Fatalf("Reserve(limit %d, lockFor %v) #%d = %v, %v; want 0, nil", tt.limit, tt.lockFor, i, got, err)
			}
			if got, err := m.Fail(ctx, "k", tt.limit, tt.lockFor, now); err != nil || got {
				t.Fatalf("Fail(limit %d, lockFor %v) #%d = %v, %v; want false, nil", tt.limit, tt.lockFor, i, got, err)
			}
		}
		if got := m.Len(); got != 0 {
			t.Errorf("Len() with limit %d, lockFor %v = %d, want 0 (nothing stored)", tt.limit, tt.lockFor, got)
		}
	}
}

func TestMemoryBusyRetry(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		lockFor time.Duration
		at      time.Duration // after the reservation
		want    time.Duration
	}{
		{"short wait while attempts are in progress", 15 * time.Minute, 0, busyRetry},
		{"never past the state's expiry", 10 * time.Second, 9700 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		m := NewMemory()
		if got, _ := m.Reserve(ctx, "k", 1, tt.lockFor, now); got != 0 {
			t.Fatalf("%s: first Reserve() = %v, want 0", tt.name, got)
		}
		if got, _ := m.Reserve(ctx, "k", 1, tt.lockFor, now.Add(tt.at)); got != tt.want {
			t.Errorf("%s: Reserve() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMemoryReleaseForgetsEmptyKey(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	now := time.Unix(1_700_000_000, 0)
	m.Reserve(ctx, "k", 5, time.Minute, now)
	if err := m.Succeed(ctx, "k", false); err != nil {
		t.Fatalf("Succeed() error = %v", err)
	}
	if got := m.Len(); got != 0 {
		t.Errorf("Len() after releasing the only reservation = %d, want 0", got)
	}
}

func TestMemoryLazySweep(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 1000 {
		m.Reserve(ctx, fmt.Sprintf("old-%d", i), 5, time.Minute, t0)
	}
	// Use every shard again after the old keys expired; each sweeps once.
	later := t0.Add(2 * time.Minute)
	for i := range 1000 {
		m.Reserve(ctx, fmt.Sprintf("new-%d", i), 5, time.Minute, later)
	}
	if got := m.Len(); got != 1000 {
		t.Errorf("Len() after the old keys expired and were swept = %d, want 1000", got)
	}
}

func TestMemoryCap(t *testing.T) {
	ctx := context.Background()
	const maxKeys = 320 // 10 per shard
	m := newMemory(maxKeys)
	now := time.Unix(1_700_000_000, 0)
	for i := range 5000 {
		// Distinct times keep a sweep from freeing anything.
		at := now.Add(time.Duration(i) * time.Millisecond)
		if got, _ := m.Reserve(ctx, fmt.Sprintf("k%d", i), 5, time.Hour, at); got != 0 {
			t.Fatalf("Reserve(new key) = %v, want 0", got)
		}
	}
	if got := m.Len(); got > maxKeys {
		t.Errorf("Len() = %d, want at most %d", got, maxKeys)
	}
}

func TestShardMakeRoom(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	tests := []struct {
		name  string
		keys  map[string]state
		limit int
		want  []string
	}{
		{
			name:  "room left: nothing dropped",
			keys:  map[string]state{"a": {expires: at(-time.Minute)}, "b": {expires: at(time.Minute)}},
			limit: 3,
			want:  []string{"a", "b"},
		},
		{
			name: "expired keys and ended locks go first",
			keys: map[string]state{
				"expired":    {failures: 2, expires: at(-time.Second)},
				"lock ended": {failures: 5, lockedUntil: at(-time.Second), expires: at(time.Minute)},
				"locked":     {failures: 5, lockedUntil: at(time.Minute), expires: at(time.Minute)},
				"counting":   {failures: 1, expires: at(2 * time.Minute)},
			},
			limit: 4,
			want:  []string{"counting", "locked"},
		},
		{
			name: "else the key that expires soonest",
			keys: map[string]state{
				"a": {failures: 1, expires: at(3 * time.Minute)},
				"b": {failures: 1, expires: at(1 * time.Minute)},
				"c": {failures: 5, lockedUntil: at(2 * time.Minute), expires: at(2 * time.Minute)},
			},
			limit: 3,
			want:  []string{"a", "c"},
		},
	}
	for _, tt := range tests {
		sh := &memoryShard{keys: tt.keys}
		sh.makeRoom(now, tt.limit)
		var got []string
		for k := range sh.keys {
			got = append(got, k)
		}
		if diff := cmp.Diff(tt.want, got, cmp.Transformer("sort", sortedStrings)); diff != "" {
			t.Errorf("%s: makeRoom() left (-want +got):\n%s", tt.name, diff)
		}
	}
}
