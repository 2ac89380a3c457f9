package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// mfaTests are the contract of auth.MFAStore, run by Run on every store
// that implements it.
var mfaTests = []struct {
	name string
	fn   func(t *testing.T, s auth.Store)
}{
	{"MFAFactorLifecycle", withMFA(testFactorLifecycle)},
	{"MFAChallengeFailures", withMFA(testChallengeFailures)},
	{"MFACompleteSpendsOnce", withMFA(testCompleteSpendsOnce)},
	{"MFACompleteRace", withMFA(testCompleteRace)},
	{"MFAResetAndCascade", withMFA(testResetAndCascade)},
}

func withMFA(fn func(*testing.T, auth.Store, auth.MFAStore)) func(*testing.T, auth.Store) {
	return func(t *testing.T, s auth.Store) {
		m, ok := s.(auth.MFAStore)
		if !ok {
			t.Skipf("SKIPPED: %T does not implement auth.MFAStore", s)
		}
		fn(t, s, m)
	}
}

func pendingFactor(t *testing.T, m auth.MFAStore, u auth.User, id string) auth.Factor {
	t.Helper()
	f := auth.Factor{ID: id, UserID: u.ID, Type: auth.FactorTOTP, Secret: "sealed-" + id, KeyID: "k1", CreatedAt: t0, LastStep: -1}
	if err := m.CreateFactor(context.Background(), f); err != nil {
		t.Fatalf("CreateFactor(%q) = %v", id, err)
	}
	return f
}

func activeFactor(t *testing.T, m auth.MFAStore, u auth.User, id string, codes ...string) auth.Factor {
	t.Helper()
	f := pendingFactor(t, m, u, id)
	if err := m.ActivateFactor(context.Background(), auth.FactorActivation{UserID: u.ID, FactorID: id, Step: 100, RecoveryHashes: codes, Now: t0}); err != nil {
		t.Fatalf("ActivateFactor(%q) = %v", id, err)
	}
	return f
}

func challenge(t *testing.T, m auth.MFAStore, u auth.User, hash string, now time.Time) {
	t.Helper()
	types, err := m.CreateMFAChallenge(context.Background(), auth.MFAChallenge{Hash: hash, UserID: u.ID, ClientIP: "192.0.2.1",
		UserAgent: "storetest/1.0", CreatedAt: now, ExpiresAt: now.Add(auth.MFATokenTTL)})
	if err != nil {
		t.Fatalf("CreateMFAChallenge(%q) = %v", hash, err)
	}
	if !slices.Equal(types, []string{auth.FactorTOTP}) {
		t.Errorf("CreateMFAChallenge types = %v, want [totp]", types)
	}
}

func completion(u auth.User, hash, factor string, step int64, recovery, sid string, now time.Time) auth.MFACompletion {
	return auth.MFACompletion{
		ChallengeHash: hash, FactorID: factor, Step: step, RecoveryHash: recovery, Now: now,
		Session: auth.Session{ID: sid, UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(refreshTTL),
			Deadline: now.Add(maxLife), ClientIP: "192.0.2.1", UserAgent: "storetest/1.0", AAL: "aal2", AMR: []string{"pwd", "otp"}},
		First: auth.RefreshToken{Hash: "rt-" + sid, SessionID: sid, UserID: u.ID, IssuedAt: now, ExpiresAt: now.Add(refreshTTL)},
	}
}

func mfaEnabled(t *testing.T, s auth.Store, u auth.User) bool {
	t.Helper()
	got, err := s.UserByID(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("UserByID = %v", err)
	}
	return got.MFAEnabled
}

func testFactorLifecycle(t *testing.T, s auth.Store, m auth.MFAStore) {
	ctx := context.Background()
	u := newUser(t, s, "mfa-life@example.com")
	other := newUser(t, s, "mfa-other@example.com")
	if u.MFAEnabled {
		t.Errorf("new user MFAEnabled = true")
	}

	pendingFactor(t, m, u, "f-first")
	got, err := m.Factor(ctx, u.ID, "f-first")
	if err != nil || got.Active() || got.Secret != "sealed-f-first" || got.KeyID != "k1" || got.LastStep != -1 || !got.CreatedAt.Equal(t0) {
		t.Errorf("Factor(pending) = %+v, %v", got, err)
	}
	if _, err := m.Factor(ctx, other.ID, "f-first"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Factor(another user's) = %v, want ErrNotFound", err)
	}
	if list, err := m.ListFactors(ctx, u.ID); err != nil || len(list) != 0 {
		t.Errorf("ListFactors with a pending factor only = %v, %v, want none", list, err)
	}
	// A second enrolment replaces the pending one.
	pendingFactor(t, m, u, "f-second")
	if _, err := m.Factor(ctx, u.ID, "f-first"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Factor(replaced pending) = %v, want ErrNotFound", err)
	}
	if err := m.ActivateFactor(ctx, auth.FactorActivation{UserID: other.ID, FactorID: "f-second", Step: 5, Now: t0}); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ActivateFactor(another user's) = %v, want ErrNotFound", err)
	}
	if err := m.ReplaceRecoveryCodes(ctx, u.ID, []string{"x"}, t0); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ReplaceRecoveryCodes without an active factor = %v, want ErrNotFound", err)
	}
	act := auth.FactorActivation{UserID: u.ID, FactorID: "f-second", Step: 5, RecoveryHashes: []string{"h1", "h2"}, Now: t0.Add(time.Minute)}
	if err := m.ActivateFactor(ctx, act); err != nil {
		t.Fatalf("ActivateFactor = %v", err)
	}
	if err := m.ActivateFactor(ctx, act); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ActivateFactor twice = %v, want ErrNotFound", err)
	}
	if !mfaEnabled(t, s, u) || mfaEnabled(t, s, other) {
		t.Errorf("MFAEnabled after activation: user %t, other %t; want true, false", mfaEnabled(t, s, u), mfaEnabled(t, s, other))
	}
	list, err := m.ListFactors(ctx, u.ID)
	if err != nil || len(list) != 1 || list[0].ID != "f-second" || !list[0].Active() || !list[0].ActivatedAt.Equal(t0.Add(time.Minute)) || list[0].LastStep != 5 {
		t.Fatalf("ListFactors = %+v, %v; want f-second, active, step 5", list, err)
	}
	// A pending factor beside an active one is not listed.
	pendingFactor(t, m, u, "f-third")
	if list, _ := m.ListFactors(ctx, u.ID); len(list) != 1 {
		t.Errorf("ListFactors with one active and one pending = %d factors, want 1", len(list))
	}
	if err := m.ReplaceRecoveryCodes(ctx, u.ID, []string{"h3"}, t0); err != nil {
		t.Errorf("ReplaceRecoveryCodes = %v", err)
	}
	// h1 went with the replacement; h3 works once.
	challenge(t, m, u, "c-life-1", t0)
	if err := m.CompleteMFA(ctx, completion(u, "c-life-1", "", 0, "h1", "s-life-1", t0)); !errors.Is(err, auth.ErrInvalidMFACode) {
		t.Errorf("CompleteMFA(replaced recovery code) = %v, want ErrInvalidMFACode", err)
	}
	if err := m.CompleteMFA(ctx, completion(u, "c-life-1", "", 0, "h3", "s-life-1", t0)); err != nil {
		t.Errorf("CompleteMFA(new recovery code) = %v", err)
	}

	if _, err := m.DeleteFactor(ctx, other.ID, "f-second"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("DeleteFactor(another user's) = %v, want ErrNotFound", err)
	}
	left, err := m.DeleteFactor(ctx, u.ID, "f-second")
	if err != nil || left != 0 {
		t.Errorf("DeleteFactor(last) = %d, %v, want 0 left", left, err)
	}
	if mfaEnabled(t, s, u) {
		t.Errorf("MFAEnabled after removing the last factor = true")
	}
	if err := m.ReplaceRecoveryCodes(ctx, u.ID, []string{"h4"}, t0); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ReplaceRecoveryCodes after the last factor went = %v, want ErrNotFound", err)
	}
	if _, err := m.DeleteFactor(ctx, u.ID, "f-second"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("DeleteFactor twice = %v, want ErrNotFound", err)
	}
}

func testChallengeFailures(t *testing.T, s auth.Store, m auth.MFAStore) {
	ctx := context.Background()
	u := newUser(t, s, "mfa-fail@example.com")
	activeFactor(t, m, u, "f-fail")
	challenge(t, m, u, "c-fail", t0)
	c, gotUser, fs, err := m.MFAChallenge(ctx, "c-fail")
	if err != nil || c.UserID != u.ID || c.ClientIP != "192.0.2.1" || c.UserAgent != "storetest/1.0" || !c.ExpiresAt.Equal(t0.Add(auth.MFATokenTTL)) ||
		c.SpentAt != nil || c.Failures != 0 || gotUser.Email != u.Email || !gotUser.MFAEnabled || len(fs) != 1 || fs[0].ID != "f-fail" {
		t.Fatalf("MFAChallenge = %+v, %+v, %+v, %v", c, gotUser, fs, err)
	}
	if _, _, _, err := m.MFAChallenge(ctx, "c-unknown"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MFAChallenge(unknown) = %v, want ErrNotFound", err)
	}
	for i := 1; i <= auth.MFAMaxFailures; i++ {
		if err := m.FailMFAChallenge(ctx, "c-fail", auth.MFAMaxFailures, t0.Add(time.Second)); err != nil {
			t.Fatalf("FailMFAChallenge = %v", err)
		}
		c, _, _, _ := m.MFAChallenge(ctx, "c-fail")
		if c.Failures != i || (c.SpentAt != nil) != (i == auth.MFAMaxFailures) {
			t.Errorf("after %d failures: failures %d, spent %v", i, c.Failures, c.SpentAt)
		}
	}
	if err := m.CompleteMFA(ctx, completion(u, "c-fail", "f-fail", 200, "", "s-fail", t0)); !errors.Is(err, auth.ErrInvalidMFACode) {
		t.Errorf("CompleteMFA(spent by failures) = %v, want ErrInvalidMFACode", err)
	}
	// An expired challenge cannot be completed either.
	challenge(t, m, u, "c-old", t0)
	late := t0.Add(auth.MFATokenTTL)
	if err := m.CompleteMFA(ctx, completion(u, "c-old", "f-fail", 200, "", "s-old", late)); !errors.Is(err, auth.ErrInvalidMFACode) {
		t.Errorf("CompleteMFA(expired challenge) = %v, want ErrInvalidMFACode", err)
	}
	// A new challenge prunes the user's expired ones.
	challenge(t, m, u, "c-new", late.Add(time.Second))
	if _, _, _, err := m.MFAChallenge(ctx, "c-old"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MFAChallenge(expired, after a new one) = %v, want ErrNotFound (pruned)", err)
	}
}

func testCompleteSpendsOnce(t *testing.T, s auth.Store, m auth.MFAStore) {
	ctx := context.Background()
	u := newUser(t, s, "mfa-once@example.com")
	activeFactor(t, m, u, "f-once", "rc-1", "rc-2") // last step 100
	now := t0.Add(time.Minute)

	challenge(t, m, u, "c-once-1", now)
	if err := m.CompleteMFA(ctx, completion(u, "c-once-1", "f-once", 100, "", "s-once-0", now)); !errors.Is(err, auth.ErrInvalidMFACode) {
		t.Errorf("CompleteMFA(the activation's step) = %v, want ErrInvalidMFACode", err)
	}
	done := completion(u, "c-once-1", "f-once", 101, "", "s-once-1", now)
	done.ResealKeyID, done.ResealSecret = "k2", "resealed-f-once"
	if err := m.CompleteMFA(ctx, done); err != nil {
		t.Fatalf("CompleteMFA(step 101) = %v", err)
	}
	if f, err := m.Factor(ctx, u.ID, "f-once"); err != nil || f.KeyID != "k2" || f.Secret != "resealed-f-once" {
		t.Errorf("factor after a completion that reseals = %q under %q, %v; want resealed-f-once under k2", f.Secret, f.KeyID, err)
	}
	sessions, err := s.ListSessions(ctx, u.ID, now)
	if err != nil || len(sessions) != 1 || sessions[0].ID != "s-once-1" || sessions[0].AAL != "aal2" || !slices.Equal(sessions[0].AMR, []string{"pwd", "otp"}) {
		t.Errorf("ListSessions after CompleteMFA = %+v, %v; want s-once-1 at aal2 with pwd,otp", sessions, err)
	}
	list, _ := m.ListFactors(ctx, u.ID)
	if len(list) != 1 || list[0].LastStep != 101 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(now) {
		t.Errorf("factor after use = %+v, want step 101 used at %v", list, now)
	}
	// The session refreshes at its level.
	r, err := s.Rotate(ctx, rotation("rt-s-once-1", "rt-s-once-1b", now.Add(time.Minute), 0))
	if err != nil || r.Session.AAL != "aal2" || !slices.Equal(r.Session.AMR, []string{"pwd", "otp"}) {
		t.Errorf("Rotate of an aal2 session = %+v, %v; want aal2", r.Session, err)
	}

	// Spent challenge; replayed step on a new challenge, which stays usable.
	if err := m.CompleteMFA(ctx, completion(u, "c-once-1", "f-once", 102, "", "s-once-2", now)); !errors.Is(err, auth.ErrInvalidMFACode) {
		t.Errorf("CompleteMFA(spent challenge) = %v, want ErrInvalidMFACode", err)
	}
	challenge(t, m, u, "c-once-2", now)
	if err := m.CompleteMFA(ctx, completion(u, "c-once-2", "f-once", 101, "", "s-once-3", now)); !errors.Is(err, auth.ErrInvalidMFACode) {
		t.Errorf("CompleteMFA(replayed step) = %v, want ErrInvalidMFACode", err)
	}
	if c, _, _, _ := m.MFAChallenge(ctx, "c-once-2"); c.SpentAt != nil {
		t.Errorf("a refused completion spent the challenge")
	}
	if n, _ := s.ListSessions(ctx, u.ID, now); len(n) != 1 {
		t.Errorf("a refused completion left a session: %d sessions", len(n))
	}
	// Recovery codes: once each.
	if err := m.CompleteMFA(ctx, completion(u, "c-once-2", "", 0, "rc-1", "s-once-4", now)); err != nil {
		t.Errorf("CompleteMFA(recovery code) = %v", err)
	}
	challenge(t, m, u, "c-once-3", now)
	if err := m.CompleteMFA(ctx, completion(u, "c-once-3", "", 0, "rc-1", "s-once-5", now)); !errors.Is(err, auth.ErrInvalidMFACode) {
		t.Errorf("CompleteMFA(used recovery code) = %v, want ErrInvalidMFACode", err)
	}
	other := newUser(t, s, "mfa-once-other@example.com")
	activeFactor(t, m, other, "f-once-other")
	challenge(t, m, other, "c-once-other", now)
	if err := m.CompleteMFA(ctx, completion(other, "c-once-other", "", 0, "rc-2", "s-once-6", now)); !errors.Is(err, auth.ErrInvalidMFACode) {
		t.Errorf("CompleteMFA(another user's recovery code) = %v, want ErrInvalidMFACode", err)
	}
}

func testCompleteRace(t *testing.T, s auth.Store, m auth.MFAStore) {
	ctx := context.Background()
	u := newUser(t, s, "mfa-race@example.com")
	activeFactor(t, m, u, "f-race")
	const n = 8
	now := t0.Add(time.Minute)
	for i := range n {
		challenge(t, m, u, "c-race-"+string(rune('a'+i)), now)
	}
	// One code (step 150) on eight challenges at once.
	errs := race(n, func(i int) error {
		id := string(rune('a' + i))
		return m.CompleteMFA(ctx, completion(u, "c-race-"+id, "f-race", 150, "", "s-race-"+id, now))
	})
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, auth.ErrInvalidMFACode):
			t.Errorf("racing CompleteMFA = %v, want nil or ErrInvalidMFACode", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d racing completions with one code succeeded, want exactly 1", won, n)
	}
	// One challenge, eight later codes at once.
	challenge(t, m, u, "c-race-one", now)
	errs = race(n, func(i int) error {
		return m.CompleteMFA(ctx, completion(u, "c-race-one", "f-race", int64(160+i), "", "s-race-one-"+string(rune('a'+i)), now))
	})
	won = 0
	for _, err := range errs {
		if err == nil {
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d of %d racing completions of one challenge succeeded, want exactly 1", won, n)
	}
}

func testResetAndCascade(t *testing.T, s auth.Store, m auth.MFAStore) {
	ctx := context.Background()
	u := newUser(t, s, "mfa-reset@example.com")
	activeFactor(t, m, u, "f-reset-1", "rc-reset")
	pendingFactor(t, m, u, "f-reset-2")
	challenge(t, m, u, "c-reset", t0)
	n, err := m.ResetMFA(ctx, u.ID)
	if err != nil || n != 2 {
		t.Errorf("ResetMFA = %d, %v, want 2 factors removed", n, err)
	}
	if mfaEnabled(t, s, u) {
		t.Errorf("MFAEnabled after ResetMFA = true")
	}
	if _, _, _, err := m.MFAChallenge(ctx, "c-reset"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MFAChallenge after ResetMFA = %v, want ErrNotFound", err)
	}
	if list, _ := m.ListFactors(ctx, u.ID); len(list) != 0 {
		t.Errorf("ListFactors after ResetMFA = %v", list)
	}

	v := newUser(t, s, "mfa-cascade@example.com")
	activeFactor(t, m, v, "f-cascade", "rc-cascade")
	challenge(t, m, v, "c-cascade", t0)
	if err := s.DeleteUser(ctx, v.ID); err != nil {
		t.Fatalf("DeleteUser = %v", err)
	}
	if _, err := m.Factor(ctx, v.ID, "f-cascade"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Factor of a deleted user = %v, want ErrNotFound", err)
	}
	if _, _, _, err := m.MFAChallenge(ctx, "c-cascade"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MFAChallenge of a deleted user = %v, want ErrNotFound", err)
	}
}
