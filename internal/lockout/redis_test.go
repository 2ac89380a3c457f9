package lockout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/lockouttest"
	"github.com/redis/go-redis/v9"
)

// testRedis connects to AUTH_TEST_REDIS_URL or skips the test.
func testRedis(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("AUTH_TEST_REDIS_URL")
	if url == "" {
		t.Skip("AUTH_TEST_REDIS_URL not set: skipping Redis tests")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse AUTH_TEST_REDIS_URL: %v", err)
	}
	opt.ContextTimeoutEnabled = true
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping Redis at AUTH_TEST_REDIS_URL: %v", err)
	}
	return c
}

// testPrefix returns a key prefix no other test uses, and deletes its keys
// when the test ends.
func testPrefix(t *testing.T, c *redis.Client) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "authserve-test:lockout:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}

func TestRedisConformance(t *testing.T) {
	c := testRedis(t)
	lockouttest.Run(t, func(t *testing.T) auth.Lockout { return NewRedis(c, testPrefix(t, c)) })
}

func TestRedisShared(t *testing.T) {
	c1, c2 := testRedis(t), testRedis(t)
	prefix := testPrefix(t, c1)
	lockouttest.RunShared(t, NewRedis(c1, prefix), NewRedis(c2, prefix))
}

func TestRedisStorage(t *testing.T) {
	c := testRedis(t)
	prefix := testPrefix(t, c)
	r := NewRedis(c, prefix)
	ctx := context.Background()
	key := "victim@example.com|198.51.100.7"
	if got, err := r.Reserve(ctx, key, 5, 15*time.Minute, time.Now()); err != nil || got != 0 {
		t.Fatalf("Reserve() = %v, %v; want 0, nil", got, err)
	}
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || strings.Contains(keys[0], "example.com") || len(keys[0]) != len(prefix)+64 {
		t.Fatalf("Redis keys = %q, want one prefix+SHA-256 key without the email", keys)
	}
	ttl, err := c.PTTL(ctx, keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl < 14*time.Minute || ttl > 15*time.Minute {
		t.Errorf("PTTL(%s) = %v, want about 15m (lockFor)", keys[0], ttl)
	}
	// Releasing the only reservation leaves nothing to remember.
	if err := r.Succeed(ctx, key, false); err != nil {
		t.Fatalf("Succeed() error = %v", err)
	}
	if n, _ := c.Exists(ctx, keys[0]).Result(); n != 0 {
		t.Errorf("key exists after releasing its only reservation, want deleted")
	}
}

func TestRedisDisabledNeedsNoServer(t *testing.T) {
	r := NewRedis(nil, "x:")
	got, err := r.Reserve(context.Background(), "k", 0, time.Minute, time.Now())
	if err != nil || got != 0 {
		t.Errorf("Reserve(limit 0) = %v, %v; want 0, nil", got, err)
	}
	locked, err := r.Fail(context.Background(), "k", 5, 0, time.Now())
	if err != nil || locked {
		t.Errorf("Fail(lockFor 0) = %v, %v; want false, nil", locked, err)
	}
}

func TestRedisErrorsAreUnavailable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	r := NewRedis(c, "closed:")
	ctx := context.Background()
	_, errReserve := r.Reserve(ctx, "k", 5, time.Minute, time.Now())
	_, errFail := r.Fail(ctx, "k", 5, time.Minute, time.Now())
	errRelease := r.Succeed(ctx, "k", false)
	errReset := r.Succeed(ctx, "k", true)
	for i, err := range []error{errReserve, errFail, errRelease, errReset} {
		if !errors.Is(err, auth.ErrUnavailable) {
			t.Errorf("call %d against a closed port: error = %v, want one wrapping auth.ErrUnavailable", i, err)
		}
	}
}

func TestRedisTimeoutOnHungServer(t *testing.T) {
	// A server that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
		}
	}()
	c := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ContextTimeoutEnabled: true})
	defer c.Close()
	r := NewRedis(c, "hung:")
	start := time.Now()
	_, err = r.Reserve(context.Background(), "k", 5, time.Minute, time.Now())
	took := time.Since(start)
	if err == nil {
		t.Errorf("Reserve() against a hung server error = nil, want a timeout")
	}
	if took > redisTimeout+time.Second {
		t.Errorf("Reserve() against a hung server took %v, want about %v", took, redisTimeout)
	}
}
