package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/authserve/authserve/internal/pgtest"
)

// TestRevocationImmediateOnEveryReplica runs two replicas on one database
// (a SQLite file, and PostgreSQL when AUTH_TEST_POSTGRES_URL is set). Each
// has already verified (and cached) the access token of a session when the
// session ends on one of them, by logout or by revoking it from another
// session: the very next GET /api/auth/me with that token is refused on
// both. The verified-token cache remembers signatures, never sessions; the
// session is read from the database on every request. On PostgreSQL
// concurrent lookups share a statement (sqlstore's lookups.go), so the
// replicas are kept busy with other sessions' /me meanwhile: a lookup that
// joins a batch is still answered by a statement that starts after it.
func TestRevocationImmediateOnEveryReplica(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			extra := map[string]string{}
			if engine == "postgres" {
				pgtest.SkipIfUnset(t)
				extra["AUTH_DATABASE_URL"] = pgtest.DSN(t)
			}
			testRevocationImmediate(t, testEnv(t, extra))
		})
	}
}

func testRevocationImmediate(t *testing.T, env map[string]string) {
	replicas := []*server{startServer(t, env), startServer(t, env)}
	stopLoad := backgroundMe(t, replicas)
	defer stopLoad()
	email := "revoke@example.com"
	register(t, replicas[0].URL, email)
	session := func() map[string]any {
		code, body := login(t, replicas[1].URL, email)
		if code != http.StatusOK {
			t.Fatalf("login = %d %v", code, body)
		}
		return body
	}
	warm := func(what string, access string) {
		t.Helper()
		for i, s := range replicas {
			for range 3 { // verified once, then served from the cache
				if code, body, _ := call(t, "GET", s.URL+"/api/auth/me", access, nil); code != http.StatusOK {
					t.Fatalf("%s: me on replica %d before revocation = %d %v", what, i, code, body)
				}
			}
		}
	}
	refused := func(what string, access string) {
		t.Helper()
		for i, s := range replicas {
			if code, body, _ := call(t, "GET", s.URL+"/api/auth/me", access, nil); code != http.StatusUnauthorized || body["code"] != "invalid_token" {
				t.Errorf("%s: the next me on replica %d = %d %v, want 401 invalid_token", what, i, code, body)
			}
		}
	}

	for i := range replicas {
		s := session()
		access := s["access_token"].(string)
		warm("logout", access)
		if code, body, _ := call(t, "POST", replicas[i].URL+"/api/auth/logout", "", map[string]any{"refresh_token": s["refresh_token"]}); code != http.StatusNoContent {
			t.Fatalf("logout on replica %d = %d %v", i, code, body)
		}
		refused(fmt.Sprintf("logout on replica %d", i), access)
	}

	victim, other := session(), session()
	access := victim["access_token"].(string)
	warm("revoke", access)
	code, list, _ := callList(t, replicas[0].URL+"/api/auth/sessions", other["access_token"].(string))
	if code != http.StatusOK {
		t.Fatalf("list sessions = %d", code)
	}
	var victimID string
	for _, s := range list {
		if s["current"] != true && victimID == "" {
			victimID = s["id"].(string)
		}
	}
	// The victim is the session listed that is not the caller's; several
	// older sessions are already revoked and not listed.
	if code, body, _ := call(t, "DELETE", replicas[0].URL+"/api/auth/sessions/"+victimID, other["access_token"].(string), nil); code != http.StatusNoContent {
		t.Fatalf("revoke session = %d %v", code, body)
	}
	refused("session revoked on replica 0", access)
}

// backgroundMe keeps 8 clients per replica calling GET /api/auth/me with
// a session of their own until the returned function is called, which
// also fails the test if any of those calls was not a 200.
func backgroundMe(t *testing.T, replicas []*server) (stop func()) {
	t.Helper()
	register(t, replicas[0].URL, "busy@example.com")
	code, body := login(t, replicas[0].URL, "busy@example.com")
	if code != http.StatusOK {
		t.Fatalf("login = %d %v", code, body)
	}
	access := body["access_token"].(string)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	for _, s := range replicas {
		for range 8 {
			wg.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/auth/me", nil)
					req.Header.Set("Authorization", "Bearer "+access)
					resp, err := http.DefaultClient.Do(req)
					if err != nil || resp.StatusCode != http.StatusOK {
						failures.Add(1)
					}
					if err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						_ = resp.Body.Close()
					}
				}
			})
		}
	}
	return func() {
		close(done)
		wg.Wait()
		if n := failures.Load(); n > 0 {
			t.Errorf("%d background GET /api/auth/me were not 200", n)
		}
	}
}

// callList GETs a JSON array with a Bearer token.
func callList(t *testing.T, url, bearer string) (int, []map[string]any, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, list, nil
}
