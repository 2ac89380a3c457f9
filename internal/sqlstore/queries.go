package sqlstore

// The queries, shared by every dialect: written with ? placeholders,
// rebound per dialect, prepared once. Column lists are kept in one place
// with the scanning code that reads them (users.go, sessions.go).

const (
	// userColumns is read by scanUser; the names are COALESCEd because a
	// NULL name is an absent name (null in the API).
	userColumns = `id, email, hashed_password, COALESCE(first_name, ''), COALESCE(last_name, ''), ` +
		`is_active, email_verified, created_at, updated_at, mfa_enabled`
	userColumnsU = `u.id, u.email, u.hashed_password, COALESCE(u.first_name, ''), COALESCE(u.last_name, ''), ` +
		`u.is_active, u.email_verified, u.created_at, u.updated_at, u.mfa_enabled`

	// sessionColumns is read by scanSession.
	sessionColumns  = `id, user_id, created_at, last_used_at, expires_at, deadline, revoked_at, client_ip, user_agent, aal, amr`
	sessionColumnsS = `s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.deadline, s.revoked_at, ` +
		`s.client_ip, s.user_agent, s.aal, s.amr`

	// liveSession is the condition for a session that can still be used
	// at ?, which is bound twice.
	liveSession = `revoked_at IS NULL AND deadline > ? AND expires_at > ?`
)

const (
	// qInsertUser and qUpdateUserActive are the writes of qCreateUser and
	// qSetUserActive without RETURNING, for dialects that lack it.
	qInsertUser = `INSERT INTO users (email, hashed_password, first_name, last_name, is_active, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`
	qCreateUser       = qInsertUser + ` RETURNING id`
	qUserByEmail      = `SELECT ` + userColumns + ` FROM users WHERE email = ?`
	qUserByID         = `SELECT ` + userColumns + ` FROM users WHERE id = ?`
	qListUsers        = `SELECT ` + userColumns + ` FROM users ORDER BY created_at, id LIMIT ?`
	qUpdateUserActive = `UPDATE users SET is_active = ?, updated_at = ? WHERE id = ?`
	qSetUserActive    = qUpdateUserActive + ` RETURNING ` + userColumns
	qDeleteUser       = `DELETE FROM users WHERE id = ?`

	qInsertSession = `INSERT INTO sessions
(id, user_id, created_at, last_used_at, expires_at, deadline, revoked_at, client_ip, user_agent, aal, amr)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qInsertToken = `INSERT INTO refresh_tokens (hash, parent_hash, session_id, user_id, issued_at, expires_at, spent_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`

	// qUserForSession answers GET /me in one round trip: the user, and
	// whether the session is theirs and usable at ?. No session row (none,
	// or another user's) gives live = 0 but still the user, so that a
	// deleted user and a dead session can be told apart. The session is
	// an EXISTS, not a LEFT JOIN: SQLite marks a LEFT JOIN's bound session
	// id as plan-relevant and recompiles the statement whenever it changes
	// (sqlite3Reprepare: 10 % of a /me's CPU, more than half the query).
	qUserForSession = `SELECT ` + userColumnsU + `,
CASE WHEN EXISTS (SELECT 1 FROM sessions s
  WHERE s.id = ? AND s.user_id = u.id AND s.revoked_at IS NULL AND s.deadline > ?) THEN 1 ELSE 0 END
FROM users u
WHERE u.id = ?`

	// qUsersForSessions is qUserForSession for several lookups at once
	// (PostgreSQL, lookups.go): the i-th user, session and time of the
	// arrays are answered by the row whose ordinal is i, and a user that
	// does not exist by no row.
	qUsersForSessions = `SELECT q.i, ` + userColumnsU + `,
EXISTS (SELECT 1 FROM sessions s
  WHERE s.id = q.sid AND s.user_id = u.id AND s.revoked_at IS NULL AND s.deadline > q.at)
FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS q(uid, sid, at, i)
JOIN users u ON u.id = q.uid`

	// qRotateLock reads everything a rotation decides on; the dialect
	// appends its row lock (PostgreSQL: the token and its session).
	qRotateLock = `SELECT t.parent_hash, t.issued_at, t.expires_at, t.spent_at, ` + sessionColumnsS + `, ` + userColumnsU + `
FROM refresh_tokens t
JOIN sessions s ON s.id = t.session_id
JOIN users u ON u.id = t.user_id
WHERE t.hash = ?`
	qSpendToken    = `UPDATE refresh_tokens SET spent_at = ? WHERE hash = ? AND spent_at IS NULL`
	qTouchSession  = `UPDATE sessions SET last_used_at = ?, expires_at = ? WHERE id = ?`
	qRevokeSession = `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`

	// qRevokeByToken keeps the first revocation time of a session revoked
	// twice (logout after reuse detection, say).
	qRevokeByToken = `UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?)
WHERE id = (SELECT session_id FROM refresh_tokens WHERE hash = ?)
RETURNING ` + sessionColumns
	// qRevokeByTokenJoin and qSessionByToken do qRevokeByToken's work
	// without RETURNING; a join rather than a subquery, which MySQL may
	// not turn into an index lookup inside an UPDATE.
	qRevokeByTokenJoin = `UPDATE sessions s JOIN refresh_tokens t ON t.session_id = s.id
SET s.revoked_at = COALESCE(s.revoked_at, ?) WHERE t.hash = ?`
	qSessionByToken = `SELECT ` + sessionColumnsS + `
FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.hash = ?`
	qRevokeOwnSession  = `UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND ` + liveSession
	qRevokeAllSessions = `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND ` + liveSession
	qListSessions      = `SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = ? AND ` + liveSession + `
ORDER BY created_at DESC, id DESC`

	// qEnsureAttempt makes sure the row exists so that qLockAttempt has
	// something to lock: two first attempts at one key then serialise on
	// it instead of racing to insert. The dialect appends the clause that
	// leaves an existing row alone.
	qEnsureAttempt = `INSERT INTO login_attempts (attempt_key, failures, pending, locked_until, updated_at)
VALUES (?, 0, 0, NULL, ?)`
	qLockAttempt    = `SELECT failures, pending, locked_until, updated_at FROM login_attempts WHERE attempt_key = ?`
	qSaveAttempt    = `UPDATE login_attempts SET failures = ?, pending = ?, locked_until = ?, updated_at = ? WHERE attempt_key = ?`
	qReleaseAttempt = `UPDATE login_attempts SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END
WHERE attempt_key = ?`
	qDeleteAttempt = `DELETE FROM login_attempts WHERE attempt_key = ?`
	qPruneAttempts = `DELETE FROM login_attempts WHERE updated_at < ?`
)
