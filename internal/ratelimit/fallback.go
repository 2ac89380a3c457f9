package ratelimit

import (
	"context"
	"log/slog"

	"github.com/authserve/authserve/internal/fallback"
)

// fallbackLimiter asks a primary limiter (Redis) and, when it fails, a
// fallback limiter (in process), so that a Redis outage never refuses
// requests.
type fallbackLimiter struct {
	primary, fallback Limiter
	sw                *fallback.Switch
}

// NewFallback returns a Limiter that asks primary and, when primary
// returns an error, answers from fallbackLimiter instead: requests are
// never refused because the primary failed. It switches as
// fallback.Switch describes: the first failure of an outage is logged once
// ("rate limiter falling back to in-process"), the primary is probed at
// most once a second while it lasts, and the first success logs "rate
// limiter recovered". onFallback, if not nil, is called for every decision
// served by fallbackLimiter (a metrics counter). An error is returned only
// when fallbackLimiter itself fails.
func NewFallback(primary Limiter, fallbackLimiter Limiter, logger *slog.Logger, onFallback func()) Limiter {
	return newFallback(primary, fallbackLimiter, fallback.Options{
		Name: "rate limiter", To: "in-process", Logger: logger, OnFallback: onFallback,
	})
}

func newFallback(primary, fb Limiter, o fallback.Options) *fallbackLimiter {
	return &fallbackLimiter{primary: primary, fallback: fb, sw: fallback.New(o)}
}

// Allow implements Limiter.
func (f *fallbackLimiter) Allow(ctx context.Context, key string) (Decision, error) {
	return fallback.Do(ctx, f.sw,
		func() (Decision, error) { return f.primary.Allow(ctx, key) },
		func() (Decision, error) { return f.fallback.Allow(ctx, key) })
}
