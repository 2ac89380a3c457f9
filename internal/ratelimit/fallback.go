package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// probeEvery is how often a primary known to be down is tried again.
const probeEvery = time.Second

// fallback asks a primary limiter (Redis) and, when it fails, a fallback
// limiter (in process), so that a Redis outage never refuses requests.
type fallback struct {
	primary, fallback Limiter
	logger            *slog.Logger
	onFallback        func()
	now               func() time.Time
	probeEvery        time.Duration

	down      atomic.Bool // fast path: no lock while the primary is up
	mu        sync.Mutex
	nextProbe time.Time
	// onChange, if not nil, hears each change: true when the fallback
	// takes over, false when the primary is back (fallback_notify.go).
	onChange func(down bool)
}

// NewFallback returns a Limiter that asks primary and, when primary
// returns an error, answers from fallback instead: requests are never
// refused because the primary failed. The first failure of an outage is
// logged once ("rate limiter falling back to in-process"), and while it
// lasts the primary is tried again at most once a second, every other
// call going straight to fallback; the first success logs "rate limiter
// recovered". onFallback, if not nil, is called for every decision served
// by fallback (a metrics counter). An error is returned only when fallback
// itself fails.
func NewFallback(primary Limiter, fallbackLimiter Limiter, logger *slog.Logger, onFallback func()) Limiter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if onFallback == nil {
		onFallback = func() {}
	}
	return &fallback{
		primary:    primary,
		fallback:   fallbackLimiter,
		logger:     logger,
		onFallback: onFallback,
		now:        time.Now,
		probeEvery: probeEvery,
	}
}

// Allow implements Limiter.
func (f *fallback) Allow(ctx context.Context, key string) (Decision, error) {
	if f.shouldTryPrimary() {
		d, err := f.primary.Allow(ctx, key)
		if err == nil {
			f.markUp(ctx)
			return d, nil
		}
		// A caller that gave up is no sign of an outage.
		if ctx.Err() == nil {
			f.markDown(ctx, err)
		}
	}
	f.onFallback()
	return f.fallback.Allow(ctx, key)
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
	f.logger.WarnContext(ctx, "rate limiter falling back to in-process", "error", err.Error())
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
	f.logger.WarnContext(ctx, "rate limiter recovered")
}
