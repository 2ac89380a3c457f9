package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// The operations of the administration API (contract section 10). Each
// change is recorded in the audit log as an admin.* event, committed with
// the change; the actor is the admin key named by the request's Origin.

// ErrNameTaken means an admin key with that name exists already.
var ErrNameTaken = errors.New("name already taken")

// ErrNoAdmin means the service was built without the stores that
// administration needs (Deps.Admin, Deps.AuditLog).
var ErrNoAdmin = errors.New("administration is not configured")

// Page sizes of the administration listings.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// UserPatch is a partial update of an account; nil fields stay as they are.
type UserPatch struct {
	IsActive      *bool
	EmailVerified *bool
	FirstName     *string
	LastName      *string
}

// UserQuery selects accounts, in creation (id) order.
type UserQuery struct {
	// EmailPrefix keeps the accounts whose (lower-case) email begins with
	// it; "" keeps all.
	EmailPrefix string
	// AfterID continues a listing after the account with this id.
	AfterID int64
	Limit   int
}

// UserDetail is an account as an administrator sees it.
type UserDetail struct {
	User
	// Locked reports a login lock on the email, from any address.
	Locked bool
	// MFAEnabled reports an active second factor.
	MFAEnabled bool
}

// AdminStore is what administration needs from persistence beyond Store.
type AdminStore interface {
	// ListUsersPage returns up to q.Limit accounts with id above q.AfterID
	// whose email begins with q.EmailPrefix, by id.
	ListUsersPage(ctx context.Context, q UserQuery) ([]User, error)
	// UpdateUser applies p and sets updated_at to now in one transaction;
	// when p disables the account, every live session is revoked in the
	// same transaction and their number returned. ErrUserNotFound when
	// there is no such account. Pending audit events are committed with
	// the change.
	UpdateUser(ctx context.Context, id int64, p UserPatch, now time.Time) (User, int, error)

	// CreateAdminKey stores a new key; ErrNameTaken when the name is.
	CreateAdminKey(ctx context.Context, k AdminKey) error
	// AdminKeyByHash finds a key by the hash of its secret; ErrNotFound.
	AdminKeyByHash(ctx context.Context, hash string) (AdminKey, error)
	// TouchAdminKey records a use of the key at now, at most once per
	// interval (older uses are overwritten, recent ones kept).
	TouchAdminKey(ctx context.Context, name string, now time.Time, interval time.Duration) error
	// ListAdminKeys returns every key, by name.
	ListAdminKeys(ctx context.Context) ([]AdminKey, error)
	// DeleteAdminKey removes a key; ErrNotFound when there is none.
	DeleteAdminKey(ctx context.Context, name string) error
}

func (s *Service) adminReady() error {
	if s.admin == nil || s.auditLog == nil {
		return ErrNoAdmin
	}
	return nil
}

// pageSize clamps a requested page size to 1..MaxPageSize
// (DefaultPageSize when not positive); the adapter decides whether a
// larger request is an error.
func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultPageSize
	}
	return min(limit, MaxPageSize)
}

// ListUsersPage lists accounts in creation order, a page at a time, and
// reports whether more follow. See pageSize for the limit.
func (s *Service) ListUsersPage(ctx context.Context, q UserQuery) ([]User, bool, error) {
	if err := s.adminReady(); err != nil {
		return nil, false, err
	}
	limit := pageSize(q.Limit)
	// One more than asked tells whether another page follows.
	q.Limit = limit + 1
	q.EmailPrefix = strings.ToLower(strings.TrimSpace(q.EmailPrefix))
	us, err := s.admin.ListUsersPage(ctx, q)
	if err != nil {
		return nil, false, fmt.Errorf("list users: %w", err)
	}
	if len(us) > limit {
		return us[:limit], true, nil
	}
	return us, false, nil
}

// CreateUser creates an active account under the registration policy, as
// an administrator.
func (s *Service) CreateUser(ctx context.Context, r Registration) (User, error) {
	return s.register(ctx, r, "admin.user_created")
}

// UserDetail returns an account with its lock and MFA state.
func (s *Service) UserDetail(ctx context.Context, id int64) (UserDetail, error) {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return UserDetail{}, fmt.Errorf("find user: %w", err)
	}
	d := UserDetail{User: u, MFAEnabled: u.MFAEnabled}
	if s.lockout != nil {
		exact, prefix := lockoutKeys(u.Email)
		if d.Locked, err = s.lockout.Locked(ctx, exact, prefix, s.now()); err != nil {
			return UserDetail{}, fmt.Errorf("read lockout: %w", err)
		}
	}
	return d, nil
}

// lockoutKeys are the key under which the lockout counts an email's
// logins from everywhere, and the prefix of its per-address keys (see
// reserveAttempt).
func lockoutKeys(email string) (exact, prefix string) {
	return "acct:" + email, "pair:" + email + "|"
}

// UpdateUser changes an account's state and names. Disabling it revokes
// its sessions in the same transaction, as the CLI's `user disable` does.
func (s *Service) UpdateUser(ctx context.Context, id int64, p UserPatch) (User, error) {
	if err := s.adminReady(); err != nil {
		return User{}, err
	}
	var v ValidationError
	details := map[string]any{}
	if p.FirstName != nil {
		name, msg := cleanName(*p.FirstName)
		if msg != "" {
			v.Add("first_name", msg)
		}
		p.FirstName = &name
		details["first_name"] = true
	}
	if p.LastName != nil {
		name, msg := cleanName(*p.LastName)
		if msg != "" {
			v.Add("last_name", msg)
		}
		p.LastName = &name
		details["last_name"] = true
	}
	if err := v.OrNil(); err != nil {
		return User{}, err
	}
	if p.IsActive != nil {
		details["is_active"] = *p.IsActive
	}
	if p.EmailVerified != nil {
		details["email_verified"] = *p.EmailVerified
	}
	u, n, err := s.admin.UpdateUser(s.audit(ctx, "admin.user_updated", id, details), id, p, s.now().UTC())
	if err != nil {
		return User{}, fmt.Errorf("update user: %w", err)
	}
	s.event(ctx, "admin.user_updated", slog.Int64("user_id", id), slog.Int("sessions_revoked", n))
	return u, nil
}

// DeleteUserByID removes an account with its sessions, as an administrator.
func (s *Service) DeleteUserByID(ctx context.Context, id int64) error {
	if err := s.store.DeleteUser(s.audit(ctx, "admin.user_deleted", id, nil), id); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	s.event(ctx, "admin.user_deleted", slog.Int64("user_id", id))
	return nil
}

// UnlockUser clears every login lock and failure count of the account's
// email: from everywhere and per client address.
func (s *Service) UnlockUser(ctx context.Context, id int64) error {
	if err := s.adminReady(); err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return fmt.Errorf("find user: %w", err)
	}
	if s.lockout != nil {
		exact, prefix := lockoutKeys(u.Email)
		if err := s.lockout.Clear(ctx, exact, prefix); err != nil {
			return fmt.Errorf("clear lockout: %w", err)
		}
	}
	// The counters may live in Redis, outside any database transaction:
	// the event follows the change it records.
	if s.auditOn {
		if err := s.auditLog.InsertAudit(ctx, []AuditEvent{s.auditEvent(ctx, "admin.user_unlocked", id, nil)}); err != nil {
			return fmt.Errorf("record unlock: %w", err)
		}
	}
	s.event(ctx, "admin.user_unlocked", slog.Int64("user_id", id))
	return nil
}

// SendPasswordReset emails the account a password-reset link, as
// POST /api/auth/password/forgot would, and reports whether it was queued:
// false while the address's cooldown from an earlier email lasts. A
// disabled account gets ErrAccountDisabled.
func (s *Service) SendPasswordReset(ctx context.Context, id int64) (bool, error) {
	if err := s.adminReady(); err != nil {
		return false, err
	}
	if !s.recoveryEnabled() {
		return false, errNoRecovery
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return false, fmt.Errorf("find user: %w", err)
	}
	if !u.IsActive {
		return false, ErrAccountDisabled
	}
	queued, err := s.queueLink(s.audit(ctx, "admin.password_reset_sent", u.ID, nil), LinkResetPassword, u.Email, u, true)
	if err != nil {
		return false, err
	}
	s.event(ctx, "admin.password_reset_sent", slog.Int64("user_id", u.ID), slog.Bool("queued", queued))
	return queued, nil
}

// RemoveUserMFA removes every second factor and recovery code of the
// account, as `authserve user mfa-reset` does, and returns how many
// factors went.
func (s *Service) RemoveUserMFA(ctx context.Context, id int64) (int, error) {
	if err := s.adminReady(); err != nil {
		return 0, err
	}
	if s.mfa == nil {
		return 0, ErrNoAdmin
	}
	if _, err := s.store.UserByID(ctx, id); err != nil {
		return 0, fmt.Errorf("find user: %w", err)
	}
	n, err := s.mfa.ResetMFA(s.audit(ctx, "admin.mfa_removed", id, nil), id)
	if err != nil {
		return 0, fmt.Errorf("reset MFA: %w", err)
	}
	s.event(ctx, "admin.mfa_removed", slog.Int64("user_id", id), slog.Int("factors_removed", n))
	return n, nil
}

// UserSessions lists an account's live sessions, newest first.
func (s *Service) UserSessions(ctx context.Context, id int64) ([]Session, error) {
	if _, err := s.store.UserByID(ctx, id); err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	list, err := s.store.ListSessions(ctx, id, s.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return list, nil
}

// RevokeUserSessions logs an account out everywhere, as an administrator,
// and returns how many sessions ended.
func (s *Service) RevokeUserSessions(ctx context.Context, id int64) (int, error) {
	if _, err := s.store.UserByID(ctx, id); err != nil {
		return 0, fmt.Errorf("find user: %w", err)
	}
	n, err := s.store.RevokeAllSessions(s.audit(ctx, "admin.sessions_revoked", id, nil), id, s.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	s.event(ctx, "admin.sessions_revoked", slog.Int64("user_id", id), slog.Int("sessions", n))
	return n, nil
}

// Audit lists audit events, newest first, a page at a time, and reports
// whether more follow. See pageSize for the limit.
func (s *Service) Audit(ctx context.Context, q AuditQuery) ([]AuditEvent, bool, error) {
	if err := s.adminReady(); err != nil {
		return nil, false, err
	}
	limit := pageSize(q.Limit)
	q.Limit = limit + 1
	ev, err := s.auditLog.ListAudit(ctx, q)
	if err != nil {
		return nil, false, fmt.Errorf("list audit events: %w", err)
	}
	if len(ev) > limit {
		return ev[:limit], true, nil
	}
	return ev, false, nil
}

// PruneAudit deletes audit events older than retention.
func (s *Service) PruneAudit(ctx context.Context, retention time.Duration) (int64, error) {
	if err := s.adminReady(); err != nil {
		return 0, err
	}
	n, err := s.auditLog.PruneAudit(ctx, s.now().UTC().Add(-retention))
	if err != nil {
		return 0, fmt.Errorf("prune audit events: %w", err)
	}
	return n, nil
}
