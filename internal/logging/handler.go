package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Redacted replaces every secret in the logs.
const Redacted = "[REDACTED]"

// NewHandler returns the handler New builds on: JSON (format "" or "json")
// or text lines to w, at level and above, with request_id and user_id taken
// from the context and secrets redacted. It writes synchronously; New puts
// a Sink in front of it. Tests of other packages may use it with a buffer.
func NewHandler(w io.Writer, level slog.Leveler, format string) (slog.Handler, error) {
	if err := checkFormat(format); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}
	// One lock for slog's lines and the access lines' fast path, which
	// writes to w itself: w need not be safe for concurrent use.
	lw := &lockedWriter{w: w}
	w = lw
	var inner slog.Handler
	if format == "text" {
		inner = slog.NewTextHandler(w, opts)
	} else {
		format = "json"
		inner = slog.NewJSONHandler(w, opts)
	}
	return &handler{inner: inner, w: lw, format: format}, nil
}

// lockedWriter serialises the writes of the handlers sharing it.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// handler adds the context's request and user ids to each record. It keeps
// attributes and groups itself, instead of handing them to the inner
// handler, so that request_id and user_id stay at the top level of a line
// whatever groups the logger has opened.
type handler struct {
	inner  slog.Handler
	attrs  []slog.Attr // before any group
	groups []group     // open groups, outermost first
	// w and format serve the access lines' fast path (access.go), which
	// writes whole lines to w itself.
	w      *lockedWriter
	format string
}

type group struct {
	name  string
	attrs []slog.Attr
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	h2 := &handler{inner: h.inner, attrs: h.attrs, groups: slices.Clone(h.groups), w: h.w, format: h.format}
	if n := len(h2.groups); n > 0 {
		h2.groups[n-1].attrs = append(slices.Clip(h2.groups[n-1].attrs), as...)
	} else {
		h2.attrs = append(slices.Clip(h2.attrs), as...)
	}
	return h2
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &handler{inner: h.inner, attrs: h.attrs, groups: append(slices.Clip(h.groups), group{name: name}), w: h.w, format: h.format}
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	for i := len(h.groups) - 1; i >= 0; i-- {
		g := h.groups[i]
		inner := make([]slog.Attr, 0, len(g.attrs)+len(attrs))
		inner = append(append(inner, g.attrs...), attrs...)
		attrs = []slog.Attr{{Key: g.name, Value: slog.GroupValue(inner...)}}
	}

	top := make([]slog.Attr, 0, 2+len(h.attrs)+len(attrs))
	// A caller that logs request_id or user_id itself keeps its value, and
	// the line does not get the key twice.
	has := func(key string) bool {
		match := func(a slog.Attr) bool { return a.Key == key }
		return slices.ContainsFunc(h.attrs, match) || (len(h.groups) == 0 && slices.ContainsFunc(attrs, match))
	}
	if id := RequestID(ctx); id != "" && !has(RequestIDKey) {
		top = append(top, slog.String(RequestIDKey, id))
	}
	if uid, ok := FieldsFrom(ctx).UserID(); ok && !has(UserIDKey) {
		top = append(top, slog.Int64(UserIDKey, uid))
	}
	top = append(append(top, h.attrs...), attrs...)

	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	nr.AddAttrs(top...)
	return h.inner.Handle(ctx, nr)
}

// sensitiveWords are looked for in attribute keys and group names, lower
// case with '_', '-', '.' and spaces removed: "X-Api-Key" → "xapikey".
var sensitiveWords = []string{
	"password", "passwd", "passphrase", "secret", "token", "authorization",
	"cookie", "apikey", "privatekey", "credential",
}

// SensitiveKey reports whether values under key are redacted: whether key,
// in any case and with '_', '-' and '.' ignored, contains password, passwd,
// passphrase, secret, token, authorization, cookie, api_key, private_key or
// credential.
//
// Every attribute of every log line passes through it, so the common case
// (a short ASCII key) is folded on the stack without allocating.
func SensitiveKey(key string) bool {
	var buf [64]byte
	n := 0
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= utf8.RuneSelf:
			// Unicode case folding (the Kelvin sign lower-cases to k).
			return sensitiveFolded(foldKey(key))
		case c == '_' || c == '-' || c == '.' || c == ' ':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if n == len(buf) {
			return sensitiveFolded(foldKey(key))
		}
		buf[n] = c
		n++
	}
	return sensitiveFolded(buf[:n])
}

// foldKey lower-cases key and drops '_', '-', '.' and spaces.
func foldKey(key string) []byte {
	return []byte(strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.', ' ':
			return -1
		}
		return r
	}, strings.ToLower(key)))
}

func sensitiveFolded(k []byte) bool {
	for _, w := range sensitiveWordBytes {
		if bytes.Contains(k, w) {
			return true
		}
	}
	return false
}

// sensitiveWordBytes are sensitiveWords as bytes, for sensitiveFolded.
var sensitiveWordBytes = func() [][]byte {
	b := make([][]byte, len(sensitiveWords))
	for i, w := range sensitiveWords {
		b[i] = []byte(w)
	}
	return b
}()

var (
	// jwtRE matches compact JWS/JWT: a base64url JSON header ("eyJ" is
	// `{"`), a payload and a possibly empty (alg none) signature.
	jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
	// bearerRE matches a credential after "Bearer"; the length floor spares
	// prose such as "missing bearer token".
	bearerRE = regexp.MustCompile(`(?i)(\bbearer)\s+[A-Za-z0-9._~+/-]{8,}=*`)
)

// Scrub replaces what looks like a JWT or a Bearer credential inside s.
func Scrub(s string) string {
	if strings.Contains(s, "eyJ") {
		s = jwtRE.ReplaceAllString(s, Redacted)
	}
	if containsFold(s, "bearer") {
		s = bearerRE.ReplaceAllString(s, "$1 "+Redacted)
	}
	return s
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// redactAttr is the inner handlers' ReplaceAttr: every attribute, at every
// level and in every group, passes through it.
func redactAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.SourceKey) {
		return a
	}
	if SensitiveKey(a.Key) || slices.ContainsFunc(groups, SensitiveKey) {
		return slog.String(a.Key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(Scrub(a.Value.String()))
	case slog.KindAny:
		a.Value = redactAny(a.Value.Any())
	case slog.KindDuration:
		// "15s" rather than slog's JSON default of nanoseconds, 15000000000.
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// redactAny makes an arbitrary value safe: an error becomes its scrubbed
// message; anything else goes through its JSON form, so that fields and map
// keys (a struct's Password, an http.Header's Authorization) are redacted
// like attribute keys, and Secret-typed fields print as they marshal.
func redactAny(v any) slog.Value {
	switch x := v.(type) {
	case nil:
		return slog.AnyValue(nil)
	case error:
		return slog.StringValue(Scrub(x.Error()))
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Printing it with fmt could reveal what JSON would have redacted.
		return slog.StringValue(fmt.Sprintf("[unloggable %T]", v))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keeps int64 ids exact
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return slog.StringValue(fmt.Sprintf("[unloggable %T]", v))
	}
	return slog.AnyValue(redactTree(tree))
}

func redactTree(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if SensitiveKey(k) {
				x[k] = Redacted
			} else {
				x[k] = redactTree(e)
			}
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = redactTree(e)
		}
		return x
	case string:
		return Scrub(x)
	}
	return v
}
