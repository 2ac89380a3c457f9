package auth

import (
	"context"
	"time"
)

// Link-token kinds: what a one-time token sent by email proves.
const (
	LinkVerifyEmail   = "verify_email"
	LinkResetPassword = "reset_password"
)

// Email kinds, one template set each.
const (
	MailVerification    = "verification"
	MailPasswordReset   = "password_reset"
	MailPasswordChanged = "password_changed"
)

// Outbox statuses.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
)

// Message is a rendered email: what a MailComposer produces and the outbox
// keeps until it is sent.
type Message struct {
	Subject string
	Text    string
	HTML    string
}

// MailData is what the templates of an email may use.
type MailData struct {
	// Email is the recipient's address.
	Email     string
	FirstName string
	// Link is the verification or reset link, token included; empty for
	// the password-changed notice.
	Link string
	// ExpiresIn is the link's lifetime.
	ExpiresIn time.Duration
	// Time is when the action happened, for the password-changed notice.
	Time time.Time
}

// MailComposer renders emails and is told when new ones are queued. The
// mail adapter implements it; the domain only decides what to send.
type MailComposer interface {
	// Compose renders the email of kind for data.
	Compose(kind string, data MailData) (Message, error)
	// Link returns the absolute link to the application page for a token
	// of kind (the token in the URL fragment).
	Link(kind, token string) string
	// Queued wakes the outbox sender; it must not block.
	Queued()
}

// OutboxMessage is one email in the outbox. Once sent or failed its Subject,
// Text and HTML are empty: only the recipient, kind, status, attempts and
// times remain.
type OutboxMessage struct {
	ID            int64
	UserID        int64
	To            string
	Kind          string
	Message       Message
	Status        string
	Attempts      int
	CreatedAt     time.Time
	NextAttemptAt time.Time
	SentAt        *time.Time
	// LastError is the last delivery failure, as the SMTP server said it
	// (never a body or link).
	LastError string
}

// LinkRequest asks RecoveryStore.RequestLink to send a link email, subject
// to the per-address cooldown, in one transaction.
type LinkRequest struct {
	// AddressKey identifies the address the request named (a hash of the
	// normalised email), known or not: the cooldown is kept per address.
	AddressKey string
	Kind       string
	Now        time.Time
	Cooldown   time.Duration
	// Send is false when nothing may be sent (unknown, disabled or
	// already verified account): the cooldown is still claimed, so the
	// request does the same work as one that sends.
	Send bool
	// UserID, TokenHash, ExpiresAt and Mail describe what is stored when
	// Send is true and the cooldown allows.
	UserID    int64
	TokenHash string
	ExpiresAt time.Time
	Mail      OutboxMessage
}

// PasswordChange asks RecoveryStore.SetPassword to replace a password in one
// transaction.
type PasswordChange struct {
	UserID int64
	Hash   string
	Now    time.Time
	// KeepSession, when not empty, is the one session that stays live;
	// every other session of the account is revoked.
	KeepSession string
	// Verify marks the email verified too (a reset proves the address).
	Verify bool
	// Notice, when not nil, is queued in the same transaction.
	Notice *OutboxMessage
}

// RecoveryStore is what email verification, password reset and password
// change need from persistence. Each method is one transaction.
type RecoveryStore interface {
	// RequestLink claims the cooldown of (AddressKey, Kind) unless it is
	// still running; when it was claimed and Send is true it also spends
	// the user's earlier tokens of Kind, stores the new token's hash and
	// queues Mail. It reports whether an email was queued.
	RequestLink(ctx context.Context, r LinkRequest) (queued bool, err error)
	// LinkTokenUser returns the user of an unspent, unexpired token of kind
	// without spending it; ErrInvalidLinkToken otherwise.
	LinkTokenUser(ctx context.Context, kind, hash string, now time.Time) (User, error)
	// VerifyEmail spends a verify_email token and marks its user's email
	// verified; ErrInvalidLinkToken when the token is not live.
	VerifyEmail(ctx context.Context, hash string, now time.Time) (User, error)
	// ResetPassword spends a reset_password token and, in the same
	// transaction, applies c (UserID is taken from the token): of several
	// concurrent resets with one token exactly one succeeds.
	ResetPassword(ctx context.Context, hash string, c PasswordChange) (User, int, error)
	// SetPassword applies c: the new hash, every live reset token of the
	// user spent, sessions revoked (all but KeepSession), optionally the
	// email verified and Notice queued. It returns how many sessions
	// were revoked; ErrUserNotFound when the user is gone.
	SetPassword(ctx context.Context, c PasswordChange) (int, error)
	// SetEmailVerified sets the flag; ErrUserNotFound when the user is
	// gone.
	SetEmailVerified(ctx context.Context, userID int64, verified bool, now time.Time) (User, error)
}

// Outbox is the queue the mail sender works from. Claims carry a lease, so
// that replicas never send one message twice in normal operation and a
// crashed replica's claims run out.
type Outbox interface {
	// ClaimOutbox claims up to limit pending messages due at now for owner
	// until now+lease, counting an attempt for each.
	ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error)
	// MarkSent records a delivery by owner and clears the body.
	MarkSent(ctx context.Context, id int64, owner string, now time.Time) error
	// MarkRetry releases a failed attempt by owner, to be tried again at
	// next.
	MarkRetry(ctx context.Context, id int64, owner string, next time.Time, reason string) error
	// MarkFailed gives up on a message and clears the body.
	MarkFailed(ctx context.Context, id int64, owner string, now time.Time, reason string) error
	// ReleaseOutbox hands back a claimed message that was not attempted
	// (shutdown), uncounting its attempt.
	ReleaseOutbox(ctx context.Context, id int64, owner string) error
	// ListOutbox lists messages, newest first, of one status or all ("").
	ListOutbox(ctx context.Context, status string, limit int) ([]OutboxMessage, error)
	// OutboxDepth counts the pending messages.
	OutboxDepth(ctx context.Context) (int, error)
	// PruneRecovery deletes spent or expired link tokens and cooldowns that
	// ended before cutoff.
	PruneRecovery(ctx context.Context, cutoff time.Time) (int64, error)
}
