package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/lockout"
	"github.com/authserve/authserve/internal/lockouttest"
	"github.com/authserve/authserve/internal/sqlstore"
)

// TestLockoutRedisDownConformance runs the lockout contract on the
// composition newApp builds when Redis is configured but down: the
// database's counters answer, and answer as Redis would.
func TestLockoutRedisDownConformance(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "auth.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	lockouttest.Run(t, func(t *testing.T) auth.Lockout {
		return lockout.NewFallback(lockout.NewRedis(c, "closed:"), db, nil)
	})
}
