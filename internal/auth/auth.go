// Package auth is the domain of authserve: accounts, credentials, login
// sessions and the rules that govern them. It knows nothing of HTTP, SQL or
// any framework; adapters implement its Store, Lockout and Observer
// interfaces and translate its errors at their own edges.
package auth

import (
	"time"
)

// User is an account. PasswordHash never leaves the domain and its stores.
type User struct {
	ID           int64
	Email        string
	PasswordHash string
	FirstName    string
	LastName     string
	IsActive     bool
	// EmailVerified is true once the owner proved the address is theirs
	// (a verification link, a password reset, or an administrator).
	EmailVerified bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// MFAEnabled says the account has an active second factor: its logins
	// take two steps (mfa.go).
	MFAEnabled bool
}

// NewUser is what Store.CreateUser inserts; the store assigns ID and times.
type NewUser struct {
	Email        string
	PasswordHash string
	FirstName    string
	LastName     string
	IsActive     bool
	CreatedAt    time.Time
}

// Session is a login session: one refresh-token family, started by a login
// and ended by logout, revocation, reuse detection or its deadline.
type Session struct {
	ID         string
	UserID     int64
	CreatedAt  time.Time
	LastUsedAt time.Time
	// ExpiresAt is when the session ends unless refreshed: the expiry of its
	// newest refresh token, never later than Deadline.
	ExpiresAt time.Time
	// Deadline is the absolute end of the session (AUTH_SESSION_MAX_LIFETIME
	// after login), whatever its refreshes.
	Deadline  time.Time
	RevokedAt *time.Time
	ClientIP  string
	UserAgent string
	// AAL ("aal1", "aal2") and AMR (RFC 8176 methods) say how the login
	// was authenticated; refreshes keep them. Empty means aal1 by password.
	AAL string
	AMR []string
}

// RefreshToken is the stored form of an opaque refresh token: only its hash
// is kept.
type RefreshToken struct {
	Hash       string
	ParentHash string
	SessionID  string
	UserID     int64
	IssuedAt   time.Time
	ExpiresAt  time.Time
	SpentAt    *time.Time
}

// Client describes who is calling: used for sessions and lockout keys.
type Client struct {
	IP        string
	UserAgent string
}
