package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

var _ auth.RecoveryStore = (*Store)(nil)

// recoveryStatements are the prepared statements of this file and
// outbox.go.
type recoveryStatements struct {
	ensureCooldown, lockCooldown, saveCooldown, voidLinkTokens, insertLinkToken, linkTokenUser,
	spendLinkToken, linkTokenOwner, setUserPassword, setUserVerified, revokeOtherSessions,
	pruneLinkTokens, pruneCooldowns, insertOutbox *sql.Stmt

	claimDue, claimOne, outboxByID, outboxSent, outboxRetry, outboxFailed, outboxRelease,
	listOutbox, outboxDepth, clearAttempts *sql.Stmt
}

func (r *recoveryStatements) all() []*sql.Stmt {
	return []*sql.Stmt{r.ensureCooldown, r.lockCooldown, r.saveCooldown, r.voidLinkTokens, r.insertLinkToken,
		r.linkTokenUser, r.spendLinkToken, r.linkTokenOwner, r.setUserPassword, r.setUserVerified,
		r.revokeOtherSessions, r.pruneLinkTokens, r.pruneCooldowns, r.insertOutbox,
		r.claimDue, r.claimOne, r.outboxByID, r.outboxSent, r.outboxRetry, r.outboxFailed, r.outboxRelease,
		r.listOutbox, r.outboxDepth, r.clearAttempts}
}

// prepareRecovery prepares r's statements with the store's prepare helper.
func (s *Store) prepareRecovery(prepare func(**sql.Stmt, string) error, r *recoveryStatements) error {
	return errors.Join(
		prepare(&r.ensureCooldown, qEnsureCooldown+s.d.cooldownConflict()),
		prepare(&r.lockCooldown, qLockCooldown+s.d.lockRow),
		prepare(&r.saveCooldown, qSaveCooldown),
		prepare(&r.voidLinkTokens, qVoidLinkTokens),
		prepare(&r.insertLinkToken, qInsertLinkToken),
		prepare(&r.linkTokenUser, qLinkTokenUser),
		prepare(&r.spendLinkToken, qSpendLinkToken),
		prepare(&r.linkTokenOwner, qLinkTokenOwner),
		prepare(&r.setUserPassword, qSetUserPassword),
		prepare(&r.setUserVerified, qSetUserVerified),
		prepare(&r.revokeOtherSessions, qRevokeOtherSess),
		prepare(&r.pruneLinkTokens, qPruneLinkTokens),
		prepare(&r.pruneCooldowns, qPruneCooldowns),
		prepare(&r.insertOutbox, qInsertOutbox),
		prepare(&r.claimDue, qClaimDue+s.claimLock()),
		prepare(&r.claimOne, qClaimOne),
		prepare(&r.outboxByID, qOutboxByID),
		prepare(&r.outboxSent, qOutboxSent),
		prepare(&r.outboxRetry, qOutboxRetry),
		prepare(&r.outboxFailed, qOutboxFailed),
		prepare(&r.outboxRelease, qOutboxRelease),
		prepare(&r.listOutbox, qListOutbox),
		prepare(&r.outboxDepth, qOutboxDepth),
		prepare(&r.clearAttempts, qClearAttempts),
	)
}

// cooldownConflict ends qEnsureCooldown so that an existing row is left
// alone.
func (d *dialect) cooldownConflict() string {
	if d == mysqlDialect {
		return " ON DUPLICATE KEY UPDATE address_key = address_key"
	}
	return " ON CONFLICT (address_key, kind) DO NOTHING"
}

// skipLocked is the dialect's ending of qClaimDue: PostgreSQL, MySQL 8 and
// MariaDB 10.6+ lock the rows they pick and skip those another transaction
// holds. MariaDB 10.5 has no SKIP LOCKED; see claimLock.
func (d *dialect) skipLocked() string {
	if d == sqliteDialect {
		return ""
	}
	return " FOR UPDATE SKIP LOCKED"
}

// claimLock ends qClaimDue for this store: the dialect's skipLocked, or,
// on a server without SKIP LOCKED (MariaDB 10.5, which Open detects),
// nothing at all.
//
// Without a lock the claim is still correct, because qClaimOne decides:
// it claims a row only if, as committed, the row is still pending, due and
// unclaimed (or its lease ran out). An UPDATE is a locking read: InnoDB
// waits for the row lock of a sender claiming or marking the same row,
// then checks the WHERE against the latest committed version, not the
// transaction's snapshot. A row another sender claimed meanwhile has
// claim_until after now (a lease is never zero) and is left alone (0 rows
// matched), as is one already marked sent or failed. So each row goes to
// one sender per lease; senders that picked the same rows take turns, and
// the one that finds its rows taken claims fewer, or none, this time.
//
// Not a plain FOR UPDATE, which is just as correct about claims but
// deadlocks with MarkSent and the other outbox updates: the claim's
// locking read holds email_outbox_due_idx entries and waits for the
// PRIMARY row, while an update changing status or next_attempt_at holds
// the PRIMARY row and waits for its due_idx entry. InnoDB then rolls the
// update back, and a MarkSent lost so sends the message again after its
// lease (with FOR UPDATE, the outbox contract's concurrent claims lost 21
// of 240 MarkSent calls on MariaDB 10.11). qClaimOne, by primary key,
// changing no indexed column, takes no due_idx lock, so no such cycle
// forms.
func (s *Store) claimLock() string {
	if s.noSkipLocked {
		return ""
	}
	return s.d.skipLocked()
}

// RequestLink claims the address's cooldown and, when it was free and
// r.Send is true, voids the user's earlier tokens of r.Kind, stores the new
// one and queues its email, all in one transaction. The same statements up
// to the claim run whatever the account, so that requests for unknown
// addresses cost what requests for known ones do.
func (s *Store) RequestLink(ctx context.Context, r auth.LinkRequest) (bool, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return false, s.wrap("request link", err)
	}
	now := utc(r.Now)
	var queued bool
	err = s.tx(ctx, func(tx *sql.Tx) error {
		queued = false
		if _, err := tx.StmtContext(ctx, q.rec.ensureCooldown).ExecContext(ctx, r.AddressKey, r.Kind, s.d.ts(time.Unix(0, 0))); err != nil {
			return err
		}
		var until time.Time
		if err := tx.StmtContext(ctx, q.rec.lockCooldown).QueryRowContext(ctx, r.AddressKey, r.Kind).Scan(timeDest{&until}); err != nil {
			return err
		}
		if until.After(now) {
			return nil
		}
		if _, err := tx.StmtContext(ctx, q.rec.saveCooldown).ExecContext(ctx, s.d.ts(now.Add(r.Cooldown)), r.AddressKey, r.Kind); err != nil {
			return err
		}
		if !r.Send {
			return s.decoy(ctx, tx, q, r, now)
		}
		if _, err := tx.StmtContext(ctx, q.rec.voidLinkTokens).ExecContext(ctx, s.d.ts(now), r.UserID, r.Kind); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, q.rec.insertLinkToken).ExecContext(ctx, r.TokenHash, r.UserID, r.Kind,
			s.d.ts(now), s.d.ts(r.ExpiresAt)); err != nil {
			return err
		}
		if err := s.enqueue(ctx, tx, q, r.Mail, now); err != nil {
			return err
		}
		queued = true
		return s.writeAudit(ctx, tx, q, r.UserID)
	})
	if err != nil {
		return false, s.wrapUser("request link", err)
	}
	return queued, nil
}

// decoy does, for a request that sends nothing (unknown, disabled or
// verified account), the writes a sending one does, inside a savepoint
// that it then rolls back: the request costs what one that sends costs,
// and leaves only its cooldown claim. For an unknown address the token's
// insert fails on its foreign key, which is no cheaper than succeeding;
// the outbox row (whose user may be NULL) goes in first.
func (s *Store) decoy(ctx context.Context, tx *sql.Tx, q *statements, r auth.LinkRequest, now time.Time) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT link_decoy"); err != nil {
		return err
	}
	_, _ = tx.StmtContext(ctx, q.rec.voidLinkTokens).ExecContext(ctx, s.d.ts(now), r.UserID, r.Kind)
	_ = s.enqueue(ctx, tx, q, r.Mail, now)
	_, _ = tx.StmtContext(ctx, q.rec.insertLinkToken).ExecContext(ctx, r.TokenHash, r.UserID, r.Kind,
		s.d.ts(now), s.d.ts(r.ExpiresAt))
	_, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT link_decoy")
	return err
}

// enqueue inserts m into the outbox inside tx, due at once.
func (s *Store) enqueue(ctx context.Context, tx *sql.Tx, q *statements, m auth.OutboxMessage, now time.Time) error {
	var user any
	if m.UserID != 0 {
		user = m.UserID
	}
	_, err := tx.StmtContext(ctx, q.rec.insertOutbox).ExecContext(ctx, user, m.To, m.Kind,
		m.Message.Subject, m.Message.Text, m.Message.HTML, s.d.ts(now), s.d.ts(now))
	return err
}

// LinkTokenUser returns the user of a live token of kind, spending nothing.
func (s *Store) LinkTokenUser(ctx context.Context, kind, hash string, now time.Time) (auth.User, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return auth.User{}, s.wrap("link token user", err)
	}
	u, err := scanUser(q.rec.linkTokenUser.QueryRowContext(ctx, hash, kind, s.d.ts(now)))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return auth.User{}, auth.ErrInvalidLinkToken
	case err != nil:
		return auth.User{}, s.wrap("link token user", err)
	}
	return u, nil
}

// spend spends a live token of kind inside tx and returns its user's id;
// auth.ErrInvalidLinkToken when it is not live (or another transaction
// spent it first).
func (s *Store) spend(ctx context.Context, tx *sql.Tx, q *statements, kind, hash string, now time.Time) (int64, error) {
	res, err := tx.StmtContext(ctx, q.rec.spendLinkToken).ExecContext(ctx, s.d.ts(now), hash, kind, s.d.ts(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if n != 1 {
		return 0, auth.ErrInvalidLinkToken
	}
	var id int64
	err = tx.StmtContext(ctx, q.rec.linkTokenOwner).QueryRowContext(ctx, hash).Scan(&id)
	return id, err
}

// VerifyEmail spends a verify_email token and marks its user verified.
func (s *Store) VerifyEmail(ctx context.Context, hash string, now time.Time) (auth.User, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return auth.User{}, s.wrap("verify email", err)
	}
	now = utc(now)
	var u auth.User
	err = s.tx(ctx, func(tx *sql.Tx) error {
		id, err := s.spend(ctx, tx, q, auth.LinkVerifyEmail, hash, now)
		if err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, q.rec.setUserVerified).ExecContext(ctx, true, s.d.ts(now), id); err != nil {
			return err
		}
		if u, err = scanUser(tx.StmtContext(ctx, q.userByID).QueryRowContext(ctx, id)); err != nil {
			return err
		}
		return s.writeAudit(ctx, tx, q, id)
	})
	if errors.Is(err, auth.ErrInvalidLinkToken) {
		return auth.User{}, err
	}
	return s.userResult("verify email", u, err)
}

// ResetPassword spends a reset_password token and applies c to its user in
// the same transaction.
func (s *Store) ResetPassword(ctx context.Context, hash string, c auth.PasswordChange) (auth.User, int, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return auth.User{}, 0, s.wrap("reset password", err)
	}
	c.Now = utc(c.Now)
	var u auth.User
	var revoked int
	err = s.tx(ctx, func(tx *sql.Tx) error {
		id, err := s.spend(ctx, tx, q, auth.LinkResetPassword, hash, c.Now)
		if err != nil {
			return err
		}
		c.UserID = id
		if c.Notice != nil {
			c.Notice.UserID = id
		}
		if revoked, err = s.applyPassword(ctx, tx, q, c); err != nil {
			return err
		}
		u, err = scanUser(tx.StmtContext(ctx, q.userByID).QueryRowContext(ctx, id))
		return err
	})
	if errors.Is(err, auth.ErrInvalidLinkToken) {
		return auth.User{}, 0, err
	}
	u, err = s.userResult("reset password", u, err)
	return u, revoked, err
}

// SetPassword applies c in one transaction.
func (s *Store) SetPassword(ctx context.Context, c auth.PasswordChange) (int, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return 0, s.wrap("set password", err)
	}
	c.Now = utc(c.Now)
	var revoked int
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		revoked, err = s.applyPassword(ctx, tx, q, c)
		return err
	})
	switch {
	case err == nil:
		return revoked, nil
	case errors.Is(err, auth.ErrUserNotFound):
		return 0, auth.ErrUserNotFound
	default:
		return 0, s.wrapUser("set password", err)
	}
}

// applyPassword is the shared part of a reset and a change: the new hash,
// the reset tokens spent, the sessions revoked, the email verified if
// asked, the notice queued.
func (s *Store) applyPassword(ctx context.Context, tx *sql.Tx, q *statements, c auth.PasswordChange) (int, error) {
	if err := execOne(ctx, tx, q.rec.setUserPassword, auth.ErrUserNotFound, c.Hash, s.d.ts(c.Now), c.UserID); err != nil {
		return 0, err
	}
	if c.Verify {
		if _, err := tx.StmtContext(ctx, q.rec.setUserVerified).ExecContext(ctx, true, s.d.ts(c.Now), c.UserID); err != nil {
			return 0, err
		}
	}
	if _, err := tx.StmtContext(ctx, q.rec.voidLinkTokens).ExecContext(ctx, s.d.ts(c.Now), c.UserID, auth.LinkResetPassword); err != nil {
		return 0, err
	}
	t := s.d.ts(c.Now)
	res, err := tx.StmtContext(ctx, q.rec.revokeOtherSessions).ExecContext(ctx, t, c.UserID, c.KeepSession, t, t)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if c.Notice != nil {
		if err := s.enqueue(ctx, tx, q, *c.Notice, c.Now); err != nil {
			return 0, err
		}
	}
	return int(n), s.writeAudit(ctx, tx, q, c.UserID)
}

// SetEmailVerified sets a user's email_verified flag.
func (s *Store) SetEmailVerified(ctx context.Context, userID int64, verified bool, now time.Time) (auth.User, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return auth.User{}, s.wrap("set email verified", err)
	}
	var u auth.User
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, q.rec.setUserVerified).ExecContext(ctx, verified, s.d.ts(now), userID); err != nil {
			return err
		}
		var err error
		if u, err = scanUser(tx.StmtContext(ctx, q.userByID).QueryRowContext(ctx, userID)); err != nil {
			return err
		}
		return s.writeAudit(ctx, tx, q, userID)
	})
	return s.userResult("set email verified", u, err)
}

// PruneRecovery deletes link tokens that expired before cutoff and
// cooldowns that ended before it.
func (s *Store) PruneRecovery(ctx context.Context, cutoff time.Time) (int64, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return 0, s.wrap("prune recovery", err)
	}
	var total int64
	for _, stmt := range []*sql.Stmt{q.rec.pruneLinkTokens, q.rec.pruneCooldowns} {
		res, err := stmt.ExecContext(ctx, s.d.ts(cutoff))
		if err != nil {
			return total, s.wrap("prune recovery", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, s.wrap("prune recovery", err)
		}
		total += n
	}
	return total, nil
}
