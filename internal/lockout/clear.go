package lockout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authserve/authserve/internal/auth"
)

// The administrator's side of the lockout: Clear (unlock) and Locked, on
// a key and its family, the keys that begin with key + "|" (an email's
// per-address keys are "pair:<email>|<address>", its family "pair:<email>").

// family returns the family of key: everything before its last "|".
func family(key string) (string, bool) {
	i := strings.LastIndexByte(key, '|')
	if i < 0 {
		return "", false
	}
	return key[:i], true
}

func inFamily(k, key string) bool {
	return k == key || strings.HasPrefix(k, key+"|")
}

// Clear implements auth.Lockout.
func (m *Memory) Clear(_ context.Context, key string) error {
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k := range sh.keys {
			if inFamily(k, key) {
				delete(sh.keys, k)
			}
		}
		sh.mu.Unlock()
	}
	return nil
}

// Locked implements auth.Lockout.
func (m *Memory) Locked(_ context.Context, key string, now time.Time) (bool, error) {
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k, st := range sh.keys {
			if inFamily(k, key) && st.live(now) && !st.lockedUntil.IsZero() {
				sh.mu.Unlock()
				return true, nil
			}
		}
		sh.mu.Unlock()
	}
	return false, nil
}

// famKey is the Redis set that lists the stored keys of a family. Keys
// are stored hashed, so a family cannot be found by a pattern; Fail adds
// every key it counts a failure on to its family's set, which expires
// with the newest of them. (Only failures make lasting state: a key with
// reservations alone is never locked.)
func (r *Redis) famKey(fam string) string {
	sum := sha256.Sum256([]byte(fam))
	return r.prefix + "family:" + hex.EncodeToString(sum[:])
}

// index records key in its family's set, after a failure.
func (r *Redis) index(ctx context.Context, key string, lockFor time.Duration) error {
	fam, ok := family(key)
	if !ok {
		return nil
	}
	set := r.famKey(fam)
	// Two commands on one key: one slot, so a Redis Cluster takes the
	// pipeline as it is.
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, set, r.key(key))
		p.PExpire(ctx, set, time.Duration(millis(lockFor))*time.Millisecond)
		return nil
	})
	return err
}

// members returns the stored names of key and of its family's keys.
func (r *Redis) members(ctx context.Context, key string) ([]string, error) {
	names, err := r.client.SMembers(ctx, r.famKey(key)).Result()
	if err != nil {
		return nil, err
	}
	return append(names, r.key(key)), nil
}

// Clear implements auth.Lockout. Each key is deleted on its own: in a
// Redis Cluster the family's keys live in different slots.
func (r *Redis) Clear(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	names, err := r.members(ctx, key)
	if err == nil {
		for _, n := range append(names, r.famKey(key)) {
			if err = r.client.Del(ctx, n).Err(); err != nil {
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%w: redis lockout clear: %w", auth.ErrUnavailable, err)
	}
	return nil
}

// Locked implements auth.Lockout.
func (r *Redis) Locked(ctx context.Context, key string, now time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	names, err := r.members(ctx, key)
	if err != nil {
		return false, fmt.Errorf("%w: redis lockout locked: %w", auth.ErrUnavailable, err)
	}
	ms := now.UnixMilli()
	for _, n := range names {
		v, err := r.client.HMGet(ctx, n, "l", "e").Result()
		if err != nil {
			return false, fmt.Errorf("%w: redis lockout locked: %w", auth.ErrUnavailable, err)
		}
		l, e := redisInt(v[0]), redisInt(v[1])
		if l > ms && e > ms {
			return true, nil
		}
	}
	return false, nil
}

func redisInt(v any) int64 {
	s, _ := v.(string)
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// Clear implements auth.Lockout: both sides, since either may hold locks
// (the fallback's from an outage of the primary).
func (f *fallback) Clear(ctx context.Context, key string) error {
	if err := f.fallback.Clear(ctx, key); err != nil {
		return err
	}
	return f.primary.Clear(ctx, key)
}

// Locked implements auth.Lockout: locked on either side.
func (f *fallback) Locked(ctx context.Context, key string, now time.Time) (bool, error) {
	locked, err := f.fallback.Locked(ctx, key, now)
	if err != nil || locked {
		return locked, err
	}
	if !f.shouldTryPrimary() {
		return false, nil
	}
	locked, err = f.primary.Locked(ctx, key, now)
	if !f.primaryOK(ctx, err) {
		return false, nil
	}
	return locked, nil
}
