package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.1.1/32"),
		netip.MustParsePrefix("fd00::/8"),
		// A mapped prefix must match plain IPv4 peers.
		netip.MustParsePrefix("::ffff:172.16.0.0/108"),
	}
	tests := []struct {
		name   string
		remote string
		xff    []string // one element per header line
		want   string
	}{
		{"no proxy", "203.0.113.7:51234", nil, "203.0.113.7"},
		{"untrusted peer spoofs XFF", "203.0.113.7:51234", []string{"1.2.3.4"}, "203.0.113.7"},
		{"untrusted peer spoofs many lines", "203.0.113.7:1", []string{"1.2.3.4", "10.0.0.1"}, "203.0.113.7"},
		{"trusted peer without XFF", "10.1.2.3:80", nil, "10.1.2.3"},
		{"trusted peer, one client", "10.1.2.3:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"client spoofs left part", "10.1.2.3:80", []string{"1.1.1.1, 198.51.100.9"}, "198.51.100.9"},
		{"chain of trusted proxies", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.9, 10.9.9.9, 192.168.1.1"}, "198.51.100.9"},
		{"spoofed trusted-looking entry left of client", "10.1.2.3:80", []string{"10.0.0.5, 198.51.100.9"}, "198.51.100.9"},
		{"all trusted: left-most", "10.1.2.3:80", []string{"10.0.0.7, 10.0.0.8"}, "10.0.0.7"},
		{"several header lines", "10.1.2.3:80", []string{"6.6.6.6", "198.51.100.9, 10.0.0.1"}, "198.51.100.9"},
		{"several header lines, client in last", "10.1.2.3:80", []string{"6.6.6.6", "198.51.100.9"}, "198.51.100.9"},
		{"spaces and ports", "10.1.2.3:80", []string{" 198.51.100.9:4711 ,  10.0.0.1:8080 "}, "198.51.100.9"},
		{"bracketed IPv6 with port", "10.1.2.3:80", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"bracketed IPv6 without port", "10.1.2.3:80", []string{"[2001:db8::1]"}, "2001:db8::1"},
		{"IPv6 zone stripped", "10.1.2.3:80", []string{"fe80::1%eth0"}, "fe80::1"},
		{"mapped IPv4 in XFF", "10.1.2.3:80", []string{"::ffff:198.51.100.9"}, "198.51.100.9"},
		{"invalid right-most entry: peer", "10.1.2.3:80", []string{"198.51.100.9, garbage"}, "10.1.2.3"},
		{"invalid entry stops walk: last good", "10.1.2.3:80", []string{"198.51.100.9, unknown, 10.0.0.9"}, "10.0.0.9"},
		{"empty entry stops walk", "10.1.2.3:80", []string{"198.51.100.9,,10.0.0.9"}, "10.0.0.9"},
		{"empty header: peer", "10.1.2.3:80", []string{""}, "10.1.2.3"},
		{"obfuscated identifier", "10.1.2.3:80", []string{"_hidden"}, "10.1.2.3"},
		{"IPv6 peer untrusted", "[2001:db8::5]:443", []string{"1.2.3.4"}, "2001:db8::5"},
		{"IPv6 peer with zone", "[fe80::5%en0]:443", nil, "fe80::5"},
		{"IPv6 peer trusted", "[fd00::1]:443", []string{"2001:db8::9"}, "2001:db8::9"},
		{"mapped IPv4 peer matches IPv4 prefix", "[::ffff:10.1.2.3]:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"mapped IPv4 peer untrusted is unmapped", "[::ffff:203.0.113.7]:80", []string{"1.2.3.4"}, "203.0.113.7"},
		{"IPv4 peer matches mapped prefix", "172.16.3.4:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"peer without port", "10.1.2.3", []string{"198.51.100.9"}, "198.51.100.9"},
		{"non-IP remote returned as is", "@", []string{"1.2.3.4"}, "@"},
	}
	r := NewResolver(trusted)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/auth/login", nil)
			req.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := r.ClientIP(req); got != tt.want {
				t.Errorf("ClientIP(remote %q, XFF %q) = %q, want %q", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

func TestClientIPNoTrustedProxies(t *testing.T) {
	r := NewResolver(nil)
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	req.RemoteAddr = "10.0.0.1:1234"
	req.Header.Set("X-Forwarded-For", "198.51.100.9")
	if got, want := r.ClientIP(req), "10.0.0.1"; got != want {
		t.Errorf("ClientIP() with no trusted proxies = %q, want %q", got, want)
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    []netip.Prefix
		wantErr bool
	}{
		{in: "", want: []netip.Prefix{}},
		{in: "10.0.0.0/8", want: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		{in: "10.0.0.0/8, 192.168.1.1 ,fd00::/8", want: []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"),
			netip.MustParsePrefix("192.168.1.1/32"),
			netip.MustParsePrefix("fd00::/8"),
		}},
		{in: "10.1.2.3/8", want: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		{in: "::ffff:10.0.0.0/104", want: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		{in: "::1", want: []netip.Prefix{netip.MustParsePrefix("::1/128")}},
		{in: "10.0.0.0/33", wantErr: true},
		{in: "proxy.example.com", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParsePrefixes(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParsePrefixes(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Errorf("ParsePrefixes(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func BenchmarkClientIP(b *testing.B) {
	r := NewResolver([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	req.RemoteAddr = "10.1.2.3:80"
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.9, 10.9.9.9")
	b.ReportAllocs()
	for b.Loop() {
		r.ClientIP(req)
	}
}
