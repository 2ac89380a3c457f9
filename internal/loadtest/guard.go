package loadtest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// CheckAddr parses raw as the base address of the server and returns it
// reduced to scheme and host. It refuses anything but an http or https URL
// without credentials, path, query or fragment, and, unless allowRemote is
// set, any host that is not a loopback address: load must never leave the
// machine by accident.
func CheckAddr(raw string, allowRemote bool) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		return nil, fmt.Errorf("address %q: want a URL such as http://127.0.0.1:8080", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("address %q: scheme must be http or https", raw)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("address %q: no host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("address %q: credentials in the address are not supported", raw)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("address %q: give the server's base address only (no path, query or fragment)", raw)
	}
	if !allowRemote && !IsLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("address %q is not a loopback address; refusing to send load elsewhere (use --allow-remote to override)", raw)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// IsLoopbackHost reports whether host (without port or brackets) is
// "localhost" or a literal loopback IP address (127.0.0.0/8, ::1, or
// 127.x.y.z mapped into IPv6). Other names are refused rather than
// resolved: what a name resolves to can change between check and dial.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}

// errNotLoopback is returned by the dialer guard for a resolved address
// outside the loopback range.
var errNotLoopback = errors.New("refusing to dial a non-loopback address")

// loopbackOnly is a net.Dialer Control function. It checks the address
// actually dialled, after name resolution, so that "localhost" mapped
// elsewhere in /etc/hosts still cannot carry load off the machine.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", errNotLoopback, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return fmt.Errorf("%w: %q", errNotLoopback, address)
	}
	return nil
}
