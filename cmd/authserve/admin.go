package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/authserve/authserve/internal/auth"
)

// migrate implements `authserve migrate up|down|status`.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return usageError("usage: authserve migrate up|down|status")
	}
	cfg, logger, sink, err := loadConfig(getenv, stderr)
	if err != nil {
		return err
	}
	defer sink.Close()
	s, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer s.Close()
	switch args[0] {
	case "up", "down", "status":
	default:
		return usageError("unknown migrate command %q (want up, down or status)", args[0])
	}
	switch args[0] {
	case "up":
		if err := s.Migrate(ctx); err != nil {
			return migrateFailed("migrate up", err)
		}
		logger.Info("migrations applied")
		return s.MigrateStatus(ctx, stdout)
	case "down":
		if err := s.MigrateDown(ctx); err != nil {
			return migrateFailed("migrate down", err)
		}
		logger.Info("rolled back one migration")
		return s.MigrateStatus(ctx, stdout)
	case "status":
		return migrateFailed("migrate status", s.MigrateStatus(ctx, stdout))
	default:
		return usageError("usage: authserve migrate up|down|status (not %q)", args[0])
	}
}

// withService runs f with a service on the configured database; logs go
// to stderr so that stdout stays parseable.
func withService(ctx context.Context, getenv func(string) string, stderr io.Writer, f func(*auth.Service) error) error {
	return withApp(ctx, getenv, stderr, func(a *app) error { return f(a.service) })
}

// withApp is withService for commands that need more of the wiring than
// the service (mail list reads the store).
func withApp(ctx context.Context, getenv func(string) string, stderr io.Writer, f func(*app) error) error {
	cfg, logger, sink, err := loadConfig(getenv, stderr)
	if err != nil {
		return err
	}
	defer sink.Close()
	a, err := newApp(ctx, cfg, logger, sink, false)
	if err != nil {
		return err
	}
	defer a.close()
	return f(a)
}

// userCommand implements `authserve user …`.
func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	const help = "usage: authserve user create --email E | show|disable|enable|delete|set-password|verify|unlock|mfa-reset EMAIL | list [--limit N]"
	if len(args) == 0 {
		return usageError(help)
	}
	switch args[0] {
	case "create":
		fs := newFlags("user create", stderr)
		email := fs.String("email", "", "email of the new account")
		first := fs.String("first-name", "", "optional first name")
		last := fs.String("last-name", "", "optional last name")
		if err := fs.Parse(args[1:]); err != nil {
			return exitError{code: 2}
		}
		if *email == "" || fs.NArg() > 0 {
			return usageError("usage: authserve user create --email E [--first-name F] [--last-name L] (the password is read from standard input)")
		}
		password, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		return withService(ctx, getenv, stderr, func(s *auth.Service) error {
			u, err := s.Register(ctx, auth.Registration{Email: *email, Password: password, FirstName: *first, LastName: *last})
			if err != nil {
				return adminError(err, *email)
			}
			printUser(stdout, u)
			return nil
		})
	case "list":
		fs := newFlags("user list", stderr)
		limit := fs.Int("limit", 100, "most accounts to list")
		if err := fs.Parse(args[1:]); err != nil {
			return exitError{code: 2}
		}
		if *limit < 1 || fs.NArg() > 0 {
			return usageError("usage: authserve user list [--limit N] (N ≥ 1)")
		}
		return withReadOnlyService(ctx, getenv, stderr, func(s *auth.Service) error {
			us, err := s.ListUsers(ctx, *limit)
			if err != nil {
				return adminError(err)
			}
			tw := newTable(stdout, "ID\tEMAIL\tACTIVE\tCREATED")
			for _, u := range us {
				fmt.Fprintf(tw, "%d\t%s\t%t\t%s\n", u.ID, u.Email, u.IsActive, u.CreatedAt.UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		})
	case "set-password", "verify", "unlock":
		return recoveryUserCommand(ctx, args, getenv, stdin, stdout, stderr)
	case "mfa-reset":
		if len(args) == 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") {
			fmt.Fprintln(stdout, "usage: authserve user mfa-reset EMAIL\n\nRemoves every second factor, recovery code and pending MFA login of the account:\nits next login takes a password only. For a user who lost both authenticator and recovery codes.")
			return nil
		}
		if len(args) != 2 {
			return usageError("usage: authserve user mfa-reset EMAIL")
		}
		return mfaReset(ctx, args[1], getenv, stdout, stderr)
	case "show", "disable", "enable", "delete":
		rest, yes := args[1:], false
		if args[0] == "delete" {
			rest, yes = cutYes(rest)
		}
		if len(rest) != 1 {
			return usageError("usage: authserve user %s EMAIL", args[0])
		}
		email := rest[0]
		if args[0] == "delete" && !yes {
			if err := confirmDelete(stdin, stderr, email); err != nil {
				return err
			}
		}
		with := withService
		if args[0] == "show" {
			with = withReadOnlyService
		}
		return with(ctx, getenv, stderr, func(s *auth.Service) error {
			var u auth.User
			var err error
			switch args[0] {
			case "show":
				u, err = s.UserByEmail(ctx, email)
			case "disable":
				u, err = s.SetActive(ctx, email, false)
			case "enable":
				u, err = s.SetActive(ctx, email, true)
			case "delete":
				u, err = s.DeleteUser(ctx, email)
			}
			if err != nil {
				return adminError(err, email)
			}
			if args[0] == "delete" {
				fmt.Fprintf(stdout, "deleted user %d (%s)\n", u.ID, u.Email)
				return nil
			}
			printUser(stdout, u)
			return nil
		})
	default:
		return unknownCommand(stderr, "user", args[0])
	}
}

// sessionCommand implements `authserve session revoke-all EMAIL`.
func sessionCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] != "revoke-all" {
		return unknownCommand(stderr, "session", args[0])
	}
	if len(args) != 2 {
		return usageError("usage: authserve session revoke-all EMAIL")
	}
	return withService(ctx, getenv, stderr, func(s *auth.Service) error {
		n, err := s.RevokeAllSessions(ctx, args[1])
		if err != nil {
			return adminError(err, args[1])
		}
		fmt.Fprintf(stdout, "revoked %d session(s) of %s\n", n, strings.ToLower(strings.TrimSpace(args[1])))
		return nil
	})
}

func printUser(w io.Writer, u auth.User) {
	fmt.Fprintf(w, "id:         %d\nemail:      %s\nfirst_name: %s\nlast_name:  %s\nis_active:  %t\nverified:   %t\ncreated_at: %s\nupdated_at: %s\n",
		u.ID, u.Email, u.FirstName, u.LastName, u.IsActive, u.EmailVerified,
		u.CreatedAt.UTC().Format(time.RFC3339), u.UpdatedAt.UTC().Format(time.RFC3339))
}

// adminError turns domain errors into one clear line and exit status 1,
// naming the email the command was about when given.
func adminError(err error, email ...string) error {
	about := ""
	if len(email) > 0 {
		about = strings.ToLower(strings.TrimSpace(email[0]))
	}
	err = adminErrorLine(err)
	var ee exitError
	if about != "" && errors.As(err, &ee) {
		ee.msg = about + ": " + ee.msg
		return ee
	}
	return err
}

func adminErrorLine(err error) error {
	var v *auth.ValidationError
	switch {
	case errors.As(err, &v):
		msgs := make([]string, len(v.Fields))
		for i, f := range v.Fields {
			msgs[i] = f.Field + " " + f.Message
		}
		return exitError{code: 1, msg: "invalid input: " + strings.Join(msgs, "; ")}
	case errors.Is(err, auth.ErrUserNotFound):
		return exitError{code: 1, msg: "no such user"}
	case errors.Is(err, auth.ErrEmailTaken):
		return exitError{code: 1, msg: "a user with that email already exists"}
	case errors.Is(err, auth.ErrUnavailable):
		return exitError{code: 1, msg: "database unavailable: " + err.Error()}
	default:
		return err
	}
}

// readPassword reads a password from a terminal without echo (asking
// twice), or the first line of piped standard input. It never comes from an
// argument, where it would show in the process list and shell history.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Repeat password: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", exitError{code: 1, msg: "passwords do not match"}
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	// Only the line ending is removed: passwords are never trimmed.
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", exitError{code: 1, msg: "no password on standard input"}
	}
	return line, nil
}
