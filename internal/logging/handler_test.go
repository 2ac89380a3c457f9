package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	pass    = "hunter2-Pass-word"
	refresh = "rt_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	// jwt is a real-shaped HS256 token.
	jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiI0MiIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWc"
	// unsigned is an alg "none" token: an empty signature segment.
	unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."
	opaque   = "0pAqu3-C00kie-Valu3-xyz"
)

// passwordValuer hides a password behind LogValue, resolving to a group.
type passwordValuer struct{}

// testSecret is a value that hides itself in logs, as config.SecretURL does.
type testSecret string

func (testSecret) LogValue() slog.Value { return slog.StringValue(Redacted) }

func (passwordValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", "alice"), slog.String("password", pass))
}

// newTestLogger returns a synchronous logger at debug level writing to buf.
func newTestLogger(t *testing.T, buf *bytes.Buffer, format string) *slog.Logger {
	t.Helper()
	h, err := NewHandler(buf, slog.LevelDebug, format)
	if err != nil {
		t.Fatal(err)
	}
	return slog.New(h)
}

func TestRedaction(t *testing.T) {
	header := http.Header{}
	header.Set("Authorization", "Bearer "+jwt)
	header.Set("Cookie", "sid="+opaque)
	header.Set("Accept", "application/json")

	tests := []struct {
		name    string
		log     func(l *slog.Logger, level slog.Level)
		secrets []string // must not appear
		visible []string // must appear
	}{
		{"password attr",
			func(l *slog.Logger, lv slog.Level) { l.Log(context.Background(), lv, "register", "password", pass) },
			[]string{pass}, []string{Redacted}},
		{"key case and separators",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "m", "New-Password", pass, "PASSWD", pass, "client.secret", pass)
			},
			[]string{pass}, []string{"New-Password", "PASSWD", "client.secret"}},
		{"tokens",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "m", "access_token", jwt, "refresh_token", refresh, "token", refresh)
			},
			[]string{jwt, refresh}, []string{"access_token", "refresh_token"}},
		{"non-string value under a sensitive key",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "m", "token_secret_len", 987654321)
			},
			[]string{"987654321"}, []string{Redacted}},
		{"headers as attrs",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "m", "Authorization", "Bearer "+opaque, "Cookie", "sid="+opaque,
					"Set-Cookie", "sid="+opaque, "X-Api-Key", opaque, "api_key", opaque, "private_key", opaque)
			},
			[]string{opaque}, []string{"Set-Cookie", "X-Api-Key"}},
		{"nested group",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "m", slog.Group("req", slog.String("email", "a@b.c"),
					slog.Group("body", slog.String("password", pass))))
			},
			[]string{pass}, []string{"a@b.c"}},
		{"sensitive group name",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "m", slog.Group("credentials", slog.String("value", pass)))
			},
			[]string{pass}, []string{Redacted}},
		{"WithGroup and With",
			func(l *slog.Logger, lv slog.Level) {
				l.WithGroup("auth").With("refresh_token", refresh).Log(context.Background(), lv, "m", "cookie", opaque)
			},
			[]string{refresh, opaque}, []string{"auth"}},
		{"With at top level",
			func(l *slog.Logger, lv slog.Level) {
				l.With(slog.String("secret", pass)).Log(context.Background(), lv, "m")
			},
			[]string{pass}, []string{Redacted}},
		{"secret type under an innocent key",
			func(l *slog.Logger, lv slog.Level) { l.Log(context.Background(), lv, "m", "value", testSecret(pass)) },
			[]string{pass}, []string{Redacted}},
		{"LogValuer resolving to a group",
			func(l *slog.Logger, lv slog.Level) { l.Log(context.Background(), lv, "m", "login", passwordValuer{}) },
			[]string{pass}, []string{"alice"}},
		{"JWT in a string attr",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "m", "detail", "got "+jwt+" and "+unsigned+" here")
			},
			[]string{jwt, unsigned, "eyJ"}, []string{"got " + Redacted + " and " + Redacted + " here"}},
		{"JWT in the message",
			func(l *slog.Logger, lv slog.Level) { l.Log(context.Background(), lv, "bad token "+jwt) },
			[]string{jwt}, []string{"bad token " + Redacted}},
		{"JWT in an error",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "m", "err", fmt.Errorf("verify %s: %w", jwt, errors.New("expired")))
			},
			[]string{jwt}, []string{Redacted + ": expired"}},
		{"bearer credential in prose",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "m", "detail", "header was Bearer "+opaque+"; missing bearer token")
			},
			[]string{opaque}, []string{"Bearer " + Redacted, "missing bearer token"}},
		{"struct with a Password field",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "m", "input", struct {
					Email    string
					Password string
					ID       int64
				}{"a@b.c", pass, 9007199254740993})
			},
			[]string{pass}, []string{"a@b.c", "9007199254740993"}},
		{"http.Header",
			func(l *slog.Logger, lv slog.Level) { l.Log(context.Background(), lv, "m", "headers", header) },
			[]string{jwt, opaque}, []string{"application/json"}},
		{"nested map",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "m", "body", map[string]any{
					"data": map[string]any{"refresh_token": refresh, "list": []any{map[string]string{"apiKey": opaque}, jwt}},
				})
			},
			[]string{refresh, opaque, jwt}, []string{"data", "list"}},
		{"unmarshalable value is not printed with fmt",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "m", "v", struct {
					Password string
					F        func()
				}{pass, func() {}})
			},
			[]string{pass}, []string{"unloggable"}},
		{"innocent attrs stay",
			func(l *slog.Logger, lv slog.Level) {
				l.Log(context.Background(), lv, "user.login_failed", "event", "token.refreshed", "reason", "bad_password", "user_id", 42)
			},
			nil, []string{"user.login_failed", "token.refreshed", "bad_password", "42"}},
	}
	for _, format := range []string{"json", "text"} {
		for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelError} {
			for _, tt := range tests {
				var buf bytes.Buffer
				tt.log(newTestLogger(t, &buf, format), level)
				out := buf.String()
				where := fmt.Sprintf("%s/%s/%s", format, level, tt.name)
				if out == "" {
					t.Errorf("%s: nothing logged", where)
					continue
				}
				for _, s := range tt.secrets {
					if strings.Contains(out, s) {
						t.Errorf("%s: output %s reveals %q", where, out, s)
					}
				}
				for _, s := range tt.visible {
					if !strings.Contains(out, s) {
						t.Errorf("%s: output %s lacks %q", where, out, s)
					}
				}
				if format == "json" && !json.Valid(bytes.TrimSpace(buf.Bytes())) {
					t.Errorf("%s: output %s is not one JSON object", where, out)
				}
			}
		}
	}
}

func TestSensitiveKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"password", true}, {"Password", true}, {"new_password", true}, {"passwd", true},
		{"secret", true}, {"client_secret", true}, {"token", true}, {"access_token", true},
		{"refreshToken", true}, {"Authorization", true}, {"proxy-authorization", true},
		{"cookie", true}, {"Set-Cookie", true}, {"api_key", true}, {"X-API-KEY", true},
		{"private_key", true}, {"privateKey", true}, {"credentials", true},
		{"email", false}, {"user_id", false}, {"request_id", false}, {"status", false},
		{"event", false}, {"path", false}, {"key_id", false}, {"msg", false},
		// Past the fast path: non-ASCII keys and long ones.
		{"to\u212Aen", true}, {"pässword", false}, {"Ünicode_password", true},
		{strings.Repeat("x", 70) + "_token", true}, {strings.Repeat("x", 70), false},
	}
	for _, tt := range tests {
		if got := SensitiveKey(tt.key); got != tt.want {
			t.Errorf("SensitiveKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestSensitiveKeyAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { SensitiveKey("request_id") }); n != 0 {
		t.Errorf("SensitiveKey of a short ASCII key allocates %v times, want 0", n)
	}
}

func TestScrub(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"plain text", "plain text"},
		{jwt, Redacted},
		{"a " + unsigned + " b", "a " + Redacted + " b"},
		{"eyJ but no dots", "eyJ but no dots"},
		{"Authorization: Bearer abcdefgh12345678", "Authorization: Bearer " + Redacted},
		{"BEARER abcdefgh12345678==", "BEARER " + Redacted},
		{`Bearer error="invalid_token"`, `Bearer error="invalid_token"`},
		{"missing bearer token", "missing bearer token"},
	}
	for _, tt := range tests {
		if got := Scrub(tt.in); got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// decode parses the one JSON line in buf.
func decode(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	return m
}

func TestContextAttrs(t *testing.T) {
	withFields := func(uid int64) context.Context {
		ctx, f := WithFields(WithRequestID(context.Background(), "req-1"))
		f.SetUserID(uid)
		return ctx
	}
	tests := []struct {
		name      string
		ctx       context.Context
		log       func(l *slog.Logger, ctx context.Context)
		wantReqID any // nil: absent
		wantUser  any // nil: absent
	}{
		{"no ids", context.Background(),
			func(l *slog.Logger, ctx context.Context) { l.InfoContext(ctx, "m") }, nil, nil},
		{"request id", WithRequestID(context.Background(), "abc-123"),
			func(l *slog.Logger, ctx context.Context) { l.InfoContext(ctx, "m") }, "abc-123", nil},
		{"request id stays top level under groups", WithRequestID(context.Background(), "abc-123"),
			func(l *slog.Logger, ctx context.Context) { l.WithGroup("g").With("a", 1).InfoContext(ctx, "m", "b", 2) },
			"abc-123", nil},
		{"fields without user", func() context.Context { ctx, _ := WithFields(context.Background()); return ctx }(),
			func(l *slog.Logger, ctx context.Context) { l.InfoContext(ctx, "m") }, nil, nil},
		{"user id from fields", withFields(42),
			func(l *slog.Logger, ctx context.Context) { l.InfoContext(ctx, "m") }, "req-1", float64(42)},
		{"caller's own ids win", withFields(42),
			func(l *slog.Logger, ctx context.Context) {
				l.InfoContext(ctx, "m", RequestIDKey, "explicit", UserIDKey, 7)
			}, "explicit", float64(7)},
		{"caller's ids in With win", withFields(42),
			func(l *slog.Logger, ctx context.Context) { l.With(UserIDKey, 8).InfoContext(ctx, "m") }, "req-1", float64(8)},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		tt.log(newTestLogger(t, &buf, "json"), tt.ctx)
		m := decode(t, &buf)
		if got := m[RequestIDKey]; got != tt.wantReqID {
			t.Errorf("%s: request_id = %v, want %v (line %s)", tt.name, got, tt.wantReqID, buf.String())
		}
		if got := m[UserIDKey]; got != tt.wantUser {
			t.Errorf("%s: user_id = %v, want %v (line %s)", tt.name, got, tt.wantUser, buf.String())
		}
		if n := strings.Count(buf.String(), `"`+RequestIDKey+`"`); n > 1 {
			t.Errorf("%s: request_id appears %d times in %s", tt.name, n, buf.String())
		}
		if n := strings.Count(buf.String(), `"`+UserIDKey+`"`); n > 1 {
			t.Errorf("%s: user_id appears %d times in %s", tt.name, n, buf.String())
		}
	}
}

func TestGroupsKeepShape(t *testing.T) {
	var buf bytes.Buffer
	l := newTestLogger(t, &buf, "json").With("top", 1).WithGroup("g").With("a", 2).WithGroup("h")
	l.InfoContext(WithRequestID(context.Background(), "r"), "m", "b", 3)
	want := `"request_id":"r","top":1,"g":{"a":2,"h":{"b":3}}}`
	if got := buf.String(); !strings.HasSuffix(strings.TrimSpace(got), want) {
		t.Errorf("line = %s, want it to end with %s", got, want)
	}

	// An empty group is left out, as slog does.
	buf.Reset()
	newTestLogger(t, &buf, "json").WithGroup("empty").Info("m")
	if got := buf.String(); strings.Contains(got, "empty") {
		t.Errorf("line = %s, want no empty group", got)
	}
}

func TestFieldsNilSafe(t *testing.T) {
	f := FieldsFrom(context.Background())
	if f != nil {
		t.Fatalf("FieldsFrom(empty) = %v, want nil", f)
	}
	f.SetUserID(1) // must not panic
	if id, ok := f.UserID(); ok || id != 0 {
		t.Errorf("nil Fields UserID() = %d, %v, want 0, false", id, ok)
	}
	ctx, f := WithFields(context.Background())
	if got := FieldsFrom(ctx); got != f {
		t.Errorf("FieldsFrom(WithFields ctx) = %p, want %p", got, f)
	}
	f.SetUserID(99)
	if id, ok := FieldsFrom(ctx).UserID(); !ok || id != 99 {
		t.Errorf("UserID() = %d, %v, want 99, true", id, ok)
	}
}

func TestRequestID(t *testing.T) {
	if got := RequestID(context.Background()); got != "" {
		t.Errorf("RequestID(empty) = %q, want \"\"", got)
	}
	if got := RequestID(WithRequestID(context.Background(), "x")); got != "x" {
		t.Errorf("RequestID(WithRequestID(x)) = %q, want \"x\"", got)
	}
}

// TestDurationsReadable: durations log as Go duration strings, in JSON as
// in text, not as JSON's default count of nanoseconds.
func TestDurationsReadable(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		newTestLogger(t, &buf, format).Info("shutting down", slog.Duration("timeout", 15*time.Second),
			slog.Group("g", slog.Duration("wait", 1500*time.Millisecond)))
		out := buf.String()
		for _, want := range []string{"15s", "1.5s"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q lacks %q", format, out, want)
			}
		}
		if strings.Contains(out, "15000000000") {
			t.Errorf("%s: %q has a duration in nanoseconds", format, out)
		}
	}
}
