package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestMemory(t *testing.T, perMinute, maxKeys int, clock *fakeClock) *Memory {
	t.Helper()
	m := newMemory(perMinute, maxKeys, clock.Now, time.Hour)
	t.Cleanup(func() { m.Close() })
	return m
}

func TestMemoryExactCounts(t *testing.T) {
	clock := newFakeClock()
	m := newTestMemory(t, 5, defaultMaxKeys, clock)
	steps := []struct {
		advance time.Duration
		want    Decision
	}{
		{0, Decision{Allowed: true, Limit: 5, Remaining: 4, ResetAfter: 12 * time.Second}},
		{0, Decision{Allowed: true, Limit: 5, Remaining: 3, ResetAfter: 24 * time.Second}},
		{0, Decision{Allowed: true, Limit: 5, Remaining: 2, ResetAfter: 36 * time.Second}},
		{0, Decision{Allowed: true, Limit: 5, Remaining: 1, ResetAfter: 48 * time.Second}},
		{0, Decision{Allowed: true, Limit: 5, Remaining: 0, ResetAfter: 60 * time.Second}},
		{0, Decision{Allowed: false, Limit: 5, ResetAfter: 60 * time.Second, RetryAfter: 12 * time.Second}},
		// A refusal counts nothing: the wait shrinks with time only.
		{5 * time.Second, Decision{Allowed: false, Limit: 5, ResetAfter: 55 * time.Second, RetryAfter: 7 * time.Second}},
		{7 * time.Second, Decision{Allowed: true, Limit: 5, Remaining: 0, ResetAfter: 60 * time.Second}},
		{0, Decision{Allowed: false, Limit: 5, ResetAfter: 60 * time.Second, RetryAfter: 12 * time.Second}},
		// Half the window later, half the budget is back (2.5 → 2).
		{30 * time.Second, Decision{Allowed: true, Limit: 5, Remaining: 1, ResetAfter: 42 * time.Second}},
		// A full window after the last request, the full budget is back.
		{42 * time.Second, Decision{Allowed: true, Limit: 5, Remaining: 4, ResetAfter: 12 * time.Second}},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		got, err := m.Allow(context.Background(), "198.51.100.1")
		if err != nil {
			t.Fatalf("step %d: Allow() error = %v", i, err)
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("step %d: Allow() mismatch (-want +got):\n%s", i, diff)
		}
	}
}

func TestMemoryKeysIndependent(t *testing.T) {
	clock := newFakeClock()
	m := newTestMemory(t, 2, defaultMaxKeys, clock)
	ctx := context.Background()
	for range 2 {
		if d, _ := m.Allow(ctx, "a"); !d.Allowed {
			t.Fatalf("Allow(a) = %+v, want allowed", d)
		}
	}
	if d, _ := m.Allow(ctx, "a"); d.Allowed {
		t.Errorf("Allow(a) after budget = %+v, want refused", d)
	}
	if d, _ := m.Allow(ctx, "b"); !d.Allowed || d.Remaining != 1 {
		t.Errorf("Allow(b) = %+v, want allowed with 1 remaining", d)
	}
}

func TestMemoryOff(t *testing.T) {
	for _, perMinute := range []int{0, -3} {
		m := newTestMemory(t, perMinute, defaultMaxKeys, newFakeClock())
		for i := range 1000 {
			d, err := m.Allow(context.Background(), "k")
			if err != nil || !d.Allowed || d.Limit != 0 {
				t.Fatalf("NewMemory(%d).Allow() #%d = %+v, %v; want allowed, Limit 0", perMinute, i, d, err)
			}
		}
		if got := m.Len(); got != 0 {
			t.Errorf("NewMemory(%d).Len() = %d, want 0 (nothing stored when off)", perMinute, got)
		}
	}
}

func TestMemorySweepDropsIdleKeys(t *testing.T) {
	clock := newFakeClock()
	m := newTestMemory(t, 6, defaultMaxKeys, clock)
	ctx := context.Background()
	for i := range 100 {
		m.Allow(ctx, fmt.Sprintf("idle-%d", i))
	}
	clock.Advance(30 * time.Second)
	// Six requests leave "busy" with a TAT a minute ahead.
	for range 6 {
		m.Allow(ctx, "busy")
	}
	clock.Advance(11 * time.Second) // idle keys' TAT (10s) has passed
	m.sweep()
	if got := m.Len(); got != 1 {
		t.Errorf("Len() after sweep = %d, want 1 (only the busy key)", got)
	}
	// The busy key kept its state: one request has come back in 11s, no more.
	if d, _ := m.Allow(ctx, "busy"); !d.Allowed || d.Remaining != 0 {
		t.Errorf("Allow(busy) after sweep = %+v, want allowed with 0 remaining", d)
	}
}

func TestMemoryJanitor(t *testing.T) {
	clock := newFakeClock()
	m := newMemory(60, defaultMaxKeys, clock.Now, 5*time.Millisecond)
	defer m.Close()
	for i := range 50 {
		m.Allow(context.Background(), fmt.Sprintf("k%d", i))
	}
	clock.Advance(2 * time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for m.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Len() = %d after 5s of janitor runs, want 0", m.Len())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
}

func TestMemoryCap(t *testing.T) {
	clock := newFakeClock()
	const maxKeys = 640 // 10 per shard
	m := newTestMemory(t, 60, maxKeys, clock)
	for i := range 10_000 {
		d, _ := m.Allow(context.Background(), fmt.Sprintf("client-%d", i))
		if !d.Allowed {
			t.Fatalf("Allow(client-%d) = %+v, want allowed (a new key always has budget)", i, d)
		}
	}
	if got := m.Len(); got > maxKeys {
		t.Errorf("Len() = %d, want at most %d", got, maxKeys)
	}
}

func TestShardMakeRoom(t *testing.T) {
	tests := []struct {
		name string
		tat  map[string]time.Duration
		now  time.Duration
		want []string // keys left
	}{
		{
			name: "idle keys go first",
			tat:  map[string]time.Duration{"idle1": 1, "idle2": 5, "busy": 50, "busier": 90},
			now:  10,
			want: []string{"busier", "busy"},
		},
		{
			name: "else the key nearest its full budget",
			tat:  map[string]time.Duration{"a": 30, "b": 20, "c": 40},
			now:  10,
			want: []string{"a", "c"},
		},
	}
	for _, tt := range tests {
		s := &memoryShard{tat: tt.tat}
		s.makeRoom(tt.now)
		var got []string
		for k := range s.tat {
			got = append(got, k)
		}
		if diff := cmp.Diff(tt.want, got, cmp.Transformer("sort", sortedStrings)); diff != "" {
			t.Errorf("%s: makeRoom() left (-want +got):\n%s", tt.name, diff)
		}
	}
}

func sortedStrings(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}

func TestMemoryConcurrent(t *testing.T) {
	clock := newFakeClock()
	m := newTestMemory(t, 100, defaultMaxKeys, clock)
	keys := []string{"10.0.0.1", "10.0.0.2", "2001:db8::1"}
	var allowed [3]atomic.Int64
	var wg sync.WaitGroup
	for g := range 60 {
		wg.Go(func() {
			for i := range 20 {
				k := (g + i) % len(keys)
				d, err := m.Allow(context.Background(), keys[k])
				if err != nil {
					t.Errorf("Allow() error = %v", err)
					return
				}
				if d.Allowed {
					allowed[k].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range keys {
		if got := allowed[k].Load(); got != 100 {
			t.Errorf("allowed requests for %s = %d, want 100 (the burst)", keys[k], got)
		}
	}
}

func TestSetHeaders(t *testing.T) {
	tests := []struct {
		name string
		d    Decision
		want http.Header
	}{
		{
			name: "allowed",
			d:    Decision{Allowed: true, Limit: 60, Remaining: 59, ResetAfter: time.Second},
			want: http.Header{"Ratelimit-Limit": {"60"}, "Ratelimit-Remaining": {"59"}, "Ratelimit-Reset": {"1"}},
		},
		{
			name: "reset rounded up",
			d:    Decision{Allowed: true, Limit: 5, Remaining: 3, ResetAfter: 24*time.Second + time.Millisecond},
			want: http.Header{"Ratelimit-Limit": {"5"}, "Ratelimit-Remaining": {"3"}, "Ratelimit-Reset": {"25"}},
		},
		{
			name: "refused",
			d:    Decision{Limit: 5, ResetAfter: 60 * time.Second, RetryAfter: 11*time.Second + 200*time.Millisecond},
			want: http.Header{"Ratelimit-Limit": {"5"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"60"}, "Retry-After": {"12"}},
		},
		{
			name: "refused with sub-second wait still says 1",
			d:    Decision{Limit: 5, ResetAfter: 100 * time.Millisecond, RetryAfter: time.Millisecond},
			want: http.Header{"Ratelimit-Limit": {"5"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"1"}, "Retry-After": {"1"}},
		},
		{
			name: "off",
			d:    Decision{Allowed: true},
			want: http.Header{},
		},
	}
	for _, tt := range tests {
		got := http.Header{}
		SetHeaders(got, tt.d)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: SetHeaders(%+v) mismatch (-want +got):\n%s", tt.name, tt.d, diff)
		}
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	b.Run("one key", func(b *testing.B) {
		m := NewMemory(60)
		defer m.Close()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			m.Allow(ctx, "198.51.100.7")
		}
	})
	b.Run("many keys", func(b *testing.B) {
		m := NewMemory(60)
		defer m.Close()
		keys := make([]string, 10_000)
		for i := range keys {
			keys[i] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		}
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.Allow(ctx, keys[i%len(keys)])
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		m := NewMemory(60)
		defer m.Close()
		keys := make([]string, 1024)
		for i := range keys {
			keys[i] = fmt.Sprintf("2001:db8::%x", i)
		}
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				m.Allow(ctx, keys[i%len(keys)])
				i++
			}
		})
	})
}
