package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const (
	hiddenSecret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"
	hiddenPass   = "hunter2hunter2"
)

// printers are the ways a Config or a value in it may end up in a log or
// on a terminal.
var printers = []struct {
	name  string
	print func(v any) string
}{
	{"%v", func(v any) string { return fmt.Sprintf("%v", v) }},
	{"%+v", func(v any) string { return fmt.Sprintf("%+v", v) }},
	{"%#v", func(v any) string { return fmt.Sprintf("%#v", v) }},
	{"%s", func(v any) string { return fmt.Sprintf("%s", v) }},
	{"%q", func(v any) string { return fmt.Sprintf("%q", v) }},
	{"%x", func(v any) string { return fmt.Sprintf("%x", v) }},
	{"json", func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			return "json error: " + err.Error()
		}
		return string(b)
	}},
	{"slog json", func(v any) string {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "value", v)
		return buf.String()
	}},
	{"slog text", func(v any) string {
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "value", v)
		return buf.String()
	}},
}

func TestSecretsNeverPrint(t *testing.T) {
	c := defaults()
	c.JWTSecret = hiddenSecret
	c.DatabaseURL = "postgres://auth:" + hiddenPass + "@db:5432/auth?sslmode=require"
	c.RedisURL = "rediss://:" + hiddenPass + "@cache:6380/0"
	db, err := ParseDatabaseURL(c.DatabaseURL.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	c.DB = db
	values := []struct {
		name string
		v    any
	}{
		{"Config", c},
		{"*Config", &c},
		{"Secret", c.JWTSecret},
		{"SecretURL", c.DatabaseURL},
		{"Database", db},
		{"[]Secret", []Secret{c.JWTSecret}},
		{"map of SecretURL", map[string]SecretURL{"redis": c.RedisURL}},
	}
	for _, val := range values {
		for _, p := range printers {
			out := p.print(val.v)
			if strings.Contains(out, hiddenSecret) || strings.Contains(out, hiddenPass) {
				t.Errorf("%s of %s = %s, reveals a secret", p.name, val.name, out)
			}
			if strings.HasPrefix(out, "json error") {
				t.Errorf("%s of %s: %s", p.name, val.name, out)
			}
		}
	}
}

func TestSecretPrintsRedacted(t *testing.T) {
	tests := []struct {
		v    any
		want map[string]string // printer name → output
	}{
		{Secret(hiddenSecret), map[string]string{
			"%v": "[REDACTED]", "%s": "[REDACTED]", "%q": `"[REDACTED]"`, "%#v": `"[REDACTED]"`, "%x": "[REDACTED]",
			"json": `"[REDACTED]"`,
		}},
		{Secret(""), map[string]string{"%v": "", "json": `""`}},
		{SecretURL("postgres://auth:" + hiddenPass + "@db/auth?sslmode=disable&password=" + hiddenPass), map[string]string{
			"%v":   "postgres://auth:xxxxx@db/auth?password=xxxxx&sslmode=disable",
			"json": `"postgres://auth:xxxxx@db/auth?password=xxxxx\u0026sslmode=disable"`,
		}},
		{SecretURL("redis://cache:6379/0"), map[string]string{"%v": "redis://cache:6379/0"}},
		{SecretURL("sqlite:authserve.db"), map[string]string{"%v": "sqlite:authserve.db"}},
		{SecretURL("authserve.db?_pragma=busy_timeout(5000)"), map[string]string{"%v": "authserve.db?_pragma=busy_timeout%285000%29"}},
		{SecretURL("postgres://u:" + hiddenPass + "@h:bad/"), map[string]string{"%v": "[REDACTED]"}},
	}
	for _, tt := range tests {
		for _, p := range printers {
			want, ok := tt.want[p.name]
			if !ok {
				continue
			}
			if got := p.print(tt.v); got != want {
				t.Errorf("%s of %T = %s, want %s", p.name, tt.v, got, want)
			}
		}
	}
}

func TestSecretReveal(t *testing.T) {
	if got := Secret(hiddenSecret).Reveal(); got != hiddenSecret {
		t.Errorf("Secret.Reveal() = %q, want %q", got, hiddenSecret)
	}
	u := "postgres://u:" + hiddenPass + "@h/d"
	if got := SecretURL(u).Reveal(); got != u {
		t.Errorf("SecretURL.Reveal() = %q, want %q", got, u)
	}
}
