package adminapi_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// auditItems fetches the audit events matching q (every page).
func (e *env) auditItems(q string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	cursor := ""
	for range 100 {
		path := "/admin/audit?limit=3" + q
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.adm("GET", path, nil)
		if r.status != 200 {
			e.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		m := r.json(e.t)
		for _, it := range m["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		next, _ := m["next_cursor"].(string)
		if next == "" {
			return out
		}
		cursor = next
	}
	e.t.Fatal("audit listing never ended")
	return nil
}

// waitAudit waits for the batched writer to have written n events of
// name.
func (e *env) waitAudit(name string, n int) []map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := e.auditItems("&event=" + name)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAdminAudit(t *testing.T) {
	forEngine(t, func(t *testing.T, e *env) {
		start := time.Now().UTC().Add(-time.Second)
		ua := "audit-test/1.0"
		r := e.pubReq("POST", "/api/auth/register", map[string]any{"email": "carol@example.com", "password": testPassword},
			"X-Request-ID", "reg-1", "User-Agent", ua, "X-Forwarded-For", "203.0.113.5")
		if r.status != 201 {
			t.Fatalf("register: %d %s", r.status, r.body)
		}
		id := int64(r.json(t)["id"].(float64))
		lr := e.login("carol@example.com", testPassword, "X-Request-ID", "login-1", "User-Agent", ua, "X-Forwarded-For", "203.0.113.5")
		refresh := lr.json(t)["refresh_token"].(string)
		e.login("carol@example.com", "Wrong-Password-1", "X-Forwarded-For", "203.0.113.5")
		e.login("nobody-here@example.com", "Wrong-Password-1", "X-Forwarded-For", "203.0.113.6")
		e.pubReq("POST", "/api/auth/logout", map[string]any{"refresh_token": refresh}, "X-Request-ID", "logout-1")
		e.adm("PATCH", fmt.Sprintf("/admin/users/%d", id), map[string]any{"first_name": "Carol"}, "X-Request-ID", "admin-1")

		failed := e.waitAudit("user.login_failed", 2)
		all := e.auditItems("")
		names := []string{}
		for _, ev := range all {
			names = append(names, ev["event"].(string))
		}
		joined := strings.Join(names, ",")
		for _, want := range []string{"admin_key.created", "user.registered", "user.login_succeeded", "user.login_failed", "user.logged_out", "admin.user_updated"} {
			if !strings.Contains(joined, want) {
				t.Errorf("audit log %v lacks %s", names, want)
			}
		}
		byReq := map[string]map[string]any{}
		for _, ev := range all {
			byReq[ev["request_id"].(string)] = ev
			// Newest first.
			if t0, _ := time.Parse(time.RFC3339Nano, ev["occurred_at"].(string)); t0.Before(start) {
				t.Errorf("event %v occurred before the test", ev)
			}
		}
		for i := 1; i < len(all); i++ {
			a, _ := time.Parse(time.RFC3339Nano, all[i-1]["occurred_at"].(string))
			b, _ := time.Parse(time.RFC3339Nano, all[i]["occurred_at"].(string))
			if a.Before(b) {
				t.Errorf("events %d, %d not newest first", i-1, i)
			}
		}
		checks := []struct {
			req, event, actor, ip string
			user                  any
		}{
			{"reg-1", "user.registered", "user", "203.0.113.5", float64(id)},
			{"login-1", "user.login_succeeded", "user", "203.0.113.5", float64(id)},
			{"logout-1", "user.logged_out", "user", "", float64(id)},
			{"admin-1", "admin.user_updated", "admin:test", "", float64(id)},
		}
		for _, c := range checks {
			ev := byReq[c.req]
			if ev == nil {
				t.Errorf("no event of request %s", c.req)
				continue
			}
			if ev["event"] != c.event || ev["actor"] != c.actor || ev["user_id"] != c.user || (c.ip != "" && ev["client_ip"] != c.ip) {
				t.Errorf("event of %s = %v, want %s by %s for %v from %q", c.req, ev, c.event, c.actor, c.user, c.ip)
			}
		}
		if ev := byReq["login-1"]; ev != nil && ev["user_agent"] != ua {
			t.Errorf("user_agent = %v, want %s", ev["user_agent"], ua)
		}
		// Failed logins: the known account by id, the unknown email masked.
		var unknown map[string]any
		for _, ev := range failed {
			if ev["user_id"] == nil {
				unknown = ev
			}
		}
		if unknown == nil {
			t.Fatalf("no failed login of an unknown account in %v", failed)
		}
		d := unknown["details"].(map[string]any)
		if d["reason"] != "unknown_email" || strings.Contains(fmt.Sprint(d["email"]), "nobody-here") {
			t.Errorf("unknown account's failed login details = %v, want reason unknown_email and a masked email", d)
		}
		// No secret anywhere in the log.
		raw := string(e.adm("GET", "/admin/audit?limit=500", nil).body)
		for _, secret := range []string{testPassword, "Wrong-Password-1", refresh, e.key} {
			if strings.Contains(raw, secret) {
				t.Errorf("audit log holds a secret (%.8s…)", secret)
			}
		}

		// Filters.
		for _, ev := range e.auditItems(fmt.Sprintf("&user_id=%d", id)) {
			if ev["user_id"] != float64(id) {
				t.Errorf("user_id filter returned %v", ev)
			}
		}
		if got := e.auditItems("&event=user.logged_out"); len(got) != 1 {
			t.Errorf("event filter: %d events, want 1", len(got))
		}
		if got := e.auditItems("&since=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))); len(got) != 0 {
			t.Errorf("since an hour ahead: %d events, want 0", len(got))
		}
		for _, bad := range []string{"?since=yesterday", "?limit=0", "?cursor=nope", "?user_id=-1"} {
			if r := e.adm("GET", "/admin/audit"+bad, nil); r.status != 422 || r.code(t) != "validation_failed" {
				t.Errorf("audit %s: %d %s, want 422", bad, r.status, r.body)
			}
		}
	})
}

func TestAdminOpenAPI(t *testing.T) {
	e := newEnv(t, engines[0].opts(t), nil)
	// The admin listener documents its own operations, without a key.
	r := send(t, e.admin, "GET", "/openapi.json", nil)
	doc := string(r.body)
	if r.status != 200 || !strings.Contains(doc, `"/admin/users/{id}/unlock"`) || !strings.Contains(doc, `"/admin/audit"`) {
		t.Errorf("admin /openapi.json: %d, lacks the admin paths", r.status)
	}
	if strings.Contains(doc, "/api/auth/login") {
		t.Errorf("admin /openapi.json lists the public API")
	}
	if r := send(t, e.admin, "GET", "/docs", nil); r.status != 200 || !strings.Contains(string(r.body), "swagger") {
		t.Errorf("admin /docs: %d", r.status)
	}
	// The admin listener's own edge: request ids, security headers,
	// problem JSON for router misses, no caching.
	r = send(t, e.admin, "GET", "/admin/users/1", nil, "X-Request-ID", "adm-req-1")
	if r.status != 401 || r.header.Get("X-Request-ID") != "adm-req-1" || r.json(t)["request_id"] != "adm-req-1" ||
		r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("admin edge: %d, headers %v, body %s", r.status, r.header, r.body)
	}
	if r := send(t, e.admin, "GET", "/api/auth/me", nil); r.status != 404 || r.json(t)["code"] != "not_found" {
		t.Errorf("admin GET /api/auth/me = %d %s, want 404 not_found", r.status, r.body)
	}
	// The public document lists no admin path, and the public listener
	// serves none.
	if r := send(t, e.pub, "GET", "/openapi.json", nil); strings.Contains(string(r.body), "/admin") {
		t.Errorf("public /openapi.json mentions /admin")
	}
	if r := send(t, e.pub, "GET", "/admin/users", nil, "Authorization", "Bearer "+e.key); r.status != 404 {
		t.Errorf("public GET /admin/users: %d, want 404", r.status)
	}
}
