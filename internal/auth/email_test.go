package auth

import (
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"alice@example.com", "alice@example.com", false},
		{"  Alice@Example.COM\t", "alice@example.com", false},
		{"user+tag@sub.example.org", "user+tag@sub.example.org", false},
		// Look-alikes of alice@example.com made with invisible characters.
		{"ali\u200bce@example.com", "", true},
		{"\u202ealice@example.com", "", true},
		{"alice@exam\u00adple.com", "", true},
		{"alice\u2060@example.com", "", true},
		{"zoë@example.com", "zoë@example.com", false},
		{long + "@example.com", long + "@example.com", false},
		{long + "a@example.com", "", true},
		{strings.Repeat("a", 60) + "@" + strings.Repeat("b", 190) + ".com", "", true},
		{"", "", true},
		{"   ", "", true},
		{"alice", "", true},
		{"alice@", "", true},
		{"@example.com", "", true},
		{"Alice <alice@example.com>", "", true},
		{"<alice@example.com>", "", true},
		{"alice@example.com, bob@example.com", "", true},
		{"al ice@example.com", "", true},
		{"alice@example.com (comment)", "", true},
		{"alice@exa\x00mple.com", "", true},
		{"alice@.example.com", "", true},
		{"alice@example..com", "", true},
		{"alice@[127.0.0.1]", "", true},
		{"\xff@example.com", "", true},
	}
	for _, tt := range tests {
		got, msg := NormalizeEmail(tt.in)
		if got != tt.want || (msg != "") != tt.wantErr {
			t.Errorf("NormalizeEmail(%q) = %q, %q; want %q, error %v", tt.in, got, msg, tt.want, tt.wantErr)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.com", "a***@e***.com"},
		{"bob@localhost", "b***@l***"},
		{"no-at-sign", "***"},
		{"@example.com", "***"},
		{"élodie@exämple.fr", "é***@e***.fr"},
	}
	for _, tt := range tests {
		if got := MaskEmail(tt.in); got != tt.want {
			t.Errorf("MaskEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(MaskEmail(tt.in), "alice") {
			t.Errorf("MaskEmail(%q) reveals the local part", tt.in)
		}
	}
}
