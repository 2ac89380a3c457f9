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
	// Rotate spends a refresh token and issues its successor atomically;
	// see Rotation for the rules.
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
// and issue Next in its place, in one transaction:
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

// Lockout counts login attempts per key (an email, or an email and client
// address) atomically, so that parallel guesses cannot exceed the limit.
// A key's state expires lockFor after its last change.
type Lockout interface {
	// Reserve counts one attempt in progress against key. It returns a
	// positive retry-after, counting nothing, when key is locked or when
	// limit attempts are already counted.
	Reserve(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (time.Duration, error)
	// Fail turns a reserved attempt into a failure; when the count reaches
	// limit the key is locked for lockFor and locked reports true (once).
	Fail(ctx context.Context, key string, limit int, lockFor time.Duration, now time.Time) (locked bool, err error)
	// Succeed ends a reserved attempt that succeeded: reset clears the key,
	// otherwise only the reservation is released.
	Succeed(ctx context.Context, key string, reset bool) error
	// Clear forgets the key exact and every key that begins with prefix
	// (either may be empty), locked or not: an administrator unlocking an
	// email clears all of its keys, whatever client addresses they name.
	// A prefix ends with "|" (the domain's "pair:EMAIL|" groups).
	Clear(ctx context.Context, exact, prefix string) error
	// Locked reports whether the key exact, or a key that begins with
	// prefix, is locked at now.
	Locked(ctx context.Context, exact, prefix string, now time.Time) (bool, error)
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
