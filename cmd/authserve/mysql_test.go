package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/authserve/authserve/internal/mysqltest"
)

// TestServeMySQL runs the real service on MySQL (or MariaDB): start-up
// migrations, register, login, me, refresh, logout, and the admin CLI on
// the same database.
func TestServeMySQL(t *testing.T) {
	mysqltest.SkipIfUnset(t)
	env := testEnv(t, map[string]string{
		"AUTH_DATABASE_URL": mysqltest.DSN(t),
		// Explicit: the development key would be kept in the working
		// directory, there being no SQLite file to keep it beside.
		"AUTH_JWT_SECRET": "mysql-test-secret-0123456789-abcdefghij",
	})
	s := startServer(t, env)

	user := register(t, s.URL, "Zoë@Example.com")
	if user["email"] != "zoë@example.com" || user["is_active"] != true {
		t.Errorf("register = %v, want zoë@example.com, active", user)
	}
	code, prob, _ := call(t, "POST", s.URL+"/api/auth/register", "", map[string]any{"email": "ZOË@example.com", "password": testPassword})
	if code != http.StatusConflict || prob["code"] != "user_already_exists" {
		t.Errorf("register ZOË@example.com again = %d %v, want 409 user_already_exists", code, prob)
	}

	code, tok := login(t, s.URL, "zoë@example.com")
	if code != http.StatusOK || tok["token_type"] != "Bearer" {
		t.Fatalf("login = %d %v, want 200 with tokens", code, tok)
	}
	access := tok["access_token"].(string)
	code, me, _ := call(t, "GET", s.URL+"/api/auth/me", access, nil)
	if code != http.StatusOK || me["email"] != "zoë@example.com" || me["id"] != user["id"] ||
		me["created_at"] != user["created_at"] {
		t.Fatalf("me = %d %v, want the registered user %v", code, me, user)
	}

	code, next, _ := call(t, "POST", s.URL+"/api/auth/refresh", "", map[string]any{"refresh_token": tok["refresh_token"]})
	if code != http.StatusOK || next["refresh_token"] == tok["refresh_token"] {
		t.Fatalf("refresh = %d %v, want 200 with a new refresh token", code, next)
	}
	// Past the reuse interval (10s by default) would be theft; within it a
	// second tab's refresh with the same token still succeeds.
	if code, _, _ := call(t, "POST", s.URL+"/api/auth/refresh", "", map[string]any{"refresh_token": tok["refresh_token"]}); code != http.StatusOK {
		t.Errorf("refresh with the just-spent token within the grace period = %d, want 200", code)
	}
	code, sessions, _ := call(t, "GET", s.URL+"/api/auth/sessions", next["access_token"].(string), nil)
	if code != http.StatusOK {
		t.Errorf("sessions = %d %v, want 200", code, sessions)
	}

	code, _, _ = call(t, "POST", s.URL+"/api/auth/logout", "", map[string]any{"refresh_token": next["refresh_token"]})
	if code != http.StatusNoContent {
		t.Fatalf("logout = %d, want 204", code)
	}
	code, prob, _ = call(t, "GET", s.URL+"/api/auth/me", access, nil)
	if code != http.StatusUnauthorized || prob["code"] != "invalid_token" {
		t.Errorf("me after logout = %d %v, want 401 invalid_token", code, prob)
	}
	code, prob, _ = call(t, "POST", s.URL+"/api/auth/refresh", "", map[string]any{"refresh_token": next["refresh_token"]})
	if code != http.StatusUnauthorized {
		t.Errorf("refresh after logout = %d %v, want 401", code, prob)
	}
	if code, _, _ := call(t, "GET", s.URL+"/readyz", "", nil); code != http.StatusOK {
		t.Errorf("readyz = %d, want 200", code)
	}

	// The admin CLI, on the database the server is using.
	out, _, err := runCmd(t, env, "", "user", "show", "ZOË@EXAMPLE.COM")
	wantID := fmt.Sprintf("id:         %v\n", user["id"])
	if err != nil || !strings.Contains(out, wantID) || !strings.Contains(out, "email:      zoë@example.com") ||
		!strings.Contains(out, "is_active:  true") {
		t.Errorf("user show = %q, %v; want user %v, zoë@example.com, active", out, err, user["id"])
	}
	if _, _, err := runCmd(t, env, "", "user", "show", "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("user show nobody@example.com = %v, want no such user", err)
	}
	out, _, err = runCmd(t, env, "", "migrate", "status")
	// Every embedded migration applied, whichever features added some.
	if err != nil || strings.Contains(out, "pending") || strings.Count(out, " applied ") < 5 {
		t.Errorf("migrate status = %q, %v; want every migration applied", out, err)
	}
	if strings.Contains(s.Logs.String(), testPassword) {
		t.Errorf("a password reached the logs")
	}
}
