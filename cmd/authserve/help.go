package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// helpTexts is each sub-command's own usage, printed by -h, --help or help
// with exit status 0. A command missing here falls back to its parent's
// text ("user set-password" to "user"), then to the overall usage.
var helpTexts = map[string]string{
	"serve": `Usage: authserve [serve]

Runs the HTTP API on AUTH_ADDR until SIGTERM or SIGINT, then drains in-flight
requests within AUTH_SHUTDOWN_TIMEOUT. Configuration: AUTH_* variables and .env.
`,
	"migrate": `Usage: authserve migrate up|down|status

  up      apply every pending migration, then print the status
  down    roll back the most recent migration
  status  list the migrations and when each was applied
`,
	"version": `Usage: authserve version

Prints the version, the commit it was built from (where known) and the Go
toolchain.
`,
	"keys": `Usage: authserve keys generate [--type ed25519|p256|rsa|aes256] [--out FILE]

Writes a new private signing key as PEM to standard output, or with --out to
FILE (mode 0600, never overwritten). Point AUTH_JWT_PRIVATE_KEY_FILE at it.
  --type  ed25519 (EdDSA, the default), p256 (ES256), rsa (RS256, 3072 bits),
          or aes256 (32 random bytes as base64, for AUTH_MFA_ENCRYPTION_KEY)
`,
	"user": `Usage: authserve user COMMAND

  create --email E [--first-name F] [--last-name L]
                        create an account; the password is read from standard
                        input (asked twice, without echo, on a terminal)
  show EMAIL            print an account
  list [--limit N]      list accounts, oldest first (default 100)
  disable EMAIL         disable an account and end its sessions
  enable EMAIL          enable an account
  delete EMAIL [--yes]  delete an account with its sessions; asks on a
                        terminal, needs --yes otherwise
  set-password EMAIL    set a new password (from standard input); every
                        session ends and the owner is told by email
  verify EMAIL          mark the email address verified
  unlock EMAIL          clear every lockout of the email (Redis too)
  mfa-reset EMAIL       remove every second factor and recovery code

show and list only read: they never change the schema, and say so when
migrations are pending.
`,
	"user create": `Usage: authserve user create --email E [--first-name F] [--last-name L]

Creates an active account. The password is read from standard input: asked
twice without echo on a terminal, else the first line.
`,
	"user show": `Usage: authserve user show EMAIL

Prints the account. Read-only: it never changes the schema.
`,
	"user list": `Usage: authserve user list [--limit N]

Lists up to N accounts (default 100), oldest first. Read-only: it never
changes the schema.
`,
	"user disable": `Usage: authserve user disable EMAIL

Disables the account and ends its sessions; logins answer account_disabled.
`,
	"user enable": `Usage: authserve user enable EMAIL

Enables a disabled account.
`,
	"user delete": `Usage: authserve user delete EMAIL [--yes]

Deletes the account with its sessions and tokens. On a terminal it asks for
confirmation; otherwise --yes is required.
`,
	"user set-password": `Usage: authserve user set-password EMAIL

Sets a new password, read from standard input (asked twice without echo on a
terminal). The password policy applies; every session of the account ends and
the owner gets a "password changed" email.
`,
	"user verify": `Usage: authserve user verify EMAIL

Marks the account's email address verified.
`,
	"user unlock": `Usage: authserve user unlock EMAIL

Clears every lockout of the email: each client address's and the
account-wide one, in Redis too.
`,
	"user mfa-reset": `Usage: authserve user mfa-reset EMAIL

Removes every second factor, recovery code and pending MFA login of the
account: its next login takes a password only. For a user who lost both the
authenticator and the recovery codes.
`,
	"mail": `Usage: authserve mail list [--status pending|sent|failed] [--limit N]

Lists the outbox: recipient, kind, status, attempts and times (no subject,
body or link once a message is sent or failed).
`,
	"admin-key": `Usage: authserve admin-key create --name NAME | list | revoke NAME

  create --name NAME  make a key for the admin API (AUTH_ADMIN_ADDR); the key is
                      printed once, on standard output, and only its hash kept
  list                name, creation and last use of every key
  revoke NAME         refuse the key from the next request on
`,
	"audit": `Usage: authserve audit list [--email E] [--event NAME] [--since 24h] [--limit N]

Prints the audit log, newest first: time, event, user, actor (user,
admin:<key name>, cli), client address, request id and details.
  --email   the events of this account
  --event   the events of this name, e.g. user.login_failed
  --since   how far back (a Go duration; default 24h)
  --limit   most events to print (default 50, at most 500)
`,
	"session": `Usage: authserve session revoke-all EMAIL

Logs the user out everywhere: every live session is revoked.
`,
	"healthcheck": `Usage: authserve healthcheck

GETs /healthz of the server at AUTH_ADDR (as the server reads it) and exits
0 when it answers 200, 1 otherwise. For container health checks.
`,
}

// helpRequest reports whether args (everything after "authserve") ask for
// help, and about what: "help", "-h" or "--help" alone or followed by a
// command, or -h/--help/help anywhere among a command's words before "--".
func helpRequest(args []string) (topic string, ok bool) {
	isFlag := func(a string) bool { return a == "-h" || a == "--help" || a == "-help" }
	if len(args) > 0 && (args[0] == "help" || isFlag(args[0])) {
		return commandWords(args[1:]), true
	}
	for i, a := range args {
		if a == "--" {
			break
		}
		// "help" as a word counts only among the command's words
		// (authserve user help, authserve user list help), never as a
		// flag's value. It is no valid email, so "user show help" is
		// help too.
		if isFlag(a) || (a == "help" && (i == 1 || i == 2) && !strings.HasPrefix(args[i-1], "-")) {
			return commandWords(args), true
		}
	}
	return "", false
}

// commandWords is the command path at the start of args: "user create"
// for [user create --email x -h].
func commandWords(args []string) string {
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") || a == "help" || len(words) == 2 {
			break
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

// printHelp writes the most specific usage known for topic.
func printHelp(w io.Writer, topic string) {
	for t := topic; t != ""; {
		if text, ok := helpTexts[t]; ok {
			fmt.Fprint(w, text)
			return
		}
		i := strings.LastIndexByte(t, ' ')
		if i < 0 {
			break
		}
		t = t[:i]
	}
	fmt.Fprint(w, usage)
}

// unknownCommand is the error for a sub-command that does not exist: it
// names it, and the usage of its parent goes to stderr.
func unknownCommand(stderr io.Writer, parent, name string) error {
	printHelp(stderr, parent)
	var known []string
	for k := range helpTexts {
		if rest, ok := strings.CutPrefix(k, parent+" "); ok {
			known = append(known, rest)
		}
	}
	slices.Sort(known)
	msg := fmt.Sprintf("unknown %s command %q", parent, name)
	if len(known) > 0 {
		msg += " (want " + strings.Join(known, ", ") + ")"
	}
	return exitError{code: 2, msg: msg}
}
