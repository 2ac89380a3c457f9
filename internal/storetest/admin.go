package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/google/go-cmp/cmp"
)

// AdminStore is a store with the audit log and administration: what
// RunAdmin exercises.
type AdminStore interface {
	auth.Store
	auth.AdminStore
	auth.AuditStore
}

// RunAdmin runs the contract of auth.AdminStore and auth.AuditStore, and
// of the audit events that Store methods commit with their changes
// (auth/audit.go), one fresh store per subtest, subtests in parallel.
func RunAdmin(t *testing.T, open func(t *testing.T) AdminStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s AdminStore)
	}{
		{"AuditCommittedWithChange", testAuditCommittedWithChange},
		{"AuditNotCommittedWithoutChange", testAuditNotCommittedWithoutChange},
		{"AuditOnlyOnReuse", testAuditOnlyOnReuse},
		{"AuditListFiltersAndPages", testAuditList},
		{"PruneAudit", testPruneAudit},
		{"ListUsersPage", testListUsersPage},
		{"UpdateUser", testUpdateUser},
		{"UpdateUserDisableRevokesSessions", testUpdateUserDisable},
		{"AdminKeys", testAdminKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// event is an audit event of the suite, at at.
func event(name string, userID int64, at time.Time) auth.AuditEvent {
	return auth.AuditEvent{
		OccurredAt: at, Event: name, UserID: userID, Actor: "admin:ops",
		ClientIP: "198.51.100.7", UserAgent: "storetest/1.0", RequestID: "req-" + name,
		Details: map[string]any{"reason": "wrong_password", "n": float64(2)},
	}
}

func listAudit(t *testing.T, s AdminStore, q auth.AuditQuery) []auth.AuditEvent {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 100
	}
	ev, err := s.ListAudit(context.Background(), q)
	if err != nil {
		t.Fatalf("ListAudit(%+v) = %v", q, err)
	}
	return ev
}

func eventNames(ev []auth.AuditEvent) []string {
	out := []string{}
	for _, e := range ev {
		out = append(out, fmt.Sprintf("%s/%d", e.Event, e.UserID))
	}
	return out
}

func testAuditCommittedWithChange(t *testing.T, s AdminStore) {
	bg := context.Background()
	ev := event("user.registered", 0, t0)
	u, err := s.CreateUser(auth.WithAudit(bg, ev), auth.NewUser{Email: "a@example.com", PasswordHash: "h", IsActive: true, CreatedAt: t0})
	if err != nil {
		t.Fatalf("CreateUser = %v", err)
	}
	got := listAudit(t, s, auth.AuditQuery{})
	if len(got) != 1 {
		t.Fatalf("ListAudit = %v, want the registration", eventNames(got))
	}
	want := ev
	want.UserID = u.ID // the store fills in the new account
	want.ID = got[0].ID
	if d := cmp.Diff(want, got[0]); d != "" {
		t.Errorf("audit event (-want +got):\n%s", d)
	}

	// Every change that takes events commits them.
	ss := newSession(t, s, u, "s1", t0)
	at := t0.Add(time.Second)
	steps := []struct {
		name string
		do   func(ctx context.Context) error
	}{
		{"session.created", func(ctx context.Context) error {
			return s.CreateSession(ctx, auth.Session{ID: "s2", UserID: u.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour), Deadline: at.Add(time.Hour)},
				auth.RefreshToken{Hash: "rt-s2", SessionID: "s2", UserID: u.ID, IssuedAt: at, ExpiresAt: at.Add(time.Hour)})
		}},
		{"session.revoked", func(ctx context.Context) error { return s.RevokeSession(ctx, u.ID, "s2", at) }},
		{"user.logged_out", func(ctx context.Context) error {
			_, err := s.RevokeSessionByToken(ctx, "rt-"+ss.ID, at)
			return err
		}},
		{"session.revoked_all", func(ctx context.Context) error { _, err := s.RevokeAllSessions(ctx, u.ID, at); return err }},
		{"user.disabled", func(ctx context.Context) error { _, err := s.SetUserActive(ctx, u.ID, false, at); return err }},
		{"admin.user_updated", func(ctx context.Context) error {
			_, _, err := s.UpdateUser(ctx, u.ID, auth.UserPatch{FirstName: ptr("Al")}, at)
			return err
		}},
		{"admin_key.created", func(ctx context.Context) error {
			return s.CreateAdminKey(ctx, auth.AdminKey{Name: "ops", Hash: fmt.Sprintf("%064d", 1), CreatedAt: at})
		}},
		{"admin_key.revoked", func(ctx context.Context) error { return s.DeleteAdminKey(ctx, "ops") }},
		{"admin.user_deleted", func(ctx context.Context) error { return s.DeleteUser(ctx, u.ID) }},
	}
	for i, st := range steps {
		e := event(st.name, 0, at.Add(time.Duration(i)*time.Millisecond))
		if err := st.do(auth.WithAudit(bg, e)); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	got = listAudit(t, s, auth.AuditQuery{Since: at})
	if len(got) != len(steps) {
		t.Fatalf("ListAudit = %v, want %d events", eventNames(got), len(steps))
	}
	for i, st := range steps {
		e := got[len(steps)-1-i] // newest first
		if e.Event != st.name {
			t.Errorf("event %d = %q, want %q", i, e.Event, st.name)
		}
		wantUser := u.ID
		if strings.HasPrefix(st.name, "admin_key.") {
			wantUser = 0 // no account is the subject of a key
		}
		if e.UserID != wantUser {
			t.Errorf("%s: user_id = %d, want %d", st.name, e.UserID, wantUser)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func testAuditNotCommittedWithoutChange(t *testing.T, s AdminStore) {
	bg := context.Background()
	u := newUser(t, s, "a@example.com")
	ctx := auth.WithAudit(bg, event("x.failed", 0, t0))
	type check struct {
		name      string
		err, want error
	}
	_, dupErr := s.CreateUser(ctx, auth.NewUser{Email: "a@example.com", PasswordHash: "h", IsActive: true, CreatedAt: t0})
	_, _, updErr := s.UpdateUser(ctx, u.ID+100, auth.UserPatch{IsActive: ptr(false)}, t0)
	checks := []check{
		{"CreateUser duplicate", dupErr, auth.ErrEmailTaken},
		{"RevokeSession unknown", s.RevokeSession(ctx, u.ID, "nope", t0), auth.ErrNotFound},
		{"DeleteUser unknown", s.DeleteUser(ctx, u.ID+100), auth.ErrUserNotFound},
		{"UpdateUser unknown", updErr, auth.ErrUserNotFound},
		{"DeleteAdminKey unknown", s.DeleteAdminKey(ctx, "nope"), auth.ErrNotFound},
	}
	for _, c := range checks {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.err, c.want)
		}
	}
	if got := listAudit(t, s, auth.AuditQuery{}); len(got) != 0 {
		t.Errorf("ListAudit after failed changes = %v, want none", eventNames(got))
	}
}

func testAuditOnlyOnReuse(t *testing.T, s AdminStore) {
	bg := context.Background()
	u := newUser(t, s, "a@example.com")
	newSession(t, s, u, "s1", t0)
	ctx := auth.WithAudit(bg, event("token.reuse_detected", 0, t0))
	now := t0.Add(time.Minute)
	if _, err := s.Rotate(ctx, rotation("rt-s1", "rt-2", now, 0)); err != nil {
		t.Fatalf("Rotate = %v", err)
	}
	if got := listAudit(t, s, auth.AuditQuery{}); len(got) != 0 {
		t.Fatalf("ListAudit after a plain rotation = %v, want none", eventNames(got))
	}
	if _, err := s.Rotate(ctx, rotation("rt-s1", "rt-3", now.Add(time.Minute), 0)); !errors.Is(err, auth.ErrRefreshReused) {
		t.Fatalf("Rotate(spent) = %v, want ErrRefreshReused", err)
	}
	got := listAudit(t, s, auth.AuditQuery{})
	if want := []string{fmt.Sprintf("token.reuse_detected/%d", u.ID)}; !cmp.Equal(eventNames(got), want) {
		t.Errorf("ListAudit after reuse = %v, want %v", eventNames(got), want)
	}
}

func testAuditList(t *testing.T, s AdminStore) {
	bg := context.Background()
	var batch []auth.AuditEvent
	for i := range 10 {
		name := "user.login_failed"
		if i%2 == 1 {
			name = "user.locked"
		}
		// Pairs share a time, so the order falls back to the id.
		batch = append(batch, event(name, int64(1+i%3), t0.Add(time.Duration(i/2)*time.Second)))
	}
	batch[0].UserID = 0 // an unknown account
	if err := s.InsertAudit(bg, batch); err != nil {
		t.Fatalf("InsertAudit = %v", err)
	}
	all := listAudit(t, s, auth.AuditQuery{})
	if len(all) != 10 {
		t.Fatalf("ListAudit = %d events, want 10", len(all))
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.OccurredAt.Before(b.OccurredAt) || (a.OccurredAt.Equal(b.OccurredAt) && a.ID < b.ID) {
			t.Errorf("events %d and %d out of order: %v/%d before %v/%d", i-1, i, a.OccurredAt, a.ID, b.OccurredAt, b.ID)
		}
	}
	if all[9].UserID != 0 {
		t.Errorf("oldest event's user = %d, want 0 (none)", all[9].UserID)
	}
	count := func(q auth.AuditQuery, pred func(auth.AuditEvent) bool) {
		t.Helper()
		want := 0
		for _, e := range all {
			if pred(e) {
				want++
			}
		}
		if got := listAudit(t, s, q); len(got) != want {
			t.Errorf("ListAudit(%+v) = %d events, want %d", q, len(got), want)
		}
	}
	count(auth.AuditQuery{UserID: 2}, func(e auth.AuditEvent) bool { return e.UserID == 2 })
	count(auth.AuditQuery{Event: "user.locked"}, func(e auth.AuditEvent) bool { return e.Event == "user.locked" })
	count(auth.AuditQuery{UserID: 1, Event: "user.locked"}, func(e auth.AuditEvent) bool { return e.UserID == 1 && e.Event == "user.locked" })
	count(auth.AuditQuery{Since: t0.Add(3 * time.Second)}, func(e auth.AuditEvent) bool { return !e.OccurredAt.Before(t0.Add(3 * time.Second)) })

	// Pages of 3 from cursors give every event once, in order.
	var paged []auth.AuditEvent
	q := auth.AuditQuery{Limit: 3}
	for range 10 {
		page := listAudit(t, s, q)
		paged = append(paged, page...)
		if len(page) < 3 {
			break
		}
		last := page[len(page)-1]
		q.After = &auth.AuditCursor{OccurredAt: last.OccurredAt, ID: last.ID}
	}
	if d := cmp.Diff(all, paged); d != "" {
		t.Errorf("paged listing differs from the full one (-full +paged):\n%s", d)
	}
}

func testPruneAudit(t *testing.T, s AdminStore) {
	bg := context.Background()
	if err := s.InsertAudit(bg, []auth.AuditEvent{event("a", 1, t0), event("b", 1, t0.Add(time.Hour)), event("c", 1, t0.Add(2*time.Hour))}); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneAudit(bg, t0.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneAudit = %d, %v, want 1, nil", n, err)
	}
	if got := eventNames(listAudit(t, s, auth.AuditQuery{})); !cmp.Equal(got, []string{"c/1", "b/1"}) {
		t.Errorf("after pruning: %v, want [c/1 b/1]", got)
	}
}

func testListUsersPage(t *testing.T, s AdminStore) {
	bg := context.Background()
	emails := []string{"ann@example.com", "a_b@example.com", "axb@example.com", "a%c@example.com", "bob@example.com", "a!x@example.com"}
	var users []auth.User
	for _, e := range emails {
		users = append(users, newUser(t, s, e))
	}
	page := func(q auth.UserQuery) []string {
		t.Helper()
		us, err := s.ListUsersPage(bg, q)
		if err != nil {
			t.Fatalf("ListUsersPage(%+v) = %v", q, err)
		}
		out := []string{}
		for _, u := range us {
			out = append(out, u.Email)
		}
		return out
	}
	tests := []struct {
		q    auth.UserQuery
		want []string
	}{
		{auth.UserQuery{Limit: 10}, emails},
		{auth.UserQuery{Limit: 2}, emails[:2]},
		{auth.UserQuery{Limit: 2, AfterID: users[1].ID}, emails[2:4]},
		{auth.UserQuery{Limit: 10, AfterID: users[5].ID}, []string{}},
		// Wildcards in the prefix are literal.
		{auth.UserQuery{Limit: 10, EmailPrefix: "a_"}, []string{"a_b@example.com"}},
		{auth.UserQuery{Limit: 10, EmailPrefix: "a%"}, []string{"a%c@example.com"}},
		{auth.UserQuery{Limit: 10, EmailPrefix: "a!"}, []string{"a!x@example.com"}},
		{auth.UserQuery{Limit: 10, EmailPrefix: "a"}, []string{"ann@example.com", "a_b@example.com", "axb@example.com", "a%c@example.com", "a!x@example.com"}},
		{auth.UserQuery{Limit: 10, EmailPrefix: "bob@example.com"}, []string{"bob@example.com"}},
		{auth.UserQuery{Limit: 10, EmailPrefix: "zed"}, []string{}},
	}
	for _, tc := range tests {
		if got := page(tc.q); !cmp.Equal(got, tc.want) {
			t.Errorf("ListUsersPage(%+v) = %q, want %q", tc.q, got, tc.want)
		}
	}
}

func testUpdateUser(t *testing.T, s AdminStore) {
	bg := context.Background()
	u := newUser(t, s, "a@example.com")
	now := t0.Add(time.Hour)
	got, n, err := s.UpdateUser(bg, u.ID, auth.UserPatch{FirstName: ptr("Ann"), LastName: ptr("Lee")}, now)
	if err != nil || n != 0 {
		t.Fatalf("UpdateUser(names) = %d, %v", n, err)
	}
	want := u
	want.FirstName, want.LastName, want.UpdatedAt = "Ann", "Lee", now
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("UpdateUser(names) (-want +got):\n%s", d)
	}
	// Only what the patch carries changes; "" clears a name.
	got, _, err = s.UpdateUser(bg, u.ID, auth.UserPatch{LastName: ptr("")}, now)
	if err != nil || got.FirstName != "Ann" || got.LastName != "" || !got.IsActive {
		t.Errorf("UpdateUser(clear last name) = %+v, %v", got, err)
	}
	got, _, err = s.UpdateUser(bg, u.ID, auth.UserPatch{EmailVerified: ptr(true)}, now)
	if err != nil || !got.EmailVerified || got.FirstName != "Ann" {
		t.Errorf("UpdateUser(email_verified) = %+v, %v", got, err)
	}
	// A patch that changes nothing still finds the account.
	if _, _, err := s.UpdateUser(bg, u.ID, auth.UserPatch{}, now); err != nil {
		t.Errorf("UpdateUser(empty) = %v", err)
	}
	if _, _, err := s.UpdateUser(bg, u.ID+1, auth.UserPatch{}, now); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("UpdateUser(unknown) = %v, want ErrUserNotFound", err)
	}
}

func testUpdateUserDisable(t *testing.T, s AdminStore) {
	bg := context.Background()
	u := newUser(t, s, "a@example.com")
	newSession(t, s, u, "s1", t0)
	newSession(t, s, u, "s2", t0)
	now := t0.Add(time.Minute)
	got, n, err := s.UpdateUser(bg, u.ID, auth.UserPatch{IsActive: ptr(false)}, now)
	if err != nil || n != 2 || got.IsActive {
		t.Fatalf("UpdateUser(disable) = %+v, %d, %v; want inactive, 2 sessions revoked", got, n, err)
	}
	if list, _ := s.ListSessions(bg, u.ID, now); len(list) != 0 {
		t.Errorf("sessions after disabling = %d, want 0", len(list))
	}
	got, n, err = s.UpdateUser(bg, u.ID, auth.UserPatch{IsActive: ptr(true)}, now)
	if err != nil || n != 0 || !got.IsActive {
		t.Errorf("UpdateUser(enable) = %+v, %d, %v", got, n, err)
	}
}

func testAdminKeys(t *testing.T, s AdminStore) {
	bg := context.Background()
	hash := func(i int) string { return fmt.Sprintf("%064x", i) }
	for i, name := range []string{"ops", "backoffice"} {
		if err := s.CreateAdminKey(bg, auth.AdminKey{Name: name, Hash: hash(i + 1), CreatedAt: t0}); err != nil {
			t.Fatalf("CreateAdminKey(%q) = %v", name, err)
		}
	}
	if err := s.CreateAdminKey(bg, auth.AdminKey{Name: "ops", Hash: hash(9), CreatedAt: t0}); !errors.Is(err, auth.ErrNameTaken) {
		t.Errorf("CreateAdminKey(duplicate name) = %v, want ErrNameTaken", err)
	}
	k, err := s.AdminKeyByHash(bg, hash(1))
	if err != nil || k.Name != "ops" || !k.CreatedAt.Equal(t0) || k.LastUsedAt != nil {
		t.Errorf("AdminKeyByHash = %+v, %v", k, err)
	}
	for _, h := range []string{hash(7), "short"} {
		if _, err := s.AdminKeyByHash(bg, h); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("AdminKeyByHash(%q) = %v, want ErrNotFound", h, err)
		}
	}
	// Uses within the interval keep the first; a later one is written.
	used := t0.Add(time.Hour)
	for _, at := range []time.Time{used, used.Add(30 * time.Second), used.Add(2 * time.Minute)} {
		if err := s.TouchAdminKey(bg, "ops", at, time.Minute); err != nil {
			t.Fatalf("TouchAdminKey = %v", err)
		}
	}
	keys, err := s.ListAdminKeys(bg)
	if err != nil || len(keys) != 2 || keys[0].Name != "backoffice" || keys[1].Name != "ops" {
		t.Fatalf("ListAdminKeys = %+v, %v", keys, err)
	}
	if lu := keys[1].LastUsedAt; lu == nil || !lu.Equal(used.Add(2*time.Minute)) {
		t.Errorf("last use = %v, want %v", lu, used.Add(2*time.Minute))
	}
	if err := s.DeleteAdminKey(bg, "ops"); err != nil {
		t.Fatalf("DeleteAdminKey = %v", err)
	}
	if _, err := s.AdminKeyByHash(bg, hash(1)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("AdminKeyByHash(revoked) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteAdminKey(bg, "ops"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("DeleteAdminKey(again) = %v, want ErrNotFound", err)
	}
}
