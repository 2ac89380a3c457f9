package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// LocalCluster is a Redis Cluster of three masters that a test starts on
// free loopback ports, for tests that stop and restart nodes: the shared
// cluster of AUTH_TEST_REDIS_CLUSTER_URL must not lose nodes under other
// tests.
type LocalCluster struct {
	// URL names all three nodes (go-redis's cluster URL form).
	URL   string
	Nodes []*Node
	t     testing.TB
	bin   string
}

// Node is one redis-server of a LocalCluster.
type Node struct {
	Addr string
	dir  string
	cmd  *exec.Cmd
}

// StartCluster skips the test unless redis-server and redis-cli are
// installed; otherwise it starts a 3-master cluster and stops it when the
// test ends. Node timeouts are short (1 s), so a dead node fails the
// cluster, and a returning one heals it, within seconds.
func StartCluster(t testing.TB) *LocalCluster {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed: skipping tests on a cluster of their own")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not installed: skipping tests on a cluster of their own")
	}
	c := &LocalCluster{t: t, bin: bin}
	var addrs []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		n := &Node{Addr: addr, dir: t.TempDir()}
		c.Nodes = append(c.Nodes, n)
		addrs = append(addrs, addr)
		c.Start(n)
	}
	t.Cleanup(func() {
		for _, n := range c.Nodes {
			c.Kill(n)
		}
	})
	out, err := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK()
	c.URL = "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
	return c
}

// Start starts n (again, with the nodes.conf it wrote before) and waits
// until it answers.
func (c *LocalCluster) Start(n *Node) {
	c.t.Helper()
	_, port, _ := net.SplitHostPort(n.Addr)
	n.cmd = exec.Command(c.bin, "--bind", "127.0.0.1", "--port", port, "--dir", n.dir,
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(n.dir, "redis.log"))
	if err := n.cmd.Start(); err != nil {
		c.t.Fatalf("start redis-server on %s: %v", n.Addr, err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: n.Addr})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(n.dir, "redis.log"))
			c.t.Fatalf("redis-server on %s did not answer:\n%s", n.Addr, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill stops n at once (SIGKILL), as a crash would.
func (c *LocalCluster) Kill(n *Node) {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	_ = n.cmd.Wait()
	n.cmd = nil
}

// WaitOK waits until every running node reports cluster_state:ok.
func (c *LocalCluster) WaitOK() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		for _, n := range c.Nodes {
			if n.cmd == nil {
				continue
			}
			rdb := redis.NewClient(&redis.Options{Addr: n.Addr})
			info, err := rdb.ClusterInfo(context.Background()).Result()
			rdb.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("cluster %s not ok within 30s", fmt.Sprint(c.URL))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
