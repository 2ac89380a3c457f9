package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jwxjwk "github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/authserve/authserve/internal/logtest"
	"github.com/authserve/authserve/internal/mysqltest"
	"github.com/authserve/authserve/internal/pgtest"
	"github.com/authserve/authserve/internal/sqlstore"
	"github.com/authserve/authserve/internal/totp"
)

// TestMFA runs the whole of CONTRACT section 9 through the HTTP API of the
// real server on each engine, with the bad input the issue lists, and
// checks that no secret, code, recovery code or mfa_token reaches the logs.
func TestMFA(t *testing.T) {
	engines := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"SQLite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "mfa.db") }},
		{"PostgreSQL", func(t *testing.T) string { return pgtest.DSN(t) }},
		{"MariaDB", func(t *testing.T) string { return mysqltest.DSN(t) }},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			env := testEnv(t, map[string]string{
				"AUTH_DATABASE_URL":         e.dsn(t),
				"AUTH_JWT_PRIVATE_KEY_FILE": filepath.Join("..", "..", "internal", "token", "testdata", "ed25519_pkcs8.pem"),
				"AUTH_MFA_ENCRYPTION_KEY":   totp.GenerateKey(),
				// Above MFAMaxFailures, so that a spent mfa_token and a
				// lock can be told apart.
				"AUTH_LOCKOUT_THRESHOLD": "8",
			})
			s := startServer(t, env)
			m := &mfaClient{t: t, base: s.URL, last: map[string]int64{}}
			mfaScenario(t, m, env)
			checkMFALogs(t, s.Logs, m.secrets)
		})
	}
}

// mfaClient calls the API and remembers every secret it saw, so that the
// logs can be searched for them afterwards.
type mfaClient struct {
	t       *testing.T
	base    string
	mu      sync.Mutex
	secrets []string
	last    map[string]int64 // last TOTP step used per secret
}

func (m *mfaClient) keep(s ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.secrets = append(m.secrets, s...)
}

// do sends a request with a User-Agent of choice ("" for Go's default).
func (m *mfaClient) do(method, path, bearer, ua string, body any) (int, map[string]any) {
	m.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			m.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, m.base+path, r)
	if err != nil {
		m.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			m.t.Fatalf("%s %s: %q is not JSON", method, path, raw)
		}
	}
	if len(raw) > 0 && raw[0] == '[' {
		var list []any
		_ = json.Unmarshal(raw, &list)
		out = map[string]any{"list": list}
	}
	return resp.StatusCode, out
}

// want checks a status and, for a problem, its code.
func (m *mfaClient) want(what string, gotStatus int, body map[string]any, status int, code string) {
	m.t.Helper()
	if gotStatus != status || (code != "" && body["code"] != code) {
		m.t.Errorf("%s = %d %v, want %d %s", what, gotStatus, body, status, code)
	}
}

// code returns a TOTP code for secret at a step later than any used so
// far, within the server's ±1 step; it waits for the next step if needed.
func (m *mfaClient) code(secret string) string {
	m.t.Helper()
	return m.nextCode(secret, true)
}

// peek is code for a request that will not spend it: the next call to
// code returns the same.
func (m *mfaClient) peek(secret string) string {
	m.t.Helper()
	return m.nextCode(secret, false)
}

func (m *mfaClient) nextCode(secret string, spend bool) string {
	for {
		now := time.Now()
		cur := totp.Step(now)
		step := max(m.last[secret]+1, cur-1)
		if step <= cur+1 {
			if spend {
				m.last[secret] = step
			}
			c, err := totp.Code(secret, now.Add(time.Duration(step-cur)*totp.Period))
			if err != nil {
				m.t.Fatal(err)
			}
			m.keep(c)
			return c
		}
		time.Sleep(time.Until(time.Unix((cur+1)*30, 0)) + 100*time.Millisecond)
	}
}

func (m *mfaClient) login(email string) (int, map[string]any) {
	m.t.Helper()
	st, body := m.do("POST", "/api/auth/login", "", "", map[string]any{"email": email, "password": testPassword})
	if tok, ok := body["mfa_token"].(string); ok {
		m.keep(tok)
	}
	return st, body
}

// mfaToken logs in with the right password and returns the mfa_token.
func (m *mfaClient) mfaToken(email string) string {
	m.t.Helper()
	st, body := m.login(email)
	if st != http.StatusForbidden || body["code"] != "mfa_required" || !slices.Equal(anyStrings(body["factor_types"]), []string{"totp"}) {
		m.t.Fatalf("login %s = %d %v, want 403 mfa_required with factor_types [totp]", email, st, body)
	}
	if _, has := body["access_token"]; has {
		m.t.Errorf("mfa_required carries an access token")
	}
	return body["mfa_token"].(string)
}

// enrol enrols and activates a factor for the access token's user and
// returns its id, secret and recovery codes.
func (m *mfaClient) enrol(access string) (id, secret string, codes []string) {
	m.t.Helper()
	st, e := m.do("POST", "/api/auth/mfa/totp", access, "", nil)
	if st != http.StatusCreated {
		m.t.Fatalf("enrol = %d %v, want 201", st, e)
	}
	id, secret = e["factor_id"].(string), e["secret"].(string)
	m.keep(secret)
	st, a := m.do("POST", "/api/auth/mfa/totp/"+id+"/activate", access, "", map[string]any{"code": m.code(secret)})
	if st != http.StatusOK {
		m.t.Fatalf("activate = %d %v, want 200", st, a)
	}
	codes = anyStrings(a["recovery_codes"])
	m.keep(codes...)
	return id, secret, codes
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// claims decodes an access token's payload (its signature is checked by
// checkJWKS).
func claims(t *testing.T, access string) map[string]any {
	t.Helper()
	parts := strings.Split(access, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func checkLevel(t *testing.T, what, access, aal string, amr ...string) {
	t.Helper()
	c := claims(t, access)
	if c["aal"] != aal || fmt.Sprint(c["amr"]) != fmt.Sprint(toAny(amr)) {
		t.Errorf("%s: aal %v amr %v, want %s %v", what, c["aal"], c["amr"], aal, amr)
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func mfaScenario(t *testing.T, m *mfaClient, env map[string]string) {
	register(t, m.base, "alice@example.com")
	register(t, m.base, "bob@example.com")
	register(t, m.base, "carol@example.com")
	register(t, m.base, "dave@example.com")
	_, a1 := m.login("alice@example.com")
	alice1 := a1["access_token"].(string)
	checkLevel(t, "password login", alice1, "aal1", "pwd")
	_, b1 := m.login("bob@example.com")
	bob1 := b1["access_token"].(string)

	// Enrolment and activation, with bad input.
	st, body := m.do("GET", "/api/auth/mfa/factors", alice1, "", nil)
	if st != 200 || len(body["list"].([]any)) != 0 {
		t.Errorf("factors before enrolment = %d %v, want 200 []", st, body)
	}
	st, body = m.do("POST", "/api/auth/mfa/totp", "", "", nil)
	m.want("enrol without a token", st, body, 401, "missing_token")
	st, e := m.do("POST", "/api/auth/mfa/totp", alice1, "", nil)
	if st != 201 || !strings.Contains(e["otpauth_uri"].(string), "secret="+e["secret"].(string)) ||
		!strings.HasPrefix(e["otpauth_uri"].(string), "otpauth://totp/authserve:alice@example.com?") {
		t.Fatalf("enrol = %d %v, want 201 with the secret in an otpauth://totp URI", st, e)
	}
	factorID, secret := e["factor_id"].(string), e["secret"].(string)
	m.keep(secret)
	activate := "/api/auth/mfa/totp/" + factorID + "/activate"
	for _, bad := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"wrong code", map[string]any{"code": "000000"}, 401, "invalid_mfa_code"},
		{"non-numeric code", map[string]any{"code": "12a4b6"}, 401, "invalid_mfa_code"},
		{"over-long code", map[string]any{"code": strings.Repeat("7", 200)}, 401, "invalid_mfa_code"},
		{"seven digits", map[string]any{"code": "1234567"}, 401, "invalid_mfa_code"},
		{"empty code", map[string]any{"code": ""}, 422, "validation_failed"},
		{"no code", map[string]any{}, 422, "validation_failed"},
		{"numeric JSON code", map[string]any{"code": 123456}, 422, "validation_failed"},
		{"unknown field", map[string]any{"code": "123456", "factor": "x"}, 422, "validation_failed"},
	} {
		st, body := m.do("POST", activate, alice1, "", bad.body)
		m.want("activate with "+bad.name, st, body, bad.status, bad.code)
	}
	st, body = m.do("POST", activate, bob1, "", map[string]any{"code": m.peek(secret)})
	m.want("activate another user's factor", st, body, 404, "not_found")
	st, body = m.do("POST", "/api/auth/mfa/totp/no-such-factor/activate", alice1, "", map[string]any{"code": "123456"})
	m.want("activate an unknown factor", st, body, 404, "not_found")
	st, body = m.do("POST", activate, alice1, "", map[string]any{"code": m.code(secret)})
	if st != 200 {
		t.Fatalf("activate = %d %v, want 200", st, body)
	}
	codes := anyStrings(body["recovery_codes"])
	m.keep(codes...)
	if len(codes) != 10 || len(slices.Compact(slices.Sorted(slices.Values(codes)))) != 10 {
		t.Errorf("recovery codes = %v, want 10 distinct", codes)
	}
	st, body = m.do("POST", activate, alice1, "", map[string]any{"code": m.peek(secret)})
	// Once an account has a factor, its factors need aal2.
	m.want("activate twice with an aal1 token", st, body, 403, "mfa_required")
	st, body = m.do("GET", "/api/auth/mfa/factors", alice1, "", nil)
	if list := body["list"].([]any); st != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != factorID ||
		list[0].(map[string]any)["type"] != "totp" {
		t.Errorf("factors = %d %v, want alice's one totp factor", st, body)
	}

	// aal2 operations refuse the aal1 token.
	st, body = m.do("DELETE", "/api/auth/mfa/factors/"+factorID, alice1, "", nil)
	m.want("remove a factor with an aal1 token", st, body, 403, "mfa_required")
	if _, has := body["mfa_token"]; has {
		t.Errorf("an aal2 refusal carries an mfa_token")
	}
	st, body = m.do("POST", "/api/auth/mfa/recovery-codes", alice1, "", nil)
	m.want("regenerate recovery codes with an aal1 token", st, body, 403, "mfa_required")
	st, body = m.do("POST", "/api/auth/mfa/totp", alice1, "", nil)
	m.want("enrol a second factor with an aal1 token", st, body, 403, "mfa_required")

	// The two-step login, with bad input.
	tok := m.mfaToken("alice@example.com")
	verify := func(token, code, ua string) (int, map[string]any) {
		return m.do("POST", "/api/auth/mfa/verify", "", ua, map[string]any{"mfa_token": token, "code": code})
	}
	st, body = verify("forged-"+tok[7:], m.peek(secret), "")
	m.want("verify with a forged mfa_token", st, body, 401, "invalid_mfa_code")
	for _, bad := range []struct{ name, code string }{
		{"a wrong code", "000000"}, {"a non-numeric code", "abcdef"}, {"an over-long code", strings.Repeat("1", 100)},
	} {
		st, body = verify(tok, bad.code, "")
		m.want("verify with "+bad.name, st, body, 401, "invalid_mfa_code")
	}
	for _, bad := range []struct {
		name string
		body any
	}{
		{"no mfa_token", map[string]any{"code": "123456"}}, {"an empty code", map[string]any{"mfa_token": tok, "code": ""}},
		{"a numeric JSON code", map[string]any{"mfa_token": tok, "code": 123456}},
	} {
		st, body = m.do("POST", "/api/auth/mfa/verify", "", "", bad.body)
		m.want("verify with "+bad.name, st, body, 422, "validation_failed")
	}
	st, body = verify(tok, m.peek(secret), "another-browser/1.0")
	m.want("verify from another client", st, body, 401, "invalid_mfa_code")
	usedCode := m.code(secret)
	st, body = verify(tok, usedCode, "")
	if st != 200 {
		t.Fatalf("verify after three wrong codes = %d %v, want 200 (wrong codes do not spend the token)", st, body)
	}
	alice2, aliceRefresh := body["access_token"].(string), body["refresh_token"].(string)
	checkLevel(t, "after TOTP", alice2, "aal2", "pwd", "otp")
	checkJWKS(t, m.base, alice2, "aal2", "pwd", "otp")
	st, body = verify(tok, m.peek(secret), "")
	m.want("verify with a spent mfa_token", st, body, 401, "invalid_mfa_code")

	// No replay: the step just used is refused on a new login; racing
	// logins with one code: exactly one wins.
	tok2 := m.mfaToken("alice@example.com")
	st, body = verify(tok2, usedCode, "")
	m.want("verify with a code already used", st, body, 401, "invalid_mfa_code")
	racers := []string{tok2, m.mfaToken("alice@example.com"), m.mfaToken("alice@example.com")}
	code := m.code(secret)
	var wg sync.WaitGroup
	results := make([]int, len(racers))
	for i, rt := range racers {
		wg.Go(func() { results[i], _ = verify(rt, code, "") })
	}
	wg.Wait()
	if n := strings.Count(fmt.Sprint(results), "200"); n != 1 || strings.Count(fmt.Sprint(results), "401") != len(racers)-1 {
		t.Errorf("racing verifications with one code = %v, want exactly one 200, the others 401", results)
	}

	// Refresh keeps aal2; aal2 operations work.
	st, body = m.do("POST", "/api/auth/refresh", "", "", map[string]any{"refresh_token": aliceRefresh})
	if st != 200 {
		t.Fatalf("refresh = %d %v", st, body)
	}
	alice3 := body["access_token"].(string)
	checkLevel(t, "after refresh", alice3, "aal2", "pwd", "otp")
	st, body = m.do("POST", activate, alice3, "", map[string]any{"code": m.peek(secret)})
	m.want("activate twice with an aal2 token", st, body, 422, "validation_failed")
	st, body = m.do("POST", "/api/auth/mfa/recovery-codes", alice3, "", nil)
	if st != 200 || len(anyStrings(body["recovery_codes"])) != 10 {
		t.Fatalf("regenerate recovery codes = %d %v, want 200 with 10", st, body)
	}
	newCodes := anyStrings(body["recovery_codes"])
	m.keep(newCodes...)

	// Recovery codes: single use, any case, hyphens optional; replaced
	// ones are dead.
	st, body = verify(m.mfaToken("alice@example.com"), codes[0], "")
	m.want("verify with a replaced recovery code", st, body, 401, "invalid_mfa_code")
	rc := strings.ToUpper(strings.ReplaceAll(newCodes[0], "-", ""))
	st, body = verify(m.mfaToken("alice@example.com"), rc, "")
	if st != 200 {
		t.Fatalf("verify with a recovery code = %d %v, want 200", st, body)
	}
	checkLevel(t, "after a recovery code", body["access_token"].(string), "aal2", "pwd", "mfa")
	checkJWKS(t, m.base, body["access_token"].(string), "aal2", "pwd", "mfa")
	st, body = verify(m.mfaToken("alice@example.com"), newCodes[0], "")
	m.want("verify with a used recovery code", st, body, 401, "invalid_mfa_code")

	// Another user's mfa_token with this user's code; removal of another
	// user's factor.
	bobFactor, bobSecret, _ := m.enrol(bob1)
	bobTok := m.mfaToken("bob@example.com")
	st, body = verify(bobTok, m.peek(secret), "")
	m.want("verify bob's mfa_token with alice's code", st, body, 401, "invalid_mfa_code")
	st, body = m.do("DELETE", "/api/auth/mfa/factors/"+bobFactor, alice3, "", nil)
	m.want("remove another user's factor", st, body, 404, "not_found")
	st, body = verify(bobTok, m.code(bobSecret), "")
	if st != 200 {
		t.Errorf("bob's verify = %d %v, want 200", st, body)
	}

	// The fifth wrong code spends the token; wrong codes count toward the
	// email's lockout (threshold 8 here), and the password step alone
	// does not reset that count.
	_, carolSecret, _ := m.enrol(m.accessOf("carol@example.com"))
	ctok := m.mfaToken("carol@example.com")
	for i := range 5 {
		st, body = verify(ctok, fmt.Sprintf("%06d", i), "")
		m.want(fmt.Sprintf("wrong code %d", i+1), st, body, 401, "invalid_mfa_code")
	}
	st, body = verify(ctok, m.peek(carolSecret), "")
	m.want("the right code after five wrong ones", st, body, 401, "invalid_mfa_code")
	for range 2 {
		st, body = m.do("POST", "/api/auth/login", "", "", map[string]any{"email": "carol@example.com", "password": "Wrong-Horse-42"})
		m.want("wrong password", st, body, 401, "invalid_credentials")
	}
	m.mfaToken("carol@example.com") // right password: count stays at 7
	st, body = m.do("POST", "/api/auth/login", "", "", map[string]any{"email": "carol@example.com", "password": "Wrong-Horse-42"})
	m.want("eighth failure", st, body, 401, "invalid_credentials")
	st, body = m.login("carol@example.com")
	m.want("the right password after eight failures (five of them codes)", st, body, 429, "account_locked")

	// Removal with aal2: the last factor takes the recovery codes, and
	// logins take one step again.
	st, _ = m.do("DELETE", "/api/auth/mfa/factors/"+factorID, alice3, "", nil)
	if st != 204 {
		t.Errorf("remove a factor with aal2 = %d, want 204", st)
	}
	st, body = m.do("POST", "/api/auth/mfa/recovery-codes", alice3, "", nil)
	m.want("regenerate recovery codes without a factor", st, body, 404, "not_found")
	st, body = m.login("alice@example.com")
	if st != 200 {
		t.Errorf("login after removing the last factor = %d %v, want 200", st, body)
	}

	// The admin CLI's mfa-reset.
	m.enrol(m.accessOf("dave@example.com"))
	m.mfaToken("dave@example.com")
	out, _, err := runCmd(t, env, "", "user", "mfa-reset", "Dave@Example.com")
	if err != nil || !strings.Contains(out, "removed 1 factor(s)") {
		t.Errorf("user mfa-reset = %q, %v", out, err)
	}
	if st, body := m.login("dave@example.com"); st != 200 {
		t.Errorf("login after mfa-reset = %d %v, want 200", st, body)
	}
	if _, _, err := runCmd(t, env, "", "user", "mfa-reset", "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("user mfa-reset nobody = %v, want no such user", err)
	}

	// The events are counted in /metrics.
	text := scrapeMetrics(t, m.base)
	for _, ev := range []string{"mfa.enrolled", "mfa.verified", "mfa.failed", "mfa.removed", "mfa.recovery_code_used"} {
		if n := sampleSum(text, "authserve_auth_events_total", "event", ev); n < 1 {
			t.Errorf("authserve_auth_events_total{event=%q} = %v, want at least 1", ev, n)
		}
	}
}

// accessOf logs in with a password alone and returns the access token.
func (m *mfaClient) accessOf(email string) string {
	m.t.Helper()
	st, body := m.login(email)
	if st != 200 {
		m.t.Fatalf("login %s = %d %v", email, st, body)
	}
	return body["access_token"].(string)
}

// checkJWKS verifies an access token as a third party would, with jwx and
// the published JWKS alone, and checks its aal and amr.
func checkJWKS(t *testing.T, base, access, aal string, amr ...string) {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	set, err := jwxjwk.Parse(raw)
	if err != nil {
		t.Fatalf("jwk.Parse = %v", err)
	}
	tok, err := jwxjwt.Parse([]byte(access), jwxjwt.WithKeySet(set), jwxjwt.WithIssuer("authserve"),
		jwxjwt.WithRequiredClaim("aal"), jwxjwt.WithRequiredClaim("amr"))
	if err != nil {
		t.Fatalf("jwx jwt.Parse = %v", err)
	}
	var gotAAL string
	var gotAMR []any
	if err := tok.Get("aal", &gotAAL); err != nil || gotAAL != aal {
		t.Errorf("jwx aal = %q, %v, want %q", gotAAL, err, aal)
	}
	if err := tok.Get("amr", &gotAMR); err != nil || fmt.Sprint(gotAMR) != fmt.Sprint(toAny(amr)) {
		t.Errorf("jwx amr = %v, %v, want %v", gotAMR, err, amr)
	}
}

// checkMFALogs requires the MFA events and no secret in any log line.
func checkMFALogs(t *testing.T, logs *logtest.Buffer, secrets []string) {
	t.Helper()
	text := logs.WaitFor(t, "mfa events", func(l string) bool { return strings.Contains(l, `"mfa.recovery_code_used"`) })
	for _, ev := range []string{"mfa.enrolled", "mfa.verified", "mfa.failed", "mfa.removed", "mfa.recovery_code_used"} {
		if !strings.Contains(text, `"event":"`+ev+`"`) {
			t.Errorf("no %s event in the logs", ev)
		}
	}
	checkMFALogsClean(t, logs, secrets)
}

// checkMFALogsClean requires that none of secrets, in any spelling a
// client may send, is in the logs.
func checkMFALogsClean(t *testing.T, logs *logtest.Buffer, secrets []string) {
	t.Helper()
	text := logs.String()
	for _, s := range secrets {
		variants := []string{s, strings.ReplaceAll(s, "-", ""), strings.ToUpper(strings.ReplaceAll(s, "-", ""))}
		for _, v := range variants {
			// Six-digit codes are short enough to occur by chance in a
			// duration or an id; they are checked as JSON strings.
			needle := v
			if totp.WellFormed(v) {
				needle = `"` + v + `"`
			}
			if strings.Contains(text, needle) {
				t.Errorf("a secret, code, recovery code or mfa_token (%.4s…) reached the logs", v)
			}
		}
	}
}

// TestMFAKeyRotation follows a factor through the key rotation of docs/mfa.md:
// stored unencrypted without a key, sealed under the first key when next
// used, moved to the second key while the first is a previous key, and
// unusable (500, nothing leaked) where only a key it is not sealed under is
// configured.
func TestMFAKeyRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rotation.db")
	key1, key2 := totp.GenerateKey(), totp.GenerateKey()
	k1, _ := totp.ParseKey(key1)
	k2, _ := totp.ParseKey(key2)
	m := &mfaClient{t: t, last: map[string]int64{}}
	var logs []*logtest.Buffer
	serve := func(extra map[string]string) *server {
		env := testEnv(t, map[string]string{"AUTH_DATABASE_URL": "sqlite:" + path, "AUTH_JWT_SECRET": "rotation-test-secret-0123456789abcdef"})
		for k, v := range extra {
			env[k] = v
		}
		s := startServer(t, env)
		m.base = s.URL
		logs = append(logs, s.Logs)
		return s
	}
	var userID int64
	var factorID string
	storedKey := func() (string, string) {
		t.Helper()
		st, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: path})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		f, err := st.Factor(context.Background(), userID, factorID)
		if err != nil {
			t.Fatalf("Factor = %v", err)
		}
		return f.KeyID, f.Secret
	}

	s := serve(nil)
	if !strings.Contains(s.Logs.String(), "TOTP secrets are stored unencrypted") {
		t.Errorf("start-up without AUTH_MFA_ENCRYPTION_KEY does not say secrets are stored unencrypted")
	}
	userID = int64(register(t, m.base, "rot@example.com")["id"].(float64))
	var secret string
	factorID, secret, _ = m.enrol(m.accessOf("rot@example.com"))
	s.Stop(t)
	if id, sealed := storedKey(); id != totp.PlainKeyID || sealed != secret {
		t.Errorf("without a key: stored under %q, want %q as is", id, totp.PlainKeyID)
	}

	verify := func(want int) {
		t.Helper()
		tok := m.mfaToken("rot@example.com")
		code := m.peek(secret)
		st, body := m.do("POST", "/api/auth/mfa/verify", "", "", map[string]any{"mfa_token": tok, "code": code})
		if st != want {
			t.Fatalf("verify = %d %v, want %d", st, body, want)
		}
		if st == http.StatusOK {
			m.code(secret)
		}
	}
	steps := []struct {
		name    string
		env     map[string]string
		want    int
		wantKey string
	}{
		{"first key set", map[string]string{"AUTH_MFA_ENCRYPTION_KEY": key1}, 200, totp.KeyID(k1)},
		{"rotated: second key, first as previous", map[string]string{"AUTH_MFA_ENCRYPTION_KEY": key2, "AUTH_MFA_PREVIOUS_KEYS": key1}, 200, totp.KeyID(k2)},
		{"only the first key again", map[string]string{"AUTH_MFA_ENCRYPTION_KEY": key1}, 500, totp.KeyID(k2)},
		{"only the second key", map[string]string{"AUTH_MFA_ENCRYPTION_KEY": key2}, 200, totp.KeyID(k2)},
	}
	for _, step := range steps {
		s := serve(step.env)
		verify(step.want)
		s.Stop(t)
		id, sealed := storedKey()
		if id != step.wantKey || strings.Contains(sealed, secret) {
			t.Errorf("%s: stored under key %q, want %q, sealed (not the plain secret)", step.name, id, step.wantKey)
		}
	}
	for _, l := range logs {
		checkMFALogsClean(t, l, m.secrets)
	}
}
