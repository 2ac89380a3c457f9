// Package clientip finds the address of the client behind an HTTP request,
// believing X-Forwarded-For only when it was written by a trusted proxy.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver resolves the client address of requests. It is immutable and
// safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
}

// NewResolver returns a Resolver that believes X-Forwarded-For only from
// peers inside trusted. With no trusted prefixes the socket address is
// always the client, which is the only safe choice without a proxy.
func NewResolver(trusted []netip.Prefix) *Resolver {
	r := &Resolver{trusted: make([]netip.Prefix, 0, len(trusted))}
	for _, p := range trusted {
		if !p.IsValid() {
			continue
		}
		r.trusted = append(r.trusted, normalisePrefix(p))
	}
	return r
}

// ParsePrefixes parses a comma- or space-separated list of CIDRs, such as
// the value of AUTH_TRUSTED_PROXIES. A bare address is taken as a prefix
// holding only that address. An empty list gives no prefixes.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	fields := strings.FieldsFunc(list, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	out := make([]netip.Prefix, 0, len(fields))
	for _, f := range fields {
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("parse trusted proxy %q: %w", f, err)
			}
			out = append(out, normalisePrefix(p))
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("parse trusted proxy %q: %w", f, err)
		}
		a = a.WithZone("").Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ClientIP returns the client address of req as a canonical string (IPv4
// in dotted form, IPv6 compressed, no port or zone).
//
// The client is the socket peer unless the peer is a trusted proxy; then
// X-Forwarded-For is walked from the right, because each proxy appends the
// address it saw, so only the right-most entries were written by proxies we
// trust: the first entry that is not itself a trusted proxy is the client.
// When every entry is trusted, the left-most is taken. An entry that does
// not parse stops the walk and the last good address (possibly the peer)
// is used, since nothing left of it can be believed.
//
// When RemoteAddr is not an IP address (a Unix socket, a test), it is
// returned as it is.
func (r *Resolver) ClientIP(req *http.Request) string {
	peer, ok := parseRemoteAddr(req.RemoteAddr)
	if !ok {
		return req.RemoteAddr
	}
	if !r.isTrusted(peer) {
		return peer.String()
	}
	client := peer
	values := req.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for {
			entry := rest
			j := strings.LastIndexByte(rest, ',')
			if j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			}
			addr, ok := parseEntry(entry)
			if !ok {
				return client.String()
			}
			client = addr
			if !r.isTrusted(addr) {
				return addr.String()
			}
			if j < 0 {
				break
			}
		}
	}
	return client.String()
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// normalisePrefix turns an IPv4-mapped IPv6 prefix into its IPv4 form,
// because addresses are unmapped before they are matched.
func normalisePrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	} else {
		p = netip.PrefixFrom(a, p.Bits())
	}
	return p.Masked()
}

func parseRemoteAddr(s string) (netip.Addr, bool) {
	host := s
	if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	}
	return parseAddr(host)
}

// parseEntry parses one X-Forwarded-For element: an address, optionally
// with a port ("192.0.2.1:443", "[2001:db8::1]:443") or in brackets.
func parseEntry(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, ok := parseAddr(s); ok {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normaliseAddr(ap.Addr()), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		return parseAddr(s[1 : len(s)-1])
	}
	return netip.Addr{}, false
}

func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return normaliseAddr(a), true
}

// normaliseAddr drops the zone and unmaps ::ffff:a.b.c.d, so that one
// client always gets one key whichever way its address was written.
func normaliseAddr(a netip.Addr) netip.Addr {
	return a.WithZone("").Unmap()
}
