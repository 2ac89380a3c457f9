// Package lockout implements auth.Lockout, the per-key counter of login
// attempts that locks a key after too many failures, in Redis shared by
// every replica, and the fallback from Redis to another auth.Lockout (the
// database's counters, which cmd/authserve uses without Redis too) for
// when Redis is down.
//
// A key's state is a count of failures, a count of attempts in progress
// (reservations) and, once failures reach the limit, the end of its lock.
// Reservations make the limit hold against parallel guesses: an attempt
// counts from the moment it starts, so limit guesses sent at once cannot
// become limit×N. State expires lockFor after its last change (a Reserve
// that counts, or a Fail), and a key whose lock has ended starts afresh.
package lockout

import (
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// busyRetry is the retry hint when a key is not locked but its remaining
// attempts are all in progress (auth.LockoutBusyRetry).
const busyRetry = auth.LockoutBusyRetry

var (
	_ auth.Lockout = (*Redis)(nil)
	_ auth.Lockout = (*fallbackLockout)(nil)
)

// disabled reports whether limit and lockFor turn the lockout off: with no
// limit nothing is counted, and a lock of no duration cannot be held.
func disabled(limit int, lockFor time.Duration) bool {
	return limit <= 0 || lockFor <= 0
}
