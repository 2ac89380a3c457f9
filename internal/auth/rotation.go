package auth

// RotationPlan is what the rotation rules make of a presented refresh
// token: the store carries it out atomically, in the transaction in which
// it read the token.
type RotationPlan struct {
	// Err is the outcome. nil: spend the token (when Spend) and store
	// Next. ErrRefreshReused: revoke the session (when RevokeSession),
	// commit, and report the reuse. Any other error (ErrAccountDisabled,
	// ErrSessionRevoked, ErrTokenExpired): change nothing.
	Err error
	// RevokeSession asks for the session to be revoked at Now: a spent
	// token came back while its session was still live.
	RevokeSession bool
	// Spend asks for the presented token to be marked spent at Now; false
	// when it already was (a retry within the grace period).
	Spend bool
	// Next is the successor to store when Err is nil: the Rotation's Next
	// with ParentHash, SessionID and UserID filled in, IssuedAt defaulting
	// to Now, and ExpiresAt capped at the session's deadline.
	Next RefreshToken
}

// PlanRotation applies the rules of Rotation (see there) to the token
// with the presented hash, its session and its user, as the store read
// them at r.Now. It is pure: the store's only job is the atomic update.
func PlanRotation(r Rotation, tok RefreshToken, sess Session, u User) RotationPlan {
	now := r.Now
	// Reuse is checked first, so that every loser of a strict race sees it.
	if tok.SpentAt != nil && (r.Grace <= 0 || now.Sub(*tok.SpentAt) > r.Grace) {
		return RotationPlan{Err: ErrRefreshReused, RevokeSession: sess.RevokedAt == nil}
	}
	switch {
	case !u.IsActive:
		// Before revocation: disabling an account also revokes its
		// sessions, and its owner should learn why refreshing stopped.
		return RotationPlan{Err: ErrAccountDisabled}
	case sess.RevokedAt != nil:
		return RotationPlan{Err: ErrSessionRevoked}
	case !tok.ExpiresAt.After(now) || !sess.Deadline.After(now):
		return RotationPlan{Err: ErrTokenExpired}
	}
	next := r.Next
	next.ParentHash = r.PresentedHash
	next.SessionID = sess.ID
	next.UserID = sess.UserID
	next.SpentAt = nil
	if next.IssuedAt.IsZero() {
		next.IssuedAt = now
	}
	next.ExpiresAt = minTime(next.ExpiresAt, sess.Deadline)
	return RotationPlan{Spend: tok.SpentAt == nil, Next: next}
}
