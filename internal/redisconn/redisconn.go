// Package redisconn opens the Redis that AUTH_REDIS_URL names: one server,
// or a Redis Cluster named by one or more of its nodes, over TCP or TLS
// (rediss://). The rate limiter and the lockout take the result as a
// redis.UniversalClient and need not know which it is; what they must do
// on a cluster (keep each script's keys in one hash slot) they do either
// way.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Mode says how a Client reaches Redis.
type Mode string

// The modes.
const (
	// Single: one server (or a managed endpoint that hides its shards).
	Single Mode = "single"
	// Cluster: a Redis Cluster; commands go to the node that owns their
	// key's slot, following MOVED and ASK redirections.
	Cluster Mode = "cluster"
	// Undetected: a single URL whose server did not answer at start-up. The
	// client asks for the cluster's slots whenever it (re)loads its view:
	// a cluster node gets its slots, a plain server all 16384 slots, so
	// the client is right either way once the server answers.
	Undetected Mode = "undetected"
)

// probeTimeout bounds the start-up question "is this a cluster?".
const probeTimeout = time.Second

// Client is a Redis client and what Open found out about the server.
type Client struct {
	redis.UniversalClient
	// Mode is how the client reaches Redis.
	Mode Mode
	// Addrs are the nodes the URL names.
	Addrs []string

	seed *redis.Client // Undetected: the client asking for slots
}

// Close closes the client.
func (c *Client) Close() error {
	err := c.UniversalClient.Close()
	if c.seed != nil {
		err = errors.Join(err, c.seed.Close())
	}
	return err
}

// Open returns a client for rawURL, one of
//
//	redis://[user:password@]host:port[/db]         one server, or one node of a cluster
//	rediss://…                                      the same over TLS
//	redis://host1:port?addr=host2:port&addr=…      a Redis Cluster (go-redis's cluster URL)
//
// A URL naming several nodes is a cluster. A URL naming one node is asked
// CLUSTER INFO: a cluster node makes it a cluster client seeded by that
// node; a plain server (or a database other than 0, which a cluster does
// not have) a single-server client. When the server does not answer, the
// client is Undetected (see there) and Open does not fail: Redis being
// down is the fallback's business, not start-up's.
//
// Every client bounds its calls by their context (ContextTimeoutEnabled),
// so that a hung Redis fails over instead of stalling requests.
func Open(ctx context.Context, rawURL string) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("not a valid URL")
	}
	if u.Query().Has("addr") {
		opt, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, cleanErr(err)
		}
		opt.ContextTimeoutEnabled = true
		return &Client{UniversalClient: redis.NewClusterClient(opt), Mode: Cluster, Addrs: opt.Addrs}, nil
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, cleanErr(err)
	}
	opt.ContextTimeoutEnabled = true
	single := redis.NewClient(opt)
	addrs := []string{opt.Addr}
	if opt.DB != 0 {
		return &Client{UniversalClient: single, Mode: Single, Addrs: addrs}, nil
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	err = single.ClusterInfo(pctx).Err()
	switch {
	case err == nil:
		_ = single.Close()
		return &Client{UniversalClient: redis.NewClusterClient(clusterOptions(opt)), Mode: Cluster, Addrs: addrs}, nil
	case clusterDisabled(err):
		return &Client{UniversalClient: single, Mode: Single, Addrs: addrs}, nil
	}
	copt := clusterOptions(opt)
	copt.ClusterSlots = slotsOf(single)
	return &Client{UniversalClient: redis.NewClusterClient(copt), Mode: Undetected, Addrs: addrs, seed: single}, nil
}

// clusterOptions are a single server's options for a cluster seeded by it.
func clusterOptions(o *redis.Options) *redis.ClusterOptions {
	return &redis.ClusterOptions{
		Addrs:                 []string{o.Addr},
		Username:              o.Username,
		Password:              o.Password,
		TLSConfig:             o.TLSConfig,
		Protocol:              o.Protocol,
		ClientName:            o.ClientName,
		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.WriteTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              o.PoolSize,
		MinIdleConns:          o.MinIdleConns,
		MaxIdleConns:          o.MaxIdleConns,
		PoolTimeout:           o.PoolTimeout,
		ConnMaxIdleTime:       o.ConnMaxIdleTime,
		ConnMaxLifetime:       o.ConnMaxLifetime,
		MaxRetries:            o.MaxRetries,
	}
}

// allSlots is the highest slot number of a Redis Cluster.
const allSlots = 16383

// slotsOf asks seed for the cluster's slots; a plain server owns them all.
func slotsOf(seed *redis.Client) func(context.Context) ([]redis.ClusterSlot, error) {
	return func(ctx context.Context) ([]redis.ClusterSlot, error) {
		// CLUSTER SLOTS, deprecated in favour of CLUSTER SHARDS since Redis
		// 7, is what go-redis's ClusterSlots option wants, and every Redis
		// (6 included) answers it.
		//lint:ignore SA1019 the ClusterSlots option takes this shape
		slots, err := seed.ClusterSlots(ctx).Result()
		switch {
		case err == nil:
			return slots, nil
		case clusterDisabled(err):
			return []redis.ClusterSlot{{Start: 0, End: allSlots, Nodes: []redis.ClusterNode{{Addr: seed.Options().Addr}}}}, nil
		}
		return nil, err
	}
}

// clusterDisabled: the server answered, and is not a cluster node.
func clusterDisabled(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.Contains(rerr.Error(), "cluster support disabled")
}

// cleanErr keeps go-redis's parse errors from quoting the URL (and with
// it the password).
func cleanErr(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "@") || strings.Contains(msg, "://") {
		return errors.New("not a valid Redis URL")
	}
	return fmt.Errorf("%s", strings.TrimPrefix(msg, "redis: "))
}
