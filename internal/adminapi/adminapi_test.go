package adminapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/totp"
)

func TestAdminKeyCheck(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		revoked, _, err := e.svc.CreateAdminKey(context.Background(), "old")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RevokeAdminKey(context.Background(), "old"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, path string
			headers    []string
			status     int
			code       string
		}{
			{"no key", "/admin/users", nil, 401, "missing_token"},
			{"not bearer", "/admin/users", []string{"Authorization", "Basic " + e.key}, 401, "missing_token"},
			{"key in the query string", "/admin/users?access_token=" + url.QueryEscape(e.key) + "&key=" + url.QueryEscape(e.key), nil, 401, "missing_token"},
			{"wrong key", "/admin/users", []string{"Authorization", "Bearer asa_" + strings.Repeat("A", 43)}, 401, "invalid_token"},
			{"not a key at all", "/admin/users", []string{"Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"}, 401, "invalid_token"},
			{"revoked key", "/admin/users", []string{"Authorization", "Bearer " + revoked}, 401, "invalid_token"},
			{"good key", "/admin/users", []string{"Authorization", "Bearer " + e.key}, 200, ""},
			{"good key, any case of the scheme", "/admin/audit", []string{"Authorization", "bearer " + e.key}, 200, ""},
		}
		for _, tc := range tests {
			r := send(t, e.admin, "GET", tc.path, nil, tc.headers...)
			if r.status != tc.status {
				t.Errorf("%s: status %d, want %d (%s)", tc.name, r.status, tc.status, r.body)
				continue
			}
			if tc.code != "" {
				if got := r.code(t); got != tc.code {
					t.Errorf("%s: code %q, want %q", tc.name, got, tc.code)
				}
				if r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: no WWW-Authenticate on a 401", tc.name)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("%s: Content-Type %q", tc.name, ct)
				}
			}
		}
		// The key's use is recorded.
		keys, err := e.svc.AdminKeys(context.Background())
		if err != nil || len(keys) != 1 || keys[0].Name != "test" || keys[0].LastUsedAt == nil {
			t.Errorf("AdminKeys = %+v, %v; want test with a last use", keys, err)
		}
	})
}

func TestAdminUsers(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		// Create: 201, the registration policy, 409 for a duplicate.
		r := e.adm("POST", "/admin/users", map[string]any{"email": "Alice@Example.com", "password": testPassword, "first_name": "Alice"})
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		u := r.json(t)
		id := int64(u["id"].(float64))
		if u["email"] != "alice@example.com" || u["is_active"] != true || u["first_name"] != "Alice" || u["password"] != nil {
			t.Errorf("created user = %v", u)
		}
		checks := []struct {
			name         string
			method, path string
			body         any
			status       int
			code         string
		}{
			{"duplicate", "POST", "/admin/users", map[string]any{"email": "alice@EXAMPLE.com", "password": testPassword}, 409, "user_already_exists"},
			{"weak password", "POST", "/admin/users", map[string]any{"email": "b@example.com", "password": "short"}, 422, "validation_failed"},
			{"unknown field", "POST", "/admin/users", map[string]any{"email": "b@example.com", "password": testPassword, "role": "admin"}, 422, "validation_failed"},
			{"not JSON", "POST", "/admin/users", "{", 400, "malformed_request"},
			{"get unknown", "GET", "/admin/users/999999", nil, 404, "user_not_found"},
			{"get bad id", "GET", "/admin/users/abc", nil, 422, "validation_failed"},
			{"patch unknown", "PATCH", "/admin/users/999999", map[string]any{"is_active": false}, 404, "user_not_found"},
			{"patch unknown field", "PATCH", fmt.Sprintf("/admin/users/%d", id), map[string]any{"email": "x@example.com"}, 422, "validation_failed"},
			{"patch wrong type", "PATCH", fmt.Sprintf("/admin/users/%d", id), map[string]any{"is_active": "no"}, 422, "validation_failed"},
			{"patch long name", "PATCH", fmt.Sprintf("/admin/users/%d", id), map[string]any{"first_name": strings.Repeat("x", 101)}, 422, "validation_failed"},
			{"delete unknown", "DELETE", "/admin/users/999999", nil, 404, "user_not_found"},
			{"unlock unknown", "POST", "/admin/users/999999/unlock", nil, 404, "user_not_found"},
			{"sessions of unknown", "GET", "/admin/users/999999/sessions", nil, 404, "user_not_found"},
			{"revoke sessions of unknown", "DELETE", "/admin/users/999999/sessions", nil, 404, "user_not_found"},
			{"unknown route", "GET", "/admin/nothing", nil, 404, "not_found"},
			{"wrong method", "PUT", "/admin/users", nil, 405, "method_not_allowed"},
		}
		for _, c := range checks {
			r := e.adm(c.method, c.path, c.body)
			if r.status != c.status || r.code(t) != c.code {
				t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.code)
			}
		}

		// Get: the user shape with locked and mfa_enabled.
		r = e.adm("GET", fmt.Sprintf("/admin/users/%d", id), nil)
		got := r.json(t)
		if r.status != 200 || got["locked"] != false || got["mfa_enabled"] != false || got["email"] != "alice@example.com" {
			t.Errorf("get: %d %v", r.status, got)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}

		// Patch names; "" clears one.
		r = e.adm("PATCH", fmt.Sprintf("/admin/users/%d", id), map[string]any{"first_name": "Al", "last_name": "Lee"})
		if got := r.json(t); r.status != 200 || got["first_name"] != "Al" || got["last_name"] != "Lee" || got["is_active"] != true {
			t.Errorf("patch names: %d %v", r.status, got)
		}
		r = e.adm("PATCH", fmt.Sprintf("/admin/users/%d", id), map[string]any{"last_name": ""})
		if got := r.json(t); r.status != 200 || got["first_name"] != "Al" || got["last_name"] != nil {
			t.Errorf("patch clear: %d %v", r.status, got)
		}

		// Sessions: two logins, listed; disabling revokes them at once.
		var refresh []string
		for range 2 {
			lr := e.login("alice@example.com", testPassword)
			if lr.status != 200 {
				t.Fatalf("login: %d %s", lr.status, lr.body)
			}
			refresh = append(refresh, lr.json(t)["refresh_token"].(string))
		}
		access := e.login("alice@example.com", testPassword).json(t)["access_token"].(string)
		r = e.adm("GET", fmt.Sprintf("/admin/users/%d/sessions", id), nil)
		if items := r.json(t)["items"].([]any); r.status != 200 || len(items) != 3 || r.json(t)["next_cursor"] != nil {
			t.Errorf("sessions: %d %s", r.status, r.body)
		}
		r = e.adm("PATCH", fmt.Sprintf("/admin/users/%d", id), map[string]any{"is_active": false})
		if r.status != 200 || r.json(t)["is_active"] != false {
			t.Fatalf("disable: %d %s", r.status, r.body)
		}
		if me := e.pubReq("GET", "/api/auth/me", nil, "Authorization", "Bearer "+access); me.status != 401 {
			t.Errorf("/me after disabling: %d, want 401", me.status)
		}
		if rr := e.pubReq("POST", "/api/auth/refresh", map[string]any{"refresh_token": refresh[0]}); rr.status != 403 {
			t.Errorf("refresh after disabling: %d %s, want 403", rr.status, rr.body)
		}
		if lr := e.login("alice@example.com", testPassword); lr.status != 403 || lr.code(t) != "account_disabled" {
			t.Errorf("login when disabled: %d %s", lr.status, lr.body)
		}
		r = e.adm("GET", fmt.Sprintf("/admin/users/%d/sessions", id), nil)
		if items := r.json(t)["items"].([]any); len(items) != 0 {
			t.Errorf("sessions after disabling: %d", len(items))
		}
		// Enable again; revoke-all counts what it revoked.
		e.adm("PATCH", fmt.Sprintf("/admin/users/%d", id), map[string]any{"is_active": true})
		e.login("alice@example.com", testPassword)
		r = e.adm("DELETE", fmt.Sprintf("/admin/users/%d/sessions", id), nil)
		if r.status != 200 || r.json(t)["revoked"] != float64(1) {
			t.Errorf("revoke all: %d %s", r.status, r.body)
		}

		// Delete: 204, then 404.
		if r := e.adm("DELETE", fmt.Sprintf("/admin/users/%d", id), nil); r.status != 204 {
			t.Errorf("delete: %d %s", r.status, r.body)
		}
		if r := e.adm("GET", fmt.Sprintf("/admin/users/%d", id), nil); r.status != 404 || r.code(t) != "user_not_found" {
			t.Errorf("get after delete: %d %s", r.status, r.body)
		}
	})
}

// unlockScenario locks an email from one address (3 failures) and then
// account-wide (5 failures from all addresses), checks the admin API sees
// the lock, unlocks it, and checks every lock is gone and another
// account's is not.
func unlockScenario(t *testing.T, e *env) {
	id := e.createUser("locked@example.com")
	other := e.createUser("other@example.com")
	for _, ip := range []string{"198.51.100.1", "198.51.100.1", "198.51.100.1", "198.51.100.2", "198.51.100.2"} {
		if r := e.login("locked@example.com", "Wrong-Password-1", "X-Forwarded-For", ip); r.status != 401 {
			t.Fatalf("wrong password from %s: %d %s", ip, r.status, r.body)
		}
	}
	for range 3 {
		e.login("other@example.com", "Wrong-Password-1", "X-Forwarded-For", "198.51.100.9")
	}
	for _, ip := range []string{"198.51.100.1", "198.51.100.3"} {
		if r := e.login("locked@example.com", testPassword, "X-Forwarded-For", ip); r.status != 429 || r.code(t) != "account_locked" {
			t.Fatalf("login from %s while locked: %d %s", ip, r.status, r.body)
		}
	}
	if got := e.adm("GET", fmt.Sprintf("/admin/users/%d", id), nil).json(t)["locked"]; got != true {
		t.Fatalf("locked = %v, want true", got)
	}
	if r := e.adm("POST", fmt.Sprintf("/admin/users/%d/unlock", id), nil); r.status != 204 {
		t.Fatalf("unlock: %d %s", r.status, r.body)
	}
	if got := e.adm("GET", fmt.Sprintf("/admin/users/%d", id), nil).json(t)["locked"]; got != false {
		t.Errorf("locked after unlock = %v, want false", got)
	}
	for _, ip := range []string{"198.51.100.1", "198.51.100.3"} {
		if r := e.login("locked@example.com", testPassword, "X-Forwarded-For", ip); r.status != 200 {
			t.Errorf("login from %s after unlock: %d %s", ip, r.status, r.body)
		}
	}
	// Another account's lock is untouched.
	if got := e.adm("GET", fmt.Sprintf("/admin/users/%d", other), nil).json(t)["locked"]; got != true {
		t.Errorf("other account locked = %v, want true", got)
	}
	if r := e.login("other@example.com", testPassword, "X-Forwarded-For", "198.51.100.9"); r.status != 429 {
		t.Errorf("other account's login: %d, want 429", r.status)
	}
}

func TestAdminUnlock(t *testing.T) {
	forEngine(t, unlockScenario)
}

func TestAdminUnlockRedis(t *testing.T) {
	rdb := redisClient(t)
	unlockScenario(t, newEnv(t, engines[0].opts(t), rdb))
}

func TestAdminListUsers(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		var ids []int64
		for i := range 7 {
			ids = append(ids, e.createUser(fmt.Sprintf("u%d@example.com", i)))
		}
		e.createUser("zed@example.com")
		page := func(q string) ([]int64, any) {
			t.Helper()
			r := e.adm("GET", "/admin/users"+q, nil)
			if r.status != 200 {
				t.Fatalf("list %s: %d %s", q, r.status, r.body)
			}
			m := r.json(t)
			var out []int64
			for _, it := range m["items"].([]any) {
				out = append(out, int64(it.(map[string]any)["id"].(float64)))
			}
			return out, m["next_cursor"]
		}
		var seen []int64
		q := "?email=U&limit=3"
		for range 5 {
			got, next := page(q)
			seen = append(seen, got...)
			if next == nil {
				break
			}
			q = "?email=U&limit=3&cursor=" + url.QueryEscape(next.(string))
		}
		if fmt.Sprint(seen) != fmt.Sprint(ids) {
			t.Errorf("paged by email prefix = %v, want %v", seen, ids)
		}
		if all, next := page("?limit=100000"); len(all) != 8 || next != nil {
			t.Errorf("huge limit: %d users, next %v; want all 8 (capped at 500), null", len(all), next)
		}
		if all, _ := page(""); len(all) != 8 {
			t.Errorf("default limit: %d users", len(all))
		}
		audit := e.adm("GET", "/admin/audit?limit=1", nil).json(t)["next_cursor"].(string)
		for _, bad := range []string{"?limit=0", "?limit=-1", "?limit=x", "?cursor=%21%21", "?cursor=" + url.QueryEscape(audit), "?cursor=dTE6LTE"} {
			if r := e.adm("GET", "/admin/users"+bad, nil); r.status != 422 || r.code(t) != "validation_failed" {
				t.Errorf("list %s: %d %s, want 422", bad, r.status, r.body)
			}
		}
	})
}

// TestAdminListCapsLimit: 501 accounts, ?limit=1000 gives a page of 500
// and a cursor to the last one.
func TestAdminListCapsLimit(t *testing.T) {
	e := newEnv(t, engines[0].opts(t), nil)
	ctx := context.Background()
	for i := range 501 {
		if _, err := e.db.CreateUser(ctx, auth.NewUser{Email: fmt.Sprintf("cap%03d@example.com", i), PasswordHash: "x", IsActive: true, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	m := e.adm("GET", "/admin/users?limit=1000", nil).json(t)
	if n := len(m["items"].([]any)); n != 500 || m["next_cursor"] == nil {
		t.Fatalf("limit=1000: %d items, next %v; want 500 and a cursor", n, m["next_cursor"])
	}
	m = e.adm("GET", "/admin/users?limit=1000&cursor="+url.QueryEscape(m["next_cursor"].(string)), nil).json(t)
	if n := len(m["items"].([]any)); n != 1 || m["next_cursor"] != nil {
		t.Errorf("second page: %d items, next %v; want 1 and null", n, m["next_cursor"])
	}
}

// TestAdminPaginationWhileInserting pages through the accounts while
// others are created, and sees every account that existed before it
// started exactly once, and no account twice.
func TestAdminPaginationWhileInserting(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		before := map[int64]bool{}
		for i := range 60 {
			u, err := e.db.CreateUser(ctx, auth.NewUser{Email: fmt.Sprintf("p%02d@example.com", i), PasswordHash: "x", IsActive: true, CreatedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			before[u.ID] = true
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		inserted := 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := e.db.CreateUser(ctx, auth.NewUser{Email: fmt.Sprintf("new%03d@example.com", i), PasswordHash: "x", IsActive: true, CreatedAt: time.Now()}); err != nil {
					t.Errorf("insert: %v", err)
					return
				}
				inserted++
				time.Sleep(time.Millisecond)
			}
		}()
		seen := map[int64]int{}
		q := "?limit=7"
		pages := 0
		for ; pages < 1000; pages++ {
			r := e.adm("GET", "/admin/users"+q, nil)
			if r.status != 200 {
				t.Fatalf("page: %d %s", r.status, r.body)
			}
			m := r.json(t)
			for _, it := range m["items"].([]any) {
				seen[int64(it.(map[string]any)["id"].(float64))]++
			}
			next, _ := m["next_cursor"].(string)
			if next == "" {
				break
			}
			q = "?limit=7&cursor=" + url.QueryEscape(next)
			if pages == 15 {
				close(stop) // let the listing reach its end
				wg.Wait()
			}
		}
		select {
		case <-stop:
		default:
			close(stop)
			wg.Wait()
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("user %d seen %d times", id, n)
			}
		}
		for id := range before {
			if seen[id] != 1 {
				t.Errorf("user %d, there before the listing, seen %d times", id, seen[id])
			}
		}
		if inserted == 0 {
			t.Errorf("no account was inserted while paging: the test proves nothing")
		}
		t.Logf("%d pages, %d accounts seen, %d inserted while paging", pages+1, len(seen), inserted)
	})
}

func TestAdminEmailFeatures(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.createUser("erin@example.com")
		path := fmt.Sprintf("/admin/users/%d", id)
		if got := e.adm("GET", path, nil).json(t)["email_verified"]; got != false {
			t.Errorf("email_verified of a new account = %v, want false", got)
		}
		for _, v := range []bool{true, false} {
			r := e.adm("PATCH", path, map[string]any{"email_verified": v})
			if r.status != 200 || r.json(t)["email_verified"] != v {
				t.Errorf("PATCH email_verified %v: %d %s", v, r.status, r.body)
			}
		}

		// The reset email goes through the outbox, once per cooldown.
		r := e.adm("POST", path+"/password-reset", nil)
		if r.status != 202 || r.json(t)["queued"] != true {
			t.Fatalf("password-reset: %d %s", r.status, r.body)
		}
		if r := e.adm("POST", path+"/password-reset", nil); r.status != 202 || r.json(t)["queued"] != false {
			t.Errorf("password-reset within the cooldown: %d %s, want 202 queued false", r.status, r.body)
		}
		msgs, err := e.db.ListOutbox(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		resets := 0
		for _, m := range msgs {
			if m.Kind == auth.MailPasswordReset && m.To == "erin@example.com" {
				resets++
			}
		}
		if resets != 1 {
			t.Errorf("reset emails in the outbox = %d, want 1", resets)
		}
		if got := e.auditItems("&event=admin.password_reset_sent"); len(got) != 1 || got[0]["actor"] != "admin:test" || got[0]["user_id"] != float64(id) {
			t.Errorf("admin.password_reset_sent events = %v, want one by admin:test", got)
		}
		// The email flows commit their events with their changes too.
		cli := auth.WithOrigin(ctx, auth.Origin{Actor: auth.ActorCLI})
		if _, err := e.svc.SetPassword(cli, "erin@example.com", "Another-Horse-43"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.MarkVerified(cli, "erin@example.com"); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"password.changed", "user.email_verified"} {
			if got := e.auditItems("&event=" + name); len(got) != 1 || got[0]["actor"] != "cli" || got[0]["user_id"] != float64(id) {
				t.Errorf("%s events = %v, want one by cli", name, got)
			}
		}
		if r := e.adm("POST", "/admin/users/999999/password-reset", nil); r.status != 404 || r.code(t) != "user_not_found" {
			t.Errorf("password-reset of unknown: %d %s", r.status, r.body)
		}
		e.adm("PATCH", path, map[string]any{"is_active": false})
		if r := e.adm("POST", path+"/password-reset", nil); r.status != 403 || r.code(t) != "account_disabled" {
			t.Errorf("password-reset of a disabled account: %d %s", r.status, r.body)
		}
	})
}

func TestAdminMFA(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.createUser("mfa@example.com")
		path := fmt.Sprintf("/admin/users/%d", id)
		u, err := e.svc.UserByEmail(ctx, "mfa@example.com")
		if err != nil {
			t.Fatal(err)
		}
		p := auth.Principal{User: u}
		en, err := e.svc.EnrolTOTP(ctx, p)
		if err != nil {
			t.Fatalf("EnrolTOTP: %v", err)
		}
		code, err := totp.Code(en.Secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.ActivateTOTP(ctx, p, en.FactorID, code); err != nil {
			t.Fatalf("ActivateTOTP: %v", err)
		}
		if got := e.adm("GET", path, nil).json(t)["mfa_enabled"]; got != true {
			t.Fatalf("mfa_enabled after activation = %v, want true", got)
		}
		r := e.adm("DELETE", path+"/mfa", nil)
		if r.status != 200 || r.json(t)["removed"] != float64(1) {
			t.Fatalf("DELETE mfa: %d %s", r.status, r.body)
		}
		if got := e.adm("GET", path, nil).json(t)["mfa_enabled"]; got != false {
			t.Errorf("mfa_enabled after removal = %v, want false", got)
		}
		if r := e.login("mfa@example.com", testPassword); r.status != 200 {
			t.Errorf("login after removal: %d %s, want 200 with the password only", r.status, r.body)
		}
		if r := e.adm("DELETE", "/admin/users/999999/mfa", nil); r.status != 404 || r.code(t) != "user_not_found" {
			t.Errorf("DELETE mfa of unknown: %d %s", r.status, r.body)
		}
		for _, name := range []string{"mfa.enrolled", "admin.mfa_removed"} {
			if got := e.auditItems("&event=" + name); len(got) != 1 || got[0]["user_id"] != float64(id) {
				t.Errorf("%s events = %v, want one for the account", name, got)
			}
		}
	})
}
