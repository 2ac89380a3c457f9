// Package lockout implements auth.Lockout, the per-key counter of login
// attempts that locks a key after too many failures: in process, in Redis
// shared by every replica, or in Redis with an in-process fallback for
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
// attempts are all in progress: they end within a password check, so a
// short wait tells whether they locked the key or freed it.
const busyRetry = time.Second

var (
	_ auth.Lockout = (*Memory)(nil)
	_ auth.Lockout = (*Redis)(nil)
	_ auth.Lockout = (*fallback)(nil)
)

// disabled reports whether limit and lockFor turn the lockout off: with no
// limit nothing is counted, and a lock of no duration cannot be held.
func disabled(limit int, lockFor time.Duration) bool {
	return limit <= 0 || lockFor <= 0
}
