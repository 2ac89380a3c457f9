package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authserve/authserve/internal/config"
	"github.com/authserve/authserve/internal/metrics"
	"github.com/authserve/authserve/internal/redisconn"
	"github.com/authserve/authserve/internal/sqlstore"
)

// migrateFailed is op's error; an unreachable AUTH_MIGRATE_DATABASE_URL
// stops start-up (or the migrate command) with one line naming it, like
// any other bad setting. The cause names host and user, never the
// password (the drivers' connect errors do not carry it).
func migrateFailed(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sqlstore.ErrMigrateDatabase) {
		// One line: pgx lists each address it tried on a line of its own.
		_, cause, _ := strings.Cut(err.Error(), sqlstore.ErrMigrateDatabase.Error()+": ")
		cause = strings.Join(strings.Fields(cause), " ")
		return exitError{code: 1, msg: "AUTH_MIGRATE_DATABASE_URL: the migration database does not answer: " + cause}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// openRedis opens AUTH_REDIS_URL: one server or a Redis Cluster (see
// redisconn.Open), and says which at start-up. Nothing waits for Redis, but
// an operator should hear at once that the shared state is not shared yet.
func openRedis(ctx context.Context, cfg config.Config, logger *slog.Logger) (*redisconn.Client, error) {
	c, err := redisconn.Open(ctx, cfg.RedisURL.Reveal())
	if err != nil {
		return nil, exitError{code: 1, msg: "AUTH_REDIS_URL: " + err.Error()}
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		logger.Warn("Redis does not answer at start-up; rate limits and lockout counters fall back to this process and the database until it does",
			slog.String("mode", string(c.Mode)), slog.String("error", err.Error()))
		return c, nil
	}
	logger.Info("Redis connected", slog.String("mode", string(c.Mode)), slog.Int("nodes_named", len(c.Addrs)))
	return c, nil
}

// The limits shared through Redis, as /metrics and /readyz name them.
const (
	limitRate    = "rate_limit"
	limitLockout = "lockout"
)

// fallbacks knows which shared limits currently run on their fallback (the
// rate limit in process, the lockout on the database) because Redis
// failed: the fallbacks tell it (NewFallbackNotify), and it sets the
// authserve_limits_fallback gauge and adds a check per limit to /readyz,
// which stays 200: the service works, degraded.
type fallbacks struct {
	metrics       *metrics.Metrics
	rate, lockout atomic.Bool
}

func newFallbacks(m *metrics.Metrics) *fallbacks {
	f := &fallbacks{metrics: m}
	m.LimitFallback(limitRate, false)
	m.LimitFallback(limitLockout, false)
	return f
}

// onChange returns the hook of one limit's fallback.
func (f *fallbacks) onChange(limit string) func(down bool) {
	flag := &f.rate
	if limit == limitLockout {
		flag = &f.lockout
	}
	return func(down bool) {
		flag.Store(down)
		f.metrics.LimitFallback(limit, down)
	}
}

// ready wraps a readiness check with the limits' state: "redis" while they
// are shared, "fallback: in process" / "fallback: database" while not.
func (f *fallbacks) ready(check func(context.Context) (map[string]string, error)) func(context.Context) (map[string]string, error) {
	return func(ctx context.Context) (map[string]string, error) {
		checks, err := check(ctx)
		if checks == nil {
			checks = map[string]string{}
		}
		checks[limitRate] = "redis"
		if f.rate.Load() {
			checks[limitRate] = "fallback: in process"
		}
		checks[limitLockout] = "redis"
		if f.lockout.Load() {
			checks[limitLockout] = "fallback: database"
		}
		return checks, err
	}
}
