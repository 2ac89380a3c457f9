package lockout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// Clear implements auth.Lockout.
func (m *Memory) Clear(_ context.Context, exact, prefix string) error {
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k := range sh.keys {
			if (exact != "" && k == exact) || (prefix != "" && strings.HasPrefix(k, prefix)) {
				delete(sh.keys, k)
			}
		}
		sh.mu.Unlock()
	}
	return nil
}

// group is the part of a key up to and including its first '|' (the
// domain's "pair:EMAIL|ADDRESS" keys group by email), or "" for a key
// without one.
func group(key string) string {
	if i := strings.IndexByte(key, '|'); i >= 0 {
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
	var keys []string
	if exact != "" {
		keys = append(keys, r.key(exact))
	}
	if prefix != "" {
		if group(prefix) != prefix {
			return fmt.Errorf("redis lockout clear: prefix %q does not end its group with '|'", prefix)
		}
		gk := r.groupKey(prefix)
		members, err := r.client.SMembers(ctx, gk).Result()
		if err != nil {
			return fmt.Errorf("%w: redis lockout clear: %w", auth.ErrUnavailable, err)
		}
		keys = append(append(keys, members...), gk)
	}
	for _, k := range keys {
		if err := r.client.Del(ctx, k).Err(); err != nil {
			return fmt.Errorf("%w: redis lockout clear: %w", auth.ErrUnavailable, err)
		}
	}
	return nil
}

// Clear implements auth.Lockout: both sides are cleared, since either may
// hold counts from before or during an outage. A primary that fails is
// treated as by the other calls (marked down, logged once); the counts it
// still holds then expire on their own.
func (f *fallback) Clear(ctx context.Context, exact, prefix string) error {
	if f.shouldTryPrimary() {
		f.primaryOK(ctx, f.primary.Clear(ctx, exact, prefix))
	}
	return f.fallback.Clear(ctx, exact, prefix)
}
