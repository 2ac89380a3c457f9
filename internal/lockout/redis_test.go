package lockout

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/lockouttest"
	"github.com/authserve/authserve/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// onEachRedis runs test once on each Redis target (one server, a
// cluster) that is configured.
func onEachRedis(t *testing.T, test func(t *testing.T, open func() redis.UniversalClient)) {
	for _, tg := range redistest.Targets {
		t.Run(tg.Name, func(t *testing.T) {
			test(t, func() redis.UniversalClient { return redistest.Open(t, tg) })
		})
	}
}

// testRedis is the one server of AUTH_TEST_REDIS_URL, or a skip.
func testRedis(t *testing.T) redis.UniversalClient { return redistest.Open(t, redistest.Single) }

func testPrefix(t *testing.T, c redis.UniversalClient) string {
	return redistest.Prefix(t, c, "authserve-test:lockout:", "")
}

func TestRedisConformance(t *testing.T) {
	onEachRedis(t, func(t *testing.T, open func() redis.UniversalClient) {
		c := open()
		lockouttest.Run(t, func(t *testing.T) auth.Lockout { return NewRedis(c, testPrefix(t, c)) })
	})
}

func TestRedisShared(t *testing.T) {
	onEachRedis(t, func(t *testing.T, open func() redis.UniversalClient) {
		c1, c2 := open(), open()
		prefix := testPrefix(t, c1)
		lockouttest.RunShared(t, NewRedis(c1, prefix), NewRedis(c2, prefix))
	})
}

func TestRedisStorage(t *testing.T) {
	onEachRedis(t, testRedisStorage)
}

func testRedisStorage(t *testing.T, open func() redis.UniversalClient) {
	c := open()
	prefix := testPrefix(t, c)
	r := NewRedis(c, prefix)
	ctx := context.Background()
	key := "victim@example.com|198.51.100.7"
	if got, err := r.Reserve(ctx, key, 5, 15*time.Minute, time.Now()); err != nil || got != 0 {
		t.Fatalf("Reserve() = %v, %v; want 0, nil", got, err)
	}
	keys := redistest.Keys(ctx, c, prefix+"*")
	if len(keys) != 1 || strings.Contains(keys[0], "example.com") || len(keys[0]) != len(prefix)+66 ||
		!strings.HasPrefix(keys[0], prefix+"{") || !strings.HasSuffix(keys[0], "}") {
		t.Fatalf("Redis keys = %q, want one prefix+{SHA-256} key (a hash tag) without the email", keys)
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
