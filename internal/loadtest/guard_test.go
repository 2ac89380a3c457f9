package loadtest

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		raw         string
		allowRemote bool
		want        string // normalised address, or "" for an error
		wantErr     string // part of the error message
	}{
		{raw: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{raw: "http://127.0.0.1:8080/", want: "http://127.0.0.1:8080"},
		{raw: "https://localhost:8443", want: "https://localhost:8443"},
		{raw: "http://LOCALHOST", want: "http://LOCALHOST"},
		{raw: "http://127.1.2.3:80", want: "http://127.1.2.3:80"},
		{raw: "http://[::1]:8080", want: "http://[::1]:8080"},
		{raw: "http://[::ffff:127.0.0.1]:8080", want: "http://[::ffff:127.0.0.1]:8080"},
		{raw: "http://10.0.0.5:8080", wantErr: "--allow-remote"},
		{raw: "http://example.com", wantErr: "not a loopback"},
		{raw: "http://localhost.example.com", wantErr: "not a loopback"},
		{raw: "http://0.0.0.0:8080", wantErr: "not a loopback"},
		{raw: "http://[::]:8080", wantErr: "not a loopback"},
		{raw: "http://10.0.0.5:8080", allowRemote: true, want: "http://10.0.0.5:8080"},
		{raw: "ftp://127.0.0.1", wantErr: "scheme"},
		{raw: "127.0.0.1:8080", wantErr: "want a URL"},
		{raw: "http://", wantErr: "no host"},
		{raw: "http://u:p@127.0.0.1", wantErr: "credentials"},
		{raw: "http://127.0.0.1/api", wantErr: "base address"},
		{raw: "http://127.0.0.1/?q=1", wantErr: "base address"},
		{raw: "http://127.0.0.1:8080/#x", wantErr: "base address"},
		{raw: "http://%zz", wantErr: "address"},
	}
	for _, tt := range tests {
		u, err := CheckAddr(tt.raw, tt.allowRemote)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CheckAddr(%q, %v) error = %v, want one containing %q", tt.raw, tt.allowRemote, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("CheckAddr(%q, %v) error = %v, want none", tt.raw, tt.allowRemote, err)
			continue
		}
		if got := u.String(); got != tt.want {
			t.Errorf("CheckAddr(%q, %v) = %q, want %q", tt.raw, tt.allowRemote, got, tt.want)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		address string
		ok      bool
	}{
		{"127.0.0.1:8080", true},
		{"127.255.0.9:1", true},
		{"[::1]:8080", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"192.0.2.1:80", false},
		{"[2001:db8::1]:80", false},
		{"0.0.0.0:80", false},
		{"localhost:80", false}, // the dialer sees resolved addresses only
		{"no-port", false},
	}
	for _, tt := range tests {
		err := loopbackOnly("tcp", tt.address, nil)
		if got := err == nil; got != tt.ok {
			t.Errorf("loopbackOnly(%q) = %v, want ok %v", tt.address, err, tt.ok)
		}
		if err != nil && !errors.Is(err, errNotLoopback) {
			t.Errorf("loopbackOnly(%q) = %v, want errNotLoopback", tt.address, err)
		}
	}
}
