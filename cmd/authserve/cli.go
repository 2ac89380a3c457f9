package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/config"
)

// stdinIsTerminal reports whether r is an interactive terminal; tests
// replace it to drive the confirmation prompt.
var stdinIsTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// cutYes removes --yes (or -y) from args and reports whether it was there.
func cutYes(args []string) ([]string, bool) {
	var rest []string
	yes := false
	for _, a := range args {
		switch a {
		case "--yes", "-yes", "-y":
			yes = true
		default:
			rest = append(rest, a)
		}
	}
	return rest, yes
}

// confirmDelete asks on a terminal before an account is deleted; anywhere
// else (a script, a pipe) the caller must have said --yes.
func confirmDelete(stdin io.Reader, stderr io.Writer, email string) error {
	if !stdinIsTerminal(stdin) {
		return exitError{code: 2, msg: fmt.Sprintf("user delete %s: standard input is not a terminal; pass --yes to confirm the deletion", email)}
	}
	fmt.Fprintf(stderr, "Delete the account %s with all its sessions? This cannot be undone. [y/N] ", email)
	answer, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return exitError{code: 1, msg: fmt.Sprintf("user delete %s: not confirmed; nothing deleted", email)}
}

// withReadOnlyService is withService for commands that only read (user
// show, user list): it never creates a database or applies migrations,
// whatever AUTH_AUTO_MIGRATE says, and says what is missing instead.
func withReadOnlyService(ctx context.Context, getenv func(string) string, stderr io.Writer, f func(*auth.Service) error) error {
	cfg, logger, sink, err := loadConfig(getenv, stderr)
	if err != nil {
		return err
	}
	defer sink.Close()
	if cfg.DB.File() {
		if _, err := os.Stat(cfg.DB.Path()); errors.Is(err, fs.ErrNotExist) {
			return exitError{code: 1, msg: fmt.Sprintf("no database at %s: start the server or run `authserve migrate up` first (this command only reads)", cfg.DB.Path())}
		}
	}
	s, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	current, err := s.SchemaCurrent(ctx)
	s.Close()
	switch {
	case err != nil:
		return fmt.Errorf("check the schema version: %w", err)
	case !current:
		return exitError{code: 1, msg: "the database has pending migrations: run `authserve migrate up` first (this command only reads and never changes the schema)"}
	}
	cfg.AutoMigrate = false
	a, err := newApp(ctx, cfg, logger, sink, false)
	if err != nil {
		return err
	}
	defer a.close()
	return f(a.service)
}

// environ is the process environment, where start-up looks for misspelled
// AUTH_ variables.
var environ = os.Environ

// warnUnknownVariables warns once per AUTH_ variable that no setting
// reads, naming the one it probably meant; its value is never logged.
func warnUnknownVariables(logger *slog.Logger, env []string) {
	for _, u := range config.UnknownVariables(env) {
		msg := "unknown variable " + u.Var + " is ignored"
		if u.Suggestion != "" {
			msg += "; did you mean " + u.Suggestion + "?"
		}
		logger.Warn(msg, slog.String("variable", u.Var), slog.String("suggestion", u.Suggestion))
	}
}
