package breaker

import (
	"context"
	"errors"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// The audit log and administration through the breaker: auth.AuditStore
// and auth.AdminStore, when the inner store implements them (the SQL
// store does), and the lockout's unlock.

var (
	_ auth.AuditStore = (*Store)(nil)
	_ auth.AdminStore = (*Store)(nil)
)

// errNoAdmin is returned when the inner store does not implement the
// audit log or administration.
var errNoAdmin = errors.New("breaker: the store has no audit log or administration")

func (s *Store) adminStore() (auth.AdminStore, error) {
	a, ok := s.inner.(auth.AdminStore)
	if !ok {
		return nil, errNoAdmin
	}
	return a, nil
}

func (s *Store) auditStore() (auth.AuditStore, error) {
	a, ok := s.inner.(auth.AuditStore)
	if !ok {
		return nil, errNoAdmin
	}
	return a, nil
}

// Locked calls the lockout store's Locked through the breaker.
func (s *Store) Locked(ctx context.Context, exact, prefix string, now time.Time) (bool, error) {
	if s.lock == nil {
		return false, errNoLockout
	}
	return call(ctx, s, "lockout_locked", func(ctx context.Context) (bool, error) {
		return s.lock.Locked(ctx, exact, prefix, now)
	})
}

// InsertAudit calls the inner store's InsertAudit through the breaker.
func (s *Store) InsertAudit(ctx context.Context, events []auth.AuditEvent) error {
	a, err := s.auditStore()
	if err != nil {
		return err
	}
	return exec(ctx, s, "insert_audit", func(ctx context.Context) error {
		return a.InsertAudit(ctx, events)
	})
}

// ListAudit calls the inner store's ListAudit through the breaker.
func (s *Store) ListAudit(ctx context.Context, q auth.AuditQuery) ([]auth.AuditEvent, error) {
	a, err := s.auditStore()
	if err != nil {
		return nil, err
	}
	return call(ctx, s, "list_audit", func(ctx context.Context) ([]auth.AuditEvent, error) {
		return a.ListAudit(ctx, q)
	})
}

// PruneAudit calls the inner store's PruneAudit through the breaker.
func (s *Store) PruneAudit(ctx context.Context, cutoff time.Time) (int64, error) {
	a, err := s.auditStore()
	if err != nil {
		return 0, err
	}
	return call(ctx, s, "prune_audit", func(ctx context.Context) (int64, error) {
		return a.PruneAudit(ctx, cutoff)
	})
}

// ListUsersPage calls the inner store's ListUsersPage through the breaker.
func (s *Store) ListUsersPage(ctx context.Context, q auth.UserQuery) ([]auth.User, error) {
	a, err := s.adminStore()
	if err != nil {
		return nil, err
	}
	return call(ctx, s, "list_users_page", func(ctx context.Context) ([]auth.User, error) {
		return a.ListUsersPage(ctx, q)
	})
}

// updated is UpdateUser's two results, for call.
type updated struct {
	user    auth.User
	revoked int
}

// UpdateUser calls the inner store's UpdateUser through the breaker.
func (s *Store) UpdateUser(ctx context.Context, id int64, p auth.UserPatch, now time.Time) (auth.User, int, error) {
	a, err := s.adminStore()
	if err != nil {
		return auth.User{}, 0, err
	}
	r, err := call(ctx, s, "update_user", func(ctx context.Context) (updated, error) {
		u, n, err := a.UpdateUser(ctx, id, p, now)
		return updated{u, n}, err
	})
	return r.user, r.revoked, err
}

// CreateAdminKey calls the inner store's CreateAdminKey through the breaker.
func (s *Store) CreateAdminKey(ctx context.Context, k auth.AdminKey) error {
	a, err := s.adminStore()
	if err != nil {
		return err
	}
	return exec(ctx, s, "create_admin_key", func(ctx context.Context) error {
		return a.CreateAdminKey(ctx, k)
	})
}

// AdminKeyByHash calls the inner store's AdminKeyByHash through the breaker.
func (s *Store) AdminKeyByHash(ctx context.Context, hash string) (auth.AdminKey, error) {
	a, err := s.adminStore()
	if err != nil {
		return auth.AdminKey{}, err
	}
	return call(ctx, s, "admin_key_by_hash", func(ctx context.Context) (auth.AdminKey, error) {
		return a.AdminKeyByHash(ctx, hash)
	})
}

// TouchAdminKey calls the inner store's TouchAdminKey through the breaker.
func (s *Store) TouchAdminKey(ctx context.Context, name string, now time.Time, interval time.Duration) error {
	a, err := s.adminStore()
	if err != nil {
		return err
	}
	return exec(ctx, s, "touch_admin_key", func(ctx context.Context) error {
		return a.TouchAdminKey(ctx, name, now, interval)
	})
}

// ListAdminKeys calls the inner store's ListAdminKeys through the breaker.
func (s *Store) ListAdminKeys(ctx context.Context) ([]auth.AdminKey, error) {
	a, err := s.adminStore()
	if err != nil {
		return nil, err
	}
	return call(ctx, s, "list_admin_keys", a.ListAdminKeys)
}

// DeleteAdminKey calls the inner store's DeleteAdminKey through the breaker.
func (s *Store) DeleteAdminKey(ctx context.Context, name string) error {
	a, err := s.adminStore()
	if err != nil {
		return err
	}
	return exec(ctx, s, "delete_admin_key", func(ctx context.Context) error {
		return a.DeleteAdminKey(ctx, name)
	})
}
