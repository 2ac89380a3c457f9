package faultproxy

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenConfig returns a listen configuration whose sockets share their
// port (SO_REUSEPORT) with the reservation made by reserve, so that the
// port is never free between modes.
func listenConfig() net.ListenConfig {
	return net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
}

// reserve binds a socket to addr without listening on it. Nothing accepts
// connections to the port, so the kernel refuses them, yet the port stays
// taken: the kernel gives it to no other listener asking for a free port
// and to no outgoing connection, until the reservation is closed.
func reserve(addr string) (io.Closer, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return nil, fmt.Errorf("reserve %s: not an IPv4 address and port", addr)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("reserve %s: %w", addr, err)
	}
	r := reservation(fd)
	for _, opt := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
			_ = r.Close()
			return nil, fmt.Errorf("reserve %s: %w", addr, err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("reserve %s: %w", addr, err)
	}
	return r, nil
}

// reservation is the file descriptor of a bound, not listening socket.
type reservation int

func (r reservation) Close() error { return unix.Close(int(r)) }
