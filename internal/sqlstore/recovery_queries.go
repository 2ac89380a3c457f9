package sqlstore

// The queries of email verification, password reset and the outbox, in
// the shared style of queries.go (? placeholders, rebound per dialect,
// prepared once).

const (
	// outboxColumns is read by scanOutbox.
	outboxColumns = `id, COALESCE(user_id, 0), recipient, kind, subject, text_body, html_body, status, attempts, ` +
		`created_at, next_attempt_at, sent_at, last_error`

	// qEnsureCooldown makes sure the cooldown row exists, so that
	// qLockCooldown has something to lock (as qEnsureAttempt does for the
	// lockout); the dialect appends the clause that leaves an existing row
	// alone.
	qEnsureCooldown = `INSERT INTO mail_cooldowns (address_key, kind, cool_until) VALUES (?, ?, ?)`
	qLockCooldown   = `SELECT cool_until FROM mail_cooldowns WHERE address_key = ? AND kind = ?`
	qSaveCooldown   = `UPDATE mail_cooldowns SET cool_until = ? WHERE address_key = ? AND kind = ?`

	// qVoidLinkTokens spends every live token of one kind of a user: a new
	// token voids the earlier ones, and a password change the reset ones.
	qVoidLinkTokens  = `UPDATE link_tokens SET used_at = ? WHERE user_id = ? AND kind = ? AND used_at IS NULL`
	qInsertLinkToken = `INSERT INTO link_tokens (hash, user_id, kind, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, NULL)`
	qLinkTokenUser   = `SELECT ` + userColumnsU + `
FROM link_tokens t JOIN users u ON u.id = t.user_id
WHERE t.hash = ? AND t.kind = ? AND t.used_at IS NULL AND t.expires_at > ?`
	// qSpendLinkToken decides races: of several transactions spending one
	// token, one updates a row and the others, waiting on its lock, find
	// used_at set.
	qSpendLinkToken  = `UPDATE link_tokens SET used_at = ? WHERE hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ?`
	qLinkTokenOwner  = `SELECT user_id FROM link_tokens WHERE hash = ?`
	qSetUserPassword = `UPDATE users SET hashed_password = ?, updated_at = ? WHERE id = ?`
	qSetUserVerified = `UPDATE users SET email_verified = ?, updated_at = ? WHERE id = ?`
	qRevokeOtherSess = `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND ` + liveSession
	qPruneLinkTokens = `DELETE FROM link_tokens WHERE expires_at < ?`
	qPruneCooldowns  = `DELETE FROM mail_cooldowns WHERE cool_until < ?`
	qInsertOutbox    = `INSERT INTO email_outbox (user_id, recipient, kind, subject, text_body, html_body, status, attempts, created_at, next_attempt_at, last_error)
VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, '')`

	// qClaimDue picks due messages nobody holds; the store appends its
	// lock (FOR UPDATE SKIP LOCKED: replicas claiming at once take
	// different rows instead of waiting for each other; none on MariaDB
	// 10.5, see claimLock). SQLite's immediate transaction already holds
	// the only write lock.
	qClaimDue = `SELECT id FROM email_outbox
WHERE status = 'pending' AND next_attempt_at <= ? AND (claim_until IS NULL OR claim_until <= ?)
ORDER BY next_attempt_at, id LIMIT ?`
	// qClaimOne claims a row qClaimDue picked if it is still due and
	// unclaimed: always so when qClaimDue locked it, and what decides
	// between senders where it could not (claimLock).
	qClaimOne = `UPDATE email_outbox SET claimed_by = ?, claim_until = ?, attempts = attempts + 1
WHERE id = ? AND status = 'pending' AND next_attempt_at <= ? AND (claim_until IS NULL OR claim_until <= ?)`
	qOutboxByID   = `SELECT ` + outboxColumns + ` FROM email_outbox WHERE id = ?`
	qOutboxSent   = `UPDATE email_outbox SET status = 'sent', sent_at = ?, subject = '', text_body = '', html_body = '', claimed_by = NULL, claim_until = NULL, last_error = '' WHERE id = ? AND claimed_by = ?`
	qOutboxRetry  = `UPDATE email_outbox SET next_attempt_at = ?, claimed_by = NULL, claim_until = NULL, last_error = ? WHERE id = ? AND claimed_by = ?`
	qOutboxFailed = `UPDATE email_outbox SET status = 'failed', subject = '', text_body = '', html_body = '', claimed_by = NULL, claim_until = NULL, last_error = ?, next_attempt_at = ? WHERE id = ? AND claimed_by = ?`
	// qOutboxRelease hands back a claim that was not attempted.
	qOutboxRelease = `UPDATE email_outbox SET claimed_by = NULL, claim_until = NULL, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END
WHERE id = ? AND claimed_by = ? AND status = 'pending'`
	qListOutbox  = `SELECT ` + outboxColumns + ` FROM email_outbox WHERE (? = '' OR status = ?) ORDER BY id DESC LIMIT ?`
	qOutboxDepth = `SELECT COUNT(*) FROM email_outbox WHERE status = 'pending'`

	// qClearAttempts deletes one lockout key and every key with a prefix
	// (LIKE with ! as the escape character, which needs no quoting in any
	// dialect's string literals).
	qClearAttempts = `DELETE FROM login_attempts WHERE attempt_key = ? OR attempt_key LIKE ? ESCAPE '!'`
)
