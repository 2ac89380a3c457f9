package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/authserve/authserve/internal/auth"
)

// version and commit are set at build time with -ldflags
// "-X main.version=v1.2.3 -X main.commit=0123abcd" (make build, the
// Dockerfile). Without commit, the VCS revision Go stamps into a binary
// built in a checkout is shown instead.
var (
	version = "dev"
	commit  = ""
)

const usage = `authserve: an authentication service (registration, login, JWT access tokens,
rotating refresh tokens).

Usage:
  authserve [serve]                      run the HTTP API (default)
  authserve migrate up|down|status       apply, roll back one, or list schema migrations
  authserve version                      print version and build information
  authserve keys generate --type ed25519|p256|rsa [--out FILE]
                                         write a new private signing key as PEM
  authserve user create --email E        create an account (password from standard input)
  authserve user show|disable|enable EMAIL
  authserve user delete EMAIL [--yes]    delete an account (asks on a terminal)
  authserve user list [--limit N]        list accounts
  authserve user set-password EMAIL      set a password (from standard input); ends every session
  authserve user verify EMAIL            mark an account's email verified
  authserve user unlock EMAIL            clear every lockout of an email
  authserve mail list [--status pending|sent|failed] [--limit N]
                                         list the email outbox, newest first
  authserve session revoke-all EMAIL     log a user out everywhere
  authserve admin-key create --name NAME  make an admin API key (printed once)
  authserve admin-key list|revoke NAME   list admin keys, or revoke one
  authserve audit list [--email E] [--event NAME] [--since 24h] [--limit N]
                                         print audit events, newest first
  authserve healthcheck                  GET /healthz of the server at AUTH_ADDR; exit 0 or 1
  authserve COMMAND -h|--help|help       the usage of one command

Configuration comes from AUTH_* environment variables and a .env file in the
working directory (the environment wins); see .env.example.
`

// run is the whole program behind main, testable with its inputs.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if topic, ok := helpRequest(args); ok {
		printHelp(stdout, topic)
		return nil
	}
	cmd, rest := "serve", args
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		if err := noArgs("serve", rest, stderr); err != nil {
			return err
		}
		return serve(ctx, getenv, stdout)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "version", "--version":
		return printVersion(stdout)
	case "keys":
		return keys(rest, stdout, stderr)
	case "user":
		return userCommand(cliContext(ctx), rest, getenv, stdin, stdout, stderr)
	case "session":
		return sessionCommand(cliContext(ctx), rest, getenv, stdout, stderr)
	case "mail":
		return mailCommand(ctx, rest, getenv, stdout, stderr)
	case "admin-key":
		return adminKeyCommand(cliContext(ctx), rest, getenv, stdout, stderr)
	case "audit":
		return auditCommand(cliContext(ctx), rest, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, getenv, stdout)
	default:
		fmt.Fprint(stderr, usage)
		return exitError{code: 2, msg: fmt.Sprintf("unknown command %q", cmd)}
	}
}

// cliContext marks the administrative commands' changes as the CLI's in
// the audit log.
func cliContext(ctx context.Context) context.Context {
	return auth.WithOrigin(ctx, auth.Origin{Actor: auth.ActorCLI})
}

func noArgs(cmd string, rest []string, stderr io.Writer) error {
	if len(rest) > 0 {
		fmt.Fprint(stderr, usage)
		return exitError{code: 2, msg: fmt.Sprintf("%s takes no arguments, got %q", cmd, strings.Join(rest, " "))}
	}
	return nil
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func usageError(format string, a ...any) error {
	return exitError{code: 2, msg: fmt.Sprintf(format, a...)}
}

func printVersion(w io.Writer) error {
	fmt.Fprintf(w, "authserve %s\n", version)
	bi, ok := debug.ReadBuildInfo()
	rev := commit
	if ok && rev == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	fmt.Fprintf(w, "commit: %s\n", rev)
	if ok {
		fmt.Fprintf(w, "go: %s\n", bi.GoVersion)
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.time", "vcs.modified", "GOOS", "GOARCH", "CGO_ENABLED":
				fmt.Fprintf(w, "%s: %s\n", s.Key, s.Value)
			}
		}
	}
	return nil
}
