package totp

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	good := GenerateKey()
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"generated", good, true},
		{"surrounding spaces", " " + good + "\n", true},
		{"empty", "", false},
		{"not base64", "not base64 at all!", false},
		{"16 bytes", "AAAAAAAAAAAAAAAAAAAAAA==", false},
		{"33 bytes", strings.Repeat("A", 44), false},
		{"url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(strings.Repeat("+/", 21) + "AA=="), false},
	}
	for _, tt := range tests {
		k, err := ParseKey(tt.in)
		if (err == nil) != tt.ok || (tt.ok && len(k) != KeySize) {
			t.Errorf("ParseKey(%s) = %d bytes, %v; want ok %t", tt.name, len(k), err, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), tt.in) && tt.in != "" {
			t.Errorf("ParseKey(%s) error %q quotes the key", tt.name, err)
		}
	}
}

func TestSealRoundTripAndRotation(t *testing.T) {
	oldKey, _ := ParseKey(GenerateKey())
	newKey, _ := ParseKey(GenerateKey())
	old, err := NewSealer(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	id, sealed, err := old.Seal(rfcSecret, "factor-1")
	if err != nil {
		t.Fatal(err)
	}
	if id != KeyID(oldKey) || strings.Contains(sealed, rfcSecret) {
		t.Errorf("Seal = %q, %q; want key id %q and no plaintext", id, sealed, KeyID(oldKey))
	}
	if got, err := old.Open(id, sealed, "factor-1"); err != nil || got != rfcSecret {
		t.Errorf("Open = %q, %v, want the secret", got, err)
	}
	if _, err := old.Open(id, sealed, "factor-2"); err == nil {
		t.Errorf("Open with another factor's id succeeded")
	}
	tampered := []byte(sealed)
	tampered[20] ^= 1
	if _, err := old.Open(id, string(tampered), "factor-1"); err == nil {
		t.Errorf("Open of a tampered secret succeeded")
	}

	// Rotation: the new key seals, the old one still opens.
	rotated, err := NewSealer(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(id, sealed, "factor-1"); err != nil || got != rfcSecret {
		t.Errorf("Open after rotation = %q, %v, want the secret", got, err)
	}
	if id2, _, _ := rotated.Seal(rfcSecret, "factor-1"); id2 != KeyID(newKey) {
		t.Errorf("after rotation Seal uses key %q, want the new %q", id2, KeyID(newKey))
	}
	// Without the old key, it cannot.
	only, _ := NewSealer(newKey)
	if _, err := only.Open(id, sealed, "factor-1"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open with the old key gone = %v, want ErrUnknownKey", err)
	}
}

func TestSealWithoutKey(t *testing.T) {
	s, err := NewSealer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Encrypts() {
		t.Errorf("Encrypts() = true without a key")
	}
	id, sealed, err := s.Seal(rfcSecret, "f")
	if err != nil || id != PlainKeyID || sealed != rfcSecret {
		t.Errorf("Seal = %q, %q, %v; want plain", id, sealed, err)
	}
	if got, _ := s.Open(id, sealed, "f"); got != rfcSecret {
		t.Errorf("Open(plain) = %q", got)
	}
	if _, err := NewSealer(make([]byte, 16)); err == nil {
		t.Errorf("NewSealer(16 bytes) succeeded")
	}
}
