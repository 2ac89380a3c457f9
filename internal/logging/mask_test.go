package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestMaskEmail(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"alice@example.com", "a***@e***.com"},
		{"Alice@Example.COM", "a***@e***.com"},
		{"  bob.smith+tag@mail.example.co.uk ", "b***@m***.uk"},
		{"a@example.com", "***@e***.com"},
		{"ab@x.io", "a***@***.io"},
		{"alice@localhost", "a***@l***"},
		{"élodie@exemple.fr", "é***@e***.fr"},
		{"no-at-sign", "n***"},
		{"@example.com", "***@e***.com"},
		{"alice@", "a***@***"},
		{"alice@example.c0m-is-a-very-long-label-indeed", "a***@e***"},
		{"alice@example.<script>", "a***@e***"},
		{"", ""},
		{"\x00\x01@\xff\xfe.com", "***@***.com"},
	}
	for _, tt := range tests {
		got := MaskEmail(tt.in)
		if got != tt.want {
			t.Errorf("MaskEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if local, _, ok := strings.Cut(strings.TrimSpace(strings.ToLower(tt.in)), "@"); ok && len(local) > 1 && strings.Contains(got, local) {
			t.Errorf("MaskEmail(%q) = %q reveals the local part", tt.in, got)
		}
	}
}

func TestSecretPrints(t *testing.T) {
	const hidden = "correct horse battery staple"
	s := Secret(hidden)
	var jsonBuf, textBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonBuf, nil)).Info("m", "value", s)
	slog.New(slog.NewTextHandler(&textBuf, nil)).Info("m", "value", s)
	jsonBytes, err := json.Marshal(struct{ S Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  string
		want string // substring
	}{
		{"%v", fmt.Sprintf("%v", s), Redacted},
		{"%s", fmt.Sprintf("%s", s), Redacted},
		{"%q", fmt.Sprintf("%q", s), `"` + Redacted + `"`},
		{"%x", fmt.Sprintf("%x", s), Redacted},
		{"%#v", fmt.Sprintf("%#v", s), `"` + Redacted + `"`},
		{"%+v in struct", fmt.Sprintf("%+v", struct{ S Secret }{s}), "{S:" + Redacted + "}"},
		{"String", s.String(), Redacted},
		{"json", string(jsonBytes), `{"S":"` + Redacted + `"}`},
		{"slog json", jsonBuf.String(), `"value":"` + Redacted + `"`},
		{"slog text", textBuf.String(), `value=` + Redacted},
		{"empty", fmt.Sprintf("[%v]", Secret("")), "[]"},
	}
	for _, tt := range tests {
		if !strings.Contains(tt.got, tt.want) || strings.Contains(tt.got, hidden) {
			t.Errorf("%s of Secret = %q, want %q and no secret", tt.name, tt.got, tt.want)
		}
	}
	if got := s.Reveal(); got != hidden {
		t.Errorf("Reveal() = %q, want %q", got, hidden)
	}
}
