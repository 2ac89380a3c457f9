package logging

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// AccessMessage is the msg of every access line.
const AccessMessage = "request"

// AccessLine is the one line every HTTP request ends with. Its keys are
// fixed (request_id, method, path, status, duration_ms, client_ip,
// user_agent, bytes, user_id), none of them sensitive; its string values
// are scrubbed like every logged string (Scrub).
type AccessLine struct {
	Level      slog.Level
	RequestID  string
	Method     string
	Path       string
	Status     int
	DurationMS float64
	ClientIP   string
	UserAgent  string
	Bytes      int64
	UserID     int64
	HasUserID  bool
}

// accessKeys are the keys of an access line, in order; a test checks that
// none is sensitive, so the fast path may skip SensitiveKey.
var accessKeys = []string{"request_id", "method", "path", "status", "duration_ms", "client_ip", "user_agent", "bytes", UserIDKey}

// attrs returns the line as slog attributes, for handlers without the
// fast path.
func (l *AccessLine) attrs() []slog.Attr {
	a := make([]slog.Attr, 0, len(accessKeys))
	a = append(a,
		slog.String("request_id", l.RequestID),
		slog.String("method", l.Method),
		slog.String("path", l.Path),
		slog.Int("status", l.Status),
		slog.Float64("duration_ms", l.DurationMS),
		slog.String("client_ip", l.ClientIP),
		slog.String("user_agent", l.UserAgent),
		slog.Int64("bytes", l.Bytes),
	)
	if l.HasUserID {
		a = append(a, slog.Int64(UserIDKey, l.UserID))
	}
	return a
}

// LogAccess writes l through logger. The handler New and NewHandler build
// writes a JSON line itself, without slog's generic machinery (no
// attribute slices, no caller lookup, no encoding/json for the duration),
// into the same destination with the same bytes slog would have written;
// any other handler, the text format, or a logger with attributes or
// groups of its own gets the same attributes as an slog record.
func LogAccess(ctx context.Context, logger *slog.Logger, l *AccessLine) {
	if h, ok := logger.Handler().(*handler); ok && h.writeAccess(ctx, l) {
		return
	}
	logger.LogAttrs(ctx, l.Level, AccessMessage, l.attrs()...)
}

// accessBufs recycles the fast path's line buffers.
var accessBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeAccess writes l as slog's JSON handler would, and reports whether
// it could; false leaves the line to the generic path.
func (h *handler) writeAccess(ctx context.Context, l *AccessLine) bool {
	if h.w == nil || h.format != "json" || len(h.attrs) > 0 || len(h.groups) > 0 {
		return false
	}
	if !h.inner.Enabled(ctx, l.Level) {
		return true
	}
	bp := accessBufs.Get().(*[]byte)
	b := appendAccessJSON((*bp)[:0], time.Now(), l)
	_, _ = h.w.Write(b) // a log write has nowhere to report failure
	if cap(b) <= 4096 { // an outsized line's buffer is not kept
		*bp = b
		accessBufs.Put(bp)
	}
	return true
}

// appendAccessJSON appends l as one JSON line, byte for byte what slog's
// JSON handler writes for the same record through redactAttr.
func appendAccessJSON(b []byte, t time.Time, l *AccessLine) []byte {
	b = append(b, `{"time":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":`...)
	b = AppendJSONString(b, l.Level.String())
	b = append(b, `,"msg":"`+AccessMessage+`","request_id":`...)
	b = AppendJSONString(b, Scrub(l.RequestID))
	b = append(b, `,"method":`...)
	b = AppendJSONString(b, Scrub(l.Method))
	b = append(b, `,"path":`...)
	b = AppendJSONString(b, Scrub(l.Path))
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(l.Status), 10)
	b = append(b, `,"duration_ms":`...)
	b = appendJSONFloat(b, l.DurationMS)
	b = append(b, `,"client_ip":`...)
	b = AppendJSONString(b, Scrub(l.ClientIP))
	b = append(b, `,"user_agent":`...)
	b = AppendJSONString(b, Scrub(l.UserAgent))
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, l.Bytes, 10)
	if l.HasUserID {
		b = append(b, `,"user_id":`...)
		b = strconv.AppendInt(b, l.UserID, 10)
	}
	return append(b, "}\n"...)
}

// appendJSONFloat formats f as encoding/json does (slog's JSON handler
// calls it for floats): 'f' between 1e-6 and 1e21, else 'e' with a
// one-digit negative exponent where possible.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		// encoding/json refuses these; slog then writes the error. A
		// duration is never one.
		return append(b, `"!ERROR:unsupported value"`...)
	}
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// invalidUTF8 is what slog's JSON handler writes for a byte that is not
// UTF-8: the replacement character, raw since Go 1.27, escaped as \ufffd
// before. Asked of the handler itself, so that the fast path writes what
// slog would with whichever toolchain built the binary.
var invalidUTF8 = func() string {
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("\xff")
	if strings.Contains(b.String(), `"msg":"\ufffd"`) {
		return `\ufffd`
	}
	return "\uFFFD"
}()

// AppendJSONString appends s quoted as slog's JSON handler quotes it, and
// as encoding/json does with HTML escaping off: control characters, '"'
// and '\\' escaped, invalid UTF-8 as U+FFFD, and U+2028 and U+2029
// escaped; '<', '>' and '&' are left as they are.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, invalidUTF8...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
