// Package faultproxy is a TCP proxy for fault-injection tests. It sits
// between a client (the service under test) and its upstream server (the
// database) and, on command, lets connections through, refuses them, resets
// them or black-holes them, so that a test can show what the client does
// when its database goes away in each of those ways.
//
// The proxy listens on 127.0.0.1 on a port of its own choosing that stays
// the same for its whole life, so the client's configuration never changes
// between modes.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is what the proxy does with connections.
type Mode int32

// The modes. Every mode applies to new connections and to the ones already
// open when it is set.
const (
	// Pass forwards bytes both ways: the database is healthy.
	Pass Mode = iota
	// Refuse is a stopped server: open connections are closed (FIN) and new
	// ones are refused by the kernel (ECONNREFUSED), because nothing listens
	// on the port any more.
	Refuse
	// Reset is a network that drops connections: open connections are reset
	// (RST) and new ones are accepted and reset at once.
	Reset
	// Blackhole is a network partition: new connections are accepted and
	// held, and bytes on every connection are read and dropped, so that
	// requests hang until the client's own deadline. A connection that
	// lost bytes this way can never carry its protocol again, so leaving
	// Blackhole resets it; connections that stayed idle survive.
	Blackhole
)

var modeNames = [...]string{Pass: "pass", Refuse: "refuse", Reset: "reset", Blackhole: "blackhole"}

// String returns the mode's name, such as "blackhole".
func (m Mode) String() string {
	if m >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", int32(m))
}

// dialTimeout bounds the proxy's own connection to the upstream server.
const dialTimeout = 5 * time.Second

// Stats counts what the proxy has done since New.
type Stats struct {
	// Accepted counts connections accepted, in any mode.
	Accepted int64
	// Forwarded counts connections joined to the upstream server.
	Forwarded int64
	// Closed counts open connections closed by entering Refuse.
	Closed int64
	// Reset counts connections the proxy reset: new ones in Reset mode,
	// open ones on entering Reset, and those that lost bytes to Blackhole
	// when it ended.
	Reset int64
	// Held counts connections accepted and held by Blackhole.
	Held int64
	// DroppedBytes counts bytes read and thrown away by Blackhole.
	DroppedBytes int64
	// DialFailures counts connections reset because the upstream server
	// could not be reached.
	DialFailures int64
	// Active is the number of connections open now.
	Active int
}

// Proxy is a TCP proxy whose behaviour is switched with SetMode. It is
// safe for concurrent use.
type Proxy struct {
	upstream string
	addr     string
	ctx      context.Context // ends with Close, aborting upstream dials
	cancel   context.CancelFunc
	wg       sync.WaitGroup // accept loops and connection goroutines

	mu     sync.Mutex
	mode   Mode
	ln     net.Listener // nil while refusing and after Close
	hold   io.Closer    // keeps the port while refusing
	links  map[*link]struct{}
	closed bool

	accepted, forwarded, closedConns, reset, held, dropped, dialFailures atomic.Int64
}

// link is one client connection and, unless it is held by a black hole,
// its connection to the upstream server.
type link struct {
	client net.Conn
	server net.Conn // nil while held
	// tainted is set, under Proxy.mu, once the link lost bytes to a black
	// hole or was accepted by one.
	tainted bool
	ended   bool // under Proxy.mu
}

// New starts a proxy in Pass mode on 127.0.0.1 and a free port, forwarding
// to upstream ("host:port"). Close it when done.
func New(upstream string) (*Proxy, error) {
	if _, _, err := net.SplitHostPort(upstream); err != nil {
		return nil, fmt.Errorf("faultproxy: upstream: %w", err)
	}
	p := &Proxy{upstream: upstream, links: make(map[*link]struct{})}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	lc := listenConfig()
	ln, err := lc.Listen(p.ctx, "tcp4", "127.0.0.1:0")
	if err != nil {
		p.cancel()
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p.addr = ln.Addr().String()
	p.ln = ln
	p.wg.Add(1)
	go p.serve(ln)
	return p, nil
}

// Addr returns the address clients connect to, "127.0.0.1:port". It does
// not change with the mode.
func (p *Proxy) Addr() string { return p.addr }

// Upstream returns the address the proxy forwards to.
func (p *Proxy) Upstream() string { return p.upstream }

// Mode returns the current mode.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// SetMode switches the proxy to m, applying it to the open connections at
// once. On error (the port could not be listened on again after Refuse)
// the proxy stays in its previous mode.
func (p *Proxy) SetMode(m Mode) error {
	if m < Pass || m > Blackhole {
		return fmt.Errorf("faultproxy: unknown mode %v", m)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("faultproxy: set mode %v: %w", m, net.ErrClosed)
	}
	old := p.mode
	if m == old {
		return nil
	}
	if old == Refuse {
		// First, so that a failure leaves everything as it was.
		if err := p.listenLocked(); err != nil {
			return fmt.Errorf("faultproxy: leave refuse: %w", err)
		}
	}
	switch m {
	case Refuse:
		// Reserve the port before closing the listener: while nothing
		// listens, another listener or an outgoing connection could
		// otherwise be given the port, and clients would reach a stranger.
		hold, err := reserve(p.addr)
		if err != nil {
			return fmt.Errorf("faultproxy: refuse: %w", err)
		}
		p.hold = hold
		_ = p.ln.Close()
		p.ln = nil
		for l := range p.links {
			p.endLocked(l, false)
			p.closedConns.Add(1)
		}
	case Reset:
		for l := range p.links {
			p.endLocked(l, true)
		}
	}
	if old == Blackhole {
		for l := range p.links {
			if l.tainted {
				p.endLocked(l, true)
			}
		}
	}
	p.mode = m
	return nil
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	active := len(p.links)
	p.mu.Unlock()
	return Stats{
		Accepted:     p.accepted.Load(),
		Forwarded:    p.forwarded.Load(),
		Closed:       p.closedConns.Load(),
		Reset:        p.reset.Load(),
		Held:         p.held.Load(),
		DroppedBytes: p.dropped.Load(),
		DialFailures: p.dialFailures.Load(),
		Active:       active,
	}
}

// Close stops the proxy: it stops listening, closes every connection and
// waits for its goroutines. Closing twice is harmless.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.cancel()
	var errs []error
	if p.ln != nil {
		errs = append(errs, p.ln.Close())
		p.ln = nil
	}
	if p.hold != nil {
		errs = append(errs, p.hold.Close())
		p.hold = nil
	}
	for l := range p.links {
		p.endLocked(l, false)
	}
	p.mu.Unlock()
	p.wg.Wait()
	return errors.Join(errs...)
}

// listenLocked listens on the proxy's address again and releases the port
// reservation.
func (p *Proxy) listenLocked() error {
	lc := listenConfig()
	ln, err := lc.Listen(p.ctx, "tcp4", p.addr)
	if err != nil {
		return err
	}
	if p.hold != nil {
		_ = p.hold.Close()
		p.hold = nil
	}
	p.ln = ln
	p.wg.Add(1)
	go p.serve(ln)
	return nil
}

// serve accepts connections until ln is closed.
func (p *Proxy) serve(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as net/http does.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		p.accepted.Add(1)
		p.wg.Add(1)
		go p.handle(c)
	}
}

// handle treats one accepted connection according to the mode.
func (p *Proxy) handle(c net.Conn) {
	defer p.wg.Done()
	switch p.Mode() {
	case Refuse, Reset:
		// Refuse: accepted in the instant before the listener closed.
		p.reset.Add(1)
		resetConn(c)
		return
	case Blackhole:
		l := &link{client: c, tainted: true}
		if !p.add(l, Blackhole) {
			p.reset.Add(1)
			resetConn(c)
			return
		}
		p.held.Add(1)
		p.swallow(l)
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, dialTimeout)
	var d net.Dialer
	server, err := d.DialContext(ctx, "tcp", p.upstream)
	cancel()
	if err != nil {
		p.dialFailures.Add(1)
		resetConn(c)
		return
	}
	l := &link{client: c, server: server}
	if !p.add(l, Pass) {
		// The mode changed while dialling: no other mode forwards a new
		// connection.
		p.reset.Add(1)
		resetConn(c)
		resetConn(server)
		return
	}
	p.forwarded.Add(1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.pump(l, server, c)
	}()
	p.pump(l, c, server)
}

// add registers l if the proxy is open and in mode want.
func (p *Proxy) add(l *link, want Mode) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.mode != want {
		return false
	}
	p.links[l] = struct{}{}
	return true
}

// pump copies src to dst until either fails or the link ends, dropping
// what it reads while the mode is Blackhole.
func (p *Proxy) pump(l *link, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.drop(l, n) {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	p.end(l, false)
}

// swallow reads and drops what a held connection sends until the client
// gives up or the black hole ends.
func (p *Proxy) swallow(l *link) {
	buf := make([]byte, 32<<10)
	for {
		n, err := l.client.Read(buf)
		p.dropped.Add(int64(n))
		if err != nil {
			break
		}
	}
	p.end(l, false)
}

// drop reports whether n bytes just read on l are to be thrown away, and
// marks l as having lost them.
func (p *Proxy) drop(l *link, n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != Blackhole {
		return false
	}
	l.tainted = true
	p.dropped.Add(int64(n))
	return true
}

// end closes both sides of l, with a reset when rst is true.
func (p *Proxy) end(l *link, rst bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLocked(l, rst)
}

func (p *Proxy) endLocked(l *link, rst bool) {
	if l.ended {
		return
	}
	l.ended = true
	delete(p.links, l)
	if rst {
		p.reset.Add(1)
		resetConn(l.client)
		if l.server != nil {
			resetConn(l.server)
		}
		return
	}
	_ = l.client.Close()
	if l.server != nil {
		_ = l.server.Close()
	}
}

// resetConn closes c with a TCP reset rather than an orderly FIN.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		// Linger 0 makes Close send RST and discard unsent data.
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
