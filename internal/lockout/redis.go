package lockout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authserve/authserve/internal/auth"
)

// redisTimeout bounds every Redis call, so that a slow or dead Redis
// delays a login by at most this much before the fallback takes over.
const redisTimeout = 500 * time.Millisecond

// Each key is a hash with fields f (failures), p (attempts in progress),
// l (lock end) and e (expiry), times in Unix milliseconds of the callers'
// clock, so that explicit times work as with Memory. The key also gets a
// Redis TTL of lockFor so that Redis itself forgets it. Each operation is
// one script, so Redis runs it atomically.

// loadState is shared by the scripts: it reads the key's state and treats
// an expired state, or a lock that has ended, as empty.
const loadState = `
local v = redis.call('HMGET', KEYS[1], 'f', 'p', 'l', 'e')
local f = tonumber(v[1]) or 0
local p = tonumber(v[2]) or 0
local l = tonumber(v[3]) or 0
local e = tonumber(v[4]) or 0
if e <= now or (l > 0 and l <= now) then
  f, p, l = 0, 0, 0
end
`

// reserveScript: ARGV limit, lockFor ms, now ms, busy retry ms.
// Returns the retry-after in ms, 0 when the attempt was counted.
var reserveScript = redis.NewScript(`
local limit = tonumber(ARGV[1])
local lockfor = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local busy = tonumber(ARGV[4])
` + loadState + `
if l > 0 then
  return l - now
end
if f + p >= limit then
  return math.max(1, math.min(busy, e - now))
end
redis.call('HSET', KEYS[1], 'f', f, 'p', p + 1, 'l', l, 'e', now + lockfor)
redis.call('PEXPIRE', KEYS[1], lockfor)
return 0
`)

// failScript: ARGV limit, lockFor ms, now ms. Returns 1 when this failure
// locked the key.
var failScript = redis.NewScript(`
local limit = tonumber(ARGV[1])
local lockfor = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
` + loadState + `
if p > 0 then p = p - 1 end
f = f + 1
local locked = 0
if l == 0 and f >= limit then
  l = now + lockfor
  locked = 1
end
redis.call('HSET', KEYS[1], 'f', f, 'p', p, 'l', l, 'e', now + lockfor)
redis.call('PEXPIRE', KEYS[1], lockfor)
return locked
`)

// releaseScript ends a reservation without touching the key's expiry
// (HSET keeps the TTL), and deletes a key left with nothing to remember.
var releaseScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'f', 'p', 'l')
if not v[2] then
  return 0
end
local f = tonumber(v[1]) or 0
local p = tonumber(v[2]) or 0
local l = tonumber(v[3]) or 0
if p > 0 then p = p - 1 end
if f == 0 and p == 0 and l == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'p', p)
end
return 1
`)

// Redis is an auth.Lockout whose state lives in Redis, shared by every
// replica using the same server (or Redis Cluster) and prefix. Keys are
// stored as prefix + "{" + hex SHA-256 of the key + "}", so that emails
// are not readable in Redis and key length stays bounded. The braces make
// the hash a Redis Cluster hash tag: each script touches only the one key
// it declares, and anything ever kept beside a key (prefix + another
// word + the same tag) lands in its slot, so a script over both stays
// legal on a cluster.
//
// Its errors wrap auth.ErrUnavailable, so that without a fallback a Redis
// outage reads as one. The per-call timeout only bounds socket I/O when
// the client was created with ContextTimeoutEnabled; without it a hung
// server blocks a call for the client's read timeout.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
}

// NewRedis returns a lockout stored in client (one server or a cluster
// client) under prefix.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix, timeout: redisTimeout}
}

func (r *Redis) key(key string) string {
	sum := sha256.Sum256([]byte(key))
	return r.prefix + "{" + hex.EncodeToString(sum[:]) + "}"
}

// Reserve implements auth.Lockout.
func (r *Redis) Reserve(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (time.Duration, error) {
	if disabled(limit, lockFor) {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	ms, err := reserveScript.Run(ctx, r.client, []string{r.key(key)},
		limit, millis(lockFor), now.UnixMilli(), busyRetry.Milliseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("%w: redis lockout reserve: %w", auth.ErrUnavailable, err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Fail implements auth.Lockout.
func (r *Redis) Fail(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (bool, error) {
	if disabled(limit, lockFor) {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	locked, err := failScript.Run(ctx, r.client, []string{r.key(key)},
		limit, millis(lockFor), now.UnixMilli()).Int64()
	if err != nil {
		return false, fmt.Errorf("%w: redis lockout fail: %w", auth.ErrUnavailable, err)
	}
	if err := r.index(ctx, key, lockFor); err != nil {
		return false, fmt.Errorf("%w: redis lockout fail: %w", auth.ErrUnavailable, err)
	}
	return locked == 1, nil
}

// Succeed implements auth.Lockout.
func (r *Redis) Succeed(ctx context.Context, key string, reset bool) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var err error
	if reset {
		err = r.client.Del(ctx, r.key(key)).Err()
	} else {
		err = releaseScript.Run(ctx, r.client, []string{r.key(key)}).Err()
	}
	if err != nil {
		return fmt.Errorf("%w: redis lockout succeed: %w", auth.ErrUnavailable, err)
	}
	return nil
}

// millis rounds d up to whole milliseconds, at least one, because PEXPIRE
// takes milliseconds and a zero TTL would delete the key at once.
func millis(d time.Duration) int64 {
	return max(int64((d+time.Millisecond-1)/time.Millisecond), 1)
}
