package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// The store of multi-factor authentication (auth.MFAStore): factors,
// recovery codes and login challenges. Every change is one transaction;
// the conditions that settle races (a pending factor, an unspent
// challenge, a later time step, an unused recovery code) are in the
// UPDATEs themselves, so concurrent requests cannot both pass them.

var _ auth.MFAStore = (*Store)(nil)

const (
	factorColumns    = `id, user_id, type, secret, key_id, created_at, activated_at, last_used_at, last_step`
	challengeColumns = `c.token_hash, c.user_id, c.client_ip, c.user_agent, c.created_at, c.expires_at, c.failures, c.spent_at`

	qInsertFactor = `INSERT INTO mfa_factors (id, user_id, type, secret, key_id, created_at, activated_at, last_used_at, last_step)
VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, -1)`
	qDeletePendingFactors = `DELETE FROM mfa_factors WHERE user_id = ? AND activated_at IS NULL`
	qFactor               = `SELECT ` + factorColumns + ` FROM mfa_factors WHERE id = ? AND user_id = ?`
	qActivateFactor       = `UPDATE mfa_factors SET activated_at = ?, last_step = ? WHERE id = ? AND user_id = ? AND activated_at IS NULL`
	qSetMFAEnabled        = `UPDATE users SET mfa_enabled = ? WHERE id = ?`
	qListFactors          = `SELECT ` + factorColumns + ` FROM mfa_factors WHERE user_id = ? AND activated_at IS NOT NULL ORDER BY created_at, id`
	qActiveFactorTypes    = `SELECT DISTINCT type FROM mfa_factors WHERE user_id = ? AND activated_at IS NOT NULL ORDER BY type`
	qCountActiveFactors   = `SELECT COUNT(*) FROM mfa_factors WHERE user_id = ? AND activated_at IS NOT NULL`
	qDeleteFactor         = `DELETE FROM mfa_factors WHERE id = ? AND user_id = ?`
	qDeleteFactors        = `DELETE FROM mfa_factors WHERE user_id = ?`
	// qUseStep accepts a TOTP step only when it is later than the last one
	// accepted: the replay check, atomic with the write.
	qUseStep = `UPDATE mfa_factors SET last_step = ?, last_used_at = ?
WHERE id = ? AND activated_at IS NOT NULL AND last_step < ?`
	qResealFactor = `UPDATE mfa_factors SET secret = ?, key_id = ? WHERE id = ?`

	qDeleteRecoveryCodes = `DELETE FROM mfa_recovery_codes WHERE user_id = ?`
	qInsertRecoveryCode  = `INSERT INTO mfa_recovery_codes (user_id, code_hash, created_at, used_at) VALUES (?, ?, ?, NULL)`
	qUseRecoveryCode     = `UPDATE mfa_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`

	qInsertChallenge = `INSERT INTO mfa_challenges (token_hash, user_id, client_ip, user_agent, created_at, expires_at, failures, spent_at)
VALUES (?, ?, ?, ?, ?, ?, 0, NULL)`
	qPruneChallenges  = `DELETE FROM mfa_challenges WHERE user_id = ? AND expires_at <= ?`
	qDeleteChallenges = `DELETE FROM mfa_challenges WHERE user_id = ?`
	qChallenge        = `SELECT ` + challengeColumns + `, ` + userColumnsU + `
FROM mfa_challenges c JOIN users u ON u.id = c.user_id WHERE c.token_hash = ?`
	// qFailChallenge sets spent_at before failures: MySQL evaluates an
	// UPDATE's assignments left to right with the new values, the others
	// with the old ones, and this order reads the old count on all three.
	qFailChallenge = `UPDATE mfa_challenges
SET spent_at = CASE WHEN spent_at IS NULL AND failures + 1 >= ? THEN ? ELSE spent_at END, failures = failures + 1
WHERE token_hash = ?`
	qSpendChallenge = `UPDATE mfa_challenges SET spent_at = ? WHERE token_hash = ? AND spent_at IS NULL AND expires_at > ?`
)

// mfaStatements are the prepared MFA queries, prepared with the others.
type mfaStatements struct {
	insertFactor, deletePendingFactors, factor, activateFactor, setMFAEnabled, listFactors, activeFactorTypes,
	countActiveFactors, deleteFactor, deleteFactors, useStep, resealFactor,
	deleteRecoveryCodes, insertRecoveryCode, useRecoveryCode,
	insertChallenge, pruneChallenges, deleteChallenges, challenge, failChallenge, spendChallenge *sql.Stmt
}

// prepareMFA prepares every MFA statement with prepare.
func prepareMFA(prepare func(**sql.Stmt, string) error, m *mfaStatements) error {
	return errors.Join(
		prepare(&m.insertFactor, qInsertFactor),
		prepare(&m.deletePendingFactors, qDeletePendingFactors),
		prepare(&m.factor, qFactor),
		prepare(&m.activateFactor, qActivateFactor),
		prepare(&m.setMFAEnabled, qSetMFAEnabled),
		prepare(&m.listFactors, qListFactors),
		prepare(&m.activeFactorTypes, qActiveFactorTypes),
		prepare(&m.countActiveFactors, qCountActiveFactors),
		prepare(&m.deleteFactor, qDeleteFactor),
		prepare(&m.deleteFactors, qDeleteFactors),
		prepare(&m.useStep, qUseStep),
		prepare(&m.resealFactor, qResealFactor),
		prepare(&m.deleteRecoveryCodes, qDeleteRecoveryCodes),
		prepare(&m.insertRecoveryCode, qInsertRecoveryCode),
		prepare(&m.useRecoveryCode, qUseRecoveryCode),
		prepare(&m.insertChallenge, qInsertChallenge),
		prepare(&m.pruneChallenges, qPruneChallenges),
		prepare(&m.deleteChallenges, qDeleteChallenges),
		prepare(&m.challenge, qChallenge),
		prepare(&m.failChallenge, qFailChallenge),
		prepare(&m.spendChallenge, qSpendChallenge),
	)
}

// all lists the prepared statements, for closing.
func (m *mfaStatements) all() []*sql.Stmt {
	return []*sql.Stmt{m.insertFactor, m.deletePendingFactors, m.factor, m.activateFactor, m.setMFAEnabled,
		m.listFactors, m.activeFactorTypes, m.countActiveFactors, m.deleteFactor, m.deleteFactors, m.useStep, m.resealFactor,
		m.deleteRecoveryCodes, m.insertRecoveryCode, m.useRecoveryCode,
		m.insertChallenge, m.pruneChallenges, m.deleteChallenges, m.challenge, m.failChallenge, m.spendChallenge}
}

// aalDest scans a session's aal column (1 or 2) into "aal1" or "aal2".
type aalDest struct{ p *string }

func (d aalDest) Scan(v any) error {
	var n int64
	switch v := v.(type) {
	case int64:
		n = v
	case []byte:
		// MySQL's text protocol.
		n, _ = strconv.ParseInt(string(v), 10, 64)
	}
	switch n {
	case 1:
		*d.p = "aal1"
	case 2:
		*d.p = "aal2"
	default:
		return fmt.Errorf("sqlstore: aal %v is neither 1 nor 2", v)
	}
	return nil
}

// amrDest scans a session's amr column (comma-separated) into a list.
type amrDest struct{ p *[]string }

func (d amrDest) Scan(v any) error {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into amr", v)
	}
	*d.p = strings.Split(s, ",")
	return nil
}

// aalValue and amrValue encode a session's level; empty is aal1 by password.
func aalValue(aal string) int64 {
	if aal == "aal2" {
		return 2
	}
	return 1
}

func amrValue(amr []string) string {
	if len(amr) == 0 {
		return "pwd"
	}
	return strings.Join(amr, ",")
}

func factorDest(f *auth.Factor) []any {
	return []any{&f.ID, &f.UserID, &f.Type, &f.Secret, &f.KeyID, timeDest{&f.CreatedAt},
		nullTimeDest{&f.ActivatedAt}, nullTimeDest{&f.LastUsedAt}, &f.LastStep}
}

// CreateFactor stores a pending factor in place of the user's other
// pending ones.
func (s *Store) CreateFactor(ctx context.Context, f auth.Factor) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("create factor", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, q.mfa.deletePendingFactors).ExecContext(ctx, f.UserID); err != nil {
			return err
		}
		_, err := tx.StmtContext(ctx, q.mfa.insertFactor).ExecContext(ctx, f.ID, f.UserID, f.Type, f.Secret, f.KeyID, s.d.ts(f.CreatedAt))
		return err
	})
	return s.wrapUser("create factor", err)
}

// Factor returns one of the user's factors.
func (s *Store) Factor(ctx context.Context, userID int64, id string) (auth.Factor, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return auth.Factor{}, s.wrap("factor", err)
	}
	var f auth.Factor
	err = q.mfa.factor.QueryRowContext(ctx, id, userID).Scan(factorDest(&f)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return auth.Factor{}, auth.ErrNotFound
	case err != nil:
		return auth.Factor{}, s.wrap("factor", err)
	}
	return f, nil
}

// ActivateFactor activates a pending factor, turns on the account's
// mfa_enabled and replaces its recovery codes, in one transaction.
func (s *Store) ActivateFactor(ctx context.Context, a auth.FactorActivation) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("activate factor", err)
	}
	now := s.d.ts(a.Now)
	err = s.txAudit(ctx, q, a.UserID, func(tx *sql.Tx) error {
		if err := execOne(ctx, tx, q.mfa.activateFactor, auth.ErrNotFound, now, a.Step, a.FactorID, a.UserID); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, q.mfa.setMFAEnabled).ExecContext(ctx, true, a.UserID); err != nil {
			return err
		}
		return s.replaceRecoveryCodes(ctx, tx, q, a.UserID, a.RecoveryHashes, now)
	})
	return s.wrapKeep("activate factor", err, auth.ErrNotFound)
}

func (s *Store) replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, q *statements, userID int64, hashes []string, now any) error {
	if _, err := tx.StmtContext(ctx, q.mfa.deleteRecoveryCodes).ExecContext(ctx, userID); err != nil {
		return err
	}
	ins := tx.StmtContext(ctx, q.mfa.insertRecoveryCode)
	for _, h := range hashes {
		if _, err := ins.ExecContext(ctx, userID, h, now); err != nil {
			return err
		}
	}
	return nil
}

// ListFactors returns the user's active factors, oldest first.
func (s *Store) ListFactors(ctx context.Context, userID int64) ([]auth.Factor, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return nil, s.wrap("list factors", err)
	}
	fs, err := collect(ctx, q.mfa.listFactors, scanFactor, userID)
	if err != nil {
		return nil, s.wrap("list factors", err)
	}
	return fs, nil
}

func scanFactor(row scanner) (auth.Factor, error) {
	var f auth.Factor
	err := row.Scan(factorDest(&f)...)
	return f, err
}

// DeleteFactor removes one of the user's factors; with the last active
// one go the recovery codes and mfa_enabled, in the same transaction.
func (s *Store) DeleteFactor(ctx context.Context, userID int64, id string) (int, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return 0, s.wrap("delete factor", err)
	}
	var left int
	err = s.txAudit(ctx, q, userID, func(tx *sql.Tx) error {
		if err := execOne(ctx, tx, q.mfa.deleteFactor, auth.ErrNotFound, id, userID); err != nil {
			return err
		}
		if err := tx.StmtContext(ctx, q.mfa.countActiveFactors).QueryRowContext(ctx, userID).Scan(&left); err != nil {
			return err
		}
		if left > 0 {
			return nil
		}
		if _, err := tx.StmtContext(ctx, q.mfa.deleteRecoveryCodes).ExecContext(ctx, userID); err != nil {
			return err
		}
		_, err = tx.StmtContext(ctx, q.mfa.setMFAEnabled).ExecContext(ctx, false, userID)
		return err
	})
	if err != nil {
		return 0, s.wrapKeep("delete factor", err, auth.ErrNotFound)
	}
	return left, nil
}

// ReplaceRecoveryCodes replaces the recovery codes of a user who has an
// active factor.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes []string, now time.Time) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("replace recovery codes", err)
	}
	err = s.txAudit(ctx, q, userID, func(tx *sql.Tx) error {
		var n int
		if err := tx.StmtContext(ctx, q.mfa.countActiveFactors).QueryRowContext(ctx, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return auth.ErrNotFound
		}
		return s.replaceRecoveryCodes(ctx, tx, q, userID, hashes, s.d.ts(now))
	})
	return s.wrapKeep("replace recovery codes", err, auth.ErrNotFound)
}

// ResetMFA removes every factor, recovery code and challenge of the user.
func (s *Store) ResetMFA(ctx context.Context, userID int64) (int, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return 0, s.wrap("reset mfa", err)
	}
	var removed int64
	err = s.txAudit(ctx, q, userID, func(tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, q.mfa.deleteFactors).ExecContext(ctx, userID)
		if err != nil {
			return err
		}
		if removed, err = res.RowsAffected(); err != nil {
			return err
		}
		for _, st := range []*sql.Stmt{q.mfa.deleteRecoveryCodes, q.mfa.deleteChallenges} {
			if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, userID); err != nil {
				return err
			}
		}
		_, err = tx.StmtContext(ctx, q.mfa.setMFAEnabled).ExecContext(ctx, false, userID)
		return err
	})
	if err != nil {
		return 0, s.wrap("reset mfa", err)
	}
	return int(removed), nil
}

// CreateMFAChallenge stores a login's challenge, prunes the user's expired
// ones, and returns the types of the user's active factors.
func (s *Store) CreateMFAChallenge(ctx context.Context, c auth.MFAChallenge) ([]string, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return nil, s.wrap("create mfa challenge", err)
	}
	var types []string
	err = s.tx(ctx, func(tx *sql.Tx) error {
		types = types[:0]
		if _, err := tx.StmtContext(ctx, q.mfa.pruneChallenges).ExecContext(ctx, c.UserID, s.d.ts(c.CreatedAt)); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, q.mfa.insertChallenge).ExecContext(ctx, c.Hash, c.UserID, c.ClientIP, c.UserAgent,
			s.d.ts(c.CreatedAt), s.d.ts(c.ExpiresAt)); err != nil {
			return err
		}
		rows, err := tx.StmtContext(ctx, q.mfa.activeFactorTypes).QueryContext(ctx, c.UserID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				return err
			}
			types = append(types, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.wrapUser("create mfa challenge", err)
	}
	return types, nil
}

// MFAChallenge returns a challenge with its user and the user's active
// factors.
func (s *Store) MFAChallenge(ctx context.Context, hash string) (auth.MFAChallenge, auth.User, []auth.Factor, error) {
	q, err := s.queries(ctx)
	if err != nil {
		return auth.MFAChallenge{}, auth.User{}, nil, s.wrap("mfa challenge", err)
	}
	var c auth.MFAChallenge
	var u auth.User
	dest := append([]any{&c.Hash, &c.UserID, &c.ClientIP, &c.UserAgent, timeDest{&c.CreatedAt}, timeDest{&c.ExpiresAt},
		&c.Failures, nullTimeDest{&c.SpentAt}}, userDest(&u)...)
	err = q.mfa.challenge.QueryRowContext(ctx, hash).Scan(dest...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return auth.MFAChallenge{}, auth.User{}, nil, auth.ErrNotFound
	case err != nil:
		return auth.MFAChallenge{}, auth.User{}, nil, s.wrap("mfa challenge", err)
	}
	fs, err := collect(ctx, q.mfa.listFactors, scanFactor, u.ID)
	if err != nil {
		return auth.MFAChallenge{}, auth.User{}, nil, s.wrap("mfa challenge", err)
	}
	return c, u, fs, nil
}

// FailMFAChallenge counts a wrong code; the maxFailures-th spends the
// challenge.
func (s *Store) FailMFAChallenge(ctx context.Context, hash string, maxFailures int, now time.Time) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("fail mfa challenge", err)
	}
	_, err = q.mfa.failChallenge.ExecContext(ctx, maxFailures, s.d.ts(now), hash)
	return s.wrap("fail mfa challenge", err)
}

// CompleteMFA spends the challenge and the code and starts the session,
// in one transaction; auth.ErrInvalidMFACode, with nothing changed, when
// the challenge or the code was no longer good.
func (s *Store) CompleteMFA(ctx context.Context, c auth.MFACompletion) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("complete mfa", err)
	}
	now := s.d.ts(c.Now)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		spend := func(st *sql.Stmt, args ...any) error {
			return execOne(ctx, tx, st, auth.ErrInvalidMFACode, args...)
		}
		if err := spend(q.mfa.spendChallenge, now, c.ChallengeHash, now); err != nil {
			return err
		}
		var err error
		if c.RecoveryHash != "" {
			err = spend(q.mfa.useRecoveryCode, now, c.Session.UserID, c.RecoveryHash)
		} else {
			err = spend(q.mfa.useStep, c.Step, now, c.FactorID, c.Step)
		}
		if err != nil {
			return err
		}
		if c.ResealKeyID != "" && c.RecoveryHash == "" {
			if _, err := tx.StmtContext(ctx, q.mfa.resealFactor).ExecContext(ctx, c.ResealSecret, c.ResealKeyID, c.FactorID); err != nil {
				return err
			}
		}
		return s.insertSession(ctx, tx, q, c.Session, c.First)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrInvalidMFACode):
		return auth.ErrInvalidMFACode
	default:
		return s.wrapUser("complete mfa", err)
	}
}
