package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authserve/authserve/internal/faultproxy"
)

// TestFaultAuditEvents: registrations and logins run while the database
// connection is refused, reset and black-holed; afterwards, read without
// the proxy, every account has exactly one user.registered event and every
// session exactly one user.login_succeeded event, and no event describes
// a change that did not commit. Every acknowledged change is among them
// (an event is committed with its change, so neither is lost alone).
func TestFaultAuditEvents(t *testing.T) {
	p := startBehindProxy(t)
	base := p.srv.URL
	registerSettled(t, base, "audit-login@example.com")

	var (
		mu       sync.Mutex
		acked    []string // registrations answered 201
		sessions []string // session ids of logins answered 200
		errs     []string
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				email := fmt.Sprintf("a%d-%d@example.com", w, i)
				path, body := "/api/auth/register", map[string]any{"email": email, "password": testPassword}
				if w%2 == 1 {
					path, body = "/api/auth/login", map[string]any{"email": "audit-login@example.com", "password": testPassword}
				}
				r, err := fetch("POST", base+path, "", body)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err.Error())
				case r.status == http.StatusCreated:
					acked = append(acked, email)
				case r.status == http.StatusOK:
					sessions = append(sessions, sessionOf(t, r.body["access_token"].(string)))
				case r.status != http.StatusServiceUnavailable:
					errs = append(errs, fmt.Sprintf("%s = %d %v", path, r.status, r.body))
				}
				mu.Unlock()
				if r.status == http.StatusServiceUnavailable {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	for _, s := range []struct {
		mode faultproxy.Mode
		d    time.Duration
	}{
		{faultproxy.Pass, 500 * time.Millisecond},
		{faultproxy.Reset, 300 * time.Millisecond},
		{faultproxy.Pass, 1500 * time.Millisecond},
		{faultproxy.Blackhole, 1200 * time.Millisecond},
		{faultproxy.Pass, 1500 * time.Millisecond},
		{faultproxy.Reset, 30 * time.Millisecond},
		{faultproxy.Pass, 300 * time.Millisecond},
		{faultproxy.Refuse, 400 * time.Millisecond},
		{faultproxy.Pass, 0},
	} {
		p.setMode(t, s.mode)
		time.Sleep(s.d)
	}
	waitReadyz(t, base)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	if len(acked) == 0 || len(sessions) == 0 {
		t.Fatalf("nothing acknowledged: %d registrations, %d logins", len(acked), len(sessions))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.direct)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	users := queryStrings(t, conn, `SELECT u.email FROM users u`)
	registered := queryStrings(t, conn, `SELECT u.email FROM audit_events e JOIN users u ON u.id = e.user_id WHERE e.event = 'user.registered'`)
	orphans := queryStrings(t, conn, `SELECT e.user_id::text FROM audit_events e LEFT JOIN users u ON u.id = e.user_id WHERE e.event = 'user.registered' AND u.id IS NULL`)
	sessionRows := queryStrings(t, conn, `SELECT id FROM sessions`)
	loginEvents := queryStrings(t, conn, `SELECT details->>'session_id' FROM audit_events WHERE event = 'user.login_succeeded'`)

	if d := diffSets(users, registered); d != "" {
		t.Errorf("accounts vs user.registered events: %s", d)
	}
	if len(orphans) > 0 {
		t.Errorf("user.registered events of accounts that never committed: %v", orphans)
	}
	if d := diffSets(sessionRows, loginEvents); d != "" {
		t.Errorf("sessions vs user.login_succeeded events: %s", d)
	}
	have := map[string]bool{}
	for _, e := range registered {
		have[e] = true
	}
	for _, e := range acked {
		if !have[e] {
			t.Errorf("registration of %s was answered 201 but has no audit event", e)
		}
	}
	haveSess := map[string]bool{}
	for _, s := range loginEvents {
		haveSess[s] = true
	}
	for _, s := range sessions {
		if !haveSess[s] {
			t.Errorf("login (session %s) was answered 200 but has no audit event", s)
		}
	}
	t.Logf("registrations: %d acknowledged, %d accounts, %d events; logins: %d answered 200, %d sessions, %d events; proxy %+v",
		len(acked), len(users), len(registered), len(sessions), len(sessionRows), len(loginEvents), p.proxy.Stats())
}

// sessionOf reads the sid claim of an access token.
func sessionOf(t *testing.T, jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Errorf("access token %q is not a JWT", jwt)
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Errorf("access token payload: %v", err)
		return ""
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Errorf("access token payload: %v", err)
	}
	return c.SID
}

func queryStrings(t *testing.T, conn *pgx.Conn, q string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// diffSets describes how two lists differ as multisets, or "".
func diffSets(a, b []string) string {
	count := map[string]int{}
	for _, x := range a {
		count[x]++
	}
	for _, x := range b {
		count[x]--
	}
	var only, extra []string
	for x, n := range count {
		switch {
		case n > 0:
			only = append(only, x)
		case n < 0:
			extra = append(extra, x)
		}
	}
	if len(only) == 0 && len(extra) == 0 {
		return ""
	}
	return fmt.Sprintf("%d only in the first (%.5v), %d only or twice in the second (%.5v)", len(only), only, len(extra), extra)
}
