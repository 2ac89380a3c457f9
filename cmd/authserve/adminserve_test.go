package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// adminURL is the admin listener's address, from the start-up log.
func adminURL(t *testing.T, s *server) string {
	t.Helper()
	s.Logs.WaitFor(t, "the admin listener", func(l string) bool { return strings.Contains(l, "admin API listening") })
	for _, l := range s.Logs.Lines(t) {
		if l["msg"] == "admin API listening" {
			return "http://" + l["addr"].(string)
		}
	}
	t.Fatal("no admin listener in the logs")
	return ""
}

func TestAdminListenerEndToEnd(t *testing.T) {
	env := testEnv(t, map[string]string{"AUTH_ADMIN_ADDR": "127.0.0.1:0"})
	s := startServer(t, env)
	admin := adminURL(t, s)

	out, stderr, err := runCmd(t, env, "", "admin-key", "create", "--name", "ops")
	if err != nil {
		t.Fatalf("admin-key create: %v (%s)", err, stderr)
	}
	key := strings.TrimSpace(out)
	if !strings.HasPrefix(key, "asa_") || len(key) < 40 || strings.Contains(stderr, key) {
		t.Fatalf("admin-key create printed %q (stderr %q); want the key alone on stdout", out, stderr)
	}
	if _, _, err := runCmd(t, env, "", "admin-key", "create", "--name", "ops"); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("second admin-key create ops = %v, want 'exists already'", err)
	}

	// The public API knows no /admin; the admin listener serves it.
	if st, _, _ := call(t, "GET", s.URL+"/admin/users", key, nil); st != 404 {
		t.Errorf("public GET /admin/users = %d, want 404", st)
	}
	if st, _, _ := call(t, "POST", s.URL+"/api/auth/register", "", map[string]any{"email": "dave@example.com", "password": "Correct-Horse-42"}); st != 201 {
		t.Fatalf("register = %d", st)
	}
	st, body, _ := call(t, "GET", admin+"/admin/users?email=dave", key, nil)
	if st != 200 || len(body["items"].([]any)) != 1 {
		t.Fatalf("admin GET /admin/users = %d %v", st, body)
	}
	if st, _, _ := call(t, "GET", admin+"/admin/users", "", nil); st != 401 {
		t.Errorf("admin without key = %d, want 401", st)
	}
	resp, err := http.Get(admin + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(doc), "/admin/users") {
		t.Errorf("admin /openapi.json lacks /admin/users")
	}
	// The admin listener's requests are measured too.
	resp, err = http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`route="/admin/users"`, "authserve_audit_events_dropped_total 0"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The CLI lists keys and events, and revokes.
	out, _, err = runCmd(t, env, "", "admin-key", "list")
	if err != nil || !strings.Contains(out, "ops") || strings.Contains(out, "never") {
		t.Errorf("admin-key list = %q, %v; want ops, used", out, err)
	}
	out, _, err = runCmd(t, env, "", "audit", "list")
	if err != nil || !strings.Contains(out, "admin_key.created") || !strings.Contains(out, " cli ") || !strings.Contains(out, "user.registered") {
		t.Errorf("audit list = %q, %v", out, err)
	}
	out, _, err = runCmd(t, env, "", "audit", "list", "--email", "dave@example.com", "--event", "user.registered", "--since", "1h")
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, "user.registered") {
		t.Errorf("audit list --email --event = %q, %v; want the header and one event", out, err)
	}
	// A CLI change is audited with actor cli.
	if _, _, err := runCmd(t, env, "", "user", "disable", "dave@example.com"); err != nil {
		t.Fatalf("user disable: %v", err)
	}
	out, _, err = runCmd(t, env, "", "audit", "list", "--event", "user.disabled")
	if err != nil || !strings.Contains(out, "user.disabled") || !strings.Contains(out, " cli ") {
		t.Errorf("audit list --event user.disabled = %q, %v; want one event by cli", out, err)
	}
	if _, _, err := runCmd(t, env, "", "audit", "list", "--email", "nobody@example.com"); err == nil {
		t.Errorf("audit list --email unknown: no error")
	}
	if _, _, err := runCmd(t, env, "", "admin-key", "revoke", "ops"); err != nil {
		t.Fatalf("admin-key revoke: %v", err)
	}
	if st, body, _ := call(t, "GET", admin+"/admin/users", key, nil); st != 401 || body["code"] != "invalid_token" {
		t.Errorf("revoked key = %d %v, want 401 invalid_token", st, body)
	}
	if _, _, err := runCmd(t, env, "", "admin-key", "revoke", "ops"); err == nil {
		t.Errorf("revoking twice: no error")
	}

	// Graceful shutdown closes both listeners; the key was never logged.
	s.Stop(t)
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(admin, "http://"), time.Second); err == nil {
		c.Close()
		t.Errorf("admin listener still accepts connections after shutdown")
	}
	if strings.Contains(s.Logs.String(), key) {
		t.Errorf("the admin key is in the server's log")
	}
}

func TestAdminAddrMustDiffer(t *testing.T) {
	env := testEnv(t, map[string]string{"AUTH_ADDR": "127.0.0.1:18473", "AUTH_ADMIN_ADDR": "127.0.0.1:18473"})
	_, _, err := runCmd(t, env, "", "serve")
	if err == nil || !strings.Contains(err.Error(), "AUTH_ADMIN_ADDR") {
		t.Fatalf("serve with the admin API on the public address = %v, want an AUTH_ADMIN_ADDR error", err)
	}
}

func TestAdminCommandsHelp(t *testing.T) {
	env := testEnv(t, nil)
	for _, args := range [][]string{{"admin-key", "--help"}, {"admin-key", "-h"}, {"audit", "help"}, {"audit", "--help"}} {
		out, _, err := runCmd(t, env, "", args...)
		if err != nil || !strings.HasPrefix(out, "Usage: authserve "+args[0]) {
			t.Errorf("%v = %q, %v; want the usage and exit 0", args, out, err)
		}
	}
	for _, args := range [][]string{{"admin-key"}, {"admin-key", "rotate"}, {"audit"}, {"audit", "show"}, {"admin-key", "create"}} {
		if _, _, err := runCmd(t, env, "", args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
