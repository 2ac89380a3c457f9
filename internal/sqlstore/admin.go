package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// Administration (auth.AdminStore): the paged user listing, partial
// updates, the admin keys, and the lockout's unlock.

var _ auth.AdminStore = (*Store)(nil)

const (
	// qListUsersPage is keyset pagination on the primary key: ids grow
	// with creation, so a page starts where the last one ended and rows
	// inserted meanwhile never shift it. '!' escapes LIKE's wildcards in
	// the prefix (a backslash means different things per engine).
	qListUsersPage = `SELECT ` + userColumns + ` FROM users
WHERE id > ? AND email LIKE ? ESCAPE '!' ORDER BY id LIMIT ?`

	// qUpdateUser sets what the patch carries: a NULL is_active, or a
	// name flag of 0, keeps the column as it is.
	qUpdateUser = `UPDATE users SET
is_active = COALESCE(?, is_active),
email_verified = COALESCE(?, email_verified),
first_name = CASE WHEN ? = 1 THEN ? ELSE first_name END,
last_name = CASE WHEN ? = 1 THEN ? ELSE last_name END,
updated_at = ?
WHERE id = ?`

	qInsertAdminKey = `INSERT INTO admin_keys (name, key_hash, created_at, last_used_at) VALUES (?, ?, ?, NULL)`
	qAdminKeyByHash = `SELECT name, key_hash, created_at, last_used_at FROM admin_keys WHERE key_hash = ?`
	qTouchAdminKey  = `UPDATE admin_keys SET last_used_at = ? WHERE name = ? AND (last_used_at IS NULL OR last_used_at < ?)`
	qListAdminKeys  = `SELECT name, key_hash, created_at, last_used_at FROM admin_keys ORDER BY name`
	qDeleteAdminKey = `DELETE FROM admin_keys WHERE name = ?`
	// qLockedAttempts selects a key and the keys with a prefix (a LIKE
	// pattern; one that matches nothing when there is no prefix: the
	// domain never makes the empty key), as Clear does (lockout_clear.go).
	qLockedAttempts    = `SELECT COUNT(*) FROM login_attempts WHERE (attempt_key = ? OR attempt_key LIKE ? ESCAPE '!') AND locked_until > ?`
	likeEscape         = "!"
	likeEscapedChars   = "!%_"
	adminKeyHashLength = 64
)

// likePrefix is the LIKE pattern of every string that begins with p.
func likePrefix(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(likeEscapedChars, r) {
			b.WriteString(likeEscape)
		}
		b.WriteRune(r)
	}
	b.WriteByte('%')
	return b.String()
}

// ListUsersPage implements auth.AdminStore.
func (s *Store) ListUsersPage(ctx context.Context, uq auth.UserQuery) ([]auth.User, error) {
	users := []auth.User{}
	if uq.Limit <= 0 {
		return users, nil
	}
	q, err := s.queries(ctx)
	if err != nil {
		return nil, s.wrap("list users page", err)
	}
	users, err = collect(ctx, q.listUsersPage, scanUser, uq.AfterID, likePrefix(strings.ToLower(uq.EmailPrefix)), uq.Limit)
	return users, s.wrap("list users page", err)
}

// UpdateUser implements auth.AdminStore: the update, the revocation of
// every live session when it disables the account, the audit events and
// a read of the result, in one transaction.
func (s *Store) UpdateUser(ctx context.Context, id int64, p auth.UserPatch, now time.Time) (auth.User, int, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return auth.User{}, 0, s.wrap("update user", err)
	}
	var active, verified any
	if p.IsActive != nil {
		active = *p.IsActive
	}
	if p.EmailVerified != nil {
		verified = *p.EmailVerified
	}
	setFirst, setLast := 0, 0
	if p.FirstName != nil {
		setFirst = 1
	}
	if p.LastName != nil {
		setLast = 1
	}
	var first, last any
	if p.FirstName != nil {
		first = nullString(*p.FirstName)
	}
	if p.LastName != nil {
		last = nullString(*p.LastName)
	}
	t := s.d.ts(now)
	var u auth.User
	var revoked int
	err = s.tx(ctx, func(tx *sql.Tx) error {
		revoked = 0
		res, err := tx.StmtContext(ctx, q.updateUser).ExecContext(ctx, active, verified, setFirst, first, setLast, last, t, id)
		if err != nil {
			return err
		}
		// MySQL counts rows changed, not matched: an update to the same
		// values is 0 there, so existence is decided by the read below.
		_ = res
		if u, err = scanUser(tx.StmtContext(ctx, q.userByID).QueryRowContext(ctx, id)); err != nil {
			return err
		}
		if p.IsActive != nil && !*p.IsActive {
			res, err := tx.StmtContext(ctx, q.revokeAllSessions).ExecContext(ctx, t, id, t, t)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			revoked = int(n)
		}
		return s.writeAudit(ctx, tx, q, id)
	})
	switch {
	case err == nil:
		return u, revoked, nil
	case errors.Is(err, sql.ErrNoRows):
		return auth.User{}, 0, auth.ErrUserNotFound
	default:
		return auth.User{}, 0, s.wrap("update user", err)
	}
}

func scanAdminKey(row scanner) (auth.AdminKey, error) {
	var k auth.AdminKey
	err := row.Scan(&k.Name, &k.Hash, timeDest{&k.CreatedAt}, nullTimeDest{&k.LastUsedAt})
	return k, err
}

// CreateAdminKey implements auth.AdminStore.
func (s *Store) CreateAdminKey(ctx context.Context, k auth.AdminKey) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("create admin key", err)
	}
	err = s.audited(ctx, q, func(on stmtOn) (int64, error) {
		_, err := on(q.insertAdminKey).ExecContext(ctx, k.Name, k.Hash, s.d.ts(k.CreatedAt))
		return 0, err
	})
	switch {
	case err == nil:
		return nil
	case s.d.isUnique(err):
		return auth.ErrNameTaken
	default:
		return s.wrap("create admin key", err)
	}
}

// AdminKeyByHash implements auth.AdminStore.
func (s *Store) AdminKeyByHash(ctx context.Context, hash string) (auth.AdminKey, error) {
	if len(hash) != adminKeyHashLength {
		return auth.AdminKey{}, auth.ErrNotFound
	}
	q, err := s.queries(ctx)
	if err != nil {
		return auth.AdminKey{}, s.wrap("admin key by hash", err)
	}
	k, err := scanAdminKey(q.adminKeyByHash.QueryRowContext(ctx, hash))
	switch {
	case err == nil:
		return k, nil
	case errors.Is(err, sql.ErrNoRows):
		return auth.AdminKey{}, auth.ErrNotFound
	default:
		return auth.AdminKey{}, s.wrap("admin key by hash", err)
	}
}

// TouchAdminKey implements auth.AdminStore.
func (s *Store) TouchAdminKey(ctx context.Context, name string, now time.Time, interval time.Duration) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("touch admin key", err)
	}
	_, err = q.touchAdminKey.ExecContext(ctx, s.d.ts(now), name, s.d.ts(now.Add(-interval)))
	return s.wrap("touch admin key", err)
}

// ListAdminKeys implements auth.AdminStore.
func (s *Store) ListAdminKeys(ctx context.Context) ([]auth.AdminKey, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return nil, s.wrap("list admin keys", err)
	}
	keys, err := collect(ctx, q.listAdminKeys, scanAdminKey)
	return keys, s.wrap("list admin keys", err)
}

// DeleteAdminKey implements auth.AdminStore.
func (s *Store) DeleteAdminKey(ctx context.Context, name string) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("delete admin key", err)
	}
	err = s.audited(ctx, q, func(on stmtOn) (int64, error) {
		res, err := on(q.deleteAdminKey).ExecContext(ctx, name)
		if err != nil {
			return 0, err
		}
		return 0, affected(res)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNoChange):
		return auth.ErrNotFound
	default:
		return s.wrap("delete admin key", err)
	}
}

// keyArgs are the arguments that select the key exact and the keys that
// begin with prefix in qLockedAttempts. A key longer than the key column
// is stored hashed (attemptKey) and is not found by its prefix; an
// account's email with a client address is far shorter.
func (s *Store) keyArgs(exact, prefix string) []any {
	if exact != "" {
		exact = s.d.attemptKey(exact)
	}
	like := "" // matches only the empty key
	if prefix != "" {
		like = likePrefix(prefix)
	}
	return []any{exact, like}
}

// Locked implements auth.Lockout.
func (s *Store) Locked(ctx context.Context, exact, prefix string, now time.Time) (bool, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return false, s.wrap("read login attempts", err)
	}
	var n int64
	if err := q.lockedAttempts.QueryRowContext(ctx, append(s.keyArgs(exact, prefix), s.d.ts(now))...).Scan(&n); err != nil {
		return false, s.wrap("read login attempts", err)
	}
	return n > 0, nil
}

// prepareAdmin prepares the statements of the audit log and
// administration, for Store.queries.
func (s *Store) prepareAdmin(st *statements, prepare func(dst **sql.Stmt, query string) error) error {
	all, byUser, byEvent, byUserEvent := auditListSQL()
	return errors.Join(
		prepare(&st.insertAudit, qInsertAudit),
		prepare(&st.pruneAudit, qPruneAudit),
		prepare(&st.listAudit.all, all),
		prepare(&st.listAudit.byUser, byUser),
		prepare(&st.listAudit.byEvent, byEvent),
		prepare(&st.listAudit.byUserEvent, byUserEvent),
		prepare(&st.listUsersPage, qListUsersPage),
		prepare(&st.updateUser, qUpdateUser),
		prepare(&st.lockedAttempts, qLockedAttempts),
		prepare(&st.insertAdminKey, qInsertAdminKey),
		prepare(&st.adminKeyByHash, qAdminKeyByHash),
		prepare(&st.touchAdminKey, qTouchAdminKey),
		prepare(&st.listAdminKeys, qListAdminKeys),
		prepare(&st.deleteAdminKey, qDeleteAdminKey),
	)
}
