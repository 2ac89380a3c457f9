// Package storetest is the contract every auth.Store passes: Run
// exercises an implementation through its interface only, so the SQLite,
// PostgreSQL and MariaDB stores (and any decorator, such as a circuit
// breaker) are held to the same rules. auth.Lockout has its own suite,
// internal/lockouttest.
//
// Every subtest opens a fresh, empty store, and the subtests run in
// parallel, so open must be safe for concurrent use (t.TempDir and
// pgtest.DSN are). Times are passed explicitly
// (microsecond precision, UTC), so nothing sleeps and a store must return
// exactly the times it was given.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// t0 is the suite's "now"; tests move forward from it.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)

const (
	refreshTTL = 30 * 24 * time.Hour
	maxLife    = 90 * 24 * time.Hour
)

// Run runs the auth.Store contract against stores made by open, one fresh
// store per subtest, subtests in parallel.
func Run(t *testing.T, open func(t *testing.T) auth.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s auth.Store)
	}{
		{"CreateAndFindUser", testCreateAndFindUser},
		{"ListUsers", testListUsers},
		{"DuplicateEmail", testDuplicateEmail},
		{"ConcurrentRegistration", testConcurrentRegistration},
		{"UserNotFound", testUserNotFound},
		{"SetUserActive", testSetUserActive},
		{"DeleteUserCascades", testDeleteUserCascades},
		{"CreateSessionForMissingUser", testCreateSessionForMissingUser},
		{"UserForSession", testUserForSession},
		{"Rotate", testRotate},
		{"RotateChain", testRotateChain},
		{"RotateInactiveUserChangesNothing", testRotateInactiveUser},
		{"RotateGraceReuse", testRotateGraceReuse},
		{"RotateReuseRevokesFamily", testRotateReuseRevokesFamily},
		{"RotateStrictRace", testRotateStrictRace},
		{"RevokeSessionByToken", testRevokeSessionByToken},
		{"RevokeSession", testRevokeSession},
		{"RevokeAllSessions", testRevokeAllSessions},
		{"ListSessions", testListSessions},
		{"Ping", testPing},
	}
	tests = append(tests, mfaTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// newUser registers email, active, created at t0.
func newUser(t *testing.T, s auth.Store, email string) auth.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), auth.NewUser{
		Email: email, PasswordHash: "$2a$04$hash-of-" + email, IsActive: true, CreatedAt: t0,
	})
	if err != nil {
		t.Fatalf("CreateUser(%q) = %v", email, err)
	}
	return u
}

// newSession starts session id for u at created, with its first refresh
// token "rt-"+id valid for refreshTTL, and the session deadline maxLife
// after created.
func newSession(t *testing.T, s auth.Store, u auth.User, id string, created time.Time) auth.Session {
	t.Helper()
	return newSessionUntil(t, s, u, id, created, created.Add(maxLife))
}

// newSessionUntil is newSession with the given deadline; the first token's
// expiry is capped at it, as the domain does.
func newSessionUntil(t *testing.T, s auth.Store, u auth.User, id string, created, deadline time.Time) auth.Session {
	t.Helper()
	expires := created.Add(refreshTTL)
	if expires.After(deadline) {
		expires = deadline
	}
	ss := auth.Session{
		ID: id, UserID: u.ID, CreatedAt: created, LastUsedAt: created,
		ExpiresAt: expires, Deadline: deadline,
		ClientIP: "192.0.2.1", UserAgent: "storetest/1.0", AAL: "aal1", AMR: []string{"pwd"},
	}
	first := auth.RefreshToken{Hash: "rt-" + id, SessionID: id, UserID: u.ID, IssuedAt: created,
		ExpiresAt: expires}
	if err := s.CreateSession(context.Background(), ss, first); err != nil {
		t.Fatalf("CreateSession(%q) = %v", id, err)
	}
	return ss
}

// rotation asks to rotate hash into next at now, valid for refreshTTL.
func rotation(hash, next string, now time.Time, grace time.Duration) auth.Rotation {
	return auth.Rotation{
		PresentedHash: hash,
		Next:          auth.RefreshToken{Hash: next, IssuedAt: now, ExpiresAt: now.Add(refreshTTL)},
		Now:           now,
		Grace:         grace,
	}
}

func testCreateAndFindUser(t *testing.T, s auth.Store) {
	ctx := context.Background()
	tests := []struct {
		name string
		in   auth.NewUser
	}{
		{"with names", auth.NewUser{Email: "alice@example.com", PasswordHash: "$2a$04$alice",
			FirstName: "Alice", LastName: "Liddell", IsActive: true, CreatedAt: t0}},
		{"without names", auth.NewUser{Email: "bob@example.com", PasswordHash: "$2a$04$bob",
			IsActive: true, CreatedAt: t0.Add(time.Minute)}},
		{"inactive, unicode", auth.NewUser{Email: "zoë@exämple.org", PasswordHash: "$2a$04$zoe",
			FirstName: "Zoë", LastName: "Ærø", CreatedAt: t0.Add(2 * time.Minute)}},
	}
	seen := map[int64]bool{}
	for _, tc := range tests {
		got, err := s.CreateUser(ctx, tc.in)
		if err != nil {
			t.Fatalf("%s: CreateUser(%q) = %v", tc.name, tc.in.Email, err)
		}
		want := auth.User{ID: got.ID, Email: tc.in.Email, PasswordHash: tc.in.PasswordHash,
			FirstName: tc.in.FirstName, LastName: tc.in.LastName, IsActive: tc.in.IsActive,
			CreatedAt: tc.in.CreatedAt, UpdatedAt: tc.in.CreatedAt}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: CreateUser(%q) mismatch (-want +got):\n%s", tc.name, tc.in.Email, diff)
		}
		if got.ID <= 0 || seen[got.ID] {
			t.Errorf("%s: CreateUser(%q).ID = %d, want a new positive id", tc.name, tc.in.Email, got.ID)
		}
		seen[got.ID] = true

		byEmail, err := s.UserByEmail(ctx, tc.in.Email)
		if err != nil || !cmp.Equal(byEmail, want) {
			t.Errorf("%s: UserByEmail(%q) = %+v, %v, want %+v", tc.name, tc.in.Email, byEmail, err, want)
		}
		byID, err := s.UserByID(ctx, got.ID)
		if err != nil || !cmp.Equal(byID, want) {
			t.Errorf("%s: UserByID(%d) = %+v, %v, want %+v", tc.name, got.ID, byID, err, want)
		}
	}
}

func testListUsers(t *testing.T, s auth.Store) {
	ctx := context.Background()
	var want []string
	for i := range 5 {
		email := fmt.Sprintf("user%d@example.com", i)
		if _, err := s.CreateUser(ctx, auth.NewUser{Email: email, PasswordHash: "h", IsActive: true,
			CreatedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatalf("CreateUser(%q) = %v", email, err)
		}
		want = append(want, email)
	}
	tests := []struct {
		limit int
		want  []string
	}{
		{limit: 3, want: want[:3]},
		{limit: 5, want: want},
		{limit: 100, want: want},
	}
	for _, tc := range tests {
		users, err := s.ListUsers(ctx, tc.limit)
		if err != nil {
			t.Fatalf("ListUsers(%d) = %v", tc.limit, err)
		}
		var got []string
		for _, u := range users {
			got = append(got, u.Email)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ListUsers(%d) emails mismatch, want oldest first (-want +got):\n%s", tc.limit, diff)
		}
	}
}

func testDuplicateEmail(t *testing.T, s auth.Store) {
	ctx := context.Background()
	newUser(t, s, "alice@x.io")
	// The domain lower-cases emails; the store must enforce
	// case-insensitive uniqueness on its own all the same.
	for _, email := range []string{"alice@x.io", "Alice@x.io", "ALICE@X.IO"} {
		_, err := s.CreateUser(ctx, auth.NewUser{Email: email, PasswordHash: "h", IsActive: true, CreatedAt: t0})
		if !errors.Is(err, auth.ErrEmailTaken) {
			t.Errorf("CreateUser(%q) after alice@x.io = %v, want ErrEmailTaken", email, err)
		}
	}
	users, err := s.ListUsers(ctx, 10)
	if err != nil || len(users) != 1 {
		t.Errorf("ListUsers after duplicates = %d users, %v, want 1", len(users), err)
	}
}

func testConcurrentRegistration(t *testing.T, s auth.Store) {
	const n = 20
	ctx := context.Background()
	warm(t, n, func() error { return s.Ping(ctx) })
	errs := race(n, func(int) error {
		_, err := s.CreateUser(ctx, auth.NewUser{Email: "race@example.com", PasswordHash: "h", IsActive: true, CreatedAt: t0})
		return err
	})
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, auth.ErrEmailTaken):
			t.Errorf("CreateUser #%d of %d concurrent = %v, want nil or ErrEmailTaken", i, n, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent CreateUser of one email: %d succeeded, want exactly 1", n, ok)
	}
}

func testUserNotFound(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser(t, s, "present@example.com")
	missing := u.ID + 1000
	tests := []struct {
		call string
		err  error
	}{
		{"UserByEmail", func() error { _, err := s.UserByEmail(ctx, "absent@example.com"); return err }()},
		{"UserByID", func() error { _, err := s.UserByID(ctx, missing); return err }()},
		{"SetUserActive", func() error { _, err := s.SetUserActive(ctx, missing, false, t0); return err }()},
		{"DeleteUser", s.DeleteUser(ctx, missing)},
		{"UserForSession", func() error { _, err := s.UserForSession(ctx, missing, "nope", t0); return err }()},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, auth.ErrUserNotFound) {
			t.Errorf("%s(unknown user) = %v, want ErrUserNotFound", tc.call, tc.err)
		}
	}
}

func testSetUserActive(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser(t, s, "toggle@example.com")
	for i, active := range []bool{false, true, false} {
		now := t0.Add(time.Duration(i+1) * time.Hour)
		got, err := s.SetUserActive(ctx, u.ID, active, now)
		if err != nil {
			t.Fatalf("SetUserActive(%d, %v) = %v", u.ID, active, err)
		}
		want := u
		want.IsActive, want.UpdatedAt = active, now
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("SetUserActive(%d, %v) mismatch (-want +got):\n%s", u.ID, active, diff)
		}
		if stored, err := s.UserByID(ctx, u.ID); err != nil || !cmp.Equal(stored, want) {
			t.Errorf("UserByID after SetUserActive(%v) = %+v, %v, want %+v", active, stored, err, want)
		}
	}
}

func testDeleteUserCascades(t *testing.T, s auth.Store) {
	ctx := context.Background()
	gone := newUser(t, s, "gone@example.com")
	kept := newUser(t, s, "kept@example.com")
	newSession(t, s, gone, "s-gone", t0)
	newSession(t, s, kept, "s-kept", t0)
	now := t0.Add(time.Minute)

	if err := s.DeleteUser(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteUser(%d) = %v", gone.ID, err)
	}
	if _, err := s.UserByID(ctx, gone.ID); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("UserByID(deleted) = %v, want ErrUserNotFound", err)
	}
	if _, err := s.UserForSession(ctx, gone.ID, "s-gone", now); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("UserForSession(deleted user) = %v, want ErrUserNotFound", err)
	}
	if _, err := s.Rotate(ctx, rotation("rt-s-gone", "next", now, 0)); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate(deleted user's token) = %v, want ErrInvalidToken (token deleted with the user)", err)
	}
	if _, err := s.RevokeSessionByToken(ctx, "rt-s-gone", now); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RevokeSessionByToken(deleted user's token) = %v, want ErrNotFound", err)
	}
	if list, err := s.ListSessions(ctx, gone.ID, now); err != nil || len(list) != 0 {
		t.Errorf("ListSessions(deleted user) = %v, %v, want none", list, err)
	}
	if err := s.DeleteUser(ctx, gone.ID); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("DeleteUser(deleted again) = %v, want ErrUserNotFound", err)
	}
	// The other user is untouched.
	if _, err := s.UserForSession(ctx, kept.ID, "s-kept", now); err != nil {
		t.Errorf("UserForSession(other user) after delete = %v, want nil", err)
	}
	if _, err := s.Rotate(ctx, rotation("rt-s-kept", "kept-next", now, 0)); err != nil {
		t.Errorf("Rotate(other user's token) after delete = %v, want nil", err)
	}
}

func testCreateSessionForMissingUser(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser(t, s, "temp@example.com")
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser = %v", err)
	}
	ss := auth.Session{ID: "orphan", UserID: u.ID, CreatedAt: t0, LastUsedAt: t0,
		ExpiresAt: t0.Add(refreshTTL), Deadline: t0.Add(maxLife)}
	first := auth.RefreshToken{Hash: "rt-orphan", SessionID: "orphan", UserID: u.ID, IssuedAt: t0,
		ExpiresAt: t0.Add(refreshTTL)}
	if err := s.CreateSession(ctx, ss, first); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("CreateSession(deleted user) = %v, want ErrUserNotFound", err)
	}
}

func testUserForSession(t *testing.T, s auth.Store) {
	ctx := context.Background()
	alice := newUser(t, s, "alice@example.com")
	bob := newUser(t, s, "bob@example.com")
	live := newSession(t, s, alice, "s-live", t0)
	newSession(t, s, alice, "s-revoked", t0)
	newSession(t, s, bob, "s-bob", t0)
	if err := s.RevokeSession(ctx, alice.ID, "s-revoked", t0.Add(time.Second)); err != nil {
		t.Fatalf("RevokeSession = %v", err)
	}
	now := t0.Add(time.Hour)

	tests := []struct {
		name    string
		userID  int64
		session string
		now     time.Time
		want    error
	}{
		{"live", alice.ID, "s-live", now, nil},
		{"revoked", alice.ID, "s-revoked", now, auth.ErrSessionRevoked},
		{"at the deadline", alice.ID, "s-live", live.Deadline, auth.ErrSessionRevoked},
		{"past the deadline", alice.ID, "s-live", live.Deadline.Add(time.Second), auth.ErrSessionRevoked},
		{"unknown session", alice.ID, "s-unknown", now, auth.ErrSessionRevoked},
		{"another user's session", alice.ID, "s-bob", now, auth.ErrSessionRevoked},
		{"unknown user", bob.ID + 1000, "s-live", now, auth.ErrUserNotFound},
	}
	for _, tc := range tests {
		got, err := s.UserForSession(ctx, tc.userID, tc.session, tc.now)
		if !errors.Is(err, tc.want) || (tc.want != nil) != (err != nil) {
			t.Errorf("%s: UserForSession(%d, %q) = %v, want %v", tc.name, tc.userID, tc.session, err, tc.want)
			continue
		}
		if tc.want == nil && !cmp.Equal(got, alice) {
			t.Errorf("%s: UserForSession(%d, %q) = %+v, want %+v", tc.name, tc.userID, tc.session, got, alice)
		}
	}
	// An inactive user is still returned: refusing them is the domain's call.
	if _, err := s.SetUserActive(ctx, alice.ID, false, now); err != nil {
		t.Fatalf("SetUserActive = %v", err)
	}
	if got, err := s.UserForSession(ctx, alice.ID, "s-live", now); err != nil || got.IsActive {
		t.Errorf("UserForSession(inactive user) = %+v, %v, want the user with IsActive false", got, err)
	}
}

func testRotate(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser(t, s, "rotate@example.com")
	shortDeadline := t0.Add(2 * time.Hour)
	tests := []struct {
		name     string
		deadline time.Time // of the session; zero: t0 + maxLife
		hash     string    // presented; "": the session's first token
		now      time.Time
		revoke   bool // revoke the session first
		want     error
	}{
		{name: "success", now: t0.Add(time.Minute)},
		{name: "successor expiry capped at the deadline", deadline: shortDeadline, now: t0.Add(time.Hour)},
		{name: "unknown token", hash: "no-such-token", now: t0.Add(time.Minute), want: auth.ErrInvalidToken},
		{name: "token expired", now: t0.Add(refreshTTL), want: auth.ErrTokenExpired},
		{name: "session at its deadline", deadline: shortDeadline, now: shortDeadline, want: auth.ErrTokenExpired},
		{name: "session revoked", now: t0.Add(time.Minute), revoke: true, want: auth.ErrSessionRevoked},
	}
	for i, tc := range tests {
		id := fmt.Sprintf("s-rotate-%d", i)
		deadline := tc.deadline
		if deadline.IsZero() {
			deadline = t0.Add(maxLife)
		}
		ss := newSessionUntil(t, s, u, id, t0, deadline)
		if tc.revoke {
			if err := s.RevokeSession(ctx, u.ID, id, t0.Add(time.Second)); err != nil {
				t.Fatalf("%s: RevokeSession = %v", tc.name, err)
			}
		}
		hash := tc.hash
		if hash == "" {
			hash = "rt-" + id
		}
		r := rotation(hash, id+"-next", tc.now, 0)
		got, err := s.Rotate(ctx, r)
		if tc.want != nil {
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: Rotate(%q) = %v, want %v", tc.name, hash, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Rotate(%q) = %v, want nil", tc.name, hash, err)
			continue
		}
		wantExpiry := r.Next.ExpiresAt
		if wantExpiry.After(deadline) {
			wantExpiry = deadline
		}
		wantSession := ss
		wantSession.LastUsedAt, wantSession.ExpiresAt = tc.now, wantExpiry
		want := auth.Rotated{
			User:    u,
			Session: wantSession,
			Token: auth.RefreshToken{Hash: r.Next.Hash, ParentHash: hash, SessionID: id,
				UserID: u.ID, IssuedAt: tc.now, ExpiresAt: wantExpiry},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: Rotate(%q) mismatch (-want +got):\n%s", tc.name, hash, diff)
		}
		// The stored session reflects the rotation too.
		list, err := s.ListSessions(ctx, u.ID, tc.now)
		if err != nil {
			t.Fatalf("ListSessions = %v", err)
		}
		found := false
		for _, l := range list {
			if l.ID == id {
				found = true
				if diff := cmp.Diff(wantSession, l); diff != "" {
					t.Errorf("%s: ListSessions after Rotate mismatch (-want +got):\n%s", tc.name, diff)
				}
			}
		}
		if !found {
			t.Errorf("%s: ListSessions after Rotate lacks session %q", tc.name, id)
		}
	}
}

func testRotateChain(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser(t, s, "chain@example.com")
	newSession(t, s, u, "s-chain", t0)
	presented := "rt-s-chain"
	for i := range 4 {
		now := t0.Add(time.Duration(i+1) * time.Hour)
		next := fmt.Sprintf("chain-%d", i)
		got, err := s.Rotate(ctx, rotation(presented, next, now, 10*time.Second))
		if err != nil {
			t.Fatalf("Rotate #%d(%q) = %v", i, presented, err)
		}
		if got.Token.Hash != next || got.Token.ParentHash != presented || got.Session.LastUsedAt != now {
			t.Errorf("Rotate #%d(%q) = token %q parent %q last used %v, want %q, %q, %v",
				i, presented, got.Token.Hash, got.Token.ParentHash, got.Session.LastUsedAt, next, presented, now)
		}
		presented = next
	}
}

func testRotateInactiveUser(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser(t, s, "inactive@example.com")
	newSession(t, s, u, "s-inactive", t0)
	if _, err := s.SetUserActive(ctx, u.ID, false, t0); err != nil {
		t.Fatalf("SetUserActive = %v", err)
	}
	now := t0.Add(time.Minute)
	if _, err := s.Rotate(ctx, rotation("rt-s-inactive", "n1", now, 0)); !errors.Is(err, auth.ErrAccountDisabled) {
		t.Fatalf("Rotate(inactive user) = %v, want ErrAccountDisabled", err)
	}
	// Nothing changed: the token is still unspent, the successor was
	// not stored, so once re-enabled a strict rotation succeeds.
	if _, err := s.SetUserActive(ctx, u.ID, true, now); err != nil {
		t.Fatalf("SetUserActive = %v", err)
	}
	if _, err := s.Rotate(ctx, rotation("n1", "n2", now, 0)); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Rotate(successor refused for an inactive user) = %v, want ErrInvalidToken", err)
	}
	if _, err := s.Rotate(ctx, rotation("rt-s-inactive", "n1", now, 0)); err != nil {
		t.Errorf("Rotate(same token once re-enabled, grace 0) = %v, want nil (token left unspent)", err)
	}

	// Disabling revokes the sessions too; the owner still learns that the
	// account is disabled, not merely that the token stopped working.
	newSession(t, s, u, "s-inactive-2", now)
	if _, err := s.SetUserActive(ctx, u.ID, false, now); err != nil {
		t.Fatalf("SetUserActive = %v", err)
	}
	if _, err := s.RevokeAllSessions(ctx, u.ID, now); err != nil {
		t.Fatalf("RevokeAllSessions = %v", err)
	}
	if _, err := s.Rotate(ctx, rotation("rt-s-inactive-2", "m1", now, 0)); !errors.Is(err, auth.ErrAccountDisabled) {
		t.Errorf("Rotate(inactive user, revoked session) = %v, want ErrAccountDisabled", err)
	}
}

func testRotateGraceReuse(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser(t, s, "grace@example.com")
	newSession(t, s, u, "s-grace", t0)
	const grace = 10 * time.Second
	spent := t0.Add(time.Minute)
	if _, err := s.Rotate(ctx, rotation("rt-s-grace", "tab1", spent, grace)); err != nil {
		t.Fatalf("first Rotate = %v", err)
	}
	// A second tab presents the same token within the interval, the last
	// one exactly at its end: each is rotated again.
	for i, now := range []time.Time{spent, spent.Add(5 * time.Second), spent.Add(grace)} {
		next := fmt.Sprintf("tab%d", i+2)
		got, err := s.Rotate(ctx, rotation("rt-s-grace", next, now, grace))
		if err != nil {
			t.Fatalf("Rotate(spent %v ago, grace %v) = %v, want success", now.Sub(spent), grace, err)
		}
		if got.Token.ParentHash != "rt-s-grace" || got.Session.ID != "s-grace" {
			t.Errorf("grace Rotate = parent %q session %q, want rt-s-grace, s-grace", got.Token.ParentHash, got.Session.ID)
		}
	}
	// Both tabs' tokens stay usable.
	for i, hash := range []string{"tab1", "tab2"} {
		now := spent.Add(time.Duration(20+i) * time.Second)
		if _, err := s.Rotate(ctx, rotation(hash, hash+"-next", now, grace)); err != nil {
			t.Errorf("Rotate(%q) after grace reuse = %v, want nil", hash, err)
		}
	}
}

func testRotateReuseRevokesFamily(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser(t, s, "theft@example.com")
	tests := []struct {
		name  string
		grace time.Duration
		after time.Duration // between spending and presenting again
	}{
		{"strict", 0, 0},
		{"after the grace interval", 10 * time.Second, 10*time.Second + time.Microsecond},
	}
	for i, tc := range tests {
		id := fmt.Sprintf("s-theft-%d", i)
		newSession(t, s, u, id, t0)
		spent := t0.Add(time.Minute)
		if _, err := s.Rotate(ctx, rotation("rt-"+id, id+"-a", spent, tc.grace)); err != nil {
			t.Fatalf("%s: first Rotate = %v", tc.name, err)
		}
		now := spent.Add(tc.after)
		got, err := s.Rotate(ctx, rotation("rt-"+id, id+"-b", now, tc.grace))
		if !errors.Is(err, auth.ErrRefreshReused) {
			t.Fatalf("%s: Rotate(spent token) = %v, want ErrRefreshReused", tc.name, err)
		}
		if got.Session.ID != id || got.User.ID != u.ID || got.Session.RevokedAt == nil {
			t.Errorf("%s: Rotate(spent token) = session %q user %d revoked %v, want %q, %d and revoked",
				tc.name, got.Session.ID, got.User.ID, got.Session.RevokedAt, id, u.ID)
		}
		// The whole family is dead: the legitimate successor too.
		later := now.Add(time.Second)
		if _, err := s.Rotate(ctx, rotation(id+"-a", id+"-c", later, tc.grace)); !errors.Is(err, auth.ErrSessionRevoked) {
			t.Errorf("%s: Rotate(successor after reuse) = %v, want ErrSessionRevoked", tc.name, err)
		}
		if _, err := s.Rotate(ctx, rotation(id+"-b", id+"-d", later, tc.grace)); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: Rotate(successor refused on reuse) = %v, want ErrInvalidToken (never stored)", tc.name, err)
		}
		if _, err := s.UserForSession(ctx, u.ID, id, later); !errors.Is(err, auth.ErrSessionRevoked) {
			t.Errorf("%s: UserForSession after reuse = %v, want ErrSessionRevoked", tc.name, err)
		}
		// Presented yet again: still reuse, not merely a revoked session.
		if _, err := s.Rotate(ctx, rotation("rt-"+id, id+"-e", later, tc.grace)); !errors.Is(err, auth.ErrRefreshReused) {
			t.Errorf("%s: Rotate(spent token, session already revoked) = %v, want ErrRefreshReused", tc.name, err)
		}
	}
}

// warm makes n concurrent calls first, so that a pool opens its
// connections before a race: dialling them one by one would otherwise
// spread the racers out and let a missing lock go unnoticed.
func warm(t *testing.T, n int, call func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = call() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("warming up: %v", err)
	}
}

// race runs n calls at once and returns their errors.
func race(n int, call func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = call(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func testRotateStrictRace(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser(t, s, "race@example.com")
	const n, rounds = 20, 3
	now := t0.Add(time.Minute)
	warm(t, n, func() error { _, err := s.UserByID(ctx, u.ID); return err })
	for round := range rounds {
		id := fmt.Sprintf("s-race-%d", round)
		newSession(t, s, u, id, t0)
		succ := func(i int) string { return fmt.Sprintf("%s-succ-%d", id, i) }
		errs := race(n, func(i int) error {
			_, err := s.Rotate(ctx, rotation("rt-"+id, succ(i), now, 0))
			return err
		})
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, auth.ErrRefreshReused):
				t.Errorf("round %d: Rotate #%d of %d concurrent = %v, want nil or ErrRefreshReused", round, i, n, err)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d concurrent strict rotations of one token: %d succeeded, want exactly 1", round, n, ok)
		}
		// No successor may be live: the one stored belongs to a session
		// the reuse revoked, the others were never stored.
		later := now.Add(time.Second)
		stored := 0
		for i := range n {
			_, err := s.Rotate(ctx, rotation(succ(i), succ(i)+"-next", later, 0))
			switch {
			case errors.Is(err, auth.ErrInvalidToken):
			case errors.Is(err, auth.ErrSessionRevoked):
				stored++
			default:
				t.Errorf("round %d: Rotate(successor %d) = %v, want ErrInvalidToken or ErrSessionRevoked", round, i, err)
			}
		}
		if stored != ok {
			t.Errorf("round %d: stored successors = %d, want %d (one per successful rotation)", round, stored, ok)
		}
	}
}

func testRevokeSessionByToken(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := newUser(t, s, "logout@example.com")
	ss := newSession(t, s, u, "s-logout", t0)
	other := newSession(t, s, u, "s-other", t0)
	// Rotate once, so that the family has a spent and a live token.
	if _, err := s.Rotate(ctx, rotation("rt-s-logout", "logout-2", t0.Add(time.Minute), 0)); err != nil {
		t.Fatalf("Rotate = %v", err)
	}
	revokedAt := t0.Add(time.Hour)
	got, err := s.RevokeSessionByToken(ctx, "rt-s-logout", revokedAt) // the spent one
	if err != nil {
		t.Fatalf("RevokeSessionByToken = %v", err)
	}
	want := ss
	want.LastUsedAt, want.ExpiresAt = t0.Add(time.Minute), t0.Add(time.Minute+refreshTTL)
	want.RevokedAt = &revokedAt
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RevokeSessionByToken mismatch (-want +got):\n%s", diff)
	}
	later := revokedAt.Add(time.Minute)
	if _, err := s.Rotate(ctx, rotation("logout-2", "logout-3", later, 0)); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Errorf("Rotate(live token of a logged-out family) = %v, want ErrSessionRevoked", err)
	}
	if _, err := s.UserForSession(ctx, u.ID, ss.ID, later); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Errorf("UserForSession(logged out) = %v, want ErrSessionRevoked", err)
	}
	// Logging out twice is not an error and keeps the first time.
	again, err := s.RevokeSessionByToken(ctx, "logout-2", later)
	if err != nil || again.RevokedAt == nil || !again.RevokedAt.Equal(revokedAt) {
		t.Errorf("RevokeSessionByToken(again) = revoked %v, %v, want %v, nil", again.RevokedAt, err, revokedAt)
	}
	if _, err := s.RevokeSessionByToken(ctx, "no-such-token", later); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RevokeSessionByToken(unknown) = %v, want ErrNotFound", err)
	}
	// Other sessions are untouched.
	if _, err := s.UserForSession(ctx, u.ID, other.ID, later); err != nil {
		t.Errorf("UserForSession(other session) = %v, want nil", err)
	}
}

func testRevokeSession(t *testing.T, s auth.Store) {
	ctx := context.Background()
	alice := newUser(t, s, "alice@example.com")
	bob := newUser(t, s, "bob@example.com")
	newSession(t, s, alice, "s-alice", t0)
	newSession(t, s, bob, "s-bob", t0)
	expired := newSession(t, s, alice, "s-expired", t0)
	now := t0.Add(time.Hour)

	tests := []struct {
		name    string
		userID  int64
		session string
		now     time.Time
		want    error
	}{
		{"another user's session", alice.ID, "s-bob", now, auth.ErrNotFound},
		{"unknown session", alice.ID, "s-unknown", now, auth.ErrNotFound},
		{"expired session", alice.ID, "s-expired", expired.ExpiresAt, auth.ErrNotFound},
		{"own live session", alice.ID, "s-alice", now, nil},
		{"already revoked", alice.ID, "s-alice", now.Add(time.Second), auth.ErrNotFound},
	}
	for _, tc := range tests {
		if err := s.RevokeSession(ctx, tc.userID, tc.session, tc.now); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: RevokeSession(%d, %q) = %v, want %v", tc.name, tc.userID, tc.session, err, tc.want)
		}
	}
	if _, err := s.UserForSession(ctx, alice.ID, "s-alice", now); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Errorf("UserForSession(revoked) = %v, want ErrSessionRevoked", err)
	}
	if _, err := s.UserForSession(ctx, bob.ID, "s-bob", now); err != nil {
		t.Errorf("UserForSession(bob's, after alice tried to revoke it) = %v, want nil", err)
	}
}

func testRevokeAllSessions(t *testing.T, s auth.Store) {
	ctx := context.Background()
	alice := newUser(t, s, "alice@example.com")
	bob := newUser(t, s, "bob@example.com")
	for _, id := range []string{"a1", "a2", "a3"} {
		newSession(t, s, alice, id, t0)
	}
	newSession(t, s, bob, "b1", t0)
	if err := s.RevokeSession(ctx, alice.ID, "a3", t0.Add(time.Second)); err != nil {
		t.Fatalf("RevokeSession = %v", err)
	}
	now := t0.Add(time.Hour)
	n, err := s.RevokeAllSessions(ctx, alice.ID, now)
	if err != nil || n != 2 {
		t.Errorf("RevokeAllSessions(alice) = %d, %v, want 2 (a3 was already revoked), nil", n, err)
	}
	if list, err := s.ListSessions(ctx, alice.ID, now); err != nil || len(list) != 0 {
		t.Errorf("ListSessions(alice) after RevokeAllSessions = %d sessions, %v, want none", len(list), err)
	}
	if n, err := s.RevokeAllSessions(ctx, alice.ID, now); err != nil || n != 0 {
		t.Errorf("RevokeAllSessions(alice) again = %d, %v, want 0, nil", n, err)
	}
	if list, err := s.ListSessions(ctx, bob.ID, now); err != nil || len(list) != 1 {
		t.Errorf("ListSessions(bob) = %d sessions, %v, want 1 (untouched)", len(list), err)
	}
}

func testListSessions(t *testing.T, s auth.Store) {
	ctx := context.Background()
	alice := newUser(t, s, "alice@example.com")
	bob := newUser(t, s, "bob@example.com")
	old := newSessionUntil(t, s, alice, "old", t0.Add(-time.Minute), t0.Add(time.Hour))
	first := newSession(t, s, alice, "first", t0)
	revoked := newSession(t, s, alice, "revoked", t0.Add(time.Minute))
	second := newSession(t, s, alice, "second", t0.Add(2*time.Minute))
	newSession(t, s, bob, "bobs", t0.Add(3*time.Minute))
	if err := s.RevokeSession(ctx, alice.ID, revoked.ID, t0.Add(time.Hour)); err != nil {
		t.Fatalf("RevokeSession = %v", err)
	}
	tests := []struct {
		name string
		now  time.Time
		want []auth.Session
	}{
		{"before the old session's deadline", t0.Add(30 * time.Minute), []auth.Session{second, first, old}},
		{"after it, and after a revocation", t0.Add(2 * time.Hour), []auth.Session{second, first}},
		{"when every token has expired", t0.Add(2*time.Minute + refreshTTL), nil},
	}
	for _, tc := range tests {
		got, err := s.ListSessions(ctx, alice.ID, tc.now)
		if err != nil {
			t.Fatalf("%s: ListSessions = %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: ListSessions mismatch, want live only, newest first (-want +got):\n%s", tc.name, diff)
		}
	}
}

func testPing(t *testing.T, s auth.Store) {
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping() = %v, want nil", err)
	}
}
