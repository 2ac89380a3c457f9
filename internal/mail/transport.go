package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/authserve/authserve/internal/auth"
)

// Transport delivers one message.
type Transport interface {
	// Send delivers m from from; a *PermanentError means trying again is
	// pointless.
	Send(ctx context.Context, from string, m auth.OutboxMessage) error
	// Describe names the transport for the start-up log, without secrets.
	Describe() string
}

// PermanentError is a delivery failure that retrying cannot fix: the
// server refused the message for good (an SMTP 5xx reply) or the message
// cannot be built (an invalid recipient).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// SMTP modes of AUTH_SMTP_URL.
const (
	ModeSTARTTLS = "smtp"       // STARTTLS required
	ModeTLS      = "smtps"      // implicit TLS
	ModePlain    = "smtp+plain" // no TLS: development peers only
)

// SMTPConfig is a parsed AUTH_SMTP_URL.
type SMTPConfig struct {
	Mode     string
	Host     string
	Port     int
	Username string
	Password string
}

// ParseSMTPURL parses smtp://[user:pass@]host[:port] (STARTTLS required,
// port 587), smtps://… (implicit TLS, port 465) or smtp+plain://host[:port]
// (no TLS, port 25). Its errors never quote the URL, which may hold a
// password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, errors.New("not a valid URL (want smtp://user:pass@host:587, smtps://…:465 or smtp+plain://host:port)")
	}
	c := SMTPConfig{Mode: strings.ToLower(u.Scheme), Host: u.Hostname()}
	switch c.Mode {
	case ModeSTARTTLS:
		c.Port = 587
	case ModeTLS:
		c.Port = 465
	case ModePlain:
		c.Port = 25
	default:
		return SMTPConfig{}, fmt.Errorf("unknown scheme %q (want smtp, smtps or smtp+plain)", u.Scheme)
	}
	if c.Host == "" || u.Opaque != "" {
		return SMTPConfig{}, errors.New("no host (want e.g. smtp://user:pass@mail.example.com:587)")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return SMTPConfig{}, errors.New("no path, query or fragment allowed")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SMTPConfig{}, errors.New("port out of range")
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	return c, nil
}

// SMTP delivers over SMTP with go-mail, one connection per message.
type SMTP struct {
	cfg     SMTPConfig
	timeout time.Duration
}

// NewSMTP returns an SMTP transport; timeout bounds each connection's
// dial and commands.
func NewSMTP(cfg SMTPConfig, timeout time.Duration) *SMTP {
	return &SMTP{cfg: cfg, timeout: timeout}
}

// Describe implements Transport.
func (s *SMTP) Describe() string {
	return fmt.Sprintf("%s://%s:%d", s.cfg.Mode, s.cfg.Host, s.cfg.Port)
}

func (s *SMTP) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithTimeout(s.timeout), gomail.WithoutNoop()}
	switch s.cfg.Mode {
	case ModeTLS:
		opts = append(opts, gomail.WithSSL())
	case ModeSTARTTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	opts = append(opts, gomail.WithPort(s.cfg.Port),
		gomail.WithTLSConfig(&tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}))
	if s.cfg.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if s.cfg.Mode == ModePlain {
			// The development peer has no TLS; go-mail refuses PLAIN
			// without it unless told.
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// Send implements Transport.
func (s *SMTP) Send(ctx context.Context, from string, m auth.OutboxMessage) error {
	msg, err := build(from, m)
	if err != nil {
		return &PermanentError{Err: err}
	}
	c, err := s.client()
	if err != nil {
		return &PermanentError{Err: err}
	}
	err = c.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	// Only the server's own permanent refusal (5xx) is final; a refused
	// connection, a dropped one or a 4xx is worth another try.
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
		return &PermanentError{Err: err}
	}
	return err
}

// build makes the MIME message of m: a text part and an HTML alternative.
func build(from string, m auth.OutboxMessage) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, errors.New("invalid recipient address")
	}
	msg.Subject(m.Message.Subject)
	msg.SetMessageID()
	msg.SetDate()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader("X-Authserve-Kind", m.Kind)
	msg.SetBodyString(gomail.TypeTextPlain, m.Message.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.Message.HTML)
	return msg, nil
}

// Dir writes each message as an .eml file (mode 0600) into a directory:
// development without an SMTP server still works end to end.
type Dir struct{ dir string }

// NewDir creates dir (mode 0700) if needed.
func NewDir(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &Dir{dir: dir}, nil
}

// Describe implements Transport.
func (d *Dir) Describe() string { return d.dir }

// Send implements Transport.
func (d *Dir) Send(_ context.Context, from string, m auth.OutboxMessage) error {
	msg, err := build(from, m)
	if err != nil {
		return &PermanentError{Err: err}
	}
	name := fmt.Sprintf("%s-%06d-%s.eml", m.CreatedAt.UTC().Format("20060102T150405Z"), m.ID, m.Kind)
	// Written under a temporary name (CreateTemp's mode is 0600) and
	// renamed, so whoever watches the directory never reads half a message.
	f, err := os.CreateTemp(d.dir, ".*.eml.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := msg.WriteTo(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
