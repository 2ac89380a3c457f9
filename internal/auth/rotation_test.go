package auth

import (
	"errors"
	"testing"
	"time"
)

func TestPlanRotation(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	live := Session{ID: "s1", UserID: 7, Deadline: now.Add(90 * 24 * time.Hour)}
	revoked := live
	revoked.RevokedAt = ago(time.Hour)
	nearDeadline := live
	nearDeadline.Deadline = now.Add(time.Hour)
	pastDeadline := live
	pastDeadline.Deadline = now
	active, disabled := User{ID: 7, IsActive: true}, User{ID: 7}
	fresh := RefreshToken{ExpiresAt: now.Add(24 * time.Hour)}
	spent := func(d time.Duration) RefreshToken { tok := fresh; tok.SpentAt = ago(d); return tok }
	expired := RefreshToken{ExpiresAt: now}

	next := RefreshToken{Hash: "new", IssuedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
	rotation := func(grace time.Duration) Rotation {
		return Rotation{PresentedHash: "old", Next: next, Now: now, Grace: grace}
	}
	issued := func(exp time.Time) RefreshToken {
		return RefreshToken{Hash: "new", ParentHash: "old", SessionID: "s1", UserID: 7, IssuedAt: now, ExpiresAt: exp}
	}

	tests := []struct {
		name  string
		r     Rotation
		tok   RefreshToken
		sess  Session
		user  User
		want  error
		spend bool
		rev   bool
		next  RefreshToken
	}{
		{"unspent token rotates", rotation(10 * time.Second), fresh, live, active, nil, true, false, issued(next.ExpiresAt)},
		{"successor capped at the session deadline", rotation(0), fresh, nearDeadline, active, nil, true, false, issued(nearDeadline.Deadline)},
		{"spent within grace rotates again, not spent twice", rotation(10 * time.Second), spent(5 * time.Second), live, active, nil, false, false, issued(next.ExpiresAt)},
		{"spent exactly at the grace edge still counts as grace", rotation(10 * time.Second), spent(10 * time.Second), live, active, nil, false, false, issued(next.ExpiresAt)},
		{"spent past grace is reuse and revokes", rotation(10 * time.Second), spent(11 * time.Second), live, active, ErrRefreshReused, false, true, RefreshToken{}},
		{"no grace: any spent token is reuse", rotation(0), spent(0), live, active, ErrRefreshReused, false, true, RefreshToken{}},
		{"reuse on a revoked session revokes nothing more", rotation(0), spent(time.Minute), revoked, active, ErrRefreshReused, false, false, RefreshToken{}},
		{"reuse wins over a disabled account", rotation(0), spent(time.Minute), live, disabled, ErrRefreshReused, false, true, RefreshToken{}},
		{"disabled account before revoked session", rotation(0), fresh, revoked, disabled, ErrAccountDisabled, false, false, RefreshToken{}},
		{"revoked session", rotation(0), fresh, revoked, active, ErrSessionRevoked, false, false, RefreshToken{}},
		{"revoked before expired", rotation(0), expired, revoked, active, ErrSessionRevoked, false, false, RefreshToken{}},
		{"expired token", rotation(0), expired, live, active, ErrTokenExpired, false, false, RefreshToken{}},
		{"session past its deadline", rotation(0), fresh, pastDeadline, active, ErrTokenExpired, false, false, RefreshToken{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanRotation(tt.r, tt.tok, tt.sess, tt.user)
			if !errors.Is(got.Err, tt.want) || (tt.want == nil) != (got.Err == nil) {
				t.Fatalf("Err = %v, want %v", got.Err, tt.want)
			}
			if got.Spend != tt.spend || got.RevokeSession != tt.rev {
				t.Errorf("(Spend, RevokeSession) = (%v, %v), want (%v, %v)", got.Spend, got.RevokeSession, tt.spend, tt.rev)
			}
			if got.Next != tt.next {
				t.Errorf("Next = %+v, want %+v", got.Next, tt.next)
			}
		})
	}
}

func TestPlanRotationDefaultsIssuedAt(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	r := Rotation{PresentedHash: "old", Next: RefreshToken{Hash: "new", ExpiresAt: now.Add(time.Hour)}, Now: now}
	got := PlanRotation(r, RefreshToken{ExpiresAt: now.Add(time.Hour)}, Session{ID: "s", UserID: 1, Deadline: now.Add(2 * time.Hour)}, User{IsActive: true})
	if !got.Next.IssuedAt.Equal(now) {
		t.Errorf("Next.IssuedAt = %v, want Now %v", got.Next.IssuedAt, now)
	}
}
