package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authserve/authserve/internal/logtest"
)

func TestHelpForEveryCommand(t *testing.T) {
	// AUTH_ADDR points at a closed port: if healthcheck --help ran the
	// check, it would fail.
	env := testEnv(t, map[string]string{"AUTH_ADDR": "127.0.0.1:1"})
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-h"}, "authserve: an authentication service"},
		{[]string{"help"}, "authserve: an authentication service"},
		{[]string{"help", "user"}, "Usage: authserve user COMMAND"},
		{[]string{"--help", "migrate"}, "Usage: authserve migrate up|down|status"},
		{[]string{"serve", "--help"}, "Usage: authserve [serve]"},
		{[]string{"migrate", "-h"}, "Usage: authserve migrate"},
		{[]string{"migrate", "help"}, "Usage: authserve migrate"},
		{[]string{"version", "--help"}, "Usage: authserve version"},
		{[]string{"keys", "help"}, "Usage: authserve keys generate"},
		{[]string{"keys", "generate", "-h"}, "Usage: authserve keys generate"},
		{[]string{"user", "--help"}, "Usage: authserve user COMMAND"},
		{[]string{"user", "create", "--email", "a@example.com", "-h"}, "Usage: authserve user create"},
		{[]string{"user", "list", "help"}, "Usage: authserve user list"},
		{[]string{"user", "delete", "-h"}, "Usage: authserve user delete EMAIL [--yes]"},
		{[]string{"session", "revoke-all", "--help"}, "Usage: authserve session revoke-all"},
		{[]string{"healthcheck", "--help"}, "Usage: authserve healthcheck"},
		{[]string{"healthcheck", "help"}, "Usage: authserve healthcheck"},
		{[]string{"user", "mfa-reset", "--help"}, "Usage: authserve user mfa-reset"},
		{[]string{"user", "set-password", "-h"}, "Usage: authserve user set-password"},
		{[]string{"mail", "list", "--help"}, "Usage: authserve mail list"},
	}
	for _, tt := range tests {
		out, _, err := runCmd(t, env, "", tt.args...)
		if err != nil || !strings.HasPrefix(out, tt.want) {
			t.Errorf("%v = %q, %v; want exit 0 and usage starting %q", tt.args, out, err, tt.want)
		}
	}
	if _, err := os.Stat(strings.TrimPrefix(env["AUTH_DATABASE_URL"], "sqlite:")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("help created the database (stat: %v)", err)
	}
}

func TestUnknownCommandsNameThemselves(t *testing.T) {
	env := testEnv(t, nil)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"user", "frobnicate"}, `unknown user command "frobnicate" (want create, delete, disable, enable, list, mfa-reset, set-password, show, unlock, verify)`},
		{[]string{"keys", "rotate"}, `unknown keys command "rotate"`},
		{[]string{"session", "list"}, `unknown session command "list"`},
		{[]string{"migrate", "sideways"}, `unknown migrate command "sideways"`},
	}
	for _, tt := range tests {
		_, _, err := runCmd(t, env, "", tt.args...)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(ee.msg, tt.want) {
			t.Errorf("%v = %v, want exit 2 with %q", tt.args, err, tt.want)
		}
	}
}

func TestUserDeleteConfirms(t *testing.T) {
	env := testEnv(t, nil)
	if _, _, err := runCmd(t, env, "", "migrate", "up"); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"carol@example.com", "dave@example.com"} {
		if _, _, err := runCmd(t, env, testPassword+"\n", "user", "create", "--email", email); err != nil {
			t.Fatal(err)
		}
	}
	// Not a terminal, no --yes: refused, naming the email and the flag.
	_, _, err := runCmd(t, env, "y\n", "user", "delete", "carol@example.com")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(ee.msg, "carol@example.com") || !strings.Contains(ee.msg, "--yes") {
		t.Fatalf("user delete from a pipe without --yes = %v, want exit 2 naming the email and --yes", err)
	}

	saved := stdinIsTerminal
	t.Cleanup(func() { stdinIsTerminal = saved })
	stdinIsTerminal = func(io.Reader) bool { return true }
	_, prompt, err := runCmd(t, env, "n\n", "user", "delete", "carol@example.com")
	if err == nil || !strings.Contains(err.Error(), "not confirmed") || !strings.Contains(prompt, "Delete the account carol@example.com") {
		t.Errorf("user delete answered n = %v (prompt %q), want not confirmed", err, prompt)
	}
	if out, _, err := runCmd(t, env, "", "user", "show", "carol@example.com"); err != nil || !strings.Contains(out, "carol@example.com") {
		t.Fatalf("carol after a refused delete = %q, %v; want still there", out, err)
	}
	if out, _, err := runCmd(t, env, "yes\n", "user", "delete", "carol@example.com"); err != nil || !strings.Contains(out, "deleted user") {
		t.Errorf("user delete answered yes = %q, %v", out, err)
	}
	stdinIsTerminal = saved
	if out, _, err := runCmd(t, env, "", "user", "delete", "--yes", "dave@example.com"); err != nil || !strings.Contains(out, "deleted user") {
		t.Errorf("user delete --yes = %q, %v", out, err)
	}
	_, _, err = runCmd(t, env, "", "user", "show", "Carol@Example.com")
	if err == nil || !strings.Contains(err.Error(), "carol@example.com: no such user") {
		t.Errorf("user show of a deleted user = %v, want the email named", err)
	}
}

func TestReadOnlyCommandsCreateNothing(t *testing.T) {
	env := testEnv(t, nil)
	path := strings.TrimPrefix(env["AUTH_DATABASE_URL"], "sqlite:")
	for _, args := range [][]string{{"user", "list"}, {"user", "show", "a@example.com"}} {
		_, _, err := runCmd(t, env, "", args...)
		if err == nil || !strings.Contains(err.Error(), "no database at "+path) {
			t.Errorf("%v without a database = %v, want no database at %s", args, err, path)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only commands created %s (stat: %v)", path, err)
	}
	// A schema behind the code: said, not silently migrated.
	for _, args := range [][]string{{"migrate", "up"}, {"migrate", "down"}} {
		if _, _, err := runCmd(t, env, "", args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"user", "list"}, {"user", "show", "a@example.com"}} {
		if _, _, err := runCmd(t, env, "", args...); err == nil || !strings.Contains(err.Error(), "pending migrations") {
			t.Errorf("%v on an old schema = %v, want pending migrations", args, err)
		}
	}
	if out, _, _ := runCmd(t, env, "", "migrate", "status"); !strings.Contains(out, "pending") && !strings.Contains(out, "Pending") {
		t.Errorf("migrate status after user list = %q, want a migration still pending", out)
	}
}

func TestKeysGenerateOutConfirms(t *testing.T) {
	env := testEnv(t, nil)
	file := filepath.Join(t.TempDir(), "signing.pem")
	out, _, err := runCmd(t, env, "", "keys", "generate", "--type", "p256", "--out", file)
	if err != nil || !strings.Contains(out, "p256") || !strings.Contains(out, file) || strings.Contains(out, "PRIVATE KEY") {
		t.Errorf("keys generate --out = %q, %v; want a confirmation naming the type and file, and no key", out, err)
	}
	_, _, err = runCmd(t, env, "", "keys", "generate", "--out", file)
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("keys generate --out over an existing file = %v, want an error naming %s", err, file)
	}
}

func TestWarnUnknownVariables(t *testing.T) {
	logger, logs := logtest.NewLogger()
	warnUnknownVariables(logger, []string{"AUTH_BCRYPT_CSOT=4", "AUTH_BCRYPT_COST=10", "HOME=/root"})
	got := logs.String()
	if !strings.Contains(got, "unknown variable AUTH_BCRYPT_CSOT is ignored; did you mean AUTH_BCRYPT_COST?") {
		t.Errorf("log = %q, want a warning naming AUTH_BCRYPT_CSOT and AUTH_BCRYPT_COST", got)
	}
	if strings.Contains(got, "=4") || logs.Count("unknown variable") != 1 {
		t.Errorf("log = %q, want exactly one warning and no value", got)
	}
}

func TestServeWarnsAboutMisspelledVariable(t *testing.T) {
	saved := environ
	t.Cleanup(func() { environ = saved })
	environ = func() []string { return []string{"AUTH_LOCKOUT_THRESHHOLD=3"} }
	s := startServer(t, testEnv(t, nil))
	s.Logs.WaitFor(t, "the misspelled variable", func(logs string) bool {
		return strings.Contains(logs, "AUTH_LOCKOUT_THRESHHOLD is ignored; did you mean AUTH_LOCKOUT_THRESHOLD?")
	})
	s.Stop(t)
}
