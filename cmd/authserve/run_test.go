package main

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authserve/authserve/internal/pgtest"
)

const testPassword = "Corr3ct-Horse!"

func register(t testing.TB, base, email string) map[string]any {
	t.Helper()
	code, body, _ := call(t, "POST", base+"/api/auth/register", "", map[string]any{"email": email, "password": testPassword})
	if code != http.StatusCreated {
		t.Fatalf("register %s = %d %v, want 201", email, code, body)
	}
	return body
}

func login(t testing.TB, base, email string) (int, map[string]any) {
	t.Helper()
	code, body, _ := call(t, "POST", base+"/api/auth/login", "", map[string]any{"email": email, "password": testPassword})
	return code, body
}

func TestServeEndToEnd(t *testing.T) {
	env := testEnv(t, nil)
	s := startServer(t, env)
	register(t, s.URL, "Alice@Example.com")

	code, tok, hdr := call(t, "POST", s.URL+"/api/auth/login", "", map[string]any{"email": "alice@example.com", "password": testPassword})
	if code != 200 || hdr.Get("Cache-Control") != "no-store" || tok["token_type"] != "Bearer" {
		t.Fatalf("login = %d %v (Cache-Control %q)", code, tok, hdr.Get("Cache-Control"))
	}
	access := tok["access_token"].(string)
	code, me, _ := call(t, "GET", s.URL+"/api/auth/me", access, nil)
	if code != 200 || me["email"] != "alice@example.com" {
		t.Fatalf("me = %d %v", code, me)
	}
	code, next, _ := call(t, "POST", s.URL+"/api/auth/refresh", "", map[string]any{"refresh_token": tok["refresh_token"]})
	if code != 200 || next["refresh_token"] == tok["refresh_token"] {
		t.Fatalf("refresh = %d %v", code, next)
	}
	code, _, _ = call(t, "POST", s.URL+"/api/auth/logout", "", map[string]any{"refresh_token": next["refresh_token"]})
	if code != http.StatusNoContent {
		t.Fatalf("logout = %d, want 204", code)
	}
	code, prob, hdr := call(t, "GET", s.URL+"/api/auth/me", access, nil)
	if code != 401 || prob["code"] != "invalid_token" || !strings.Contains(hdr.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("me after logout = %d %v, want 401 invalid_token", code, prob)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/.well-known/jwks.json"} {
		if code, _, _ := call(t, "GET", s.URL+path, "", nil); code != 200 {
			t.Errorf("GET %s = %d, want 200", path, code)
		}
	}
	s.Stop(t)

	// The development key is kept beside the database and reused: a token
	// issued before a restart still verifies after it.
	keyFile := strings.TrimPrefix(env["AUTH_DATABASE_URL"], "sqlite:") + ".key"
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("development key %s: %v, mode %v; want mode 0600", keyFile, err, fi.Mode().Perm())
	}
	s2 := startServer(t, env)
	_, tok2 := login(t, s2.URL, "alice@example.com")
	s2.Stop(t)
	s3 := startServer(t, env)
	if code, _, _ := call(t, "GET", s3.URL+"/api/auth/me", tok2["access_token"].(string), nil); code != 200 {
		t.Errorf("me with a token from before a restart = %d, want 200", code)
	}
	if !strings.Contains(s3.Logs.String(), "development secret") {
		t.Errorf("no warning about the development secret at start")
	}
	if strings.Contains(s.Logs.String()+s2.Logs.String(), testPassword) {
		t.Errorf("a password reached the logs")
	}
}

func TestBadConfigurationStopsStartup(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"AUTH_LOG_LEVEL": "loud"}, "AUTH_LOG_LEVEL"},
		{map[string]string{"AUTH_ACCESS_TOKEN_TTL": "soon"}, "AUTH_ACCESS_TOKEN_TTL"},
		{map[string]string{"AUTH_DATABASE_URL": "oracle://x"}, "AUTH_DATABASE_URL"},
		{map[string]string{"AUTH_JWT_SECRET": "short"}, "AUTH_JWT_SECRET"},
		{map[string]string{"AUTH_BCRYPT_COST": "3"}, "AUTH_BCRYPT_COST"},
		{map[string]string{"AUTH_ENV": "production", "AUTH_BCRYPT_COST": "12"}, "AUTH_JWT_SECRET"},
		{map[string]string{"AUTH_ENV": "production", "AUTH_JWT_SECRET": strings.Repeat("s", 32), "AUTH_BCRYPT_COST": "4"}, "AUTH_BCRYPT_COST"},
		// Section 8's production rules, each alone, and a bad SMTP URL
		// anywhere (its password never quoted).
		{prodMailEnv(map[string]string{"AUTH_SMTP_URL": ""}), "AUTH_SMTP_URL"},
		{prodMailEnv(map[string]string{"AUTH_SMTP_URL": "smtp+plain://mailer:hunter2@127.0.0.1:1025"}), "AUTH_SMTP_URL"},
		{prodMailEnv(map[string]string{"AUTH_MAIL_FROM": ""}), "AUTH_MAIL_FROM"},
		{prodMailEnv(map[string]string{"AUTH_APP_URL": ""}), "AUTH_APP_URL"},
		{map[string]string{"AUTH_SMTP_URL": "smtp://mailer:hunter2@"}, "AUTH_SMTP_URL"},
		{map[string]string{"AUTH_MAIL_TEMPLATES_DIR": brokenTemplates(t)}, "AUTH_MAIL_TEMPLATES_DIR"},
	}
	for _, tt := range tests {
		_, _, err := runCmd(t, testEnv(t, tt.env), "", "serve")
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(ee.msg, tt.want) || strings.Contains(ee.msg, "\n") {
			t.Errorf("serve with %v = %v, want one line naming %s", tt.env, err, tt.want)
		}
		if strings.Contains(ee.msg, "hunter2") {
			t.Errorf("serve with %v: the error quotes a password: %s", tt.env, ee.msg)
		}
	}
}

// TestAdminCommands runs every administrative command against the server's
// own database: SQLite always, PostgreSQL when AUTH_TEST_POSTGRES_URL is
// set (MySQL's turn is in TestServeMySQL).
func TestAdminCommands(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { testAdminCommands(t, testEnv(t, nil)) })
	t.Run("Postgres", func(t *testing.T) {
		pgtest.SkipIfUnset(t)
		testAdminCommands(t, testEnv(t, map[string]string{
			"AUTH_DATABASE_URL": pgtest.DSN(t),
			// Explicit: with no SQLite file the development key would be
			// kept in the working directory.
			"AUTH_JWT_SECRET": "admin-test-secret-0123456789-abcdefghij",
		}))
	})
	// Through PgBouncer in transaction pooling; migrations go around it.
	t.Run("PgBouncer", func(t *testing.T) {
		pooled, direct := pgtest.PooledDSN(t)
		testAdminCommands(t, testEnv(t, map[string]string{
			"AUTH_DATABASE_URL":         pooled,
			"AUTH_MIGRATE_DATABASE_URL": direct,
			"AUTH_JWT_SECRET":           "admin-test-secret-0123456789-abcdefghij",
		}))
	})
}

func testAdminCommands(t *testing.T, env map[string]string) {
	s := startServer(t, env)

	out, _, err := runCmd(t, env, testPassword+"\n", "user", "create", "--email", "Bob@Example.com", "--first-name", "Bob")
	if err != nil || !strings.Contains(out, "email:      bob@example.com") {
		t.Fatalf("user create = %q, %v", out, err)
	}
	if _, _, err := runCmd(t, env, "weak\n", "user", "create", "--email", "weak@example.com"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("user create with a weak password = %v, want a policy error", err)
	}
	if _, _, err := runCmd(t, env, testPassword+"\n", "user", "create", "--email", "bob@example.com"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("user create twice = %v, want already exists", err)
	}
	code, tok := login(t, s.URL, "bob@example.com")
	if code != 200 {
		t.Fatalf("login as a CLI-created user = %d %v", code, tok)
	}
	access := tok["access_token"].(string)

	tests := []struct {
		args    []string
		wantOut string
		wantErr string
	}{
		{[]string{"user", "show", "BOB@example.com"}, "is_active:  true", ""},
		{[]string{"user", "list", "--limit", "10"}, "bob@example.com", ""},
		{[]string{"user", "disable", "bob@example.com"}, "is_active:  false", ""},
		{[]string{"user", "show", "nobody@example.com"}, "", "no such user"},
		{[]string{"user", "disable", "nobody@example.com"}, "", "no such user"},
		{[]string{"session", "revoke-all", "nobody@example.com"}, "", "no such user"},
		{[]string{"user", "frobnicate"}, "", `unknown user command "frobnicate"`},
		{[]string{"user", "list", "--limit", "0"}, "", "usage"},
	}
	for _, tt := range tests {
		out, _, err := runCmd(t, env, "", tt.args...)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v = %v, want error containing %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !strings.Contains(out, tt.wantOut) {
			t.Errorf("%v = %q, %v; want output containing %q", tt.args, out, err, tt.wantOut)
		}
	}
	if code, body := login(t, s.URL, "bob@example.com"); code != 403 || body["code"] != "account_disabled" {
		t.Errorf("login when disabled = %d %v, want 403 account_disabled", code, body)
	}
	// Disabling ended bob's session: his access token is refused at once.
	if code, body, _ := call(t, "GET", s.URL+"/api/auth/me", access, nil); code != 401 || body["code"] != "invalid_token" {
		t.Errorf("me after user disable = %d %v, want 401 invalid_token", code, body)
	}
	if _, _, err := runCmd(t, env, "", "user", "enable", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	_, tok = login(t, s.URL, "bob@example.com")
	access = tok["access_token"].(string)
	if out, _, err := runCmd(t, env, "", "session", "revoke-all", "bob@example.com"); err != nil || !strings.Contains(out, "revoked 1 session") {
		t.Errorf("session revoke-all = %q, %v", out, err)
	}
	if code, body, _ := call(t, "GET", s.URL+"/api/auth/me", access, nil); code != 401 || body["code"] != "invalid_token" {
		t.Errorf("me after revoke-all = %d %v, want 401 invalid_token", code, body)
	}
	_, tok = login(t, s.URL, "bob@example.com")
	if _, _, err := runCmd(t, env, "", "user", "delete", "bob@example.com", "--yes"); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := call(t, "GET", s.URL+"/api/auth/me", tok["access_token"].(string), nil); code != 401 && code != 404 {
		t.Errorf("me after delete = %d %v, want 404 user_not_found or 401", code, body)
	}
	lines := s.Logs.String()
	if strings.Contains(lines, testPassword) {
		t.Errorf("a password reached the logs")
	}
}

func TestMigrateVersionKeysHealthcheck(t *testing.T) {
	env := testEnv(t, nil)
	for _, args := range [][]string{{"migrate", "up"}, {"migrate", "status"}, {"migrate", "down"}, {"migrate", "up"}} {
		if _, _, err := runCmd(t, env, "", args...); err != nil {
			t.Errorf("%v = %v", args, err)
		}
	}
	if _, _, err := runCmd(t, env, "", "migrate", "sideways"); err == nil {
		t.Errorf("migrate sideways succeeded")
	}
	if out, _, err := runCmd(t, env, "", "version"); err != nil || !strings.HasPrefix(out, "authserve ") {
		t.Errorf("version = %q, %v", out, err)
	}
	for _, kind := range []string{"ed25519", "p256", "rsa"} {
		out, _, err := runCmd(t, env, "", "keys", "generate", "--type", kind)
		if err != nil || !strings.Contains(out, "PRIVATE KEY") {
			t.Errorf("keys generate --type %s = %v", kind, err)
		}
		file := filepath.Join(t.TempDir(), kind+".pem")
		if _, _, err := runCmd(t, env, "", "keys", "generate", "--type", kind, "--out", file); err != nil {
			t.Fatalf("keys generate --out: %v", err)
		}
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
		}
		if _, _, err := runCmd(t, env, "", "keys", "generate", "--type", kind, "--out", file); err == nil {
			t.Errorf("keys generate overwrote an existing key file")
		}
		// The generated key signs tokens that the server accepts.
		kenv := testEnv(t, map[string]string{"AUTH_JWT_PRIVATE_KEY_FILE": file})
		s := startServer(t, kenv)
		register(t, s.URL, "k@example.com")
		_, tok := login(t, s.URL, "k@example.com")
		if code, _, _ := call(t, "GET", s.URL+"/api/auth/me", tok["access_token"].(string), nil); code != 200 {
			t.Errorf("%s: me = %d", kind, code)
		}
		s.Stop(t)
	}
	if _, _, err := runCmd(t, env, "", "keys", "generate", "--type", "dsa"); err == nil {
		t.Errorf("keys generate --type dsa succeeded")
	}

	s := startServer(t, testEnv(t, nil))
	addr := strings.TrimPrefix(s.URL, "http://")
	if out, _, err := runCmd(t, map[string]string{"AUTH_ADDR": addr}, "", "healthcheck"); err != nil || !strings.Contains(out, "ok") {
		t.Errorf("healthcheck of a live server = %q, %v", out, err)
	}
	s.Stop(t)
	if _, _, err := runCmd(t, map[string]string{"AUTH_ADDR": addr}, "", "healthcheck"); err == nil {
		t.Errorf("healthcheck of a stopped server succeeded")
	}
	if _, _, err := runCmd(t, env, "", "bogus"); err == nil {
		t.Errorf("unknown command succeeded")
	}
}

// TestHealthcheckReadsDotenv: in a container the server's AUTH_ADDR may
// come from .env; the health check must find it there too.
func TestHealthcheckReadsDotenv(t *testing.T) {
	s := startServer(t, testEnv(t, nil))
	addr := strings.TrimPrefix(s.URL, "http://")
	t.Chdir(t.TempDir())
	if err := os.WriteFile(".env", []byte("AUTH_ADDR="+addr+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCmd(t, map[string]string{}, "", "healthcheck"); err != nil || !strings.Contains(out, "ok") {
		t.Errorf("healthcheck with AUTH_ADDR in .env = %q, %v; want ok", out, err)
	}
	if err := os.WriteFile(".env", []byte("AUTH_LOG_LEVEL=loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, map[string]string{}, "", "healthcheck"); err == nil || !strings.Contains(err.Error(), "AUTH_LOG_LEVEL") {
		t.Errorf("healthcheck with a bad .env = %v, want an error naming AUTH_LOG_LEVEL", err)
	}
}

// TestKeyFileErrors: a bad key file stops start-up with one line naming
// the variable that points at it, and nothing else is logged about it.
func TestKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pem")
	if _, _, err := runCmd(t, nil, "", "keys", "generate", "--type", "ed25519", "--out", good); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name, private, verify, wantVar string
	}{
		{"missing signing key", missing, "", "AUTH_JWT_PRIVATE_KEY_FILE"},
		{"signing key not PEM", notPEM, "", "AUTH_JWT_PRIVATE_KEY_FILE"},
		{"missing verify key", good, missing, "AUTH_JWT_VERIFY_KEY_FILES"},
		{"verify key not PEM", good, good + "," + notPEM, "AUTH_JWT_VERIFY_KEY_FILES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv(t, map[string]string{"AUTH_JWT_PRIVATE_KEY_FILE": tt.private, "AUTH_JWT_VERIFY_KEY_FILES": tt.verify})
			out, _, err := runCmd(t, env, "", "serve")
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantVar+": ") {
				t.Fatalf("serve = %v, want an error starting %q", err, tt.wantVar+": ")
			}
			if strings.Contains(out, "start-up failed") {
				t.Errorf("the bad setting was logged besides the one error line:\n%s", out)
			}
		})
	}
}

// TestNoAutoMigrateNeedsCurrentSchema: with AUTH_AUTO_MIGRATE=false the
// server refuses a database that migrations have not brought up to date,
// rather than answering database_error to every request.
func TestNoAutoMigrateNeedsCurrentSchema(t *testing.T) {
	env := testEnv(t, map[string]string{"AUTH_AUTO_MIGRATE": "false"})
	_, _, err := runCmd(t, env, "", "serve")
	if err == nil || !strings.Contains(err.Error(), "authserve migrate up") {
		t.Fatalf("serve on an empty database without auto-migration = %v, want an error pointing at migrate up", err)
	}
	if _, _, err := runCmd(t, env, "", "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	s := startServer(t, env)
	register(t, s.URL, "after-migrate@example.com")
}

func TestProcsBesideHashing(t *testing.T) {
	tests := []struct{ procs, slots, want int }{
		{2, 2, 4},
		{1, 1, 2},
		{8, 2, 10},
		{4, 0, 4},
	}
	for _, tt := range tests {
		if got := procsBesideHashing(tt.procs, tt.slots); got != tt.want {
			t.Errorf("procsBesideHashing(%d, %d) = %d, want %d", tt.procs, tt.slots, got, tt.want)
		}
	}
}

// TestAdminUnreachableDatabase: an administrative command on a database
// that does not answer fails at once with a clear error, and never prints
// the URL's password.
func TestAdminUnreachableDatabase(t *testing.T) {
	env := testEnv(t, map[string]string{
		// Port 1 on loopback: nothing listens there, the dial is refused.
		"AUTH_DATABASE_URL": "postgres://admin:Sup3r-Secret-Pw@127.0.0.1:1/auth?sslmode=disable&connect_timeout=2",
	})
	for _, args := range [][]string{{"user", "list"}, {"user", "show", "a@example.com"}, {"session", "revoke-all", "a@example.com"}} {
		out, errOut, err := runCmd(t, env, "", args...)
		if err == nil || !strings.Contains(err.Error(), "unavailable") {
			t.Errorf("%v on an unreachable database = %v, want a service unavailable error", args, err)
		}
		if err != nil && strings.Contains(err.Error()+out+errOut, "Sup3r-Secret-Pw") {
			t.Errorf("%v printed the database password", args)
		}
	}
}

// prodMailEnv is a production configuration that starts but for what
// extra changes (an empty value unsets a variable).
func prodMailEnv(extra map[string]string) map[string]string {
	env := map[string]string{
		"AUTH_ENV": "production", "AUTH_JWT_SECRET": strings.Repeat("s", 32), "AUTH_BCRYPT_COST": "10",
		"AUTH_SMTP_URL": "smtps://mailer:hunter2@smtp.example.com:465", "AUTH_MAIL_FROM": "Example <no-reply@example.com>",
		"AUTH_APP_URL": "https://app.example.com",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// brokenTemplates is a template directory whose reset email does not parse.
func brokenTemplates(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "password_reset.html"), []byte("{{ .Link "), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}
