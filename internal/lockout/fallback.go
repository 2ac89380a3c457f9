package lockout

import (
	"context"
	"log/slog"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/fallback"
)

// fallbackLockout uses a primary lockout (Redis) and, when it fails, a
// fallback (the database's counters), so that a Redis outage never stops
// logins.
type fallbackLockout struct {
	primary, fallback auth.Lockout
	sw                *fallback.Switch
}

// NewFallback returns an auth.Lockout that uses primary and, when primary
// returns an error, fallbackLockout instead, switching as
// fallback.Switch describes: the first failure of an outage is logged
// once ("lockout falling back to the database"); while it lasts the
// primary is tried again at most once a second; the first success logs
// "lockout recovered".
//
// During an outage the fallback holds its own counts (the database's are
// shared by every replica but start from what they held before), and an
// attempt reserved on one side and ended on the other may release someone
// else's reservation once. Both last only as long as the outage.
func NewFallback(primary, fallbackLockout auth.Lockout, logger *slog.Logger) auth.Lockout {
	return newFallback(primary, fallbackLockout, fallback.Options{Name: "lockout", To: "the database", Logger: logger})
}

func newFallback(primary, fb auth.Lockout, o fallback.Options) *fallbackLockout {
	return &fallbackLockout{primary: primary, fallback: fb, sw: fallback.New(o)}
}

// Reserve implements auth.Lockout.
func (f *fallbackLockout) Reserve(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (time.Duration, error) {
	return fallback.Do(ctx, f.sw,
		func() (time.Duration, error) { return f.primary.Reserve(ctx, key, limit, lockFor, now) },
		func() (time.Duration, error) { return f.fallback.Reserve(ctx, key, limit, lockFor, now) })
}

// Fail implements auth.Lockout.
func (f *fallbackLockout) Fail(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (bool, error) {
	return fallback.Do(ctx, f.sw,
		func() (bool, error) { return f.primary.Fail(ctx, key, limit, lockFor, now) },
		func() (bool, error) { return f.fallback.Fail(ctx, key, limit, lockFor, now) })
}

// Succeed implements auth.Lockout.
func (f *fallbackLockout) Succeed(ctx context.Context, key string, reset bool) error {
	_, err := fallback.Do(ctx, f.sw,
		func() (struct{}, error) { return struct{}{}, f.primary.Succeed(ctx, key, reset) },
		func() (struct{}, error) { return struct{}{}, f.fallback.Succeed(ctx, key, reset) })
	return err
}
