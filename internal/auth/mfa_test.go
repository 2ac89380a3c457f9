package auth

import (
	"strings"
	"testing"
)

func TestRecoveryCodes(t *testing.T) {
	codes, hashes, err := newRecoveryCodes(7)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != RecoveryCodeCount || len(hashes) != RecoveryCodeCount {
		t.Fatalf("newRecoveryCodes = %d codes, %d hashes, want %d", len(codes), len(hashes), RecoveryCodeCount)
	}
	seen := map[string]bool{}
	for i, c := range codes {
		norm, ok := normalizeRecoveryCode(c)
		if !ok || len(c) != 19 || strings.Count(c, "-") != 3 {
			t.Errorf("code %q is not xxxx-xxxx-xxxx-xxxx", c)
		}
		if hashRecoveryCode(7, norm) != hashes[i] {
			t.Errorf("hash of code %d does not match", i)
		}
		if hashRecoveryCode(8, norm) == hashes[i] {
			t.Errorf("another user's hash of code %d matches", i)
		}
		if seen[c] {
			t.Errorf("code %q twice", c)
		}
		seen[c] = true
	}
}

func TestNormalizeRecoveryCode(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"abcd-efgh-ijkl-mn23", "abcdefghijklmn23", true},
		{"ABCD-EFGH-IJKL-MN23", "abcdefghijklmn23", true},
		{"abcd efgh ijkl mn23", "abcdefghijklmn23", true},
		{"abcdefghijklmn23", "abcdefghijklmn23", true},
		{"abcd-efgh-ijkl-mn2", "", false},   // 15 characters
		{"abcd-efgh-ijkl-mn234", "", false}, // 17
		{"abcd-efgh-ijkl-mn18", "", false},  // 1 and 8 are not base32
		{"abcd-efgh-ijkl-mn2é", "", false},  // not ASCII
		{"123456", "", false},               // a TOTP code
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := normalizeRecoveryCode(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("normalizeRecoveryCode(%q) = %q, %t; want %q, %t", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
