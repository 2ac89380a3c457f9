package auth

import (
	"context"
	"errors"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Hasher computes bcrypt hashes through a bounded pool of slots, so that a
// login flood queues for at most a bounded time and then sheds load with
// ErrOverloaded instead of starving every other request of CPU.
type Hasher struct {
	cost    int
	slots   chan struct{}
	wait    time.Duration
	obs     Observer
	dummy   []byte
	nowFunc func() time.Time
}

// NewHasher returns a pool of concurrency slots hashing at cost; a caller
// waits at most queueTimeout for a slot.
func NewHasher(cost, concurrency int, queueTimeout time.Duration, obs Observer) (*Hasher, error) {
	if concurrency < 1 {
		concurrency = 1
	}
	if obs == nil {
		obs = nopObserver{}
	}
	// The dummy hash has the configured cost so comparing against it for an
	// unknown email takes as long as a real comparison.
	dummy, err := bcrypt.GenerateFromPassword([]byte("authserve dummy password for timing"), cost)
	if err != nil {
		return nil, err
	}
	return &Hasher{cost: cost, slots: make(chan struct{}, concurrency), wait: queueTimeout, obs: obs, dummy: dummy, nowFunc: time.Now}, nil
}

// Hash returns the bcrypt hash of an already normalised password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	var out []byte
	err := h.run(ctx, "hash", func() error {
		var err error
		out, err = bcrypt.GenerateFromPassword([]byte(password), h.cost)
		return err
	})
	return string(out), err
}

// Compare reports whether password matches hash. An empty hash compares
// against a dummy of the same cost, so unknown users cost the same time.
func (h *Hasher) Compare(ctx context.Context, hash, password string) (bool, error) {
	hb := []byte(hash)
	if hash == "" {
		hb = h.dummy
	}
	pw := []byte(password)
	if len(pw) > MaxPasswordBytes {
		// Such a password was never accepted; compare a prefix for timing
		// only and refuse whatever the outcome, so nothing past byte 72 is
		// ever ignored.
		pw, hb = pw[:MaxPasswordBytes], h.dummy
		hash = ""
	}
	var match bool
	err := h.run(ctx, "compare", func() error {
		err := bcrypt.CompareHashAndPassword(hb, pw)
		switch {
		case err == nil:
			match = hash != ""
			return nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return nil
		default:
			return err
		}
	})
	return match, err
}

func (h *Hasher) run(ctx context.Context, op string, f func() error) error {
	start := h.nowFunc()
	h.obs.HashQueued(1)
	timer := time.NewTimer(h.wait)
	select {
	case h.slots <- struct{}{}:
		timer.Stop()
		h.obs.HashQueued(-1)
	case <-timer.C:
		h.obs.HashQueued(-1)
		return &RetryError{Kind: ErrOverloaded, RetryAfter: time.Second}
	case <-ctx.Done():
		timer.Stop()
		h.obs.HashQueued(-1)
		return ctx.Err()
	}
	defer func() { <-h.slots }()
	got := h.nowFunc()
	err := f()
	h.obs.HashDone(op, got.Sub(start), h.nowFunc().Sub(got))
	return err
}
