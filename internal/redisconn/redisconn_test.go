package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// envURL returns the variable's URL or skips the test.
func envURL(t *testing.T, name string) string {
	t.Helper()
	u := os.Getenv(name)
	if u == "" {
		t.Skip(name + " not set: skipping")
	}
	return u
}

func TestOpenModes(t *testing.T) {
	ctx := context.Background()
	unreachable := fmt.Sprintf("redis://127.0.0.1:%d", freePort(t))
	tests := []struct {
		name  string
		url   func(t *testing.T) string
		want  Mode
		addrs int
	}{
		{"one server", func(t *testing.T) string { return envURL(t, "AUTH_TEST_REDIS_URL") }, Single, 1},
		{"a database other than 0 is never a cluster", func(*testing.T) string { return unreachable + "/3" }, Single, 1},
		{"cluster URL", func(t *testing.T) string { return envURL(t, "AUTH_TEST_REDIS_CLUSTER_URL") }, Cluster, 3},
		{"one node of a cluster", func(t *testing.T) string { return oneNode(t, envURL(t, "AUTH_TEST_REDIS_CLUSTER_URL")) }, Cluster, 1},
		{"nothing answers", func(*testing.T) string { return unreachable }, Undetected, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Open(ctx, tc.url(t))
			if err != nil {
				t.Fatalf("Open() = %v", err)
			}
			defer c.Close()
			if c.Mode != tc.want || len(c.Addrs) != tc.addrs {
				t.Errorf("Open() mode %s with %d addrs, want %s with %d", c.Mode, len(c.Addrs), tc.want, tc.addrs)
			}
		})
	}
}

// oneNode is the last ?addr= node of a cluster URL, as a URL of its own.
func oneNode(t *testing.T, clusterURL string) string {
	u, err := url.Parse(clusterURL)
	if err != nil {
		t.Fatal(err)
	}
	addrs := u.Query()["addr"]
	if len(addrs) == 0 {
		t.Fatalf("AUTH_TEST_REDIS_CLUSTER_URL names no ?addr= node")
	}
	return "redis://" + addrs[len(addrs)-1]
}

// TestClusterFollowsMoved: a client opened on one node of a cluster reaches
// keys of every slot, where a plain client of that node is told MOVED (the
// failure this package exists for).
func TestClusterFollowsMoved(t *testing.T) {
	node := oneNode(t, envURL(t, "AUTH_TEST_REDIS_CLUSTER_URL"))
	ctx := context.Background()
	c, err := Open(ctx, node)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opt, _ := redis.ParseURL(node)
	plain := redis.NewClient(opt)
	defer plain.Close()

	moved := 0
	for i := range 30 {
		key := fmt.Sprintf("authserve-test:redisconn:%d:%d", time.Now().UnixNano(), i)
		if err := c.Set(ctx, key, i, time.Minute).Err(); err != nil {
			t.Fatalf("Set(%s) through the cluster client = %v", key, err)
		}
		if got, err := c.Get(ctx, key).Int(); err != nil || got != i {
			t.Errorf("Get(%s) = %v, %v, want %d", key, got, err, i)
		}
		if err := plain.Get(ctx, key).Err(); err != nil && strings.HasPrefix(err.Error(), "MOVED") {
			moved++
		}
		c.Del(ctx, key)
	}
	if moved == 0 {
		t.Errorf("a plain client of one node was never told MOVED for 30 keys: is this a 3-node cluster?")
	}
}

// TestUndetectedFindsServer: a URL whose server is down at start-up still
// works once a server answers there.
func TestUndetectedFindsServer(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed: skipping")
	}
	port := freePort(t)
	ctx := context.Background()
	c, err := Open(ctx, fmt.Sprintf("redis://127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Mode != Undetected {
		t.Fatalf("mode %s, want undetected", c.Mode)
	}
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err = c.Set(cctx, "k", "v", time.Minute).Err()
	cancel()
	if err == nil {
		t.Fatalf("Set() with no server = nil, want an error")
	}
	srv := exec.Command(bin, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		err = c.Set(cctx, "k", "v", time.Minute).Err()
		cancel()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Set() once a plain server answers = %v", err)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Errorf("Get() = %q, %v, want v", got, err)
	}
}

func TestOpenBadURL(t *testing.T) {
	for _, raw := range []string{
		"redis://u:hunter2@host:bad",
		"redis://u:hunter2@h:1?addr=nope",
		"redis://u:hunter2@h:1?bogus=1",
		"http://u:hunter2@h:1",
	} {
		c, err := Open(context.Background(), raw)
		if err == nil {
			c.Close()
			t.Errorf("Open(%q) = nil error, want one", raw)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) error %q quotes the password", raw, err)
		}
	}
}

func TestClusterDisabled(t *testing.T) {
	if clusterDisabled(errors.New("ERR This instance has cluster support disabled")) {
		t.Errorf("a plain error is not a server's answer")
	}
	if clusterDisabled(nil) {
		t.Errorf("nil is not cluster-disabled")
	}
}
