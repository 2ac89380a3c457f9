package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// Recovery is a store with email verification, password reset and the
// outbox.
type Recovery interface {
	auth.Store
	auth.RecoveryStore
	auth.Outbox
}

// RunRecovery runs the auth.RecoveryStore and auth.Outbox contract against
// stores made by open, one fresh store per subtest, subtests in parallel.
func RunRecovery(t *testing.T, open func(t *testing.T) Recovery) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Recovery)
	}{
		{"RequestLinkCooldownAndVoiding", testRequestLinkCooldown},
		{"RequestLinkWithoutSendClaimsCooldown", testRequestLinkNoSend},
		{"VerifyEmail", testVerifyEmail},
		{"ResetPasswordRace", testResetPasswordRace},
		{"SetPasswordKeepsOneSession", testSetPassword},
		{"OutboxLifecycle", testOutboxLifecycle},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"DeleteUserCascadesToLinksAndMail", testRecoveryCascade},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

const cooldown = time.Minute

func mailFor(u auth.User, kind string) auth.OutboxMessage {
	return auth.OutboxMessage{UserID: u.ID, To: u.Email, Kind: kind,
		Message: auth.Message{Subject: "subject " + kind, Text: "text with link #token=secret", HTML: "<p>html</p>"}}
}

func linkReq(u auth.User, kind, hash string, now time.Time, send bool) auth.LinkRequest {
	mk := auth.MailPasswordReset
	if kind == auth.LinkVerifyEmail {
		mk = auth.MailVerification
	}
	return auth.LinkRequest{AddressKey: "key-" + u.Email, Kind: kind, Now: now, Cooldown: cooldown, Send: send,
		UserID: u.ID, TokenHash: hash, ExpiresAt: now.Add(30 * time.Minute), Mail: mailFor(u, mk)}
}

func mustRequest(t *testing.T, s Recovery, r auth.LinkRequest, want bool) {
	t.Helper()
	got, err := s.RequestLink(context.Background(), r)
	if err != nil || got != want {
		t.Fatalf("RequestLink(%s, %s at %v) = %v, %v; want %v, nil", r.Kind, r.TokenHash, r.Now, got, err, want)
	}
}

func pending(t *testing.T, s Recovery) []auth.OutboxMessage {
	t.Helper()
	list, err := s.ListOutbox(context.Background(), auth.OutboxPending, 100)
	if err != nil {
		t.Fatalf("ListOutbox(pending) = %v", err)
	}
	return list
}

func testRequestLinkCooldown(t *testing.T, s Recovery) {
	ctx := context.Background()
	u := newUser(t, s, "cool@example.com")
	mustRequest(t, s, linkReq(u, auth.LinkResetPassword, "h1", t0, true), true)
	// Within the cooldown: nothing stored, and the first token stays.
	mustRequest(t, s, linkReq(u, auth.LinkResetPassword, "h2", t0.Add(cooldown-time.Second), true), false)
	if _, err := s.LinkTokenUser(ctx, auth.LinkResetPassword, "h2", t0.Add(time.Second)); !errors.Is(err, auth.ErrInvalidLinkToken) {
		t.Errorf("LinkTokenUser(token refused by the cooldown) = %v, want ErrInvalidLinkToken", err)
	}
	// Another kind has its own cooldown.
	mustRequest(t, s, linkReq(u, auth.LinkVerifyEmail, "v1", t0.Add(time.Second), true), true)
	// After it: the new token voids the earlier one of its kind only.
	later := t0.Add(cooldown)
	mustRequest(t, s, linkReq(u, auth.LinkResetPassword, "h3", later, true), true)
	if _, err := s.LinkTokenUser(ctx, auth.LinkResetPassword, "h1", later); !errors.Is(err, auth.ErrInvalidLinkToken) {
		t.Errorf("LinkTokenUser(voided h1) = %v, want ErrInvalidLinkToken", err)
	}
	if got, err := s.LinkTokenUser(ctx, auth.LinkResetPassword, "h3", later); err != nil || got.ID != u.ID {
		t.Errorf("LinkTokenUser(h3) = %v, %v, want user %d", got.ID, err, u.ID)
	}
	if _, err := s.LinkTokenUser(ctx, auth.LinkVerifyEmail, "v1", later); err != nil {
		t.Errorf("LinkTokenUser(v1) after a reset request = %v, want nil (other kind)", err)
	}
	// A token is only good for its kind.
	if _, err := s.LinkTokenUser(ctx, auth.LinkVerifyEmail, "h3", later); !errors.Is(err, auth.ErrInvalidLinkToken) {
		t.Errorf("LinkTokenUser(reset token as verify) = %v, want ErrInvalidLinkToken", err)
	}
	// It expires.
	if _, err := s.LinkTokenUser(ctx, auth.LinkResetPassword, "h3", later.Add(30*time.Minute)); !errors.Is(err, auth.ErrInvalidLinkToken) {
		t.Errorf("LinkTokenUser(h3) at its expiry = %v, want ErrInvalidLinkToken", err)
	}
	if got := len(pending(t, s)); got != 3 {
		t.Errorf("pending emails = %d, want 3 (two resets, one verification)", got)
	}
}

func testRequestLinkNoSend(t *testing.T, s Recovery) {
	u := newUser(t, s, "nosend@example.com")
	mustRequest(t, s, linkReq(u, auth.LinkResetPassword, "n1", t0, false), false)
	if got := len(pending(t, s)); got != 0 {
		t.Errorf("pending emails after a request without send = %d, want 0", got)
	}
	// The cooldown was claimed all the same.
	mustRequest(t, s, linkReq(u, auth.LinkResetPassword, "n2", t0.Add(time.Second), true), false)
	mustRequest(t, s, linkReq(u, auth.LinkResetPassword, "n3", t0.Add(cooldown), true), true)
	// Unknown addresses (no user) take the same path.
	ghost := auth.User{Email: "ghost@example.com"}
	mustRequest(t, s, linkReq(ghost, auth.LinkResetPassword, "g1", t0, false), false)
}

func testVerifyEmail(t *testing.T, s Recovery) {
	ctx := context.Background()
	u := newUser(t, s, "verify@example.com")
	if u.EmailVerified {
		t.Fatalf("new user is verified")
	}
	mustRequest(t, s, linkReq(u, auth.LinkVerifyEmail, "v1", t0, true), true)
	mustRequest(t, s, linkReq(u, auth.LinkResetPassword, "r1", t0, true), true)
	now := t0.Add(time.Minute)
	if _, err := s.VerifyEmail(ctx, "r1", now); !errors.Is(err, auth.ErrInvalidLinkToken) {
		t.Errorf("VerifyEmail(reset token) = %v, want ErrInvalidLinkToken", err)
	}
	if _, err := s.VerifyEmail(ctx, "unknown", now); !errors.Is(err, auth.ErrInvalidLinkToken) {
		t.Errorf("VerifyEmail(unknown) = %v, want ErrInvalidLinkToken", err)
	}
	if _, err := s.VerifyEmail(ctx, "v1", t0.Add(31*time.Minute)); !errors.Is(err, auth.ErrInvalidLinkToken) {
		t.Errorf("VerifyEmail(expired) = %v, want ErrInvalidLinkToken", err)
	}
	got, err := s.VerifyEmail(ctx, "v1", now)
	if err != nil || !got.EmailVerified || got.ID != u.ID {
		t.Fatalf("VerifyEmail(v1) = %+v, %v; want the user, verified", got, err)
	}
	if _, err := s.VerifyEmail(ctx, "v1", now); !errors.Is(err, auth.ErrInvalidLinkToken) {
		t.Errorf("VerifyEmail(used) = %v, want ErrInvalidLinkToken", err)
	}
	if again, _ := s.UserByID(ctx, u.ID); !again.EmailVerified {
		t.Errorf("UserByID after verification: not verified")
	}
}

func testResetPasswordRace(t *testing.T, s Recovery) {
	ctx := context.Background()
	u := newUser(t, s, "reset@example.com")
	newSession(t, s, u, "s-reset-1", t0)
	newSession(t, s, u, "s-reset-2", t0)
	mustRequest(t, s, linkReq(u, auth.LinkResetPassword, "r1", t0, true), true)
	now := t0.Add(time.Minute)
	const n = 10
	warm(t, n, func() error { _, err := s.UserByID(ctx, u.ID); return err })
	revoked := make([]int, n)
	errs := race(n, func(i int) error {
		notice := mailFor(u, auth.MailPasswordChanged)
		_, r, err := s.ResetPassword(ctx, "r1", auth.PasswordChange{Hash: fmt.Sprintf("new-hash-%d", i), Now: now, Verify: true, Notice: &notice})
		revoked[i] = r
		return err
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("ResetPassword #%d and #%d both succeeded with one token", winner, i)
			}
			winner = i
		case !errors.Is(err, auth.ErrInvalidLinkToken):
			t.Errorf("ResetPassword #%d = %v, want nil or ErrInvalidLinkToken", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no ResetPassword of %d succeeded", n)
	}
	if revoked[winner] != 2 {
		t.Errorf("ResetPassword revoked %d sessions, want 2", revoked[winner])
	}
	got, _ := s.UserByID(ctx, u.ID)
	if want := fmt.Sprintf("new-hash-%d", winner); got.PasswordHash != want || !got.EmailVerified {
		t.Errorf("after reset: hash %q verified %v, want %q and true", got.PasswordHash, got.EmailVerified, want)
	}
	if list, _ := s.ListSessions(ctx, u.ID, now); len(list) != 0 {
		t.Errorf("live sessions after reset = %d, want 0", len(list))
	}
	notices := 0
	for _, m := range pending(t, s) {
		if m.Kind == auth.MailPasswordChanged {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("password-changed notices queued = %d, want 1", notices)
	}
}

func testSetPassword(t *testing.T, s Recovery) {
	ctx := context.Background()
	u := newUser(t, s, "change@example.com")
	newSession(t, s, u, "s-keep", t0)
	newSession(t, s, u, "s-other", t0)
	mustRequest(t, s, linkReq(u, auth.LinkResetPassword, "r1", t0, true), true)
	now := t0.Add(time.Minute)
	n, err := s.SetPassword(ctx, auth.PasswordChange{UserID: u.ID, Hash: "changed", Now: now, KeepSession: "s-keep"})
	if err != nil || n != 1 {
		t.Fatalf("SetPassword() = %d, %v; want 1 session revoked", n, err)
	}
	list, _ := s.ListSessions(ctx, u.ID, now)
	if len(list) != 1 || list[0].ID != "s-keep" {
		t.Errorf("live sessions after change = %+v, want only s-keep", list)
	}
	// A password change spends reset links.
	if _, err := s.LinkTokenUser(ctx, auth.LinkResetPassword, "r1", now); !errors.Is(err, auth.ErrInvalidLinkToken) {
		t.Errorf("LinkTokenUser(reset token after a change) = %v, want ErrInvalidLinkToken", err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "changed" || got.EmailVerified {
		t.Errorf("after change: %+v; want the new hash, still unverified", got)
	}
	if _, err := s.SetPassword(ctx, auth.PasswordChange{UserID: u.ID + 1000, Hash: "x", Now: now}); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("SetPassword(unknown user) = %v, want ErrUserNotFound", err)
	}
}

func testOutboxLifecycle(t *testing.T, s Recovery) {
	ctx := context.Background()
	u := newUser(t, s, "outbox@example.com")
	mustRequest(t, s, linkReq(u, auth.LinkResetPassword, "o1", t0, true), true)
	mustRequest(t, s, linkReq(u, auth.LinkVerifyEmail, "o2", t0, true), true)
	if n, err := s.OutboxDepth(ctx); err != nil || n != 2 {
		t.Fatalf("OutboxDepth() = %d, %v; want 2", n, err)
	}
	const lease = time.Minute
	a, err := s.ClaimOutbox(ctx, "a", t0, lease, 1)
	if err != nil || len(a) != 1 || a[0].Attempts != 1 || a[0].Message.Text == "" || a[0].To != u.Email {
		t.Fatalf("ClaimOutbox(a, 1) = %+v, %v; want one message, attempt 1, with its body", a, err)
	}
	b, err := s.ClaimOutbox(ctx, "b", t0, lease, 10)
	if err != nil || len(b) != 1 || b[0].ID == a[0].ID {
		t.Fatalf("ClaimOutbox(b) while a holds one = %+v, %v; want only the other", b, err)
	}
	if c, _ := s.ClaimOutbox(ctx, "c", t0.Add(time.Second), lease, 10); len(c) != 0 {
		t.Errorf("ClaimOutbox(c) while both are held = %d messages, want 0", len(c))
	}
	// a sends its message.
	sentAt := t0.Add(2 * time.Second)
	if err := s.MarkSent(ctx, a[0].ID, "a", sentAt); err != nil {
		t.Fatalf("MarkSent(a) = %v", err)
	}
	if err := s.MarkSent(ctx, a[0].ID, "a", sentAt); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MarkSent twice = %v, want ErrNotFound", err)
	}
	// b fails once, then retries later.
	next := t0.Add(time.Hour)
	if err := s.MarkRetry(ctx, b[0].ID, "b", next, "421 try later"); err != nil {
		t.Fatalf("MarkRetry(b) = %v", err)
	}
	if c, _ := s.ClaimOutbox(ctx, "c", next.Add(-time.Second), lease, 10); len(c) != 0 {
		t.Errorf("ClaimOutbox before the retry time = %d messages, want 0", len(c))
	}
	c, err := s.ClaimOutbox(ctx, "c", next, lease, 10)
	if err != nil || len(c) != 1 || c[0].Attempts != 2 || c[0].LastError != "421 try later" {
		t.Fatalf("ClaimOutbox at the retry time = %+v, %v; want b's message, attempt 2", c, err)
	}
	// A claim whose lease ran out goes to another sender; the first can no
	// longer record anything.
	d, err := s.ClaimOutbox(ctx, "d", next.Add(lease), lease, 10)
	if err != nil || len(d) != 1 || d[0].ID != c[0].ID || d[0].Attempts != 3 {
		t.Fatalf("ClaimOutbox after the lease = %+v, %v; want the same message, attempt 3", d, err)
	}
	if err := s.MarkRetry(ctx, c[0].ID, "c", next, "late"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MarkRetry by a sender whose lease ran out = %v, want ErrNotFound", err)
	}
	// Shutdown hands it back, uncounting the attempt.
	if err := s.ReleaseOutbox(ctx, d[0].ID, "d"); err != nil {
		t.Fatalf("ReleaseOutbox(d) = %v", err)
	}
	e, err := s.ClaimOutbox(ctx, "e", next.Add(lease), lease, 10)
	if err != nil || len(e) != 1 || e[0].Attempts != 3 {
		t.Fatalf("ClaimOutbox after a release = %+v, %v; want it again at attempt 3", e, err)
	}
	if err := s.MarkFailed(ctx, e[0].ID, "e", next.Add(lease), "550 no such user"); err != nil {
		t.Fatalf("MarkFailed(e) = %v", err)
	}
	if n, _ := s.OutboxDepth(ctx); n != 0 {
		t.Errorf("OutboxDepth() after sent and failed = %d, want 0", n)
	}
	// Bodies are gone; recipient, kind, status, attempts and times stay.
	all, err := s.ListOutbox(ctx, "", 10)
	if err != nil || len(all) != 2 {
		t.Fatalf("ListOutbox(all) = %d, %v; want 2", len(all), err)
	}
	for _, m := range all {
		if m.Message != (auth.Message{}) {
			t.Errorf("message %d (%s) keeps its body %+v after it ended", m.ID, m.Status, m.Message)
		}
		if m.To != u.Email || m.Kind == "" || m.Attempts == 0 {
			t.Errorf("message %d lost its record: %+v", m.ID, m)
		}
	}
	sent, _ := s.ListOutbox(ctx, auth.OutboxSent, 10)
	failed, _ := s.ListOutbox(ctx, auth.OutboxFailed, 10)
	if len(sent) != 1 || sent[0].SentAt == nil || !sent[0].SentAt.Equal(sentAt) || len(failed) != 1 || failed[0].LastError != "550 no such user" {
		t.Errorf("ListOutbox(sent) = %+v, (failed) = %+v; want one each, with the sent time and the error", sent, failed)
	}
}

func testOutboxConcurrentClaims(t *testing.T, s Recovery) {
	ctx := context.Background()
	const users, senders = 12, 4
	for i := range users {
		u := newUser(t, s, fmt.Sprintf("claim%d@example.com", i))
		mustRequest(t, s, linkReq(u, auth.LinkResetPassword, fmt.Sprintf("c%d", i), t0, true), true)
		mustRequest(t, s, linkReq(u, auth.LinkVerifyEmail, fmt.Sprintf("cv%d", i), t0, true), true)
	}
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for w := range senders {
		owner := fmt.Sprintf("sender-%d", w)
		wg.Go(func() {
			for {
				msgs, err := s.ClaimOutbox(ctx, owner, t0.Add(time.Second), time.Minute, 3)
				if err != nil {
					t.Errorf("ClaimOutbox(%s) = %v", owner, err)
					return
				}
				if len(msgs) == 0 {
					return
				}
				for _, m := range msgs {
					mu.Lock()
					if prev, dup := seen[m.ID]; dup {
						t.Errorf("message %d claimed by %s and %s", m.ID, prev, owner)
					}
					seen[m.ID] = owner
					mu.Unlock()
					if err := s.MarkSent(ctx, m.ID, owner, t0.Add(time.Second)); err != nil {
						t.Errorf("MarkSent(%d, %s) = %v", m.ID, owner, err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != 2*users {
		t.Errorf("messages claimed = %d, want %d", len(seen), 2*users)
	}
}

func testRecoveryCascade(t *testing.T, s Recovery) {
	ctx := context.Background()
	u := newUser(t, s, "gone@example.com")
	mustRequest(t, s, linkReq(u, auth.LinkResetPassword, "gone1", t0, true), true)
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser() = %v", err)
	}
	if _, err := s.LinkTokenUser(ctx, auth.LinkResetPassword, "gone1", t0); !errors.Is(err, auth.ErrInvalidLinkToken) {
		t.Errorf("LinkTokenUser(token of a deleted user) = %v, want ErrInvalidLinkToken", err)
	}
	if n, _ := s.OutboxDepth(ctx); n != 0 {
		t.Errorf("OutboxDepth() after the user was deleted = %d, want 0 (nothing left to send)", n)
	}
	if n, err := s.PruneRecovery(ctx, t0.Add(24*time.Hour)); err != nil || n < 1 {
		t.Errorf("PruneRecovery() = %d, %v; want at least the cooldown row", n, err)
	}
}
