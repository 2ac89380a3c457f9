// Package mail is authserve's email adapter: it renders the emails the
// domain asks for (text and HTML templates, built in or overridden from a
// directory), delivers the outbox in the background (Sender), over SMTP
// or, in development, into .eml files.
package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

//go:embed templates/*.txt templates/*.html
var builtin embed.FS

// Kinds are the email kinds, each with a .txt (text/template, which also
// defines "subject") and a .html (html/template) file.
var Kinds = []string{auth.MailVerification, auth.MailPasswordReset, auth.MailPasswordChanged}

// Link paths of the application pages, under AUTH_APP_URL.
const (
	VerifyPath = "/verify-email"
	ResetPath  = "/reset-password"
)

var _ auth.MailComposer = (*Composer)(nil)

// Composer renders emails and wakes the sender when one is queued. It is
// safe for concurrent use.
type Composer struct {
	appURL string
	text   map[string]*texttemplate.Template
	html   map[string]*htmltemplate.Template
	wake   chan struct{}
}

// templateData is what the templates see.
type templateData struct {
	Email     string
	FirstName string
	Link      string
	ExpiresIn string
	Time      string
	AppURL    string
}

// NewComposer parses the templates: each file of overrideDir (when not
// empty) named like a built-in one replaces it. Links are built on appURL.
func NewComposer(appURL, overrideDir string) (*Composer, error) {
	c := &Composer{
		appURL: strings.TrimRight(appURL, "/"),
		text:   map[string]*texttemplate.Template{},
		html:   map[string]*htmltemplate.Template{},
		wake:   make(chan struct{}, 1),
	}
	for _, kind := range Kinds {
		src, err := source(overrideDir, kind+".txt")
		if err != nil {
			return nil, err
		}
		t, err := texttemplate.New(kind + ".txt").Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("template %s.txt: %w", kind, err)
		}
		if t.Lookup("subject") == nil {
			return nil, fmt.Errorf("template %s.txt: no {{define \"subject\"}}", kind)
		}
		c.text[kind] = t
		src, err = source(overrideDir, kind+".html")
		if err != nil {
			return nil, err
		}
		h, err := htmltemplate.New(kind + ".html").Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("template %s.html: %w", kind, err)
		}
		c.html[kind] = h
	}
	// Render each kind once, so that a template that fails on real data
	// stops start-up rather than a request.
	for _, kind := range Kinds {
		if _, err := c.Compose(kind, auth.MailData{Email: "check@example.com", FirstName: "Check", Link: c.Link(auth.LinkResetPassword, "x"), ExpiresIn: time.Hour, Time: time.Now()}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// source reads a template: the override when it exists, else the built-in.
func source(dir, name string) (string, error) {
	if dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case err == nil:
			return string(b), nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("template %s: %w", name, err)
		}
	}
	b, err := builtin.ReadFile("templates/" + name)
	if err != nil {
		return "", fmt.Errorf("built-in template %s: %w", name, err)
	}
	return string(b), nil
}

// Compose implements auth.MailComposer.
func (c *Composer) Compose(kind string, d auth.MailData) (auth.Message, error) {
	t, h := c.text[kind], c.html[kind]
	if t == nil || h == nil {
		return auth.Message{}, fmt.Errorf("no templates for email kind %q", kind)
	}
	data := templateData{
		Email: d.Email, FirstName: d.FirstName, Link: d.Link, ExpiresIn: humanDuration(d.ExpiresIn),
		Time: d.Time.UTC().Format("2 January 2006 at 15:04 UTC"), AppURL: c.appURL,
	}
	var subject, text, html bytes.Buffer
	if err := t.ExecuteTemplate(&subject, "subject", data); err != nil {
		return auth.Message{}, fmt.Errorf("render %s subject: %w", kind, err)
	}
	if err := t.Execute(&text, data); err != nil {
		return auth.Message{}, fmt.Errorf("render %s text: %w", kind, err)
	}
	if err := h.Execute(&html, data); err != nil {
		return auth.Message{}, fmt.Errorf("render %s HTML: %w", kind, err)
	}
	// A header cannot span lines.
	subj := strings.Join(strings.Fields(subject.String()), " ")
	return auth.Message{Subject: subj, Text: text.String(), HTML: html.String()}, nil
}

// Link implements auth.MailComposer: the token goes in the fragment, which
// browsers never send to a server nor put in a Referer.
func (c *Composer) Link(kind, token string) string {
	path := ResetPath
	if kind == auth.LinkVerifyEmail {
		path = VerifyPath
	}
	return c.appURL + path + "#token=" + token
}

// Queued implements auth.MailComposer: it wakes the sender without
// blocking (one pending wake-up is enough).
func (c *Composer) Queued() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Wake is the channel Queued signals, for the Sender.
func (c *Composer) Wake() <-chan struct{} { return c.wake }

// humanDuration writes d as people do: "30 minutes", "24 hours", "1 hour
// 30 minutes".
func humanDuration(d time.Duration) string {
	if d <= 0 {
		return "a moment"
	}
	unit := func(n int64, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	d = d.Round(time.Minute)
	days, hours, mins := int64(d/(24*time.Hour)), int64(d%(24*time.Hour)/time.Hour), int64(d%time.Hour/time.Minute)
	if days > 0 && hours == 0 && mins == 0 && days > 1 {
		return unit(days, "day", "days")
	}
	hours += days * 24
	var parts []string
	if hours > 0 {
		parts = append(parts, unit(hours, "hour", "hours"))
	}
	if mins > 0 {
		parts = append(parts, unit(mins, "minute", "minutes"))
	}
	if len(parts) == 0 {
		return "1 minute"
	}
	return strings.Join(parts, " ")
}
