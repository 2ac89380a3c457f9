package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// adminKeyCommand implements `authserve admin-key create|list|revoke`.
func adminKeyCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const help = "usage: authserve admin-key create --name NAME | list | revoke NAME"
	if len(args) == 0 {
		return usageError(help)
	}
	switch args[0] {
	case "create":
		fs := newFlags("admin-key create", stderr)
		name := fs.String("name", "", "name of the key: 1-64 characters of A-Z a-z 0-9 . _ -")
		if err := fs.Parse(args[1:]); err != nil {
			return exitError{code: 2}
		}
		if *name == "" || fs.NArg() > 0 {
			return usageError("usage: authserve admin-key create --name NAME")
		}
		return withService(ctx, getenv, stderr, func(s *auth.Service) error {
			secret, k, err := s.CreateAdminKey(ctx, *name)
			if errors.Is(err, auth.ErrNameTaken) {
				return exitError{code: 1, msg: fmt.Sprintf("an admin key named %q exists already (revoke it first, or choose another name)", *name)}
			}
			if err != nil {
				return adminError(err)
			}
			// The secret goes to standard output only, once: it is kept
			// nowhere, not even in the log.
			fmt.Fprintln(stdout, secret)
			fmt.Fprintf(stderr, "admin key %q created at %s; it is shown once: store it now. Send it as 'Authorization: Bearer <key>' to AUTH_ADMIN_ADDR.\n",
				k.Name, k.CreatedAt.Format(time.RFC3339))
			return nil
		})
	case "list":
		if len(args) != 1 {
			return usageError("usage: authserve admin-key list")
		}
		return withService(ctx, getenv, stderr, func(s *auth.Service) error {
			keys, err := s.AdminKeys(ctx)
			if err != nil {
				return adminError(err)
			}
			tw := newTable(stdout, "NAME\tCREATED\tLAST USED")
			for _, k := range keys {
				used := "never"
				if k.LastUsedAt != nil {
					used = k.LastUsedAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Name, k.CreatedAt.UTC().Format(time.RFC3339), used)
			}
			return tw.Flush()
		})
	case "revoke":
		if len(args) != 2 {
			return usageError("usage: authserve admin-key revoke NAME")
		}
		return withService(ctx, getenv, stderr, func(s *auth.Service) error {
			err := s.RevokeAdminKey(ctx, args[1])
			if errors.Is(err, auth.ErrNotFound) {
				return exitError{code: 1, msg: fmt.Sprintf("no admin key named %q", args[1])}
			}
			if err != nil {
				return adminError(err)
			}
			fmt.Fprintf(stdout, "revoked admin key %q\n", args[1])
			return nil
		})
	default:
		return usageError(help)
	}
}

// auditCommand implements `authserve audit list`.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const help = "usage: authserve audit list [--email E] [--event NAME] [--since 24h] [--limit N]"
	if len(args) == 0 || args[0] != "list" {
		return usageError(help)
	}
	fs := newFlags("audit list", stderr)
	email := fs.String("email", "", "only the events of this account")
	event := fs.String("event", "", "only events of this name, e.g. user.login_failed")
	since := fs.Duration("since", 24*time.Hour, "only events of this recent past")
	limit := fs.Int("limit", auth.DefaultPageSize, "most events to print, newest first (at most 500)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{code: 2}
	}
	if fs.NArg() > 0 || *since <= 0 || *limit < 1 {
		return usageError(help + " (--since > 0, --limit ≥ 1)")
	}
	return withService(ctx, getenv, stderr, func(s *auth.Service) error {
		q := auth.AuditQuery{Event: *event, Since: time.Now().Add(-*since), Limit: *limit}
		if *email != "" {
			u, err := s.UserByEmail(ctx, *email)
			if err != nil {
				if errors.Is(err, auth.ErrUserNotFound) {
					return exitError{code: 1, msg: fmt.Sprintf("no such user: %s", strings.ToLower(strings.TrimSpace(*email)))}
				}
				return adminError(err)
			}
			q.UserID = u.ID
		}
		evs, _, err := s.Audit(ctx, q)
		if err != nil {
			return adminError(err)
		}
		tw := newTable(stdout, "TIME\tEVENT\tUSER\tACTOR\tCLIENT_IP\tREQUEST_ID\tDETAILS")
		for _, ev := range evs {
			user := "-"
			if ev.UserID != 0 {
				user = fmt.Sprint(ev.UserID)
			}
			details := "{}"
			if len(ev.Details) > 0 {
				b, _ := json.Marshal(ev.Details)
				details = string(b)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.OccurredAt.UTC().Format(time.RFC3339Nano), ev.Event, user,
				ev.Actor, dash(ev.ClientIP), dash(ev.RequestID), details)
		}
		return tw.Flush()
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
