package httpapi

import (
	"fmt"
	"testing"
)

func TestScratch(t *testing.T) {
	e := newEnv(t)
	show := func(name string, r response) {
		fmt.Printf("== %s: %d\n", name, r.status)
		for k, v := range r.header {
			fmt.Printf("   %s: %v\n", k, v)
		}
		if len(r.body) < 2000 {
			fmt.Printf("   %s\n", r.body)
		}
	}
	show("register", e.do("POST", "/api/auth/register", map[string]any{"email": "a@example.com", "password": testPassword, "first_name": "A"}))
	show("dup", e.do("POST", "/api/auth/register", map[string]any{"email": "A@example.com", "password": testPassword}))
	show("malformed", e.do("POST", "/api/auth/register", `{"email":`))
	show("trailing", e.do("POST", "/api/auth/register", `{"email":"b@example.com","password":"Correct-Horse-42"} x`))
	show("unknown", e.do("POST", "/api/auth/register", `{"email":"b@example.com","password":"Correct-Horse-42","x":1}`))
	show("wrongtype", e.do("POST", "/api/auth/register", `{"email":5,"password":true}`))
	show("missing", e.do("POST", "/api/auth/register", `{}`))
	show("null", e.do("POST", "/api/auth/register", `null`))
	show("array", e.do("POST", "/api/auth/register", `[]`))
	show("empty", e.do("POST", "/api/auth/register", ``))
	show("nullname", e.do("POST", "/api/auth/register", `{"email":"c@example.com","password":"Correct-Horse-42","first_name":null}`))
	show("validation", e.do("POST", "/api/auth/register", `{"email":"nope","password":"short","first_name":""}`))
	show("EMAIL", e.do("POST", "/api/auth/register", `{"EMAIL":"d@example.com","password":"Correct-Horse-42"}`))
	show("415", e.do("POST", "/api/auth/register", `{}`, "Content-Type", "text/plain"))
	show("404", e.do("GET", "/nope", nil))
	show("405", e.do("PUT", "/api/auth/login", nil))
	tok := e.login("a@example.com")
	show("me", e.do("GET", "/api/auth/me", nil, "Authorization", "Bearer "+tok["access_token"].(string)))
	show("sessions", e.do("GET", "/api/auth/sessions", nil, "Authorization", "bearer "+tok["access_token"].(string)))
	show("me-missing", e.do("GET", "/api/auth/me", nil))
	show("me-invalid", e.do("GET", "/api/auth/me", nil, "Authorization", "Bearer abc"))
	show("jwks", e.do("GET", "/.well-known/jwks.json", nil))
	show("healthz", e.do("GET", "/healthz", nil))
	show("readyz", e.do("GET", "/readyz", nil))
	show("metrics", e.do("GET", "/metrics", nil))
	r := e.do("GET", "/docs", nil)
	show("docs", response{status: r.status, header: r.header})
	fmt.Println(string(r.body))
	r = e.do("GET", "/docs/swagger-ui-bundle.js", nil)
	show("docsjs", response{status: r.status, header: r.header})
	show("docs-missing", e.do("GET", "/docs/nope.js", nil))
	r = e.do("GET", "/openapi.json", nil)
	show("openapi", response{status: r.status, header: r.header})
	fmt.Println(e.logs.String())
}
