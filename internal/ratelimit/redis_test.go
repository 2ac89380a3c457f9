package ratelimit

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authserve/authserve/internal/redistest"
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

// testPrefix returns a key prefix no other test uses, and deletes its keys
// (redis_rate puts "rate:" in front) when the test ends.
func testPrefix(t *testing.T, c redis.UniversalClient) string {
	return redistest.Prefix(t, c, "authserve-test:ratelimit:", "rate:")
}

func TestRedisExactCounts(t *testing.T) {
	onEachRedis(t, testRedisExactCounts)
}

func testRedisExactCounts(t *testing.T, open func() redis.UniversalClient) {
	c := open()
	r := NewRedis(c, 5, testPrefix(t, c))
	ctx := context.Background()
	for i := range 5 {
		d, err := r.Allow(ctx, "198.51.100.1")
		if err != nil {
			t.Fatalf("Allow() #%d error = %v", i+1, err)
		}
		if !d.Allowed || d.Limit != 5 || d.Remaining != 4-i || d.RetryAfter != 0 {
			t.Errorf("Allow() #%d = %+v, want allowed, Limit 5, Remaining %d, no RetryAfter", i+1, d, 4-i)
		}
		wantReset := time.Duration(i+1) * 12 * time.Second
		if d.ResetAfter < wantReset-time.Second || d.ResetAfter > wantReset {
			t.Errorf("Allow() #%d ResetAfter = %v, want about %v", i+1, d.ResetAfter, wantReset)
		}
	}
	d, err := r.Allow(ctx, "198.51.100.1")
	if err != nil {
		t.Fatalf("Allow() #6 error = %v", err)
	}
	if d.Allowed || d.Remaining != 0 {
		t.Errorf("Allow() #6 = %+v, want refused with 0 remaining", d)
	}
	if d.RetryAfter < 11*time.Second || d.RetryAfter > 12*time.Second {
		t.Errorf("Allow() #6 RetryAfter = %v, want about 12s", d.RetryAfter)
	}
	if d, _ := r.Allow(ctx, "198.51.100.2"); !d.Allowed || d.Remaining != 4 {
		t.Errorf("Allow(other key) = %+v, want allowed with 4 remaining", d)
	}
}

func TestRedisSharedBudget(t *testing.T) {
	onEachRedis(t, testRedisSharedBudget)
}

func testRedisSharedBudget(t *testing.T, open func() redis.UniversalClient) {
	c1, c2 := open(), open()
	prefix := testPrefix(t, c1)
	a := NewRedis(c1, 5, prefix)
	b := NewRedis(c2, 5, prefix)
	ctx := context.Background()
	for i := range 3 {
		if d, err := a.Allow(ctx, "k"); err != nil || !d.Allowed {
			t.Fatalf("replica A Allow() #%d = %+v, %v; want allowed", i+1, d, err)
		}
	}
	for i := range 2 {
		if d, err := b.Allow(ctx, "k"); err != nil || !d.Allowed {
			t.Fatalf("replica B Allow() #%d = %+v, %v; want allowed", i+1, d, err)
		}
	}
	for name, l := range map[string]*Redis{"A": a, "B": b} {
		if d, err := l.Allow(ctx, "k"); err != nil || d.Allowed {
			t.Errorf("replica %s Allow() after the shared budget = %+v, %v; want refused", name, d, err)
		}
	}
}

func TestRedisOff(t *testing.T) {
	// With limiting off Redis is never asked, so no client is needed.
	r := NewRedis(nil, 0, "x:")
	d, err := r.Allow(context.Background(), "k")
	if err != nil || !d.Allowed || d.Limit != 0 {
		t.Errorf("NewRedis(nil, 0, ...).Allow() = %+v, %v; want allowed, Limit 0", d, err)
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
	r := NewRedis(c, 5, "hung:")
	start := time.Now()
	_, err = r.Allow(context.Background(), "k")
	took := time.Since(start)
	if err == nil {
		t.Errorf("Allow() against a hung server error = nil, want a timeout")
	}
	if took > redisTimeout+time.Second {
		t.Errorf("Allow() against a hung server took %v, want about %v", took, redisTimeout)
	}
}
