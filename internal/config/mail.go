package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
)

// validateMail checks the email variables (CONTRACT section 8).
func validateMail(c *Config, ps *problems) {
	if c.SMTPURL != "" {
		ps.check("AUTH_SMTP_URL", checkSMTPURL(c.SMTPURL.Reveal()))
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		ps.add("AUTH_MAIL_FROM", fmt.Errorf("%q is not an address (want e.g. Example <no-reply@example.com>)", c.MailFrom))
	}
	ps.check("AUTH_APP_URL", checkAppURL(c.AppURL))
	if c.MailDir == "" {
		ps.add("AUTH_MAIL_DIR", errors.New("must not be empty"))
	}
}

// productionMail refuses development mail settings in production.
func productionMail(c *Config, ps *problems) {
	switch {
	case c.SMTPURL == "":
		ps.add("AUTH_SMTP_URL", errors.New("AUTH_ENV=production needs an SMTP server: set AUTH_SMTP_URL (smtp:// with STARTTLS or smtps://)"))
	case strings.HasPrefix(strings.ToLower(c.SMTPURL.Reveal()), "smtp+plain:"):
		ps.add("AUTH_SMTP_URL", errors.New("smtp+plain (no TLS) is for development peers only; use smtp:// (STARTTLS) or smtps:// with AUTH_ENV=production"))
	}
	if c.MailFrom == defaultMailFrom {
		ps.add("AUTH_MAIL_FROM", errors.New("AUTH_ENV=production needs AUTH_MAIL_FROM set to your own sender address"))
	}
	if c.AppURL == defaultAppURL {
		ps.add("AUTH_APP_URL", errors.New("AUTH_ENV=production needs AUTH_APP_URL set to the application that opens the email links"))
	}
}

// checkSMTPURL checks the scheme and syntax without quoting the URL, which
// may hold a password. The mail package parses it again; the rules agree.
func checkSMTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid URL (want smtp://user:pass@host:587, smtps://…:465 or smtp+plain://host:port)")
	}
	switch strings.ToLower(u.Scheme) {
	case "smtp", "smtps", "smtp+plain":
	default:
		return fmt.Errorf("unknown scheme %q (want smtp, smtps or smtp+plain)", u.Scheme)
	}
	if u.Hostname() == "" || u.Opaque != "" {
		return errors.New("no host (want e.g. smtp://user:pass@mail.example.com:587)")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("no path, query or fragment allowed")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New("port out of range")
		}
	}
	return nil
}

// checkAppURL wants an absolute http(s) URL to which a path and a fragment
// can be added.
func checkAppURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL (want e.g. https://app.example.com)", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%q: no query or fragment allowed (the links add a path and the token fragment)", raw)
	}
	return nil
}
