package ratelimit

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestTmpProbeNoContextTimeout(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c := redis.NewClient(&redis.Options{Addr: ln.Addr().String()})
	defer c.Close()
	r := NewRedis(c, 5, "hung:")
	start := time.Now()
	_, err := r.Allow(context.Background(), "k")
	t.Logf("without ContextTimeoutEnabled: took %v, err %v", time.Since(start), err)
}
