package ratelimit

import (
	"log/slog"

	"github.com/authserve/authserve/internal/fallback"
)

// NewFallbackNotify is NewFallback that also tells onChange when the
// fallback takes over (true) and when the primary is back (false), once
// per change, for a gauge and a readiness check.
func NewFallbackNotify(primary, fallbackLimiter Limiter, logger *slog.Logger, onFallback func(), onChange func(down bool)) Limiter {
	return newFallback(primary, fallbackLimiter, fallback.Options{
		Name: "rate limiter", To: "in-process", Logger: logger, OnFallback: onFallback, OnChange: onChange,
	})
}
