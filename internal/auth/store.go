package auth

import (
	"context"
	"time"
)

// Store is everything the domain needs from persistence. Implementations
// return the domain's sentinels for domain outcomes (ErrUserNotFound,
// ErrEmailTaken, ErrNotFound, …) and wrap infrastructure faults with
// ErrUnavailable, other database faults with ErrDatabase. Emails are passed
// already normalised (lower case).
type Store interface {
	// CreateUser inserts u; a taken email gives ErrEmailTaken (from the
	// unique constraint, so concurrent registrations cannot both succeed).
	CreateUser(ctx context.Context, u NewUser) (User, error)
	// UserByEmail gives ErrUserNotFound when there is no such user.
	UserByEmail(ctx context.Context, email string) (User, error)
	// UserByID gives ErrUserNotFound when there is no such user.
	UserByID(ctx context.Context, id int64) (User, error)
	// ListUsers returns up to limit users, oldest first.
	ListUsers(ctx context.Context, limit int) ([]User, error)
	// SetUserActive changes is_active and updated_at; ErrUserNotFound if absent.
	SetUserActive(ctx context.Context, id int64, active bool, now time.Time) (User, error)
	// DeleteUser removes a user with its sessions and tokens.
	DeleteUser(ctx context.Context, id int64) error

	// CreateSession stores a new login session and its first refresh token.
	CreateSession(ctx context.Context, s Session, first RefreshToken) error
	// UserForSession returns the user behind an access token in one round
	// trip: ErrUserNotFound when the user is gone, ErrSessionRevoked when
	// the session is missing, revoked or past its deadline at now.
	UserForSession(ctx context.Context, userID int64, sessionID string, now time.Time) (User, error)
	// Rotate spends a refresh token and issues its successor atomically:
	// it reads the token, its session and user, asks PlanRotation what to
	// do and does it, all in one transaction.
	Rotate(ctx context.Context, r Rotation) (Rotated, error)
	// RevokeSessionByToken revokes the session of the refresh token with
	// this hash; ErrNotFound when no token has it.
	RevokeSessionByToken(ctx context.Context, hash string, now time.Time) (Session, error)
	// RevokeSession revokes one of the user's sessions; ErrNotFound when the
	// user has no live session with that id.
	RevokeSession(ctx context.Context, userID int64, sessionID string, now time.Time) error
	// RevokeAllSessions revokes every live session of the user and returns
	// how many it revoked.
	RevokeAllSessions(ctx context.Context, userID int64, now time.Time) (int, error)
	// ListSessions returns the user's live sessions at now, newest first.
	ListSessions(ctx context.Context, userID int64, now time.Time) ([]Session, error)

	// Ping checks the database answers.
	Ping(ctx context.Context) error
}

// Rotation asks Store.Rotate to spend the token whose hash is PresentedHash
// and issue Next in its place, in one transaction. The rules, which
// PlanRotation decides (but for the first, the store's own lookup):
//
//   - no token with that hash: ErrInvalidToken;
//   - already spent more than Grace ago (or at all when Grace is 0): the
//     session is revoked (if it was not already), committed, and
//     ErrRefreshReused returned with the session and user filled in — this
//     is checked first, so every loser of a strict race sees reuse;
//   - its user inactive: ErrAccountDisabled, nothing changed (before
//     revocation: disabling an account revokes its sessions too);
//   - its session revoked: ErrSessionRevoked;
//   - the token expired, or the session past its deadline: ErrTokenExpired;
//   - otherwise the token is marked spent (if it was not), Next is stored in
//     the same session with ParentHash set, its expiry capped at the
//     session's deadline, and the session's last use and expiry updated.
//
// Of several concurrent rotations of one unspent token, exactly one finds it
// unspent.
type Rotation struct {
	PresentedHash string
	// Next carries the new token's Hash, IssuedAt and ExpiresAt; the store
	// fills in SessionID, UserID and ParentHash.
	Next  RefreshToken
	Now   time.Time
	Grace time.Duration
}

// Rotated is the outcome of a rotation.
type Rotated struct {
	User    User
	Session Session
	Token   RefreshToken
}

// Observer receives the domain's measurements; metrics adapters implement
// it. Every method must be cheap and safe for concurrent use.
type Observer interface {
	// Event counts an authentication event such as "user.registered".
	Event(name string)
	// HashQueued reports a change in the number of callers waiting for a
	// hashing slot (+1 on arrival, -1 on leaving).
	HashQueued(delta int)
	// HashDone reports one hash or comparison: how long it waited for a
	// slot and how long it took; op is "hash" or "compare".
	HashDone(op string, wait, took time.Duration)
}

type nopObserver struct{}

func (nopObserver) Event(string)                                  {}
func (nopObserver) HashQueued(int)                                {}
func (nopObserver) HashDone(string, time.Duration, time.Duration) {}
