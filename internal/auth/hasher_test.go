package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHasherHashAndCompare(t *testing.T) {
	h, err := NewHasher(4, 2, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hash, err := h.Hash(ctx, "Tr0ub4dor&3")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 72)
	longHash, err := h.Hash(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		hash, pw string
		want     bool
	}{
		{"match", hash, "Tr0ub4dor&3", true},
		{"mismatch", hash, "Tr0ub4dor&4", false},
		{"unknown user uses dummy", "", "Tr0ub4dor&3", false},
		{"72 bytes match", longHash, long, true},
		// bcrypt ignores bytes past 72; we must not.
		{"73 bytes never match", longHash, long + "y", false},
	}
	for _, tt := range tests {
		got, err := h.Compare(ctx, tt.hash, tt.pw)
		if err != nil || got != tt.want {
			t.Errorf("%s: Compare = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

type countingObserver struct {
	mu     sync.Mutex
	queued int
	max    int
	done   int
}

func (o *countingObserver) Event(string) {}
func (o *countingObserver) HashQueued(d int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.queued += d
	o.max = max(o.max, o.queued)
}
func (o *countingObserver) HashDone(string, time.Duration, time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done++
}

func TestHasherShedsLoad(t *testing.T) {
	obs := &countingObserver{}
	// One slot, a queue timeout far shorter than a cost-12 hash: of several
	// concurrent hashes some must be refused with ErrOverloaded.
	h, err := NewHasher(12, 1, 5*time.Millisecond, obs)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = h.Hash(context.Background(), "Tr0ub4dor&3") })
	}
	wg.Wait()
	var ok, shed int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrOverloaded):
			shed++
			if d, has := RetryAfter(err); !has || d <= 0 {
				t.Errorf("overloaded error without retry-after: %v", err)
			}
		default:
			t.Errorf("Hash: unexpected error %v", err)
		}
	}
	if ok < 1 || shed < 1 {
		t.Errorf("Hash: %d succeeded, %d shed; want at least one of each", ok, shed)
	}
	if obs.queued != 0 || obs.done != ok {
		t.Errorf("observer queued=%d done=%d, want 0 and %d", obs.queued, obs.done, ok)
	}
}
