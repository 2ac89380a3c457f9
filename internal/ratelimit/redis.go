package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// redisTimeout bounds every Redis call, so that a slow or dead Redis adds
// at most this much latency before the fallback takes over.
const redisTimeout = 250 * time.Millisecond

// Redis is a GCRA rate limiter whose state lives in Redis, so that every
// replica sharing the server shares each client's budget. It uses
// go-redis/redis_rate, whose Lua script reads Redis' own clock, so replica
// clocks need not agree. Keys are stored as "rate:" + prefix + "{" + key +
// "}": the braces make the client's key a Redis Cluster hash tag, so that
// the script's one key, and anything ever kept beside it under the same
// tag, is in one slot.
//
// The per-call timeout only bounds socket I/O when the client was created
// with ContextTimeoutEnabled; without it a hung server blocks a call for
// the client's read timeout.
type Redis struct {
	limiter *redis_rate.Limiter
	limit   redis_rate.Limit
	prefix  string
	timeout time.Duration
}

// NewRedis returns a limiter allowing perMinute requests per key per
// minute with a burst of perMinute, stored in client (one server or a
// cluster client) under prefix; perMinute <= 0 allows everything without
// asking Redis.
func NewRedis(client redis.UniversalClient, perMinute int, prefix string) *Redis {
	return &Redis{
		limiter: redis_rate.NewLimiter(client),
		limit:   redis_rate.PerMinute(max(perMinute, 0)),
		prefix:  prefix,
		timeout: redisTimeout,
	}
}

// Allow counts one request of key if the key has budget left. It returns
// an error when Redis does not answer in time.
func (r *Redis) Allow(ctx context.Context, key string) (Decision, error) {
	if r.limit.Rate == 0 {
		return Decision{Allowed: true}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.limiter.Allow(ctx, r.prefix+"{"+key+"}", r.limit)
	if err != nil {
		return Decision{}, fmt.Errorf("redis rate limit: %w", err)
	}
	d := Decision{
		Allowed:    res.Allowed > 0,
		Limit:      r.limit.Burst,
		Remaining:  res.Remaining,
		ResetAfter: max(res.ResetAfter, 0),
	}
	if !d.Allowed {
		// redis_rate reports -1 when allowed; a refusal always has a wait.
		d.RetryAfter = max(res.RetryAfter, time.Millisecond)
	}
	return d, nil
}
