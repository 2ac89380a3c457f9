package logging

import (
	"context"
	"sync"
)

// Keys of the attributes the handler adds from the context.
const (
	RequestIDKey = "request_id"
	UserIDKey    = "user_id"
)

type requestIDKey struct{}

type fieldsKey struct{}

// WithRequestID returns a context whose log lines carry id as request_id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Fields holds what is learnt about a request while it is handled and
// belongs in its log lines, such as the user behind its token. The request
// middleware creates it with WithFields before calling the handler, inner
// code fills it in, and every line logged with the context afterwards,
// the access log line included, carries it. It is safe for concurrent use;
// the methods of a nil *Fields do nothing, so that code running outside a
// request needs no check.
type Fields struct {
	mu      sync.Mutex
	userID  int64
	hasUser bool
}

// WithFields returns a context carrying a new, empty Fields, and the Fields.
func WithFields(ctx context.Context) (context.Context, *Fields) {
	f := &Fields{}
	return context.WithValue(ctx, fieldsKey{}, f), f
}

// FieldsFrom returns the Fields carried by ctx, or nil.
func FieldsFrom(ctx context.Context) *Fields {
	f, _ := ctx.Value(fieldsKey{}).(*Fields)
	return f
}

// SetUserID records the authenticated user of the request.
func (f *Fields) SetUserID(id int64) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.userID, f.hasUser = id, true
}

// UserID returns the recorded user, if any.
func (f *Fields) UserID() (int64, bool) {
	if f == nil {
		return 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.userID, f.hasUser
}
