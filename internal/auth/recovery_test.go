package auth

import (
	"strings"
	"testing"

	"github.com/authserve/authserve/internal/token"
)

func TestWellFormedLinkToken(t *testing.T) {
	raw, _, err := token.NewRefresh()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want bool
	}{
		{raw, true},
		{strings.Repeat("A", 43), true},
		{strings.Repeat("-", 43), true},
		{"", false},
		{raw[:42], false},
		{raw + "A", false},
		{strings.Repeat("A", 42) + "=", false},
		{strings.Repeat("A", 42) + "+", false},
		{strings.Repeat("A", 42) + "/", false},
		{strings.Repeat("A", 41) + "é", false}, // 43 bytes, not base64url
	}
	for _, tt := range tests {
		if got := wellFormedLinkToken(tt.in); got != tt.want {
			t.Errorf("wellFormedLinkToken(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestAddressKeyHidesTheAddress(t *testing.T) {
	k := addressKey("alice@example.com")
	if len(k) != 64 || strings.Contains(k, "alice") || k == addressKey("bob@example.com") || k != addressKey("alice@example.com") {
		t.Errorf("addressKey = %q: want a stable 64-hex hash that differs per address", k)
	}
}
