package lockout

import (
	"log/slog"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/fallback"
)

// NewFallbackNotify is NewFallback that also tells onChange when the
// fallback takes over (true) and when the primary is back (false), once
// per change, for a gauge and a readiness check.
func NewFallbackNotify(primary, fallbackLockout auth.Lockout, logger *slog.Logger, onChange func(down bool)) auth.Lockout {
	return newFallback(primary, fallbackLockout, fallback.Options{
		Name: "lockout", To: "the database", Logger: logger, OnChange: onChange,
	})
}
