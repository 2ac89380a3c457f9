package lockout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/fallback"
)

// group is the part of a key up to and including its last '|' (the
// domain's "pair:EMAIL|ADDRESS" keys group by email, and an email may
// itself hold a '|'; an address never does), or "" for a key without one.
func group(key string) string {
	if i := strings.LastIndexByte(key, '|'); i >= 0 {
		return key[:i+1]
	}
	return ""
}

// groupKey is the Redis set listing the stored keys of a group. Keys are
// stored hashed, so a prefix cannot be found by scanning: each failure
// records its key in its group's set instead, which expires with the
// locks it lists.
func (r *Redis) groupKey(g string) string {
	sum := sha256.Sum256([]byte(g))
	return r.prefix + "group:" + hex.EncodeToString(sum[:])
}

// index records key in its group's set after a failure.
func (r *Redis) index(ctx context.Context, key string, lockFor time.Duration) error {
	g := group(key)
	if g == "" {
		return nil
	}
	gk := r.groupKey(g)
	pipe := r.client.Pipeline()
	pipe.SAdd(ctx, gk, r.key(key))
	pipe.PExpire(ctx, gk, time.Duration(millis(lockFor))*time.Millisecond)
	_, err := pipe.Exec(ctx)
	return err
}

// Clear implements auth.Lockout. A prefix clears the keys of the group it
// names, so it must end with '|' (as the domain's do); the keys are
// deleted one by one, so that none need share a hash slot.
func (r *Redis) Clear(ctx context.Context, exact, prefix string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*r.timeout)
	defer cancel()
	keys, gk, err := r.keysOf(ctx, "clear", exact, prefix)
	if err != nil {
		return err
	}
	if gk != "" {
		keys = append(keys, gk)
	}
	for _, k := range keys {
		if err := r.client.Del(ctx, k).Err(); err != nil {
			return fmt.Errorf("%w: redis lockout clear: %w", auth.ErrUnavailable, err)
		}
	}
	return nil
}

// Clear implements auth.Lockout: the fallback's counts (from outages) are
// cleared in any case, the primary's while it answers; when it does not,
// the switch treats that like any other failure, and what Redis still
// holds expires on its own.
func (f *fallbackLockout) Clear(ctx context.Context, exact, prefix string) error {
	errF := f.fallback.Clear(ctx, exact, prefix)
	_, errP := fallback.Do(ctx, f.sw,
		func() (struct{}, error) { return struct{}{}, f.primary.Clear(ctx, exact, prefix) },
		func() (struct{}, error) { return struct{}{}, nil })
	return errors.Join(errP, errF)
}

// Locked implements auth.Lockout: the exact key and the keys of the group
// prefix names (which must end with '|', as for Clear).
func (r *Redis) Locked(ctx context.Context, exact, prefix string, now time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*r.timeout)
	defer cancel()
	keys, _, err := r.keysOf(ctx, "locked", exact, prefix)
	if err != nil {
		return false, err
	}
	ms := now.UnixMilli()
	for _, k := range keys {
		v, err := r.client.HMGet(ctx, k, "l", "e").Result()
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

// keysOf lists the Redis keys of exact and of the members of the group
// prefix names (which must end with '|'), and that group's set key ("" if
// no prefix); op names the caller in errors.
func (r *Redis) keysOf(ctx context.Context, op, exact, prefix string) (keys []string, groupKey string, err error) {
	if exact != "" {
		keys = append(keys, r.key(exact))
	}
	if prefix == "" {
		return keys, "", nil
	}
	if group(prefix) != prefix {
		return nil, "", fmt.Errorf("redis lockout %s: prefix %q does not end its group with '|'", op, prefix)
	}
	gk := r.groupKey(prefix)
	members, err := r.client.SMembers(ctx, gk).Result()
	if err != nil {
		return nil, "", fmt.Errorf("%w: redis lockout %s: %w", auth.ErrUnavailable, op, err)
	}
	return append(keys, members...), gk, nil
}
