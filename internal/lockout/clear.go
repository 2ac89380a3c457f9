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
	"github.com/authserve/authserve/internal/fallback"
)

// The administrator's side of the lockout: Clear (unlock) and Locked, on
// a key and on the keys with a prefix (an email's per-address keys are
// "pair:<email>|<address>", their prefix "pair:<email>|").

// group is the part of a key up to and including its last '|' (the
// domain's "pair:EMAIL|ADDRESS" keys group by email, and an email may
// itself hold a '|'; an address never does), or "" for a key without one.
func group(key string) string {
	if i := strings.LastIndexByte(key, '|'); i >= 0 {
		return key[:i+1]
	}
	return ""
}

// groupKey is the Redis set that lists the stored keys of a group. Keys
// are stored hashed, so a prefix cannot be found by a pattern; Fail adds
// every key it counts a failure on to its group's set, which expires with
// the newest of them. (Only failures make lasting state: a key with
// reservations alone is never locked.)
func (r *Redis) groupKey(g string) string {
	sum := sha256.Sum256([]byte(g))
	return r.prefix + "group:" + hex.EncodeToString(sum[:])
}

// index records key in its group's set, after a failure.
func (r *Redis) index(ctx context.Context, key string, lockFor time.Duration) error {
	g := group(key)
	if g == "" {
		return nil
	}
	set := r.groupKey(g)
	// Two commands on one key: one slot, so a Redis Cluster takes the
	// transaction as it is.
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, set, r.key(key))
		p.PExpire(ctx, set, time.Duration(millis(lockFor))*time.Millisecond)
		return nil
	})
	return err
}

// stored returns the stored names of exact and of the keys of the group
// prefix names, and the group's set. A prefix must be a whole group.
func (r *Redis) stored(ctx context.Context, exact, prefix string) (names []string, set string, err error) {
	if exact != "" {
		names = append(names, r.key(exact))
	}
	if prefix == "" {
		return names, "", nil
	}
	if group(prefix) != prefix {
		return nil, "", fmt.Errorf("redis lockout: prefix %q does not end with '|'", prefix)
	}
	set = r.groupKey(prefix)
	members, err := r.client.SMembers(ctx, set).Result()
	if err != nil {
		return nil, "", err
	}
	return append(names, members...), set, nil
}

// Clear implements auth.Lockout. Each key is deleted on its own: in a
// Redis Cluster a group's keys live in different slots.
func (r *Redis) Clear(ctx context.Context, exact, prefix string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*r.timeout)
	defer cancel()
	names, set, err := r.stored(ctx, exact, prefix)
	if err == nil && set != "" {
		names = append(names, set)
	}
	for _, n := range names {
		if err != nil {
			break
		}
		err = r.client.Del(ctx, n).Err()
	}
	if err != nil {
		return fmt.Errorf("%w: redis lockout clear: %w", auth.ErrUnavailable, err)
	}
	return nil
}

// Locked implements auth.Lockout.
func (r *Redis) Locked(ctx context.Context, exact, prefix string, now time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*r.timeout)
	defer cancel()
	names, _, err := r.stored(ctx, exact, prefix)
	if err != nil {
		return false, fmt.Errorf("%w: redis lockout locked: %w", auth.ErrUnavailable, err)
	}
	ms := now.UnixMilli()
	for _, n := range names {
		v, err := r.client.HMGet(ctx, n, "l", "e").Result()
		if err != nil {
			return false, fmt.Errorf("%w: redis lockout locked: %w", auth.ErrUnavailable, err)
		}
		if l, e := redisInt(v[0]), redisInt(v[1]); l > ms && e > ms {
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
// (the fallback's from an outage of the primary). A primary that fails
// is an error: its locks would outlive the unlock.
func (f *fallbackLockout) Clear(ctx context.Context, exact, prefix string) error {
	if err := f.fallback.Clear(ctx, exact, prefix); err != nil {
		return err
	}
	return f.primary.Clear(ctx, exact, prefix)
}

// Locked implements auth.Lockout: locked on either side. A primary that
// fails is switched away from, as by the other calls, and its locks are
// not seen meanwhile.
func (f *fallbackLockout) Locked(ctx context.Context, exact, prefix string, now time.Time) (bool, error) {
	locked, err := f.fallback.Locked(ctx, exact, prefix, now)
	if err != nil || locked {
		return locked, err
	}
	return fallback.Do(ctx, f.sw,
		func() (bool, error) { return f.primary.Locked(ctx, exact, prefix, now) },
		func() (bool, error) { return false, nil })
}
