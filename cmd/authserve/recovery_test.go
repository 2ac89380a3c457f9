package main

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/mailpit"
	"github.com/authserve/authserve/internal/mysqltest"
	"github.com/authserve/authserve/internal/pgtest"
)

// inbox reads what authserve delivered: from Mailpit over real SMTP when
// AUTH_TEST_SMTP_URL is set, else from the .eml files of AUTH_MAIL_DIR.
type inbox struct {
	api string // Mailpit's API, or ""
	dir string // the .eml directory, or ""
}

// email is one delivered message as the tests read it.
type email struct {
	To, Subject, Text, HTML string
}

// mailEnv adds the mail settings of an inbox to env: Mailpit when it is
// configured, else a private .eml directory.
func mailEnv(t *testing.T, env map[string]string) inbox {
	t.Helper()
	if os.Getenv("AUTH_TEST_SMTP_URL") != "" {
		smtpURL, api := mailpit.Shared(t)
		env["AUTH_SMTP_URL"] = smtpURL
		return inbox{api: api}
	}
	t.Log("AUTH_TEST_SMTP_URL is not set: reading emails from the .eml directory instead of Mailpit")
	dir := filepath.Join(t.TempDir(), "mail")
	env["AUTH_MAIL_DIR"] = dir
	return inbox{dir: dir}
}

// to returns the messages delivered to addr so far, oldest first.
func (in inbox) to(t *testing.T, addr string) []email {
	t.Helper()
	var out []email
	if in.api != "" {
		list := mailpit.To(t, in.api, addr)
		for i := len(list) - 1; i >= 0; i-- {
			m := mailpit.Get(t, in.api, list[i].ID)
			out = append(out, email{To: addr, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
		}
		return out
	}
	files, _ := filepath.Glob(filepath.Join(in.dir, "*.eml"))
	sort.Strings(files)
	for _, f := range files {
		e := readEML(t, f)
		if e.To == addr {
			out = append(out, e)
		}
	}
	return out
}

// wait waits until addr has n messages whose subject contains subject.
func (in inbox) wait(t *testing.T, addr, subject string, n int) []email {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got []email
		for _, e := range in.to(t, addr) {
			if strings.Contains(e.Subject, subject) {
				got = append(got, e)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d emails %q, want %d", addr, len(got), subject, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var tokenRE = regexp.MustCompile(`#token=([A-Za-z0-9_-]{43})`)

// tokenOf returns the link token of an email, found in its text part.
func tokenOf(t *testing.T, e email) string {
	t.Helper()
	m := tokenRE.FindStringSubmatch(e.Text)
	if m == nil {
		t.Fatalf("no link token in %q", e.Text)
	}
	if !strings.Contains(e.HTML, "#token="+m[1]) {
		t.Errorf("the HTML part does not carry the text part's link")
	}
	return m[1]
}

// readEML parses an .eml file written by the .eml transport.
func readEML(t *testing.T, path string) email {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	to, _ := mail.ParseAddress(msg.Header.Get("To"))
	dec := new(mime.WordDecoder)
	subj, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	e := email{Subject: subj}
	if to != nil {
		e.To = to.Address
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var r io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(p)
		}
		b, _ := io.ReadAll(r)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			e.Text = string(b)
		case "text/html":
			e.HTML = string(b)
		}
	}
	return e
}

func post(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	code, m, _ := call(t, http.MethodPost, url, "", body)
	return code, m
}

// recoveryScenario runs section 8 through HTTP against the server at base:
// verification, reset (races, policy, foreign and stale tokens, lockout),
// change, cooldown, and no token in any log line.
func recoveryScenario(t *testing.T, s *server, env map[string]string, in inbox, tag string) {
	api := s.URL + "/api/auth"
	alice := fmt.Sprintf("alice-%s-%d@example.com", tag, time.Now().UnixNano())
	bob := fmt.Sprintf("bob-%s-%d@example.com", tag, time.Now().UnixNano())
	var tokens []string

	// Registration sends a verification email; the account is unverified.
	u := register(t, s.URL, alice)
	register(t, s.URL, bob)
	if u["email_verified"] != false {
		t.Errorf("register: email_verified = %v, want false", u["email_verified"])
	}
	vtok := tokenOf(t, in.wait(t, alice, "Confirm your email", 1)[0])
	tokens = append(tokens, vtok)

	// Bad tokens all get the one answer.
	bad := []string{"", "abc", strings.Repeat("A", 43), strings.Repeat("A", 42) + "*", vtok + "x"}
	for _, tok := range bad {
		code, p := post(t, api+"/email/verify", map[string]any{"token": tok})
		want, wantCode := http.StatusBadRequest, "invalid_link_token"
		if tok == "" {
			want, wantCode = http.StatusUnprocessableEntity, "validation_failed"
		}
		if code != want || p["code"] != wantCode {
			t.Errorf("verify(%q) = %d %v, want %d %s", tok, code, p["code"], want, wantCode)
		}
	}
	code, p := post(t, api+"/email/verify", map[string]any{"token": vtok})
	if code != http.StatusOK || p["email_verified"] != true || p["email"] != alice {
		t.Fatalf("verify = %d %v, want 200 and the verified user", code, p)
	}
	if code, p := post(t, api+"/email/verify", map[string]any{"token": vtok}); code != http.StatusBadRequest || p["code"] != "invalid_link_token" {
		t.Errorf("verify with a used token = %d %v, want 400 invalid_link_token", code, p)
	}
	// Resend to a verified account sends nothing, and says the same.
	code, a1 := post(t, api+"/email/verify/resend", map[string]any{"email": alice})
	code2, a2 := post(t, api+"/email/verify/resend", map[string]any{"email": "nobody-" + alice})
	if code != http.StatusAccepted || code2 != http.StatusAccepted || fmt.Sprint(a1) != fmt.Sprint(a2) {
		t.Errorf("resend (verified, unknown) = %d %v, %d %v; want the same 202", code, a1, code2, a2)
	}

	// A session from before the reset, and a lockout from its address.
	_, before := login(t, s.URL, alice)
	for range 2 {
		post(t, api+"/login", map[string]any{"email": alice, "password": "Wr0ng-Password!"})
	}
	if code, p := post(t, api+"/login", map[string]any{"email": alice, "password": testPassword}); code != http.StatusTooManyRequests {
		t.Fatalf("login after 2 failures (threshold 2) = %d %v, want 429", code, p)
	}

	// Forgot: 202 whatever the address; two requests within the cooldown
	// send one email.
	for _, addr := range []string{alice, alice, "nobody-" + alice} {
		if code, p := post(t, api+"/password/forgot", map[string]any{"email": addr}); code != http.StatusAccepted {
			t.Errorf("forgot(%s) = %d %v, want 202", addr, code, p)
		}
	}
	rtok := tokenOf(t, in.wait(t, alice, "Reset your password", 1)[0])
	tokens = append(tokens, rtok)
	// A verification token is not a reset token (foreign kind).
	// (A resend for bob now would be inside the cooldown of the email his
	// registration sent, and send nothing.)
	post(t, api+"/email/verify/resend", map[string]any{"email": bob})
	btok := tokenOf(t, in.wait(t, bob, "Confirm your email", 1)[0])
	tokens = append(tokens, btok)
	if code, p := post(t, api+"/password/reset", map[string]any{"token": btok, "new_password": "Another-Horse-43"}); code != http.StatusBadRequest || p["code"] != "invalid_link_token" {
		t.Errorf("reset with a verification token = %d %v, want 400 invalid_link_token", code, p)
	}
	// A password breaking the policy is refused and spends nothing.
	if code, p := post(t, api+"/password/reset", map[string]any{"token": rtok, "new_password": "short"}); code != http.StatusUnprocessableEntity || p["code"] != "validation_failed" {
		t.Errorf("reset with a weak password = %d %v, want 422 validation_failed", code, p)
	}
	// Two resets racing with one token: exactly one wins.
	const racers = 4
	codes := make([]int, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			codes[i], _ = post(t, api+"/password/reset", map[string]any{"token": rtok, "new_password": fmt.Sprintf("Another-Horse-4%d", i)})
		})
	}
	wg.Wait()
	won := -1
	for i, c := range codes {
		switch c {
		case http.StatusNoContent:
			if won >= 0 {
				t.Errorf("resets %d and %d both succeeded with one token", won, i)
			}
			won = i
		case http.StatusBadRequest:
		default:
			t.Errorf("racing reset %d = %d, want 204 or 400", i, c)
		}
	}
	if won < 0 {
		t.Fatalf("no racing reset succeeded: %v", codes)
	}
	newPassword := fmt.Sprintf("Another-Horse-4%d", won)
	// Every session is revoked, the lockout cleared, the email verified,
	// and the owner told.
	if code, _, _ := call(t, http.MethodPost, api+"/refresh", "", map[string]any{"refresh_token": before["refresh_token"]}); code != http.StatusUnauthorized {
		t.Errorf("refresh of a session from before the reset = %d, want 401", code)
	}
	code, tok := loginAs(t, s.URL, alice, newPassword)
	if code != http.StatusOK {
		t.Fatalf("login with the new password after the reset = %d %v, want 200 (lockout cleared)", code, tok)
	}
	in.wait(t, alice, "Your password was changed", 1)

	// Change: a wrong current password is 401 and counts toward the
	// lockout (threshold 2); the right one keeps this session only.
	_, other := loginAs(t, s.URL, alice, newPassword)
	access := tok["access_token"].(string)
	code, p, _ = call(t, http.MethodPost, api+"/password/change", access, map[string]any{"current_password": "Wr0ng-Password!", "new_password": "Third-Horse-44"})
	if code != http.StatusUnauthorized || p["code"] != "invalid_credentials" {
		t.Errorf("change with a wrong current password = %d %v, want 401 invalid_credentials", code, p)
	}
	code, p, _ = call(t, http.MethodPost, api+"/password/change", access, map[string]any{"current_password": newPassword, "new_password": "weak"})
	if code != http.StatusUnprocessableEntity {
		t.Errorf("change to a weak password = %d %v, want 422", code, p)
	}
	code, p, _ = call(t, http.MethodPost, api+"/password/change", access, map[string]any{"current_password": newPassword, "new_password": "Third-Horse-44"})
	if code != http.StatusNoContent {
		t.Fatalf("change = %d %v, want 204", code, p)
	}
	if code, _, _ := call(t, http.MethodGet, api+"/me", access, nil); code != http.StatusOK {
		t.Errorf("me with the caller's session after the change = %d, want 200", code)
	}
	if code, _, _ := call(t, http.MethodGet, api+"/me", other["access_token"].(string), nil); code != http.StatusUnauthorized {
		t.Errorf("me with another session after the change = %d, want 401", code)
	}
	in.wait(t, alice, "Your password was changed", 2)
	// Two wrong current passwords lock the caller's email and address.
	for range 2 {
		call(t, http.MethodPost, api+"/password/change", access, map[string]any{"current_password": "Wr0ng-Password!", "new_password": "Fourth-Horse-45"})
	}
	if code, p, _ := call(t, http.MethodPost, api+"/password/change", access, map[string]any{"current_password": "Third-Horse-44", "new_password": "Fourth-Horse-45"}); code != http.StatusTooManyRequests || p["code"] != "account_locked" {
		t.Errorf("change after 2 wrong current passwords = %d %v, want 429 account_locked", code, p)
	}
	// The CLI clears it.
	if out, errOut, err := runCmd(t, env, "", "user", "unlock", alice); err != nil {
		t.Errorf("user unlock = %v %s %s", err, out, errOut)
	}
	if code, p := loginAs(t, s.URL, alice, "Third-Horse-44"); code != http.StatusOK {
		t.Errorf("login after user unlock = %d %v, want 200", code, p)
	}

	// The cooldown held: one reset email for two requests, and no second
	// verification email for bob's resend.
	count := func(addr, subject string) int {
		n := 0
		for _, e := range in.to(t, addr) {
			if strings.Contains(e.Subject, subject) {
				n++
			}
		}
		return n
	}
	if n := count(alice, "Reset your password"); n != 1 {
		t.Errorf("reset emails to alice = %d, want 1 (second request inside the cooldown)", n)
	}
	if n := count(bob, "Confirm your email"); n != 1 {
		t.Errorf("verification emails to bob = %d, want 1 (resend inside the cooldown)", n)
	}

	// No token, link or password in any log line.
	logs := s.Logs.String()
	for _, tk := range tokens {
		if strings.Contains(logs, tk) {
			t.Errorf("a link token appears in the logs")
		}
	}
	for _, secret := range []string{"#token=", "reset-password#", newPassword, "Third-Horse-44"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
}

func loginAs(t *testing.T, base, email, password string) (int, map[string]any) {
	t.Helper()
	code, m, _ := call(t, http.MethodPost, base+"/api/auth/login", "", map[string]any{"email": email, "password": password})
	return code, m
}

func recoveryEnv(t *testing.T, extra map[string]string) (map[string]string, inbox) {
	env := testEnv(t, map[string]string{
		"AUTH_LOCKOUT_THRESHOLD": "2",
		"AUTH_JWT_SECRET":        "recovery-test-secret-0123456789-abcdef",
	})
	for k, v := range extra {
		env[k] = v
	}
	return env, mailEnv(t, env)
}

func TestRecoverySQLite(t *testing.T) {
	env, in := recoveryEnv(t, nil)
	recoveryScenario(t, startServer(t, env), env, in, "sqlite")
}

func TestRecoveryPostgres(t *testing.T) {
	pgtest.SkipIfUnset(t)
	env, in := recoveryEnv(t, map[string]string{"AUTH_DATABASE_URL": pgtest.DSN(t)})
	recoveryScenario(t, startServer(t, env), env, in, "pg")
}

func TestRecoveryMySQL(t *testing.T) {
	mysqltest.SkipIfUnset(t)
	env, in := recoveryEnv(t, map[string]string{"AUTH_DATABASE_URL": mysqltest.DSN(t)})
	recoveryScenario(t, startServer(t, env), env, in, "mysql")
}

// TestVerificationModes: required refuses an unverified login with 403
// email_not_verified (after the password check: a wrong password still
// says invalid_credentials); off sends no verification email.
func TestVerificationModes(t *testing.T) {
	t.Run("required", func(t *testing.T) {
		env, in := recoveryEnv(t, map[string]string{"AUTH_EMAIL_VERIFICATION": "required"})
		s := startServer(t, env)
		addr := fmt.Sprintf("req-%d@example.com", time.Now().UnixNano())
		register(t, s.URL, addr)
		if code, p := loginAs(t, s.URL, addr, "Wr0ng-Password!"); code != http.StatusUnauthorized || p["code"] != "invalid_credentials" {
			t.Errorf("wrong password, unverified = %d %v, want 401 invalid_credentials", code, p)
		}
		if code, p := loginAs(t, s.URL, addr, testPassword); code != http.StatusForbidden || p["code"] != "email_not_verified" {
			t.Errorf("right password, unverified = %d %v, want 403 email_not_verified", code, p)
		}
		tok := tokenOf(t, in.wait(t, addr, "Confirm your email", 1)[0])
		if code, p := post(t, s.URL+"/api/auth/email/verify", map[string]any{"token": tok}); code != http.StatusOK {
			t.Fatalf("verify = %d %v", code, p)
		}
		if code, p := loginAs(t, s.URL, addr, testPassword); code != http.StatusOK {
			t.Errorf("login after verification = %d %v, want 200", code, p)
		}
		// An administrator can verify too.
		other := fmt.Sprintf("req2-%d@example.com", time.Now().UnixNano())
		register(t, s.URL, other)
		if out, _, err := runCmd(t, env, "", "user", "verify", other); err != nil || !strings.Contains(out, "verified:   true") {
			t.Errorf("user verify = %q, %v", out, err)
		}
		if code, p := loginAs(t, s.URL, other, testPassword); code != http.StatusOK {
			t.Errorf("login after user verify = %d %v, want 200", code, p)
		}
	})
	t.Run("off", func(t *testing.T) {
		env, in := recoveryEnv(t, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"})
		s := startServer(t, env)
		addr := fmt.Sprintf("off-%d@example.com", time.Now().UnixNano())
		register(t, s.URL, addr)
		post(t, s.URL+"/api/auth/email/verify/resend", map[string]any{"email": addr})
		post(t, s.URL+"/api/auth/password/forgot", map[string]any{"email": addr})
		in.wait(t, addr, "Reset your password", 1)
		for _, e := range in.to(t, addr) {
			if strings.Contains(e.Subject, "Confirm") {
				t.Errorf("verification email sent with AUTH_EMAIL_VERIFICATION=off")
			}
		}
	})
}

// TestAdminSetPasswordAndMailList drives the CLI: set-password ends every
// session and queues the notice; mail list shows the outbox without
// bodies.
func TestAdminSetPasswordAndMailList(t *testing.T) {
	env, in := recoveryEnv(t, nil)
	s := startServer(t, env)
	addr := fmt.Sprintf("cli-%d@example.com", time.Now().UnixNano())
	register(t, s.URL, addr)
	_, tok := login(t, s.URL, addr)
	if out, errOut, err := runCmd(t, env, "Brand-New-Pass-9\n", "user", "set-password", addr); err != nil {
		t.Fatalf("user set-password = %v %s %s", err, out, errOut)
	}
	if strings.Contains(s.Logs.String(), "Brand-New-Pass-9") {
		t.Errorf("the new password reached a log line")
	}
	if code, _, _ := call(t, http.MethodGet, s.URL+"/api/auth/me", tok["access_token"].(string), nil); code != http.StatusUnauthorized {
		t.Errorf("me after set-password = %d, want 401 (sessions ended)", code)
	}
	if code, p := loginAs(t, s.URL, addr, "Brand-New-Pass-9"); code != http.StatusOK {
		t.Errorf("login with the set password = %d %v", code, p)
	}
	if _, _, err := runCmd(t, env, "weak\n", "user", "set-password", addr); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("user set-password with a weak password = %v, want a policy error", err)
	}
	in.wait(t, addr, "Your password was changed", 1)
	// The sender records "sent" just after the message arrives: poll.
	var out string
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, _, err = runCmd(t, env, "", "mail", "list", "--status", "sent")
		if (err == nil && strings.Contains(out, addr)) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || !strings.Contains(out, addr) || !strings.Contains(out, "password_changed") || strings.Contains(out, "#token=") {
		t.Errorf("mail list --status sent = %q, %v", out, err)
	}
	if _, _, err := runCmd(t, env, "", "mail", "list", "--status", "bogus"); err == nil {
		t.Errorf("mail list --status bogus succeeded")
	}
}
