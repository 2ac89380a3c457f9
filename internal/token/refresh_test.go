package token

import (
	"encoding/base64"
	"regexp"
	"testing"
)

func TestNewRefresh(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		raw, hash, err := NewRefresh()
		if err != nil {
			t.Fatalf("NewRefresh() = %v", err)
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
		if err != nil || len(b) != 32 {
			t.Fatalf("NewRefresh() raw = %q (%d bytes, %v), want 32 bytes base64url", raw, len(b), err)
		}
		if want := HashRefresh(raw); hash != want {
			t.Errorf("NewRefresh() hash = %q, want HashRefresh(raw) = %q", hash, want)
		}
		if hash == raw {
			t.Errorf("NewRefresh() hash equals the raw token")
		}
		if seen[raw] {
			t.Fatalf("NewRefresh() repeated %q", raw)
		}
		seen[raw] = true
	}
}

func TestHashRefresh(t *testing.T) {
	tests := []struct {
		raw  string
		want string
	}{
		// SHA-256 test vectors (FIPS 180-2).
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tt := range tests {
		if got := HashRefresh(tt.raw); got != tt.want {
			t.Errorf("HashRefresh(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestNewSessionID(t *testing.T) {
	urlSafe := regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
	seen := map[string]bool{}
	for range 100 {
		id := NewSessionID()
		if !urlSafe.MatchString(id) {
			t.Fatalf("NewSessionID() = %q, want 22 base64url characters", id)
		}
		if seen[id] {
			t.Fatalf("NewSessionID() repeated %q", id)
		}
		seen[id] = true
	}
}
