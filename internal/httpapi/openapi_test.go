package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

var update = flag.Bool("update", false, "rewrite testdata/openapi.golden.json and testdata/openapi-3.0.golden.json from the generated documents")

const goldenPath = "testdata/openapi.golden.json"

// golden30Path is the committed OpenAPI 3.0 form of the document.
const golden30Path = "testdata/openapi-3.0.golden.json"

// TestOpenAPIGolden fails when a generated document (3.1, and its 3.0
// downgrade) drifts from the committed one; regenerate with
// go test ./internal/httpapi -run TestOpenAPIGolden -update.
func TestOpenAPIGolden(t *testing.T) {
	for _, tc := range []struct{ path, golden string }{
		{"/openapi.json", goldenPath},
		{spec30Path, golden30Path},
	} {
		t.Run(tc.path, func(t *testing.T) {
			e := newEnv(t)
			r := e.do("GET", tc.path, nil)
			if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("GET %s = %d %q", tc.path, r.status, r.header.Get("Content-Type"))
			}
			if *update {
				if err := os.MkdirAll(filepath.Dir(tc.golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(tc.golden, r.body, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s", tc.golden)
				return
			}
			want, err := os.ReadFile(tc.golden)
			if err != nil {
				t.Fatalf("read golden file (run go test ./internal/httpapi -run TestOpenAPIGolden -update to create it): %v", err)
			}
			if !bytes.Equal(r.body, want) {
				t.Errorf("the OpenAPI document drifted from %s; review the change and run go test ./internal/httpapi -run TestOpenAPIGolden -update\n%s",
					tc.golden, firstDiff(string(want), string(r.body)))
			}
			// A second build of the handler yields the same bytes.
			again := newEnv(t).do("GET", tc.path, nil)
			if !bytes.Equal(r.body, again.body) {
				t.Errorf("two builds of the handler generated different documents:\n%s", firstDiff(string(r.body), string(again.body)))
			}
		})
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + itoa(i+1) + ":\n- " + x + "\n+ " + y
		}
	}
	return "(no difference)"
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestOpenAPIDocumentsErrors checks that every operation documents exactly
// the errors it can produce, each as a problem with an example.
func TestOpenAPIDocumentsErrors(t *testing.T) {
	e := newEnv(t)
	s := e.handler.(*server)
	oapi := s.api.OpenAPI()

	post := []string{codeMalformedRequest, codePayloadTooLarge, codeUnsupportedMediaType, codeValidationFailed,
		codeRateLimited, codeInternalError, codeDatabaseError, codeServiceUnavailable}
	bearer := []string{codeMissingToken, codeInvalidToken, codeTokenExpired, codeUserNotFound,
		codeInternalError, codeDatabaseError, codeServiceUnavailable}
	want := map[string][]string{
		"POST /api/auth/register":            append(slices.Clone(post), codeUserAlreadyExists, codeOverloaded),
		"POST /api/auth/login":               append(slices.Clone(post), codeInvalidCredentials, codeAccountDisabled, codeEmailNotVerified, codeAccountLocked, codeOverloaded, codeMFARequired),
		"POST /api/auth/email/verify":        append(slices.Clone(post), codeInvalidLinkToken),
		"POST /api/auth/email/verify/resend": post,
		"POST /api/auth/password/forgot":     post,
		"POST /api/auth/password/reset":      append(slices.Clone(post), codeInvalidLinkToken, codeOverloaded),
		"POST /api/auth/password/change": append(slices.Clone(post), codeMissingToken, codeInvalidToken, codeTokenExpired,
			codeUserNotFound, codeInvalidCredentials, codeAccountLocked, codeOverloaded),
		"POST /api/auth/refresh":         append(slices.Clone(post), codeInvalidToken, codeTokenExpired, codeRefreshTokenReused, codeAccountDisabled),
		"POST /api/auth/logout":          post,
		"GET /api/auth/me":               bearer,
		"GET /api/auth/sessions":         bearer,
		"DELETE /api/auth/sessions/{id}": append(slices.Clone(bearer), codeNotFound),
		// Section 9. The two POSTs without a body list the body codes a
		// stray body can still get.
		"POST /api/auth/mfa/totp":                      append(slices.Clone(bearer), codeMFARequired, codeRateLimited, codeUnsupportedMediaType, codePayloadTooLarge),
		"POST /api/auth/mfa/totp/{factor_id}/activate": append(slices.Clone(post), codeMissingToken, codeInvalidToken, codeTokenExpired, codeUserNotFound, codeNotFound, codeInvalidMFACode, codeMFARequired),
		"GET /api/auth/mfa/factors":                    bearer,
		"DELETE /api/auth/mfa/factors/{id}":            append(slices.Clone(bearer), codeNotFound, codeMFARequired),
		"POST /api/auth/mfa/recovery-codes":            append(slices.Clone(bearer), codeNotFound, codeMFARequired, codeRateLimited, codeUnsupportedMediaType, codePayloadTooLarge),
		"POST /api/auth/mfa/verify":                    append(slices.Clone(post), codeInvalidMFACode, codeAccountDisabled, codeAccountLocked),
		// Operations with no client error of their own document the
		// 431 every request can meet (finishDocument).
		"GET /.well-known/jwks.json": {codeInternalError, codePayloadTooLarge},
		"GET /healthz":               {codeInternalError, codePayloadTooLarge},
		"GET /readyz":                {codeServiceUnavailable, codeInternalError, codePayloadTooLarge},
		"GET /metrics":               {codeNotFound, codeInternalError},
		"GET /openapi.json":          {codeInternalError, codePayloadTooLarge},
		"GET /openapi-3.0.json":      {codeInternalError, codePayloadTooLarge},
		"GET /docs":                  {codeInternalError, codePayloadTooLarge},
	}
	// Operations that take no request body.
	bodyless := map[string]bool{"POST /api/auth/mfa/totp": true, "POST /api/auth/mfa/recovery-codes": true}
	seen := map[string]bool{}
	for path, item := range oapi.Paths {
		for method, op := range map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "DELETE": item.Delete, "PUT": item.Put, "PATCH": item.Patch} {
			if op == nil {
				continue
			}
			key := method + " " + path
			seen[key] = true
			w, ok := want[key]
			if !ok {
				t.Errorf("undocumented-in-test operation %s", key)
				continue
			}
			got := documentedCodes(op)
			sort.Strings(w)
			if strings.Join(got, ",") != strings.Join(w, ",") {
				t.Errorf("%s documents %v, want %v", key, got, w)
			}
			if op.OperationID == "" || op.Summary == "" || op.Description == "" || len(op.Tags) == 0 {
				t.Errorf("%s lacks operationId, summary, description or tags", key)
			}
			checkOperationResponses(t, key, op)
			protected := slices.Contains(w, codeMissingToken)
			if hasBearer := len(op.Security) == 1 && op.Security[0][bearerScheme] != nil; hasBearer != protected {
				t.Errorf("%s bearer security = %v, want %v", key, hasBearer, protected)
			}
			if method == "POST" && !bodyless[key] {
				mt := op.RequestBody.Content["application/json"]
				if !op.RequestBody.Required || mt == nil || mt.Example == nil || mt.Schema == nil {
					t.Errorf("%s request body is not a required JSON body with schema and example", key)
				}
			}
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("%s is not in the document", key)
		}
	}

	if sch := oapi.Components.SecuritySchemes[bearerScheme]; sch == nil || sch.Type != "http" || sch.Scheme != "bearer" {
		t.Errorf("security scheme %q = %+v, want HTTP bearer", bearerScheme, sch)
	}
	problemSchema := oapi.Components.Schemas.Map()["Problem"]
	if problemSchema == nil {
		t.Fatalf("no Problem schema in the components")
	}
	var enum []string
	for _, v := range problemSchema.Properties["code"].Enum {
		enum = append(enum, v.(string))
	}
	var codes []string
	for _, k := range catalogue {
		codes = append(codes, k.code)
	}
	if !slices.Equal(enum, codes) {
		t.Errorf("Problem.code enum = %v, want the catalogue %v", enum, codes)
	}
	for _, k := range catalogue {
		if !strings.Contains(oapi.Info.Description, "`"+k.code+"`") {
			t.Errorf("the description's error table lacks %s", k.code)
		}
	}
}

func documentedCodes(op *huma.Operation) []string {
	var codes []string
	for _, r := range op.Responses {
		if mt := r.Content[problemContentType]; mt != nil {
			for code := range mt.Examples {
				codes = append(codes, code)
			}
		}
	}
	sort.Strings(codes)
	return codes
}

func checkOperationResponses(t *testing.T, key string, op *huma.Operation) {
	t.Helper()
	success := 0
	for status, r := range op.Responses {
		if r.Description == "" {
			t.Errorf("%s response %s has no description", key, status)
		}
		if r.Headers["X-Request-ID"] == nil {
			t.Errorf("%s response %s does not document X-Request-ID", key, status)
		}
		if strings.HasPrefix(status, "2") {
			success++
			continue
		}
		mt := r.Content[problemContentType]
		if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Problem" {
			t.Errorf("%s response %s is not a Problem", key, status)
			continue
		}
		for code, ex := range mt.Examples {
			if k := kinds[code]; itoa(k.status) != status && (code != codePayloadTooLarge || status != "431") {
				t.Errorf("%s documents %s under %s, want %d", key, code, status, k.status)
			}
			if v, _ := ex.Value.(map[string]any); v["code"] != code {
				t.Errorf("%s example %s has code %v", key, code, v["code"])
			}
		}
		switch status {
		case "401":
			if r.Headers["WWW-Authenticate"] == nil {
				t.Errorf("%s 401 does not document WWW-Authenticate", key)
			}
		case "429", "503":
			if r.Headers["Retry-After"] == nil {
				t.Errorf("%s %s does not document Retry-After", key, status)
			}
		}
	}
	if success != 1 {
		t.Errorf("%s documents %d success responses, want 1", key, success)
	}
}

func TestSwaggerUI(t *testing.T) {
	e := newEnv(t)
	page := e.do("GET", "/docs", nil)
	if page.status != http.StatusOK || page.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /docs = %d %q, want 200 HTML", page.status, page.header.Get("Content-Type"))
	}
	html := string(page.body)
	for _, want := range []string{`src="/docs/swagger-ui-bundle.js"`, `href="/docs/swagger-ui.css"`, `"swaggerJsonUrl":"/openapi.json"`} {
		if !strings.Contains(html, want) {
			t.Errorf("/docs page lacks %s", want)
		}
	}
	// Nothing is loaded from another origin: the page works offline.
	for _, attr := range []string{`src="http`, `href="http`, `src="//`, `href="//`} {
		if strings.Contains(html, attr) {
			t.Errorf("/docs page loads from another origin (%s)", attr)
		}
	}

	// The CSP allows exactly the page's inline scripts, by hash.
	csp := page.header.Get("Content-Security-Policy")
	scriptSrc := directive(csp, "script-src")
	if strings.Contains(scriptSrc, "'unsafe-inline'") || strings.Contains(scriptSrc, "'unsafe-eval'") || strings.Contains(scriptSrc, "http") {
		t.Errorf("script-src = %q, want 'self' and hashes only", scriptSrc)
	}
	inline := inlineScript.FindAllStringSubmatch(html, -1)
	if len(inline) == 0 {
		t.Fatalf("found no inline script in the page")
	}
	for _, m := range inline {
		sum := sha256.Sum256([]byte(m[1]))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(scriptSrc, h) {
			t.Errorf("script-src %q lacks the hash %s of an inline script", scriptSrc, h)
		}
	}
	for _, d := range []string{"default-src 'none'", "connect-src 'self'", "frame-ancestors 'self'", "img-src 'self' data:"} {
		if !strings.Contains(csp, d) {
			t.Errorf("docs CSP %q lacks %s", csp, d)
		}
	}

	assets := []struct{ path, contentType string }{
		{"/docs/swagger-ui-bundle.js", "javascript"},
		{"/docs/swagger-ui-standalone-preset.js", "javascript"},
		{"/docs/swagger-ui.css", "text/css"},
		{"/docs/favicon-32x32.png", "image/png"},
	}
	for _, a := range assets {
		r := e.do("GET", a.path, nil)
		if r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Type"), a.contentType) || len(r.body) < 100 {
			t.Errorf("GET %s = %d %q (%d bytes), want 200 %s", a.path, r.status, r.header.Get("Content-Type"), len(r.body), a.contentType)
		}
	}
	if r := e.do("GET", "/docs/", nil); r.status != http.StatusOK || !bytes.Equal(r.body, page.body) {
		t.Errorf("GET /docs/ = %d, want the same page as /docs", r.status)
	}
	for _, p := range []string{"/docs/missing.js", "/docs/swagger-ui.css.gz", "/docs/embed.go"} {
		r := e.do("GET", p, nil)
		checkProblem(t, r, http.StatusNotFound, codeNotFound)
	}
	r := e.do("POST", "/docs", "{}")
	checkProblem(t, r, http.StatusMethodNotAllowed, codeMethodNotAllowed)
}

// directive returns the value of one CSP directive.
func directive(csp, name string) string {
	for _, d := range strings.Split(csp, ";") {
		d = strings.TrimSpace(d)
		if strings.HasPrefix(d, name+" ") {
			return d
		}
	}
	return ""
}
