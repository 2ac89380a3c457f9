package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/totp"
)

// mfaSealer builds the sealer of TOTP secrets from AUTH_MFA_ENCRYPTION_KEY
// and AUTH_MFA_PREVIOUS_KEYS. Without a key (development only: production
// refuses to start) secrets are stored unencrypted, and serve says so.
func (a *app) mfaSealer(serving bool) (*totp.Sealer, error) {
	current, previous, err := a.cfg.MFAKeys()
	if err != nil {
		return nil, exitError{code: 1, msg: err.Error()}
	}
	s, err := totp.NewSealer(current, previous...)
	if err != nil {
		return nil, exitError{code: 1, msg: "AUTH_MFA_ENCRYPTION_KEY: " + err.Error()}
	}
	if serving {
		if s.Encrypts() {
			a.log.Info("TOTP secrets are encrypted at rest (AES-256-GCM)", slog.String("mfa_key_id", s.CurrentKeyID()),
				slog.Int("mfa_previous_keys", len(previous)))
		} else {
			a.log.Warn("no AUTH_MFA_ENCRYPTION_KEY: TOTP secrets are stored unencrypted in the database (key id \"plain\"); set one before production (authserve keys generate --type aes256)")
		}
	}
	return s, nil
}

// mfaReset implements `authserve user mfa-reset EMAIL`: it removes every
// second factor and recovery code of the account, for a user who lost both.
func mfaReset(ctx context.Context, email string, getenv func(string) string, stdout, stderr io.Writer) error {
	return withService(ctx, getenv, stderr, func(s *auth.Service) error {
		n, err := s.ResetMFA(ctx, email)
		if err != nil {
			return adminError(err, email)
		}
		fmt.Fprintf(stdout, "removed %d factor(s) and every recovery code of %s; the next login takes a password only\n",
			n, strings.ToLower(strings.TrimSpace(email)))
		return nil
	})
}
