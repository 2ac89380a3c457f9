package lockout

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// probeEvery is how often a primary known to be down is tried again.
const probeEvery = time.Second

// fallback uses a primary lockout (Redis) and, when it fails, a fallback
// (in process), so that a Redis outage never stops logins.
type fallback struct {
	primary, fallback auth.Lockout
	logger            *slog.Logger
	now               func() time.Time
	probeEvery        time.Duration

	down      atomic.Bool // fast path: no lock while the primary is up
	mu        sync.Mutex
	nextProbe time.Time
	// onChange, if not nil, hears each change: true when the fallback
	// takes over, false when the primary is back (fallback_notify.go).
	onChange func(down bool)
}

// NewFallback returns an auth.Lockout that uses primary and, when primary
// returns an error, fallback instead. The first failure of an outage is
// logged once ("lockout falling back to in-process"); while it lasts the
// primary is tried again at most once a second, every other call going
// straight to fallback; the first success logs "lockout recovered".
//
// During an outage the replicas count separately, so an attacker may get
// up to the limit per replica; and an attempt reserved on one side and
// ended on the other may release someone else's reservation once. Both
// last only as long as the outage.
func NewFallback(primary, fallbackLockout auth.Lockout, logger *slog.Logger) auth.Lockout {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &fallback{
		primary:    primary,
		fallback:   fallbackLockout,
		logger:     logger,
		now:        time.Now,
		probeEvery: probeEvery,
	}
}

// Reserve implements auth.Lockout.
func (f *fallback) Reserve(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (time.Duration, error) {
	if f.shouldTryPrimary() {
		d, err := f.primary.Reserve(ctx, key, limit, lockFor, now)
		if f.primaryOK(ctx, err) {
			return d, nil
		}
	}
	return f.fallback.Reserve(ctx, key, limit, lockFor, now)
}

// Fail implements auth.Lockout.
func (f *fallback) Fail(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (bool, error) {
	if f.shouldTryPrimary() {
		locked, err := f.primary.Fail(ctx, key, limit, lockFor, now)
		if f.primaryOK(ctx, err) {
			return locked, nil
		}
	}
	return f.fallback.Fail(ctx, key, limit, lockFor, now)
}

// Succeed implements auth.Lockout.
func (f *fallback) Succeed(ctx context.Context, key string, reset bool) error {
	if f.shouldTryPrimary() {
		err := f.primary.Succeed(ctx, key, reset)
		if f.primaryOK(ctx, err) {
			return nil
		}
	}
	return f.fallback.Succeed(ctx, key, reset)
}

// shouldTryPrimary reports whether to ask the primary: always while it is
// up, and during an outage only for the one caller whose turn it is to
// probe.
func (f *fallback) shouldTryPrimary() bool {
	if !f.down.Load() {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if now.Before(f.nextProbe) {
		return false
	}
	f.nextProbe = now.Add(f.probeEvery)
	return true
}

// primaryOK records the outcome of a primary call and reports whether it
// succeeded. A caller that gave up is no sign of an outage.
func (f *fallback) primaryOK(ctx context.Context, err error) bool {
	if err == nil {
		f.markUp(ctx)
		return true
	}
	if ctx.Err() == nil {
		f.markDown(ctx, err)
	}
	return false
}

func (f *fallback) markDown(ctx context.Context, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down.Load() {
		return
	}
	f.nextProbe = f.now().Add(f.probeEvery)
	f.down.Store(true)
	if f.onChange != nil {
		f.onChange(true)
	}
	f.logger.WarnContext(ctx, "lockout falling back to in-process", "error", err.Error())
}

func (f *fallback) markUp(ctx context.Context) {
	if !f.down.Load() {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down.Load() {
		return
	}
	f.down.Store(false)
	if f.onChange != nil {
		f.onChange(false)
	}
	// A warning too: the end of an outage is what an operator watching
	// warnings needs to hear after its start.
	f.logger.WarnContext(ctx, "lockout recovered")
}
