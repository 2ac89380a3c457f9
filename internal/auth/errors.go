package auth

import (
	"errors"
	"fmt"
	"time"
)

// The domain's error vocabulary. Adapters translate these, and only these,
// into responses; anything else is an internal error.
var (
	ErrInvalidCredentials = errors.New("invalid email or password")
	ErrEmailTaken         = errors.New("email already registered")
	ErrUserNotFound       = errors.New("user not found")
	ErrNotFound           = errors.New("not found")
	ErrAccountDisabled    = errors.New("account disabled")
	ErrInvalidToken       = errors.New("invalid token")
	ErrTokenExpired       = errors.New("token expired")
	ErrRefreshReused      = errors.New("refresh token reused")
	// ErrSessionRevoked means the login session behind a token was logged
	// out, revoked or has passed its deadline.
	ErrSessionRevoked = errors.New("session revoked")
	// ErrUnavailable marks an infrastructure fault (database down, timed out,
	// circuit open). Stores wrap driver errors with it so the breaker can
	// tell outages from domain outcomes.
	ErrUnavailable = errors.New("service unavailable")
	// ErrDatabase is a database fault that is not an outage (a constraint
	// or query the domain did not expect).
	ErrDatabase = errors.New("database error")
	// ErrOverloaded means no password-hashing slot freed up in time.
	ErrOverloaded = errors.New("overloaded")
	// ErrLocked is wrapped by *LockedError.
	ErrLocked = errors.New("account locked")
	// ErrInvalidLinkToken means an email-verification or password-reset
	// token is unknown, expired, used or malformed: one error for all, so
	// that nothing tells them apart.
	ErrInvalidLinkToken = errors.New("invalid or expired link token")
	// ErrEmailNotVerified refuses the login of an unverified account when
	// verification is required.
	ErrEmailNotVerified = errors.New("email not verified")
)

// FieldError is one broken input rule.
type FieldError struct {
	Field   string
	Message string
}

// ValidationError lists every broken input rule of a request.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Fields) == 0 {
		return "validation failed"
	}
	return fmt.Sprintf("validation failed: %s: %s", e.Fields[0].Field, e.Fields[0].Message)
}

// Add records a broken rule.
func (e *ValidationError) Add(field, message string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: message})
}

// OrNil returns e when it holds a broken rule, else nil.
func (e *ValidationError) OrNil() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// RetryError is an error that tells the client when to try again: a lockout,
// an open circuit or a full hashing queue. It matches its Kind with errors.Is.
type RetryError struct {
	Kind       error
	RetryAfter time.Duration
	Cause      error
}

func (e *RetryError) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%v: %v", e.Kind, e.Cause)
	}
	return e.Kind.Error()
}

// Is reports whether target is e's kind, so errors.Is(err, ErrLocked) works.
func (e *RetryError) Is(target error) bool { return target == e.Kind }

// Unwrap exposes the cause.
func (e *RetryError) Unwrap() error { return e.Cause }

// RetryAfter returns the retry hint carried by err, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var re *RetryError
	if errors.As(err, &re) {
		return re.RetryAfter, true
	}
	return 0, false
}
