package mail

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/mailpit"
)

func TestComposeBuiltIn(t *testing.T) {
	c, err := NewComposer("https://app.example.com/", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Link(auth.LinkResetPassword, "tok"), "https://app.example.com/reset-password#token=tok"; got != want {
		t.Errorf("Link(reset) = %q, want %q", got, want)
	}
	if got, want := c.Link(auth.LinkVerifyEmail, "tok"), "https://app.example.com/verify-email#token=tok"; got != want {
		t.Errorf("Link(verify) = %q, want %q", got, want)
	}
	tests := []struct {
		kind    string
		subject string
		link    bool
	}{
		{auth.MailVerification, "Confirm your email address", true},
		{auth.MailPasswordReset, "Reset your password", true},
		{auth.MailPasswordChanged, "Your password was changed", false},
	}
	for _, tt := range tests {
		link := ""
		if tt.link {
			link = c.Link(auth.LinkResetPassword, "T0KEN")
		}
		m, err := c.Compose(tt.kind, auth.MailData{Email: "a@example.com", FirstName: "<Ann>", Link: link, ExpiresIn: 30 * time.Minute, Time: time.Now()})
		if err != nil {
			t.Fatalf("Compose(%s) = %v", tt.kind, err)
		}
		if m.Subject != tt.subject {
			t.Errorf("Compose(%s) subject = %q, want %q", tt.kind, m.Subject, tt.subject)
		}
		if tt.link && (!strings.Contains(m.Text, link) || !strings.Contains(m.HTML, `href="`+link+`"`) || !strings.Contains(m.Text, "30 minutes")) {
			t.Errorf("Compose(%s) does not carry the link and lifetime in both parts:\n%s\n%s", tt.kind, m.Text, m.HTML)
		}
		// html/template escapes what the user chose; text keeps it as is.
		if !strings.Contains(m.HTML, "&lt;Ann&gt;") || !strings.Contains(m.Text, "<Ann>") {
			t.Errorf("Compose(%s): name not escaped in HTML or mangled in text", tt.kind)
		}
	}
}

func TestComposeOverride(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("password_reset.txt", `{{define "subject"}}Acme: reset{{end}}Go to {{.Link}} ({{.ExpiresIn}})`)
	c, err := NewComposer("https://acme.test", dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Compose(auth.MailPasswordReset, auth.MailData{Email: "a@example.com", Link: "L", ExpiresIn: time.Hour})
	if err != nil || m.Subject != "Acme: reset" || m.Text != "Go to L (1 hour)" || !strings.Contains(m.HTML, "Choose a new password") {
		t.Errorf("Compose with an overridden text template = %+v, %v; want the override's text and the built-in HTML", m, err)
	}
	// Broken overrides stop start-up with the file's name.
	for name, body := range map[string]string{
		"verification.txt":      `no subject here`,
		"verification.html":     `{{.Nope}}`,
		"password_changed.html": `{{`,
	} {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := NewComposer("https://acme.test", bad); err == nil || !strings.Contains(err.Error(), strings.TrimSuffix(strings.TrimSuffix(name, ".txt"), ".html")) {
			t.Errorf("NewComposer with a bad %s = %v, want an error naming it", name, err)
		}
	}
}

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		raw  string
		want SMTPConfig
		err  string
	}{
		{"smtp://u:p@mail.example.com", SMTPConfig{Mode: ModeSTARTTLS, Host: "mail.example.com", Port: 587, Username: "u", Password: "p"}, ""},
		{"smtps://mail.example.com", SMTPConfig{Mode: ModeTLS, Host: "mail.example.com", Port: 465}, ""},
		{"smtp+plain://127.0.0.1:1025", SMTPConfig{Mode: ModePlain, Host: "127.0.0.1", Port: 1025}, ""},
		{"SMTPS://u%40x:p%3A@h:2465/", SMTPConfig{Mode: ModeTLS, Host: "h", Port: 2465, Username: "u@x", Password: "p:"}, ""},
		{"http://h", SMTPConfig{}, "unknown scheme"},
		{"smtp://:25", SMTPConfig{}, "no host"},
		{"smtp://h:0", SMTPConfig{}, "port out of range"},
		{"smtp://h/path", SMTPConfig{}, "no path"},
		{"smtp://u:secret@h h", SMTPConfig{}, "not a valid URL"},
	}
	for _, tt := range tests {
		got, err := ParseSMTPURL(tt.raw)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "secret") {
				t.Errorf("ParseSMTPURL(%q) = %v, want an error with %q and no password", tt.raw, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSMTPURL(%q) = %+v, %v, want %+v", tt.raw, got, err, tt.want)
		}
	}
}

func testMessage(to string) auth.OutboxMessage {
	return auth.OutboxMessage{ID: 7, To: to, Kind: auth.MailPasswordReset, CreatedAt: time.Now(),
		Message: auth.Message{Subject: "Reset your password", Text: "link https://app.test/reset-password#token=abc", HTML: "<p>html</p>"}}
}

func TestDirWritesPrivateEML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	d, err := NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Send(context.Background(), "authserve <no-reply@localhost>", testMessage("a@example.com")); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf(".eml files = %v, want one", files)
	}
	fi, err := os.Stat(files[0])
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf(".eml mode = %v, %v, want 0600", fi.Mode().Perm(), err)
	}
	b, _ := os.ReadFile(files[0])
	for _, want := range []string{"To: <a@example.com>", "Subject: Reset your password", "multipart/alternative", "text/plain", "text/html"} {
		if !strings.Contains(string(b), want) {
			t.Errorf(".eml lacks %q:\n%s", want, b)
		}
	}
	if err := d.Send(context.Background(), "x <y@z>", testMessage("not an address")); !errors.As(err, new(*PermanentError)) {
		t.Errorf("Send(bad recipient) = %v, want a PermanentError", err)
	}
}

// TestSMTPToMailpit delivers through go-mail to the real SMTP server and
// reads the message back from its API.
func TestSMTPToMailpit(t *testing.T) {
	smtpURL, api := mailpit.Shared(t)
	cfg, err := ParseSMTPURL(smtpURL)
	if err != nil {
		t.Fatal(err)
	}
	to := mailpit.Unique(t, "smtp")
	if err := NewSMTP(cfg, 10*time.Second).Send(context.Background(), "Acme <no-reply@acme.test>", testMessage(to)); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	got := mailpit.WaitTo(t, api, to, 1, 10*time.Second)
	if len(got) != 1 || got[0].Subject != "Reset your password" || !strings.Contains(got[0].Text, "#token=abc") ||
		got[0].HTML != "<p>html</p>" || got[0].From.Address != "no-reply@acme.test" {
		t.Errorf("Mailpit received %+v", got)
	}
}

// fakeSMTP is a scripted SMTP peer for failures Mailpit cannot produce: it
// answers the dialogue up to the step named by failAt, then refuses with a
// reply or drops the connection.
type fakeSMTP struct {
	ln      net.Listener
	failAt  string // "RCPT" or "DATA"
	reply   string // e.g. "550 5.1.1 no such user"; "" drops the connection
	mu      sync.Mutex
	dropped int
}

func newFakeSMTP(t *testing.T, failAt, reply string) *fakeSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSMTP{ln: ln, failAt: failAt, reply: reply}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeSMTP) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
	say("220 fake ESMTP")
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if inData {
			// Drop mid-message: after the first line of content.
			f.mu.Lock()
			f.dropped++
			f.mu.Unlock()
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 fake")
		case strings.HasPrefix(cmd, "MAIL"):
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT"):
			if f.failAt == "RCPT" {
				say(f.reply)
				continue
			}
			say("250 ok")
		case strings.HasPrefix(cmd, "DATA"):
			say("354 go ahead")
			inData = true
		case strings.HasPrefix(cmd, "RSET"), strings.HasPrefix(cmd, "NOOP"):
			say("250 ok")
		case strings.HasPrefix(cmd, "QUIT"):
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

func (f *fakeSMTP) config() SMTPConfig {
	a := f.ln.Addr().(*net.TCPAddr)
	return SMTPConfig{Mode: ModePlain, Host: "127.0.0.1", Port: a.Port}
}

// TestSMTPFailuresAreClassified: a 5xx refusal is permanent; a 4xx, a
// connection dropped mid-message and a server that is down are worth
// retrying. No error quotes the recipient unmasked once sanitised.
func TestSMTPFailuresAreClassified(t *testing.T) {
	downLn, _ := net.Listen("tcp", "127.0.0.1:0")
	downPort := downLn.Addr().(*net.TCPAddr).Port
	downLn.Close()
	tests := []struct {
		name      string
		cfg       SMTPConfig
		permanent bool
	}{
		{"refused 550", newFakeSMTP(t, "RCPT", "550 5.1.1 no such user").config(), true},
		{"try later 451", newFakeSMTP(t, "RCPT", "451 4.3.0 try later").config(), false},
		{"dropped mid-message", newFakeSMTP(t, "DATA", "").config(), false},
		{"server down", SMTPConfig{Mode: ModePlain, Host: "127.0.0.1", Port: downPort}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := "victim@example.com"
			err := NewSMTP(tt.cfg, 3*time.Second).Send(context.Background(), "x <no-reply@x.test>", testMessage(to))
			if err == nil {
				t.Fatal("Send() = nil, want an error")
			}
			if perm := errors.As(err, new(*PermanentError)); perm != tt.permanent {
				t.Errorf("Send() = %v: permanent %v, want %v", err, perm, tt.permanent)
			}
			if s := sanitize(err.Error(), to); strings.Contains(s, to) || strings.Contains(s, "token") {
				t.Errorf("sanitize(%q) = %q still shows the recipient or a token", err, s)
			}
		})
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Minute: "30 minutes", time.Hour: "1 hour", 24 * time.Hour: "24 hours", 48 * time.Hour: "2 days",
		90 * time.Minute: "1 hour 30 minutes", time.Minute: "1 minute", 10 * time.Second: "1 minute",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
