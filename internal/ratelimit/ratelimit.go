// Package ratelimit limits how often one client may call the
// authentication endpoints: in process, in Redis shared by every replica,
// or in Redis with an in-process fallback for when Redis is down.
//
// Every limiter is a GCRA (generic cell rate algorithm) with a burst equal
// to the per-minute budget: a fresh client may send perMinute requests at
// once, then one every minute/perMinute.
package ratelimit

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Decision is the outcome of one Allow call.
type Decision struct {
	// Allowed reports whether the request may proceed.
	Allowed bool
	// Limit is the budget per minute (the burst); 0 when limiting is off.
	Limit int
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// ResetAfter is how long until the client's full budget is back.
	ResetAfter time.Duration
	// RetryAfter is how long until the next request would be allowed;
	// positive only when Allowed is false.
	RetryAfter time.Duration
}

// Limiter decides whether the client identified by key may make a request
// now, counting it when it may. Implementations are safe for concurrent
// use.
type Limiter interface {
	Allow(ctx context.Context, key string) (Decision, error)
}

// SetHeaders writes d as the RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset headers of the IETF draft (whole seconds, rounded up so
// that a client waiting that long is never refused) and, when d refuses,
// Retry-After. Nothing is written when limiting is off (Limit 0).
func SetHeaders(h http.Header, d Decision) {
	if d.Limit <= 0 {
		return
	}
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(d.Remaining, 0)))
	h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(d.ResetAfter)))
	if !d.Allowed {
		h.Set("Retry-After", strconv.Itoa(max(ceilSeconds(d.RetryAfter), 1)))
	}
}

// ceilSeconds rounds d up to whole seconds, never below zero.
func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
