package faultproxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// quiet is how long a read waits before the test concludes that nothing is
// coming, where nothing is what should come: long enough for loopback,
// short enough to keep the tests quick.
const quiet = 150 * time.Millisecond

// patience bounds waits for something that should come (an answer, an
// error, a counter reaching its value): generous, since the proxy's
// goroutines may be slow to run on a loaded machine, and only a failing
// test waits that long.
const patience = 5 * time.Second

// echoServer starts an upstream that echoes every line back, and returns
// its address.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func newProxy(t *testing.T, upstream string) *Proxy {
	t.Helper()
	p, err := New(upstream)
	if err != nil {
		t.Fatalf("New(%q) = %v", upstream, err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return p
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echo sends one line on c and returns the line that comes back, or the
// error that came instead (a timeout when nothing came within wait).
func echo(c net.Conn, msg string, wait time.Duration) (string, error) {
	if err := c.SetDeadline(time.Now().Add(wait)); err != nil {
		return "", err
	}
	if _, err := fmt.Fprintln(c, msg); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	return line[:len(line)-1], nil
}

// outcome names what happened to an echo: "echo" when the line came back,
// otherwise the kind of failure.
func outcome(got string, err error) string {
	var ne net.Error
	switch {
	case err == nil && got != "":
		return "echo"
	case err == nil:
		return "empty"
	case errors.Is(err, io.EOF):
		return "eof"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	default:
		return "error: " + err.Error()
	}
}

// waitFor polls cond until it holds or patience runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPassForwards(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	for _, msg := range []string{"hello", "again"} {
		if got, err := echo(c, msg, patience); got != msg || err != nil {
			t.Fatalf("echo(%q) = %q, %v; want %q", msg, got, err, msg)
		}
	}
	if st := p.Stats(); st.Accepted != 1 || st.Forwarded != 1 || st.Active != 1 {
		t.Errorf("Stats() = %+v, want 1 accepted, forwarded and active", st)
	}
	c.Close()
	waitFor(t, "the closed connection to leave Active", func() bool { return p.Stats().Active == 0 })
}

// TestModes checks each fault on a connection open before it (busy: it
// sends during the fault) and one opened during it, then that the proxy
// forwards again once set back to Pass.
func TestModes(t *testing.T) {
	tests := []struct {
		mode Mode
		// existing and fresh are the outcomes of an echo during the fault
		// on the connection opened before it and on one opened during it;
		// "refused" means the dial itself failed.
		existing, fresh string
		// handled holds once the proxy has dealt with both connections;
		// the test waits for it before the fault ends.
		handled func(Stats) bool
		// afterwards is the outcome on the fault-time connections once the
		// proxy passes again (when they were not already ended).
		afterwards string
		// final checks the counters at the end.
		final func(Stats) bool
	}{
		{Refuse, "eof", "refused", func(s Stats) bool { return s.Closed == 1 }, "",
			func(s Stats) bool { return s.Closed == 1 && s.Reset == 0 }},
		{Reset, "reset", "reset", func(s Stats) bool { return s.Reset == 2 }, "",
			func(s Stats) bool { return s.Reset == 2 && s.Forwarded == 2 }},
		{Blackhole, "timeout", "timeout", func(s Stats) bool { return s.Held == 1 && s.DroppedBytes > 0 }, "reset",
			func(s Stats) bool { return s.Held == 1 && s.Reset == 2 && s.Forwarded == 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			// An error should come at once, but a black hole's silence
			// is only known by waiting for it.
			wait := patience
			if tt.existing == "timeout" {
				wait = quiet
			}
			p := newProxy(t, echoServer(t))
			before := dial(t, p.Addr())
			if got, err := echo(before, "warm", patience); err != nil {
				t.Fatalf("echo before the fault = %q, %v", got, err)
			}
			if err := p.SetMode(tt.mode); err != nil {
				t.Fatalf("SetMode(%v) = %v", tt.mode, err)
			}
			if got := p.Mode(); got != tt.mode {
				t.Errorf("Mode() = %v, want %v", got, tt.mode)
			}
			if got := outcome(echo(before, "during", wait)); got != tt.existing {
				t.Errorf("%v: echo on an open connection = %s, want %s", tt.mode, got, tt.existing)
			}
			// A reset may arrive before the dial returns: the outcome of a
			// new connection is that of the dial or of the echo after it.
			during, err := net.DialTimeout("tcp", p.Addr(), patience)
			got := outcome("", err)
			if err == nil {
				defer during.Close()
				got = outcome(echo(during, "during", wait))
			}
			if got != tt.fresh {
				t.Errorf("%v: dial and echo on a new connection = %s, want %s", tt.mode, got, tt.fresh)
			}
			waitFor(t, fmt.Sprintf("%v to handle both connections", tt.mode), func() bool { return tt.handled(p.Stats()) })

			if err := p.SetMode(Pass); err != nil {
				t.Fatalf("SetMode(Pass) = %v", err)
			}
			if tt.afterwards != "" {
				for name, c := range map[string]net.Conn{"open": before, "new": during} {
					if c == nil {
						continue
					}
					if got := outcome(echo(c, "after", patience)); got != tt.afterwards {
						t.Errorf("%v then pass: echo on the %s connection = %s, want %s", tt.mode, name, got, tt.afterwards)
					}
				}
			}
			after := dial(t, p.Addr())
			if got, err := echo(after, "back", patience); got != "back" || err != nil {
				t.Errorf("%v then pass: echo on a new connection = %q, %v; want back", tt.mode, got, err)
			}
			if st := p.Stats(); !tt.final(st) {
				t.Errorf("%v: Stats() = %+v", tt.mode, st)
			}
		})
	}
}

// TestBlackholeSparesIdleConnections: a connection that sent nothing
// during a partition lost nothing, so it carries on afterwards, as TCP
// connections do when a partition heals quickly.
func TestBlackholeSparesIdleConnections(t *testing.T) {
	p := newProxy(t, echoServer(t))
	idle := dial(t, p.Addr())
	if _, err := echo(idle, "warm", patience); err != nil {
		t.Fatal(err)
	}
	if err := p.SetMode(Blackhole); err != nil {
		t.Fatal(err)
	}
	busy := dial(t, p.Addr())
	if got := outcome(echo(busy, "lost", quiet)); got != "timeout" {
		t.Errorf("echo during the black hole = %s, want timeout", got)
	}
	waitFor(t, "the black hole to hold the new connection", func() bool { return p.Stats().Held == 1 })
	if err := p.SetMode(Pass); err != nil {
		t.Fatal(err)
	}
	if got, err := echo(idle, "still here", patience); got != "still here" || err != nil {
		t.Errorf("echo on the idle connection afterwards = %q, %v; want it echoed", got, err)
	}
}

// TestRefuseKeepsPort: however many listeners ask for a free port while
// the proxy refuses, none gets the proxy's, so clients reach the proxy
// again when it passes.
func TestRefuseKeepsPort(t *testing.T) {
	p := newProxy(t, echoServer(t))
	if err := p.SetMode(Refuse); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		got := ln.Addr().String()
		ln.Close()
		if got == p.Addr() {
			t.Fatalf("a new listener was given the refusing proxy's address %s", got)
		}
	}
	for _, m := range []Mode{Pass, Refuse, Blackhole, Refuse, Reset, Refuse, Pass} {
		if err := p.SetMode(m); err != nil {
			t.Fatalf("SetMode(%v) = %v", m, err)
		}
	}
	c := dial(t, p.Addr())
	if got, err := echo(c, "ok", patience); got != "ok" || err != nil {
		t.Errorf("echo after several refusals = %q, %v", got, err)
	}
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := newProxy(t, addr)
	c, err := net.DialTimeout("tcp", p.Addr(), patience)
	got := outcome("", err)
	if err == nil {
		defer c.Close()
		got = outcome(echo(c, "anyone?", patience))
	}
	if got != "reset" && got != "eof" {
		t.Errorf("echo with the upstream down = %s, want reset", got)
	}
	waitFor(t, "the dial failure to be counted", func() bool { return p.Stats().DialFailures == 1 })
	if st := p.Stats(); st.DialFailures != 1 || st.Forwarded != 0 {
		t.Errorf("Stats() = %+v, want 1 dial failure and nothing forwarded", st)
	}
}

func TestNewAndSetModeErrors(t *testing.T) {
	if _, err := New("no-port"); err == nil {
		t.Errorf("New(%q) = nil error, want one", "no-port")
	}
	p, err := New(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetMode(Mode(42)); err == nil {
		t.Errorf("SetMode(42) = nil, want an error")
	}
	c := dial(t, p.Addr())
	if _, err := echo(c, "hi", patience); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if got := outcome(echo(c, "hi", quiet)); got != "eof" && got != "reset" {
		t.Errorf("echo after Close = %s, want eof", got)
	}
	if err := p.SetMode(Reset); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SetMode after Close = %v, want net.ErrClosed", err)
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Errorf("dial after Close succeeded")
	}
	if st := p.Stats(); st.Active != 0 {
		t.Errorf("Stats().Active after Close = %d, want 0", st.Active)
	}
}

func TestModeString(t *testing.T) {
	tests := []struct {
		m    Mode
		want string
	}{{Pass, "pass"}, {Refuse, "refuse"}, {Reset, "reset"}, {Blackhole, "blackhole"}, {Mode(9), "Mode(9)"}}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("Mode(%d).String() = %q, want %q", int32(tt.m), got, tt.want)
		}
	}
}

// TestFlipping switches modes while clients talk through the proxy: no
// deadlock, no race, and once the proxy passes again every new connection
// is forwarded and nothing stays open.
func TestFlipping(t *testing.T) {
	p := newProxy(t, echoServer(t))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
				if err != nil {
					time.Sleep(time.Millisecond)
					continue
				}
				for range 3 {
					if _, err := echo(c, fmt.Sprintf("w%d-%d", i, n), 50*time.Millisecond); err != nil {
						break
					}
				}
				c.Close()
			}
		}()
	}
	modes := []Mode{Reset, Pass, Blackhole, Pass, Refuse, Pass, Blackhole, Reset, Refuse, Blackhole, Pass}
	for _, m := range modes {
		time.Sleep(20 * time.Millisecond)
		if err := p.SetMode(m); err != nil {
			t.Fatalf("SetMode(%v) = %v", m, err)
		}
	}
	close(stop)
	wg.Wait()
	c := dial(t, p.Addr())
	if got, err := echo(c, "done", patience); got != "done" || err != nil {
		t.Errorf("echo after flipping = %q, %v", got, err)
	}
	c.Close()
	waitFor(t, "every connection to end", func() bool { return p.Stats().Active == 0 })
	if st := p.Stats(); st.Forwarded == 0 || st.Reset == 0 {
		t.Errorf("Stats() after flipping = %+v, want forwarded and reset connections", st)
	}
}
