package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

type scanner interface{ Scan(dest ...any) error }

// userDest lists the scan targets of userColumns, in order.
func userDest(u *auth.User) []any {
	return []any{&u.ID, &u.Email, &u.PasswordHash, &u.FirstName, &u.LastName, &u.IsActive, &u.EmailVerified,
		timeDest{&u.CreatedAt}, timeDest{&u.UpdatedAt}, &u.MFAEnabled}
}

func scanUser(row scanner) (auth.User, error) {
	var u auth.User
	err := row.Scan(userDest(&u)...)
	return u, err
}

// CreateUser inserts u. The email is stored lower-cased (the domain already
// normalises it; this keeps a careless caller from storing a second
// spelling). The unique indexes on email and lower(email) settle concurrent
// registrations: every loser gets auth.ErrEmailTaken.
func (s *Store) CreateUser(ctx context.Context, nu auth.NewUser) (auth.User, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return auth.User{}, s.wrap("create user", err)
	}
	created := nu.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	u := auth.User{
		Email:        strings.ToLower(nu.Email),
		PasswordHash: nu.PasswordHash,
		FirstName:    nu.FirstName,
		LastName:     nu.LastName,
		IsActive:     nu.IsActive,
		CreatedAt:    utc(created),
		UpdatedAt:    utc(created),
	}
	args := []any{u.Email, u.PasswordHash, nullString(u.FirstName), nullString(u.LastName), u.IsActive,
		s.d.ts(u.CreatedAt), s.d.ts(u.UpdatedAt)}
	err = s.audited(ctx, q, func(on stmtOn) (int64, error) {
		if s.d.returning {
			err := on(q.createUser).QueryRowContext(ctx, args...).Scan(&u.ID)
			return u.ID, err
		}
		res, err := on(q.createUser).ExecContext(ctx, args...)
		if err != nil {
			return 0, err
		}
		u.ID, err = res.LastInsertId()
		return u.ID, err
	})
	switch {
	case err == nil:
		return u, nil
	case s.d.isUnique(err):
		return auth.User{}, auth.ErrEmailTaken
	default:
		return auth.User{}, s.wrap("create user", err)
	}
}

// UserByEmail finds a user by (lower-cased) email.
func (s *Store) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	return s.oneUser(ctx, "user by email", func(q *statements) *sql.Row {
		return q.userByEmail.QueryRowContext(ctx, strings.ToLower(email))
	})
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (auth.User, error) {
	return s.oneUser(ctx, "user by id", func(q *statements) *sql.Row {
		return q.userByID.QueryRowContext(ctx, id)
	})
}

// SetUserActive enables or disables a user.
func (s *Store) SetUserActive(ctx context.Context, id int64, active bool, now time.Time) (auth.User, error) {
	if !s.d.returning || len(auth.PendingAudit(ctx)) > 0 {
		return s.setUserActiveThenRead(ctx, id, active, now)
	}
	return s.oneUser(ctx, "set user active", func(q *statements) *sql.Row {
		return q.setUserActive.QueryRowContext(ctx, active, s.d.ts(now), id)
	})
}

// setUserActiveThenRead is SetUserActive without UPDATE … RETURNING: the
// update, then a read of the row it still holds locked.
func (s *Store) setUserActiveThenRead(ctx context.Context, id int64, active bool, now time.Time) (auth.User, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return auth.User{}, s.wrap("set user active", err)
	}
	var u auth.User
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, q.setUserActive).ExecContext(ctx, active, s.d.ts(now), id); err != nil {
			return err
		}
		var err error
		if u, err = scanUser(tx.StmtContext(ctx, q.userByID).QueryRowContext(ctx, id)); err != nil {
			return err
		}
		return s.writeAudit(ctx, tx, q, id)
	})
	return s.userResult("set user active", u, err)
}

func (s *Store) oneUser(ctx context.Context, op string, query func(*statements) *sql.Row) (auth.User, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return auth.User{}, s.wrap(op, err)
	}
	u, err := scanUser(query(q))
	return s.userResult(op, u, err)
}

// userResult is the outcome of reading one user row: no row is
// ErrUserNotFound, any other error is op's.
func (s *Store) userResult(op string, u auth.User, err error) (auth.User, error) {
	switch {
	case err == nil:
		return u, nil
	case errors.Is(err, sql.ErrNoRows):
		return auth.User{}, auth.ErrUserNotFound
	default:
		return auth.User{}, s.wrap(op, err)
	}
}

// ListUsers returns up to limit users, oldest first; none when limit is not
// positive.
func (s *Store) ListUsers(ctx context.Context, limit int) ([]auth.User, error) {
	users := []auth.User{}
	if limit <= 0 {
		return users, nil
	}
	q, err := s.queries(ctx)
	if err != nil {
		return nil, s.wrap("list users", err)
	}
	users, err = collect(ctx, q.listUsers, scanUser, limit)
	return users, s.wrap("list users", err)
}

// DeleteUser removes a user; the foreign keys cascade to their sessions and
// refresh tokens. An unknown id gives auth.ErrUserNotFound.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("delete user", err)
	}
	err = s.retry(func() error {
		return s.audited(ctx, q, func(on stmtOn) (int64, error) {
			res, err := on(q.deleteUser).ExecContext(ctx, id)
			if err != nil {
				return 0, err
			}
			return id, affected(res)
		})
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNoChange):
		return auth.ErrUserNotFound
	default:
		return s.wrap("delete user", err)
	}
}
