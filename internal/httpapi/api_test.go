package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/authserve/authserve/internal/auth"
)

// scenario is one request against a shared environment and what must come
// back. Problem responses are checked field by field by checkProblem.
type scenario struct {
	name    string
	method  string
	path    string
	body    any      // nil, a raw string, or a value sent as JSON
	headers []string // name, value pairs; an empty value removes the header
	// bearer names a token of the fixture (see apiFixture.bearer).
	bearer     string
	wantStatus int
	wantCode   string            // the problem code; "" for a success
	wantHeader map[string]string // exact header values
	check      func(t *testing.T, r response)
}

// apiFixture is the shared state of the scenario table.
type apiFixture struct {
	e        *env
	alice    map[string]any // alice's login response
	bobSID   string         // a session of bob's, not alice's
	expired  string         // an expired access token of alice's
	revoked  string         // an access token whose session was logged out
	ghost    string         // an access token of a deleted user
	disabled string         // email of a disabled account
}

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	e := newEnv(t)
	f := &apiFixture{e: e}
	ctx := context.Background()

	e.register("alice@example.com")
	f.alice = e.login("alice@example.com")
	aliceID := int64(f.alice["user"].(map[string]any)["id"].(float64))
	aliceTokens, err := e.svc.Login(ctx, "alice@example.com", testPassword, auth.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	f.expired, _, err = e.tokens.Issue(aliceID, aliceTokens.SessionID, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}

	e.register("bob@example.com")
	bob := e.login("bob@example.com")
	sessions := e.do("GET", "/api/auth/sessions", nil, "Authorization", "Bearer "+bob["access_token"].(string))
	var list []map[string]any
	if err := json.Unmarshal(sessions.body, &list); err != nil || len(list) != 1 {
		t.Fatalf("bob's sessions: %s (%v)", sessions.body, err)
	}
	f.bobSID = list[0]["id"].(string)

	e.register("carol@example.com")
	carol := e.login("carol@example.com")
	f.revoked = carol["access_token"].(string)
	if r := e.do("POST", "/api/auth/logout", map[string]any{"refresh_token": carol["refresh_token"]}); r.status != http.StatusNoContent {
		t.Fatalf("logout carol: %d %s", r.status, r.body)
	}

	e.register("ghost@example.com")
	f.ghost = e.login("ghost@example.com")["access_token"].(string)
	if _, err := e.svc.DeleteUser(ctx, "ghost@example.com"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}

	f.disabled = "dave@example.com"
	e.register(f.disabled)
	if _, err := e.svc.SetActive(ctx, f.disabled, false); err != nil {
		t.Fatalf("SetActive: %v", err)
	}
	return f
}

// bearer returns the Authorization header value of a named token.
func (f *apiFixture) bearer(name string) string {
	switch name {
	case "alice":
		return "Bearer " + f.alice["access_token"].(string)
	case "alice-lower-scheme":
		return "bearer " + f.alice["access_token"].(string)
	case "expired":
		return "Bearer " + f.expired
	case "revoked":
		return "Bearer " + f.revoked
	case "ghost":
		return "Bearer " + f.ghost
	case "refresh-as-access":
		return "Bearer " + f.alice["refresh_token"].(string)
	case "tampered":
		tok := f.alice["access_token"].(string)
		return "Bearer " + tok[:len(tok)-3] + "abc"
	case "basic":
		return "Basic YWxpY2U6c2VjcmV0"
	case "empty-bearer":
		return "Bearer "
	}
	return name
}

func TestAPIScenarios(t *testing.T) {
	f := newAPIFixture(t)
	validRegistration := func(email string) map[string]any {
		return map[string]any{"email": email, "password": testPassword, "first_name": "Erin", "last_name": "Example"}
	}
	scenarios := []scenario{
		// Register.
		{name: "register", method: "POST", path: "/api/auth/register", body: validRegistration("Erin@Example.com "),
			wantStatus: 201, check: func(t *testing.T, r response) {
				u := r.json(t)
				checkUser(t, u, "erin@example.com")
				if u["first_name"] != "Erin" || u["last_name"] != "Example" {
					t.Errorf("names = %v %v, want Erin Example", u["first_name"], u["last_name"])
				}
			}},
		{name: "register without names gives null names", method: "POST", path: "/api/auth/register",
			body: map[string]any{"email": "frank@example.com", "password": testPassword}, wantStatus: 201,
			check: func(t *testing.T, r response) {
				u := r.json(t)
				checkUser(t, u, "frank@example.com")
				for _, k := range []string{"first_name", "last_name"} {
					if v, ok := u[k]; !ok || v != nil {
						t.Errorf("%s = %v (present %v), want null", k, v, ok)
					}
				}
			}},
		{name: "register with null names", method: "POST", path: "/api/auth/register",
			body: `{"email":"grace@example.com","password":"Correct-Horse-42","first_name":null,"last_name":null}`, wantStatus: 201},
		{name: "register with charset parameter", method: "POST", path: "/api/auth/register",
			body: validRegistration("heidi@example.com"), headers: []string{"Content-Type", "Application/JSON; Charset=UTF-8"}, wantStatus: 201},
		{name: "register duplicate email in other case", method: "POST", path: "/api/auth/register",
			body: validRegistration("ALICE@example.com"), wantStatus: 409, wantCode: codeUserAlreadyExists},
		{name: "register lists every broken rule", method: "POST", path: "/api/auth/register",
			body:       map[string]any{"email": "not an email", "password": "short", "first_name": strings.Repeat("x", 101), "last_name": strings.Repeat("y", 101)},
			wantStatus: 422, wantCode: codeValidationFailed, check: func(t *testing.T, r response) {
				got := fieldsOf(t, r)
				for _, want := range []string{"email", "password", "first_name", "last_name"} {
					if got[want] == 0 {
						t.Errorf("errors %s lack field %q", r.body, want)
					}
				}
				if got["password"] < 2 {
					t.Errorf("errors %s: %d password errors, want at least 2 (length and classes)", r.body, got["password"])
				}
			}},
		{name: "register with common password", method: "POST", path: "/api/auth/register",
			body: map[string]any{"email": "ivan@example.com", "password": "password"}, wantStatus: 422, wantCode: codeValidationFailed},
		{name: "register with password over 72 bytes", method: "POST", path: "/api/auth/register",
			body: map[string]any{"email": "ivan@example.com", "password": strings.Repeat("Aa1!", 19)}, wantStatus: 422, wantCode: codeValidationFailed},
		{name: "malformed JSON", method: "POST", path: "/api/auth/register", body: `{"email":`, wantStatus: 400, wantCode: codeMalformedRequest},
		{name: "trailing data after the object", method: "POST", path: "/api/auth/register",
			body: `{"email":"judy@example.com","password":"Correct-Horse-42"} {}`, wantStatus: 400, wantCode: codeMalformedRequest},
		{name: "trailing garbage after the object", method: "POST", path: "/api/auth/login",
			body: `{"email":"alice@example.com","password":"Correct-Horse-42"}garbage`, wantStatus: 400, wantCode: codeMalformedRequest},
		{name: "empty body", method: "POST", path: "/api/auth/register", body: ``, wantStatus: 400, wantCode: codeMalformedRequest},
		// Decoded leniently, these bytes would become U+FFFD: every such
		// password would be the same one.
		{name: "invalid UTF-8", method: "POST", path: "/api/auth/register",
			body: "{\"email\":\"utf@example.com\",\"password\":\"Aa1!aaaa\xff\xfe\"}", wantStatus: 400, wantCode: codeMalformedRequest},
		{name: "a member given twice", method: "POST", path: "/api/auth/register",
			body: `{"email":"dup1@example.com","email":"dup2@example.com","password":"Correct-Horse-42"}`, wantStatus: 400, wantCode: codeMalformedRequest},
		{name: "empty body without content type", method: "POST", path: "/api/auth/login", body: ``,
			headers: []string{"Content-Type", ""}, wantStatus: 400, wantCode: codeMalformedRequest},
		{name: "unknown field", method: "POST", path: "/api/auth/register",
			body: `{"email":"judy@example.com","password":"Correct-Horse-42","is_admin":true}`, wantStatus: 422, wantCode: codeValidationFailed,
			check: wantFields(map[string]string{"is_admin": "is not a known field"})},
		{name: "field name in another case is unknown", method: "POST", path: "/api/auth/login",
			body: `{"Email":"alice@example.com","password":"Correct-Horse-42"}`, wantStatus: 422, wantCode: codeValidationFailed,
			check: wantFields(map[string]string{"Email": "is not a known field", "email": "is required"})},
		{name: "wrong JSON types", method: "POST", path: "/api/auth/register",
			body: `{"email":42,"password":["x"],"first_name":true}`, wantStatus: 422, wantCode: codeValidationFailed,
			check: wantFields(map[string]string{"email": "expected string", "password": "expected string", "first_name": "expected string"})},
		{name: "missing required fields", method: "POST", path: "/api/auth/register", body: `{}`, wantStatus: 422, wantCode: codeValidationFailed,
			check: wantFields(map[string]string{"email": "is required", "password": "is required"})},
		{name: "body that is not an object", method: "POST", path: "/api/auth/login", body: `["alice@example.com"]`, wantStatus: 422, wantCode: codeValidationFailed,
			check: wantFields(map[string]string{"body": "expected object"})},
		{name: "text/plain body", method: "POST", path: "/api/auth/register", body: `{}`,
			headers: []string{"Content-Type", "text/plain"}, wantStatus: 415, wantCode: codeUnsupportedMediaType},
		{name: "form body", method: "POST", path: "/api/auth/login", body: `email=a&password=b`,
			headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, wantStatus: 415, wantCode: codeUnsupportedMediaType},
		{name: "JSON look-alike media type", method: "POST", path: "/api/auth/login", body: `{}`,
			headers: []string{"Content-Type", "application/jsonp"}, wantStatus: 415, wantCode: codeUnsupportedMediaType},
		{name: "JSON in another charset", method: "POST", path: "/api/auth/login", body: `{}`,
			headers: []string{"Content-Type", "application/json; charset=latin1"}, wantStatus: 415, wantCode: codeUnsupportedMediaType},
		{name: "unparsable content type", method: "POST", path: "/api/auth/login", body: `{}`,
			headers: []string{"Content-Type", "application/json; ="}, wantStatus: 415, wantCode: codeUnsupportedMediaType},
		{name: "body without content type", method: "POST", path: "/api/auth/login",
			body: `{"email":"alice@example.com","password":"Correct-Horse-42"}`, headers: []string{"Content-Type", ""},
			wantStatus: 415, wantCode: codeUnsupportedMediaType},
		{name: "body over 64 KiB", method: "POST", path: "/api/auth/register",
			body: `{"email":"` + strings.Repeat("a", 64<<10) + `"}`, wantStatus: 413, wantCode: codePayloadTooLarge},

		// Login.
		{name: "login", method: "POST", path: "/api/auth/login", body: map[string]any{"email": "Alice@Example.com", "password": testPassword},
			wantStatus: 200, wantHeader: map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"},
			check: func(t *testing.T, r response) {
				checkTokenResponse(t, r.json(t), "alice@example.com")
			}},
		{name: "login with wrong password", method: "POST", path: "/api/auth/login", body: map[string]any{"email": "alice@example.com", "password": "Wrong-Horse-42"},
			wantStatus: 401, wantCode: codeInvalidCredentials, wantHeader: map[string]string{"WWW-Authenticate": "Bearer"}},
		{name: "login with unknown email", method: "POST", path: "/api/auth/login", body: map[string]any{"email": "nobody@example.com", "password": testPassword},
			wantStatus: 401, wantCode: codeInvalidCredentials},
		{name: "login with malformed email", method: "POST", path: "/api/auth/login", body: map[string]any{"email": "nobody", "password": testPassword},
			wantStatus: 401, wantCode: codeInvalidCredentials},
		{name: "login with empty fields", method: "POST", path: "/api/auth/login", body: map[string]any{"email": " ", "password": ""},
			wantStatus: 422, wantCode: codeValidationFailed, check: wantFields(map[string]string{"email": "is required", "password": "is required"})},
		{name: "login to a disabled account", method: "POST", path: "/api/auth/login", body: map[string]any{"email": f.disabled, "password": testPassword},
			wantStatus: 403, wantCode: codeAccountDisabled},

		// Refresh and logout with bad tokens.
		{name: "refresh with unknown token", method: "POST", path: "/api/auth/refresh", body: map[string]any{"refresh_token": "not-a-token"},
			wantStatus: 401, wantCode: codeInvalidToken, wantHeader: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}},
		{name: "refresh with empty token", method: "POST", path: "/api/auth/refresh", body: map[string]any{"refresh_token": ""},
			wantStatus: 422, wantCode: codeValidationFailed, check: wantFields(map[string]string{"refresh_token": "is required"})},
		{name: "refresh without token", method: "POST", path: "/api/auth/refresh", body: map[string]any{},
			wantStatus: 422, wantCode: codeValidationFailed, check: wantFields(map[string]string{"refresh_token": "is required"})},
		{name: "refresh with wrong type", method: "POST", path: "/api/auth/refresh", body: `{"refresh_token":123}`,
			wantStatus: 422, wantCode: codeValidationFailed, check: wantFields(map[string]string{"refresh_token": "expected string"})},
		{name: "logout with unknown token", method: "POST", path: "/api/auth/logout", body: map[string]any{"refresh_token": "not-a-token"}, wantStatus: 204,
			check: func(t *testing.T, r response) {
				if len(r.body) != 0 {
					t.Errorf("204 body = %q, want empty", r.body)
				}
			}},
		{name: "logout with unknown field", method: "POST", path: "/api/auth/logout", body: `{"refresh_token":"x","all":true}`,
			wantStatus: 422, wantCode: codeValidationFailed},

		// Bearer-protected operations.
		{name: "me", method: "GET", path: "/api/auth/me", bearer: "alice", wantStatus: 200,
			wantHeader: map[string]string{"Cache-Control": "no-store"},
			check:      func(t *testing.T, r response) { checkUser(t, r.json(t), "alice@example.com") }},
		{name: "me with lower-case scheme", method: "GET", path: "/api/auth/me", bearer: "alice-lower-scheme", wantStatus: 200},
		{name: "me without token", method: "GET", path: "/api/auth/me", wantStatus: 401, wantCode: codeMissingToken,
			wantHeader: map[string]string{"WWW-Authenticate": "Bearer"}},
		{name: "me with Basic credentials", method: "GET", path: "/api/auth/me", bearer: "basic", wantStatus: 401, wantCode: codeMissingToken,
			wantHeader: map[string]string{"WWW-Authenticate": "Bearer"}},
		{name: "me with empty Bearer", method: "GET", path: "/api/auth/me", bearer: "empty-bearer", wantStatus: 401, wantCode: codeMissingToken},
		{name: "me with garbage token", method: "GET", path: "/api/auth/me", bearer: "Bearer garbage", wantStatus: 401, wantCode: codeInvalidToken,
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}},
		{name: "me with tampered token", method: "GET", path: "/api/auth/me", bearer: "tampered", wantStatus: 401, wantCode: codeInvalidToken},
		{name: "me with refresh token", method: "GET", path: "/api/auth/me", bearer: "refresh-as-access", wantStatus: 401, wantCode: codeInvalidToken},
		{name: "me with expired token", method: "GET", path: "/api/auth/me", bearer: "expired", wantStatus: 401, wantCode: codeTokenExpired,
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token", error_description="token expired"`}},
		{name: "me after logout", method: "GET", path: "/api/auth/me", bearer: "revoked", wantStatus: 401, wantCode: codeInvalidToken},
		{name: "me of a deleted user", method: "GET", path: "/api/auth/me", bearer: "ghost", wantStatus: 404, wantCode: codeUserNotFound},
		{name: "me with token in the query only", method: "GET", path: "/api/auth/me?access_token=" + f.alice["access_token"].(string),
			wantStatus: 401, wantCode: codeMissingToken},
		{name: "sessions", method: "GET", path: "/api/auth/sessions", bearer: "alice", wantStatus: 200,
			check: func(t *testing.T, r response) { checkSessions(t, r, 2) }},
		{name: "sessions without token", method: "GET", path: "/api/auth/sessions", wantStatus: 401, wantCode: codeMissingToken},
		{name: "sessions with expired token", method: "GET", path: "/api/auth/sessions", bearer: "expired", wantStatus: 401, wantCode: codeTokenExpired},
		{name: "revoke someone else's session", method: "DELETE", path: "/api/auth/sessions/" + f.bobSID, bearer: "alice", wantStatus: 404, wantCode: codeNotFound},
		{name: "revoke an unknown session", method: "DELETE", path: "/api/auth/sessions/nope", bearer: "alice", wantStatus: 404, wantCode: codeNotFound},
		{name: "revoke without token", method: "DELETE", path: "/api/auth/sessions/" + f.bobSID, wantStatus: 401, wantCode: codeMissingToken},

		// Router misses.
		{name: "unknown path", method: "GET", path: "/nope", wantStatus: 404, wantCode: codeNotFound},
		{name: "unknown path under the API", method: "POST", path: "/api/auth/nope", body: map[string]any{}, wantStatus: 404, wantCode: codeNotFound},
		{name: "trailing slash", method: "GET", path: "/api/auth/me/", bearer: "alice", wantStatus: 404, wantCode: codeNotFound},
		// The mux would redirect these to their clean forms.
		{name: "double slash", method: "GET", path: "//healthz", wantStatus: 404, wantCode: codeNotFound},
		{name: "empty segment", method: "GET", path: "/api//auth/me", bearer: "alice", wantStatus: 404, wantCode: codeNotFound},
		{name: "dot-dot segments", method: "GET", path: "/api/auth/../../healthz", wantStatus: 404, wantCode: codeNotFound},
		{name: "GET on a POST route", method: "GET", path: "/api/auth/login", wantStatus: 405, wantCode: codeMethodNotAllowed,
			wantHeader: map[string]string{"Allow": "POST"}},
		{name: "PUT on a POST route", method: "PUT", path: "/api/auth/register", body: map[string]any{}, wantStatus: 405, wantCode: codeMethodNotAllowed,
			wantHeader: map[string]string{"Allow": "POST"}},
		{name: "POST on a GET route", method: "POST", path: "/api/auth/me", body: map[string]any{}, wantStatus: 405, wantCode: codeMethodNotAllowed,
			wantHeader: map[string]string{"Allow": "GET, HEAD"}},
		{name: "PATCH on sessions/{id}", method: "PATCH", path: "/api/auth/sessions/x", wantStatus: 405, wantCode: codeMethodNotAllowed,
			wantHeader: map[string]string{"Allow": "DELETE"}},
		{name: "OPTIONS without CORS", method: "OPTIONS", path: "/api/auth/login", wantStatus: 405, wantCode: codeMethodNotAllowed},
		{name: "DELETE on healthz", method: "DELETE", path: "/healthz", wantStatus: 405, wantCode: codeMethodNotAllowed},

		// Operations endpoints.
		{name: "healthz", method: "GET", path: "/healthz", wantStatus: 200, check: wantJSON(`{"status":"ok"}`)},
		{name: "readyz", method: "GET", path: "/readyz", wantStatus: 200, check: wantJSON(`{"status":"ok","checks":{"database":"ok"}}`)},
		{name: "jwks", method: "GET", path: "/.well-known/jwks.json", wantStatus: 200, check: wantJSON(`{"keys":[]}`),
			wantHeader: map[string]string{"Cache-Control": "public, max-age=300", "Content-Type": "application/json"}},
		{name: "metrics disabled", method: "GET", path: "/metrics", wantStatus: 404, wantCode: codeNotFound},
		{name: "openapi.json", method: "GET", path: "/openapi.json", wantStatus: 200, check: func(t *testing.T, r response) {
			doc := r.json(t)
			if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
				t.Errorf("openapi = %q, want 3.1.x", v)
			}
		}},
		{name: "openapi.yaml", method: "GET", path: "/openapi.yaml", wantStatus: 200, check: func(t *testing.T, r response) {
			if !strings.Contains(string(r.body), "openapi: 3.1") {
				t.Errorf("YAML document does not start with the version: %.80q", r.body)
			}
		}},
		{name: "huma's docs and schemas are not served", method: "GET", path: "/schemas/Problem.json", wantStatus: 404, wantCode: codeNotFound},
	}

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			headers := sc.headers
			if sc.bearer != "" {
				headers = append([]string{"Authorization", f.bearer(sc.bearer)}, headers...)
			}
			r := f.e.do(sc.method, sc.path, sc.body, headers...)
			if r.status != sc.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", sc.method, sc.path, r.status, r.body, sc.wantStatus)
			}
			checkCommonHeaders(t, sc.path, r)
			for k, want := range sc.wantHeader {
				if got := r.header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if sc.wantCode != "" {
				checkProblem(t, r, sc.wantStatus, sc.wantCode)
				checkDocumented(t, f.e.handler.(*server), sc.method, sc.path, sc.wantCode)
			} else if r.status != http.StatusNoContent && strings.HasPrefix(r.header.Get("Content-Type"), problemContentType) {
				t.Errorf("success answered with a problem: %s", r.body)
			}
			if sc.check != nil {
				sc.check(t, r)
			}
		})
	}
}

// checkDocumented asserts that the operation behind method and path
// documents code among its error responses. Router misses have no
// operation; the document's description covers them.
func checkDocumented(t *testing.T, s *server, method, path, code string) {
	t.Helper()
	req, err := http.NewRequest(method, path, nil)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	_, pattern := s.mux.Handler(req)
	_, route, ok := strings.Cut(pattern, " ")
	if !ok || !cleanPath(path) {
		return
	}
	item := s.api.OpenAPI().Paths[route]
	if item == nil {
		t.Errorf("%s %s: route %s is not in the document", method, path, route)
		return
	}
	op := map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "DELETE": item.Delete}[method]
	if op == nil || !slices.Contains(documentedCodes(op), code) {
		t.Errorf("%s %s answered %s, which its operation does not document", method, route, code)
	}
}

// checkCommonHeaders asserts what every response carries.
func checkCommonHeaders(t *testing.T, path string, r response) {
	t.Helper()
	if id := r.header.Get("X-Request-ID"); !validRequestID(id) {
		t.Errorf("X-Request-ID = %q, want a valid id", id)
	}
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "SAMEORIGIN",
	}
	if !isDocsPath(path) {
		want["X-Frame-Options"] = "DENY"
		want["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
	}
	if strings.HasPrefix(path, "/api/auth/") {
		want["Cache-Control"] = "no-store"
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

// checkProblem asserts an RFC 9457 body as docs/api.md "Errors" describes it.
func checkProblem(t *testing.T, r response, status int, code string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != problemContentType {
		t.Errorf("Content-Type = %q, want %q", ct, problemContentType)
	}
	var p map[string]any
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %q: %v", r.body, err)
	}
	k := kinds[code]
	want := map[string]any{
		"type": problemTypeBase + code, "title": k.title, "status": float64(status),
		"detail": k.detail, "code": code, "request_id": r.header.Get("X-Request-ID"),
	}
	for key, w := range want {
		if p[key] != w {
			t.Errorf("problem %s = %v, want %v", key, p[key], w)
		}
	}
	for key := range p {
		switch key {
		case "type", "title", "status", "detail", "code", "request_id", "errors", "checks":
		default:
			t.Errorf("problem has unexpected member %q", key)
		}
	}
	if _, ok := p["errors"]; ok != (code == codeValidationFailed) {
		t.Errorf("problem %s has errors = %v, want errors only for validation_failed", code, ok)
	}
	lower := strings.ToLower(string(r.body))
	for _, leak := range []string{"goroutine", ".go:", "panic", "sql", "huma", "unexpected error", "invalid character"} {
		if strings.Contains(lower, leak) {
			t.Errorf("problem body leaks %q: %s", leak, r.body)
		}
	}
}

// fieldsOf counts the validation errors per field.
func fieldsOf(t *testing.T, r response) map[string]int {
	t.Helper()
	var p struct {
		Errors []fieldError `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %q: %v", r.body, err)
	}
	got := map[string]int{}
	for _, e := range p.Errors {
		got[e.Field]++
		if e.Message == "" {
			t.Errorf("error of field %q has no message", e.Field)
		}
	}
	return got
}

// wantFields checks that the validation errors are exactly these fields,
// with these messages.
func wantFields(want map[string]string) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		var p struct {
			Errors []fieldError `json:"errors"`
		}
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("problem body %q: %v", r.body, err)
		}
		got := map[string]string{}
		for _, e := range p.Errors {
			got[e.Field] = e.Message
		}
		if len(got) != len(want) {
			t.Errorf("errors = %v, want %v", got, want)
		}
		for f, m := range want {
			if got[f] != m {
				t.Errorf("error of %q = %q, want %q", f, got[f], m)
			}
		}
	}
}

func wantJSON(want string) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		var got, w any
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatalf("body %q: %v", r.body, err)
		}
		if err := json.Unmarshal([]byte(want), &w); err != nil {
			t.Fatalf("want %q: %v", want, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("body = %s, want %s", r.body, want)
		}
	}
}

// checkUser asserts the user shape of docs/api.md "Endpoints".
func checkUser(t *testing.T, u map[string]any, email string) {
	t.Helper()
	wantKeys := []string{"id", "email", "first_name", "last_name", "is_active", "email_verified", "created_at", "updated_at"}
	if len(u) != len(wantKeys) {
		t.Errorf("user has keys %v, want exactly %v", keysOf(u), wantKeys)
	}
	for _, k := range wantKeys {
		if _, ok := u[k]; !ok {
			t.Errorf("user lacks %q", k)
		}
	}
	if id, ok := u["id"].(float64); !ok || id <= 0 {
		t.Errorf("id = %v, want a positive number", u["id"])
	}
	if u["email"] != email {
		t.Errorf("email = %v, want %s", u["email"], email)
	}
	if u["is_active"] != true {
		t.Errorf("is_active = %v, want true", u["is_active"])
	}
	for _, k := range []string{"created_at", "updated_at"} {
		s, _ := u[k].(string)
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !strings.HasSuffix(s, "Z") {
			t.Errorf("%s = %q, want RFC 3339 in UTC (%v)", k, s, err)
		} else if time.Since(ts) > time.Hour || time.Since(ts) < -time.Minute {
			t.Errorf("%s = %s, want about now", k, s)
		}
	}
}

func checkTokenResponse(t *testing.T, tr map[string]any, email string) {
	t.Helper()
	wantKeys := []string{"access_token", "token_type", "expires_in", "refresh_token", "user"}
	if len(tr) != len(wantKeys) {
		t.Errorf("token response has keys %v, want exactly %v", keysOf(tr), wantKeys)
	}
	if tr["token_type"] != "Bearer" {
		t.Errorf("token_type = %v, want Bearer", tr["token_type"])
	}
	if tr["expires_in"] != float64(900) {
		t.Errorf("expires_in = %v, want 900", tr["expires_in"])
	}
	if s, _ := tr["access_token"].(string); strings.Count(s, ".") != 2 {
		t.Errorf("access_token = %q, want a JWT", s)
	}
	if s, _ := tr["refresh_token"].(string); len(s) < 32 {
		t.Errorf("refresh_token = %q, want an opaque random string", s)
	}
	u, _ := tr["user"].(map[string]any)
	checkUser(t, u, email)
}

func checkSessions(t *testing.T, r response, n int) {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatalf("sessions %q: %v", r.body, err)
	}
	if len(list) < n {
		t.Fatalf("%d sessions, want at least %d: %s", len(list), n, r.body)
	}
	current := 0
	for _, s := range list {
		wantKeys := []string{"id", "created_at", "last_used_at", "expires_at", "client_ip", "user_agent", "current"}
		if len(s) != len(wantKeys) {
			t.Errorf("session has keys %v, want exactly %v", keysOf(s), wantKeys)
		}
		for _, k := range []string{"created_at", "last_used_at", "expires_at"} {
			if v, _ := s[k].(string); !strings.HasSuffix(v, "Z") {
				t.Errorf("%s = %q, want RFC 3339 UTC", k, v)
			}
		}
		if s["current"] == true {
			current++
		}
	}
	if current != 1 {
		t.Errorf("%d sessions marked current, want 1: %s", current, r.body)
	}
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestTokenLifecycle follows one login through refresh, reuse detection,
// session revocation and logout.
func TestTokenLifecycle(t *testing.T) {
	e := newEnv(t)
	e.register("lifecycle@example.com")
	first := e.login("lifecycle@example.com")

	r := e.do("POST", "/api/auth/refresh", map[string]any{"refresh_token": first["refresh_token"]})
	if r.status != http.StatusOK {
		t.Fatalf("refresh = %d %s, want 200", r.status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
		t.Errorf("refresh caching headers = %q %q, want no-store no-cache", r.header.Get("Cache-Control"), r.header.Get("Pragma"))
	}
	second := r.json(t)
	checkTokenResponse(t, second, "lifecycle@example.com")
	if second["refresh_token"] == first["refresh_token"] {
		t.Errorf("refresh returned the same refresh token")
	}

	// With a reuse interval of 0 the spent token is theft: the whole
	// login is revoked, its newest tokens included.
	r = e.do("POST", "/api/auth/refresh", map[string]any{"refresh_token": first["refresh_token"]})
	checkProblem(t, r, http.StatusUnauthorized, codeRefreshTokenReused)
	if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q, want an invalid_token challenge", got)
	}
	r = e.do("GET", "/api/auth/me", nil, "Authorization", "Bearer "+second["access_token"].(string))
	checkProblem(t, r, http.StatusUnauthorized, codeInvalidToken)
	r = e.do("POST", "/api/auth/refresh", map[string]any{"refresh_token": second["refresh_token"]})
	if r.status != http.StatusUnauthorized {
		t.Errorf("refresh of a revoked family = %d, want 401", r.status)
	}

	// Two sessions; one revokes the other.
	a := e.login("lifecycle@example.com", "User-Agent", "tab-a")
	b := e.login("lifecycle@example.com", "User-Agent", "tab-b")
	r = e.do("GET", "/api/auth/sessions", nil, "Authorization", "Bearer "+a["access_token"].(string))
	var list []session
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatalf("sessions: %v", err)
	}
	var bID string
	for _, s := range list {
		if s.UserAgent == "tab-b" {
			bID = s.ID
			if s.Current {
				t.Errorf("tab-b's session is marked current for tab-a's token")
			}
		}
		if s.UserAgent == "tab-a" && !s.Current {
			t.Errorf("tab-a's session is not marked current for its own token")
		}
	}
	if bID == "" {
		t.Fatalf("tab-b's session missing from %s", r.body)
	}
	r = e.do("DELETE", "/api/auth/sessions/"+bID, nil, "Authorization", "Bearer "+a["access_token"].(string))
	if r.status != http.StatusNoContent {
		t.Fatalf("revoke = %d %s, want 204", r.status, r.body)
	}
	r = e.do("GET", "/api/auth/me", nil, "Authorization", "Bearer "+b["access_token"].(string))
	checkProblem(t, r, http.StatusUnauthorized, codeInvalidToken)
	r = e.do("DELETE", "/api/auth/sessions/"+bID, nil, "Authorization", "Bearer "+a["access_token"].(string))
	checkProblem(t, r, http.StatusNotFound, codeNotFound)

	// Logout ends tab-a; a second logout is still 204.
	for i := range 2 {
		r = e.do("POST", "/api/auth/logout", map[string]any{"refresh_token": a["refresh_token"]})
		if r.status != http.StatusNoContent {
			t.Errorf("logout #%d = %d %s, want 204", i+1, r.status, r.body)
		}
	}
	r = e.do("POST", "/api/auth/refresh", map[string]any{"refresh_token": a["refresh_token"]})
	checkProblem(t, r, http.StatusUnauthorized, codeInvalidToken)
}

func TestRefreshTokenExpired(t *testing.T) {
	e := newEnv(t)
	e.register("expiry@example.com")
	tr := e.login("expiry@example.com")
	e.clock.advance(721 * time.Hour)
	r := e.do("POST", "/api/auth/refresh", map[string]any{"refresh_token": tr["refresh_token"]})
	checkProblem(t, r, http.StatusUnauthorized, codeTokenExpired)
}

func TestAccountLocked(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.authCfg = &auth.Config{
			Password:         auth.PasswordPolicy{MinLength: 8, MinClasses: 3},
			RefreshTokenTTL:  time.Hour,
			LockoutThreshold: 3, LockoutDuration: 90 * time.Second,
			SessionMaxLifetime: 2 * time.Hour,
		}
	})
	e.register("locked@example.com")
	bad := map[string]any{"email": "locked@example.com", "password": "Wrong-Horse-42"}
	for i := range 3 {
		if r := e.do("POST", "/api/auth/login", bad); r.status != http.StatusUnauthorized {
			t.Fatalf("failed login #%d = %d %s, want 401", i+1, r.status, r.body)
		}
	}
	// Locked now, even with the right password.
	r := e.do("POST", "/api/auth/login", map[string]any{"email": "locked@example.com", "password": testPassword})
	checkProblem(t, r, http.StatusTooManyRequests, codeAccountLocked)
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 90 {
		t.Errorf("Retry-After = %q, want whole seconds in 1..90", r.header.Get("Retry-After"))
	}
}

// TestConcurrentRegistration registers one email from many clients at
// once: exactly one wins.
func TestConcurrentRegistration(t *testing.T) {
	e := newEnv(t)
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := `{"email":"race@example.com","password":"Correct-Horse-42"}`
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/auth/register", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Errorf("register: %v", err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusConflict] != n-1 {
		t.Errorf("statuses = %v, want one 201 and %d 409", count, n-1)
	}
}
