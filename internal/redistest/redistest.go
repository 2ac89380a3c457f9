// Package redistest gives tests the Redis servers named by
// AUTH_TEST_REDIS_URL (one server) and AUTH_TEST_REDIS_CLUSTER_URL (a Redis
// Cluster, which .ci/services starts), opened as the service opens
// AUTH_REDIS_URL (internal/redisconn), and key prefixes of their own, so
// that tests of several packages share the servers without colliding.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authserve/authserve/internal/redisconn"
)

// Target is a kind of Redis deployment a suite runs against.
type Target struct {
	// Name names the subtest.
	Name string
	// Env is the variable holding its URL.
	Env string
	// Mode is what redisconn must make of that URL.
	Mode redisconn.Mode
}

// The targets.
var (
	Single  = Target{"Redis", "AUTH_TEST_REDIS_URL", redisconn.Single}
	Cluster = Target{"RedisCluster", "AUTH_TEST_REDIS_CLUSTER_URL", redisconn.Cluster}
	// Targets are all of them: run a Redis suite once for each.
	Targets = []Target{Single, Cluster}
)

// Open skips the test when the target's variable is unset. Otherwise it
// opens the URL as the service does, fails the test when the server does
// not answer or is not the kind the target names, and closes the client
// when the test ends.
func Open(t testing.TB, tg Target) *redisconn.Client {
	t.Helper()
	url := os.Getenv(tg.Env)
	if url == "" {
		t.Skip(tg.Env + " not set: skipping tests on " + tg.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := redisconn.Open(ctx, url)
	if err != nil {
		t.Fatalf("open %s: %v", tg.Env, err)
	}
	t.Cleanup(func() { c.Close() })
	if c.Mode != tg.Mode {
		t.Fatalf("%s opened as %s, want %s", tg.Env, c.Mode, tg.Mode)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping %s: %v", tg.Env, err)
	}
	return c
}

// Prefix returns base followed by random hex and ":", a key prefix no
// other test uses, and deletes the keys under it (on every master of a
// cluster) when the test ends. Keys others build around it ("rate:" in
// front) are found with pattern, e.g. "rate:" + prefix + "*"; empty means
// prefix + "*".
func Prefix(t testing.TB, c redis.UniversalClient, base, pattern string) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	prefix := base + hex.EncodeToString(b[:]) + ":"
	if pattern == "" {
		pattern = prefix + "*"
	} else {
		pattern = pattern + prefix + "*"
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, k := range Keys(ctx, c, pattern) {
			c.Del(ctx, k)
		}
	})
	return prefix
}

// Keys returns the keys matching pattern, from every master of a cluster,
// sorted; SCAN on a cluster client would ask one node only.
func Keys(ctx context.Context, c redis.UniversalClient, pattern string) []string {
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, node redis.Cmdable) error {
		iter := node.Scan(ctx, 0, pattern, 100).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	if rc, ok := c.(*redisconn.Client); ok {
		c = rc.UniversalClient
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return scan(ctx, node) })
	} else {
		_ = scan(ctx, c)
	}
	sort.Strings(keys)
	return keys
}
