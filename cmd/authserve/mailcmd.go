package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// recoveryUserCommand implements `authserve user set-password|verify|unlock
// EMAIL`.
func recoveryUserCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) != 2 {
		return usageError("usage: authserve user %s EMAIL", args[0])
	}
	email := args[1]
	var password string
	if args[0] == "set-password" {
		var err error
		if password, err = readPassword(stdin, stderr); err != nil {
			return err
		}
	}
	return withService(ctx, getenv, stderr, func(s *auth.Service) error {
		switch args[0] {
		case "set-password":
			u, err := s.SetPassword(ctx, email, password)
			if err != nil {
				return adminError(err, email)
			}
			fmt.Fprintf(stdout, "password of %s set; every session ended; a notice was queued\n", u.Email)
		case "verify":
			u, err := s.MarkVerified(ctx, email)
			if err != nil {
				return adminError(err, email)
			}
			printUser(stdout, u)
		case "unlock":
			if err := s.Unlock(ctx, email); err != nil {
				return adminError(err, email)
			}
			fmt.Fprintf(stdout, "cleared every lockout of %s\n", strings.ToLower(strings.TrimSpace(email)))
		}
		return nil
	})
}

// mailCommand implements `authserve mail list [--status S] [--limit N]`.
func mailCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const help = "usage: authserve mail list [--status pending|sent|failed] [--limit N]"
	if len(args) == 0 {
		return usageError(help)
	}
	if args[0] != "list" {
		return unknownCommand(stderr, "mail", args[0])
	}
	fs := newFlags("mail list", stderr)
	status := fs.String("status", "", "only messages with this status: pending, sent or failed")
	limit := fs.Int("limit", 100, "most messages to list")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{code: 2}
	}
	switch *status {
	case "", auth.OutboxPending, auth.OutboxSent, auth.OutboxFailed:
	default:
		return usageError("%s (not --status %q)", help, *status)
	}
	if *limit < 1 || fs.NArg() > 0 {
		return usageError(help)
	}
	return withApp(ctx, getenv, stderr, func(a *app) error {
		msgs, err := a.store.ListOutbox(ctx, *status, *limit)
		if err != nil {
			return adminError(err)
		}
		tw := newTable(stdout, "ID\tKIND\tTO\tSTATUS\tATTEMPTS\tCREATED\tSENT\tLAST ERROR")
		for _, m := range msgs {
			sent := "-"
			if m.SentAt != nil {
				sent = m.SentAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", m.ID, m.Kind, m.To, m.Status, m.Attempts,
				m.CreatedAt.UTC().Format(time.RFC3339), sent, dash(m.LastError))
		}
		return tw.Flush()
	})
}
