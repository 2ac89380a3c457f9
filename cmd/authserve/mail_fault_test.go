package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/mailpit"
	"github.com/authserve/authserve/internal/mysqltest"
	"github.com/authserve/authserve/internal/pgtest"
)

// TestMailSurvivesSMTPOutage is the outbox's fault test against a real SMTP
// server (a private Mailpit): resets requested while it runs are
// delivered; then it is stopped, more resets are requested (every one
// answers 202, fast), it is restarted, and every message arrives exactly
// once, nothing failed and nothing left pending.
func TestMailSurvivesSMTPOutage(t *testing.T) {
	mp := mailpit.New(t)
	mp.Start()
	env := testEnv(t, map[string]string{
		"AUTH_SMTP_URL":           mp.SMTPURL(),
		"AUTH_EMAIL_VERIFICATION": "off",
		"AUTH_MAIL_RETRY_BASE":    "200ms",
		"AUTH_MAIL_MAX_ATTEMPTS":  "50",
		"AUTH_JWT_SECRET":         "mail-fault-secret-0123456789-abcdefghij",
		"AUTH_LOG_LEVEL":          "info",
	})
	s := startServer(t, env)
	const before, during = 5, 20
	run := time.Now().UnixNano()
	addr := func(i int) string { return fmt.Sprintf("fault-%d-%d@example.com", run, i) }
	for i := range before + during {
		register(t, s.URL, addr(i))
	}
	forgot := func(i int) time.Duration {
		return timedPost(t, s.URL+"/api/auth/password/forgot", map[string]any{"email": addr(i)}, http.StatusAccepted)
	}
	for i := range before {
		forgot(i)
	}
	for i := range before {
		mailpit.WaitTo(t, mp.API, addr(i), 1, 15*time.Second)
	}

	mp.Stop()
	var took []time.Duration
	for i := before; i < before+during; i++ {
		took = append(took, forgot(i))
	}
	slices.Sort(took)
	t.Logf("SMTP down: %d forgot requests, all 202; median %v, max %v", during, took[len(took)/2], took[len(took)-1])
	if took[len(took)-1] > time.Second {
		t.Errorf("slowest forgot while SMTP is down took %v, want well under a second", took[len(took)-1])
	}
	// Let several delivery attempts fail.
	s.Logs.WaitFor(t, "failed delivery attempts", func(logs string) bool {
		return strings.Count(logs, "email delivery failed; will retry") >= during
	})
	downFor := 2 * time.Second
	time.Sleep(downFor)
	restarted := time.Now()
	mp.Start()
	for i := before; i < before+during; i++ {
		mailpit.WaitTo(t, mp.API, addr(i), 1, 60*time.Second)
	}
	t.Logf("SMTP back after %v down: all %d queued messages delivered %v after the restart; %d failed attempts logged",
		downFor, during, time.Since(restarted).Round(time.Millisecond), strings.Count(s.Logs.String(), "email delivery failed; will retry"))
	// Exactly once, even after the retries have had time to repeat.
	time.Sleep(time.Second)
	for i := range before + during {
		if n := len(mailpit.To(t, mp.API, addr(i))); n != 1 {
			t.Errorf("%s received %d messages, want exactly 1", addr(i), n)
		}
	}
	if out, _, err := runCmd(t, env, "", "mail", "list", "--status", "pending"); err != nil || strings.Count(out, "\n") != 1 {
		t.Errorf("mail list --status pending = %q, %v; want the header only", out, err)
	}
	if out, _, err := runCmd(t, env, "", "mail", "list", "--status", "failed"); err != nil || strings.Count(out, "\n") != 1 {
		t.Errorf("mail list --status failed = %q, %v; want the header only", out, err)
	}
	if strings.Contains(s.Logs.String(), "#token=") {
		t.Errorf("a link reached the logs")
	}
}

// TestTwoReplicasSendOnce runs two servers on one database (SQLite file,
// and PostgreSQL and MariaDB when their URLs are set), each with its own
// sender, and checks every message arrives exactly once.
func TestTwoReplicasSendOnce(t *testing.T) {
	smtpURL, api := mailpit.Shared(t)
	for _, engine := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(engine, func(t *testing.T) {
			extra := map[string]string{}
			switch engine {
			case "postgres":
				pgtest.SkipIfUnset(t)
				extra["AUTH_DATABASE_URL"] = pgtest.DSN(t)
			case "mysql":
				mysqltest.SkipIfUnset(t)
				extra["AUTH_DATABASE_URL"] = mysqltest.DSN(t)
			}
			twoReplicas(t, smtpURL, api, extra)
		})
	}
}

func twoReplicas(t *testing.T, smtpURL, api string, extra map[string]string) {
	shared := testEnv(t, map[string]string{
		"AUTH_SMTP_URL":           smtpURL,
		"AUTH_EMAIL_VERIFICATION": "off",
		"AUTH_JWT_SECRET":         "replica-mail-secret-0123456789-abcdefgh",
	})
	for k, v := range extra {
		shared[k] = v
	}
	other := map[string]string{}
	for k, v := range shared {
		other[k] = v
	}
	a, b := startServer(t, shared), startServer(t, other)
	const n = 30
	run := time.Now().UnixNano()
	addr := func(i int) string { return fmt.Sprintf("replica-%d-%d@example.com", run, i) }
	for i := range n {
		register(t, a.URL, addr(i))
	}
	// Requests alternate between the replicas; both senders wake and race
	// for the rows.
	for i := range n {
		base := a.URL
		if i%2 == 1 {
			base = b.URL
		}
		timedPost(t, base+"/api/auth/password/forgot", map[string]any{"email": addr(i)}, http.StatusAccepted)
	}
	for i := range n {
		mailpit.WaitTo(t, api, addr(i), 1, 30*time.Second)
	}
	time.Sleep(500 * time.Millisecond)
	for i := range n {
		if got := len(mailpit.To(t, api, addr(i))); got != 1 {
			t.Errorf("%s received %d messages from two replicas, want 1", addr(i), got)
		}
	}
	sentA := strings.Count(a.Logs.String(), `"event":"email.sent"`)
	sentB := strings.Count(b.Logs.String(), `"event":"email.sent"`)
	t.Logf("two replicas: %d messages, sent by a: %d, by b: %d", n, sentA, sentB)
	if sentA+sentB != n {
		t.Errorf("email.sent events = %d + %d, want %d in all", sentA, sentB, n)
	}
}
