package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// The administrative operations behind the `authserve user` and
// `authserve session` commands. They log events like the API does.

// UserByEmail finds an account by email (case-insensitively).
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := s.store.UserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return User{}, fmt.Errorf("find user by email: %w", err)
	}
	return u, nil
}

// ListUsers returns up to limit accounts, oldest first.
func (s *Service) ListUsers(ctx context.Context, limit int) ([]User, error) {
	if limit <= 0 {
		limit = 100
	}
	us, err := s.store.ListUsers(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// SetActive enables or disables the account with this email. Disabling
// also ends every session of the account, as in Keycloak and GoTrue: its
// refresh tokens and access tokens stop working at once, and enabling it
// again does not bring them back.
func (s *Service) SetActive(ctx context.Context, email string, active bool) (User, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	event := "user.disabled"
	if active {
		event = "user.enabled"
	}
	u, err = s.store.SetUserActive(s.audit(ctx, event, u.ID, nil), u.ID, active, now)
	if err != nil {
		return User{}, fmt.Errorf("set user active: %w", err)
	}
	if active {
		s.event(ctx, "user.enabled", slog.Int64("user_id", u.ID))
		return u, nil
	}
	n, err := s.store.RevokeAllSessions(ctx, u.ID, now)
	if err != nil {
		return User{}, fmt.Errorf("disabled, but revoking its sessions failed (run session revoke-all): %w", err)
	}
	s.event(ctx, "user.disabled", slog.Int64("user_id", u.ID), slog.Int("sessions_revoked", n))
	return u, nil
}

// DeleteUser removes the account with this email, with its sessions.
func (s *Service) DeleteUser(ctx context.Context, email string) (User, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return User{}, err
	}
	if err := s.store.DeleteUser(s.audit(ctx, "user.deleted", u.ID, map[string]any{"email": u.Email}), u.ID); err != nil {
		return User{}, fmt.Errorf("delete user: %w", err)
	}
	s.event(ctx, "user.deleted", slog.Int64("user_id", u.ID))
	return u, nil
}

// RevokeAllSessions logs the account with this email out everywhere and
// returns how many sessions ended.
func (s *Service) RevokeAllSessions(ctx context.Context, email string) (int, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return 0, err
	}
	n, err := s.store.RevokeAllSessions(s.audit(ctx, "session.revoked_all", u.ID, nil), u.ID, s.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	s.event(ctx, "session.revoked_all", slog.Int64("user_id", u.ID), slog.Int("sessions", n))
	return n, nil
}
