package auth

import (
	"slices"
	"strings"
	"testing"
)

func TestCommonPasswordListSize(t *testing.T) {
	if n := CommonPasswordCount(); n < 10000 {
		t.Errorf("CommonPasswordCount() = %d, want at least 10000", n)
	}
}

func TestPasswordPolicy(t *testing.T) {
	const (
		tooShort  = "must be at least 8 characters"
		tooLong   = "must be at most 72 bytes (UTF-8)"
		blank     = "must not be whitespace only"
		common    = "is too common"
		composite = "must contain at least 3 of: lower case, upper case, digit, symbol (or be 16 characters or longer)"
	)
	strict := PasswordPolicy{MinLength: 8, MinClasses: 3}
	tests := []struct {
		name   string
		policy PasswordPolicy
		in     string
		want   []string
	}{
		{"strong", strict, "Tr0ub4dor&3x", nil},
		{"three classes", strict, "correcthorse9X", nil},
		{"too short", strict, "Ab1!", []string{tooShort}},
		{"two classes", strict, "abcdefgh12", []string{composite}},
		{"passphrase skips classes", strict, "correct horse battery staple", nil},
		{"sixteen lower case", strict, "qwxzvbnmplokijuh", nil},
		{"common", strict, "password", []string{common, composite}},
		{"common mixed case", strict, "Password1", []string{common}},
		{"whitespace only", strict, strings.Repeat(" ", 10), []string{blank, composite}},
		{"whitespace only long", strict, strings.Repeat(" ", 20), []string{blank}},
		{"73 bytes", strict, strings.Repeat("aB3!", 18) + "x", []string{tooLong}},
		{"72 bytes", strict, strings.Repeat("aB3!", 18), nil},
		{"multibyte over 72 bytes", strict, strings.Repeat("é", 37), []string{tooLong}},
		{"everything wrong", strict, "   ", []string{tooShort, blank, composite}},
		{"nist style", PasswordPolicy{MinLength: 8, MinClasses: 0}, "abcdefghzq", nil},
		{"longer minimum", PasswordPolicy{MinLength: 12, MinClasses: 3}, "Tr0ub4dor&3", []string{"must be at least 12 characters"}},
		{"unicode classes", strict, "Ünïcödé9x", nil},
	}
	for _, tt := range tests {
		got := tt.policy.Check(NormalizePassword(tt.in))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: Check(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestNormalizePassword(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ﬁre", "fire"},          // ligature
		{"Ａｂｃ", "Abc"},           // full-width
		{"e\u0301", "\u00e9"},    // combining accent composes
		{" padded ", " padded "}, // never trimmed
	}
	for _, tt := range tests {
		if got := NormalizePassword(tt.in); got != tt.want {
			t.Errorf("NormalizePassword(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
