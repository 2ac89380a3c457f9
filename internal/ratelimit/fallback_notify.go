package ratelimit

import "log/slog"

// NewFallbackNotify is NewFallback that also tells onChange when the
// fallback takes over (true) and when the primary is back (false), once
// per change, for a gauge and a readiness check.
func NewFallbackNotify(primary, fallbackLimiter Limiter, logger *slog.Logger, onFallback func(), onChange func(down bool)) Limiter {
	f := NewFallback(primary, fallbackLimiter, logger, onFallback).(*fallback)
	f.onChange = onChange
	return f
}
