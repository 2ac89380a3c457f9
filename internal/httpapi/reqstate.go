package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/logging"
)

// requestState is what the middlewares learn about one request and what
// its handlers and the access log share. It lives in the request's
// context; only the request's own goroutine touches it.
type requestState struct {
	id        string
	clientIP  string
	userAgent string
	// route is the matched pattern's path ("/api/auth/sessions/{id}"),
	// used as the metrics label instead of the raw path.
	route string
	// principal is set by the bearer middleware for the handlers behind it.
	principal *auth.Principal
	// fields carries the account the request acted for into every later
	// log line of the request, the access line included.
	fields *logging.Fields
	// cause and stack describe the error behind a 500, for the log.
	cause error
	stack slog.Attr
}

type stateKey struct{}

func withState(ctx context.Context, st *requestState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

// stateFrom returns the request's state, or nil outside a request served
// through NewHandler.
func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// requestIDFrom returns the request id of ctx, or "" outside a request.
func requestIDFrom(ctx context.Context) string { return logging.RequestID(ctx) }

// setUserID records the account a request acted for, for its log lines.
func setUserID(ctx context.Context, id int64) {
	logging.FieldsFrom(ctx).SetUserID(id)
}

// maxRequestIDLength bounds a caller's X-Request-ID (docs/api.md "Requests").
const maxRequestIDLength = 128

// validRequestID reports whether a caller's id may be kept: 1 to 128
// characters of [A-Za-z0-9._-], so it is safe in logs and headers.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 128 random bits in hex.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b[:])
}
