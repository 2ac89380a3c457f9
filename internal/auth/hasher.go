package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
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
	dummy, err := dummyHash(cost)
	if err != nil {
		return nil, err
	}
	return &Hasher{cost: cost, slots: make(chan struct{}, concurrency), wait: queueTimeout, obs: obs, dummy: dummy, nowFunc: time.Now}, nil
}

// bcryptBase64 is bcrypt's own base64 alphabet (not RFC 4648's), without
// padding, as in a modular crypt string.
var bcryptBase64 = base64.NewEncoding("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789").WithPadding(base64.NoPadding)

// dummyHash returns a well-formed bcrypt hash at cost whose salt and digest
// are random bytes. Comparing any password against it runs the full key
// schedule at cost (bcrypt derives the digest from the password and the
// salt, then compares), so an unknown email costs what a real account
// does; and it matches no password, since no password is known to produce
// a random digest (a chance of 2^-184, and Compare refuses a dummy match
// anyway). Computing a real hash instead would cost one bcrypt at cost
// before the listener could answer: 250 ms at the default cost 12.
func dummyHash(cost int) ([]byte, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, bcrypt.InvalidCostError(cost)
	}
	var salt [16]byte         // bcrypt's salt
	var sum [23]byte          // the 23 digest bytes a bcrypt string carries
	_, _ = rand.Read(salt[:]) // crypto/rand.Read never fails (Go 1.24+)
	_, _ = rand.Read(sum[:])
	h := []byte(fmt.Sprintf("$2a$%02d$%s%s", cost, bcryptBase64.EncodeToString(salt[:]), bcryptBase64.EncodeToString(sum[:])))
	// The bcrypt package itself must read it as a hash of that cost.
	if c, err := bcrypt.Cost(h); err != nil || c != cost {
		return nil, fmt.Errorf("dummy bcrypt hash not well-formed (cost %d): %v", c, err)
	}
	return h, nil
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
	released := false
	defer func() {
		if !released { // f panicked
			<-h.slots
		}
	}()
	got := h.nowFunc()
	err := f()
	h.obs.HashDone(op, got.Sub(start), h.nowFunc().Sub(got))
	<-h.slots
	released = true
	// Freeing the slot readied the next hash on this goroutine's P, behind
	// this goroutine, which goes on to the database and may block there in
	// a system call (an fsync) still holding that P. Yielding lets the next
	// hash start on this core now; without it the core sat idle between
	// hashes for about 2 % of a login flood's time.
	runtime.Gosched()
	return err
}
