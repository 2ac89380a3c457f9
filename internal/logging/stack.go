package logging

import (
	"log/slog"
	"runtime/debug"
)

// Stack returns the current goroutine's stack trace as the attribute
// "stack", for the log line of a 500 (never for a response).
func Stack() slog.Attr {
	return slog.String("stack", string(debug.Stack()))
}
