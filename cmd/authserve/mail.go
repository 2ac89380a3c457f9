package main

import (
	"context"
	"log/slog"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/breaker"
	"github.com/authserve/authserve/internal/config"
	"github.com/authserve/authserve/internal/mail"
)

// recoveryConfig is the domain's part of the email settings.
func recoveryConfig(cfg config.Config) auth.RecoveryConfig {
	return auth.RecoveryConfig{
		Verification: cfg.EmailVerification,
		VerifyTTL:    cfg.VerifyTokenTTL,
		ResetTTL:     cfg.ResetTokenTTL,
		Cooldown:     cfg.MailCooldown,
	}
}

// newTransport is the configured mail transport: SMTP, or in development
// without AUTH_SMTP_URL a directory of .eml files. Configuration checks
// have already refused a bad URL and production without one.
func newTransport(cfg config.Config) (mail.Transport, error) {
	if cfg.SMTPURL == "" {
		d, err := mail.NewDir(cfg.MailDir)
		if err != nil {
			return nil, exitError{code: 1, msg: "AUTH_MAIL_DIR: " + err.Error()}
		}
		return d, nil
	}
	sc, err := mail.ParseSMTPURL(cfg.SMTPURL.Reveal())
	if err != nil {
		return nil, exitError{code: 1, msg: "AUTH_SMTP_URL: " + err.Error()}
	}
	return mail.NewSMTP(sc, mail.DefaultSendTimeout), nil
}

// startMail starts the outbox sender. The returned stop waits, until ctx's
// deadline at most, for it to finish its delivery in progress and hand
// back its claims; it must be called after the serve context has ended.
func (a *app) startMail(ctx context.Context) (stop func(context.Context), err error) {
	t, err := newTransport(a.cfg)
	if err != nil {
		return nil, err
	}
	if _, ok := t.(*mail.Dir); ok {
		a.log.Warn("no AUTH_SMTP_URL: emails are written as .eml files instead of sent (development only)",
			slog.String("mail_dir", t.Describe()))
	} else {
		a.log.Info("emails are sent over SMTP", slog.String("smtp", t.Describe()))
	}
	s := mail.NewSender(mail.SenderOptions{
		Outbox:      a.store,
		Transport:   t,
		From:        a.cfg.MailFrom,
		Wake:        a.composer.Wake(),
		Event:       a.service.Record,
		Observer:    a.metrics.NewMail(),
		Logger:      a.log,
		MaxAttempts: a.cfg.MailMaxAttempts,
		RetryBase:   a.cfg.MailRetryBase,
		WakeJitter:  mail.DefaultWakeJitter,
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The sender's polling must not open the circuit by itself (see
		// breaker.Background).
		s.Run(breaker.Background(ctx))
	}()
	return func(wait context.Context) {
		select {
		case <-done:
		case <-wait.Done():
			a.log.Warn("the email sender did not stop in time; its claims are released when their lease ends")
		}
	}, nil
}
