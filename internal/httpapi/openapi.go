package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// bearerScheme names the security scheme of the protected operations.
const bearerScheme = "bearer"

// exampleRequestID is the request id shown in documented examples.
const exampleRequestID = "0f8c1c1e3b2a4d5e9f6a7b8c9d0e1f2a"

// apiConfig returns huma's configuration: OpenAPI 3.1 with our
// description and bearer scheme, and none of huma's own routes: the
// document and the Swagger UI are served by this package (docs.go), and
// the schema links huma would add to every response body are left out.
func apiConfig(version string) huma.Config {
	cfg := huma.DefaultConfig("authserve", version)
	cfg.OpenAPIPath = ""
	cfg.DocsPath = ""
	cfg.SchemasPath = ""
	cfg.CreateHooks = nil
	cfg.Info.Description = apiDescription()
	cfg.Info.License = &huma.License{Name: apiLicenseName, URL: apiLicenseURL}
	// Relative: the API is wherever this document was fetched from.
	cfg.Servers = []*huma.Server{{URL: "/", Description: "The server that serves this document."}}
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		bearerScheme: {
			Type:         "http",
			Scheme:       "bearer",
			BearerFormat: "JWT",
			Description:  "An access token from POST /api/auth/login or POST /api/auth/refresh, sent as 'Authorization: Bearer <access_token>'.",
		},
	}
	cfg.Tags = []*huma.Tag{
		{Name: tagAuth, Description: "Registration, login, token refresh, logout and the current user."},
		{Name: tagSessions, Description: "The caller's login sessions (refresh-token families)."},
		{Name: tagKeys, Description: "Public keys to verify access tokens."},
		{Name: tagOps, Description: "Health, readiness, metrics and this documentation."},
	}
	return cfg
}

// apiDescription is the document's introduction: the authentication flow
// and the conventions every operation shares, with the error catalogue.
func apiDescription() string {
	var b strings.Builder
	b.WriteString(`authserve issues and verifies credentials for your applications.

## Authentication flow

1. **Register** with ` + "`POST /api/auth/register`" + ` (email and password).
2. **Log in** with ` + "`POST /api/auth/login`" + `: the response carries a short-lived ` + "`access_token`" + ` (a JWT, ` + "`expires_in`" + ` seconds) and a long-lived opaque ` + "`refresh_token`" + `.
3. **Call** protected endpoints with ` + "`Authorization: Bearer <access_token>`" + ` (in Swagger UI: *Authorize*, scheme ` + "`bearer`" + `).
4. **Refresh** before or after the access token expires with ` + "`POST /api/auth/refresh`" + `: every refresh spends the presented refresh token and returns a new pair. Presenting a spent refresh token again after the reuse interval is treated as theft and revokes that whole login.
5. **Log out** with ` + "`POST /api/auth/logout`" + `, or end any of your sessions with ` + "`DELETE /api/auth/sessions/{id}`" + `.

Other services verify access tokens offline with the keys at ` + "`/.well-known/jwks.json`" + ` (asymmetric keys only).

This document is OpenAPI 3.1 at [/openapi.json](/openapi.json) (YAML: [/openapi.yaml](/openapi.yaml)); the same API as OpenAPI 3.0.3, for tools that do not read 3.1 yet, is at [/openapi-3.0.json](/openapi-3.0.json).

## Conventions

- Request bodies are JSON (` + "`Content-Type: application/json`" + `, else 415), at most 64 KiB (else 413), without unknown fields (else 422). A body that is not UTF-8, or names one member twice, is 400 ` + "`malformed_request`" + `.
- The request line and headers together are at most 32 KiB (else 431 ` + "`payload_too_large`" + `).
- A path with an empty, ` + "`.`" + ` or ` + "`..`" + ` segment is not redirected: it is 404 ` + "`not_found`" + `.
- Every response carries ` + "`X-Request-ID`" + `: yours when it is 1-128 characters of ` + "`[A-Za-z0-9._-]`" + `, otherwise a new one. It is in every error body and every log line of the request.
- ` + "`POST /api/auth/*`" + ` is rate limited per client address; its responses carry ` + "`RateLimit-Limit`" + `, ` + "`RateLimit-Remaining`" + ` and ` + "`RateLimit-Reset`" + `, and a refusal is 429 ` + "`rate_limited`" + ` with ` + "`Retry-After`" + `.
- Responses under ` + "`/api/auth/`" + ` are never cached (` + "`Cache-Control: no-store`" + `).
- An unknown path is 404 ` + "`not_found`" + `; a known path with another method is 405 ` + "`method_not_allowed`" + ` with an ` + "`Allow`" + ` header.

## Errors

Every error is an RFC 9457 problem (` + "`application/problem+json`" + `) with ` + "`type`, `title`, `status`, `detail`, `code`, `request_id`" + ` and, for validation, ` + "`errors`" + ` (a list of ` + "`{field, message}`" + `). Clients switch on ` + "`code`" + `; ` + "`type`" + ` is ` + "`" + problemTypeBase + "<code>`" + `. No error carries a stack trace, SQL, a password or a token.

| code | status | meaning |
|---|---|---|
`)
	for _, k := range catalogue {
		fmt.Fprintf(&b, "| `%s` | %d | %s |\n", k.code, k.status, k.detail)
	}
	return b.String()
}

// registerProblemSchema adds the Problem schema to the components, with
// its code documented as the catalogue's enum, and returns its reference.
func registerProblemSchema(api huma.API) *huma.Schema {
	reg := api.OpenAPI().Components.Schemas
	ref := reg.Schema(reflect.TypeFor[problem](), true, "Problem")
	if s := reg.SchemaFromRef(ref.Ref); s != nil {
		if code := s.Properties["code"]; code != nil {
			for _, k := range catalogue {
				code.Enum = append(code.Enum, k.code)
			}
		}
	}
	return ref
}

// responses documents an operation's success (huma adds its schema and
// headers) and its error responses.
func (s *server) responses(status int, desc string, base []string, extra ...string) map[string]*huma.Response {
	out := s.problemResponses(base, extra...)
	out[strconv.Itoa(status)] = &huma.Response{Description: desc}
	return out
}

// problemResponses documents the error responses of an operation: one
// response per status, with an example per code. base and extra are
// concatenated, so shared lists need not be copied.
func (s *server) problemResponses(base []string, extra ...string) map[string]*huma.Response {
	out := make(map[string]*huma.Response)
	for _, code := range append(append([]string(nil), base...), extra...) {
		k := kinds[code]
		key := strconv.Itoa(k.status)
		r := out[key]
		if r == nil {
			r = &huma.Response{
				Content: map[string]*huma.MediaType{
					problemContentType: {Schema: s.problemRef, Examples: map[string]*huma.Example{}},
				},
				Headers: problemHeaders(k.status),
			}
			out[key] = r
		}
		if r.Description != "" {
			r.Description += "\n"
		}
		r.Description += fmt.Sprintf("- `%s`: %s", k.code, k.detail)
		r.Content[problemContentType].Examples[k.code] = &huma.Example{Summary: k.title, Value: exampleProblem(k)}
	}
	return out
}

// problemHeaders documents the headers that come with errors of status.
func problemHeaders(status int) map[string]*huma.Header {
	switch status {
	case http.StatusUnauthorized:
		return map[string]*huma.Header{"WWW-Authenticate": {
			Description: `The Bearer challenge (RFC 6750): Bearer, or Bearer error="invalid_token" with an error_description for expired or reused tokens.`,
			Schema:      &huma.Schema{Type: huma.TypeString},
			Example:     `Bearer error="invalid_token"`,
		}}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return map[string]*huma.Header{"Retry-After": {
			Description: "Whole seconds to wait before trying again.",
			Schema:      &huma.Schema{Type: huma.TypeInteger, Minimum: ptr(1.0)},
			Example:     60,
		}}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// exampleProblem is the documented example of a problem of kind k.
func exampleProblem(k problemKind) map[string]any {
	ex := map[string]any{
		"type":       problemTypeBase + k.code,
		"title":      k.title,
		"status":     k.status,
		"detail":     k.detail,
		"code":       k.code,
		"request_id": exampleRequestID,
	}
	if k.code == codeMFARequired {
		ex["mfa_token"] = "Jx7m2bqQ0uZfY3h8sVt1Kc9aWnE4dRpL6oGi5yXzB0M"
		ex["factor_types"] = []string{"totp"}
	}
	if k.code == codeValidationFailed {
		ex["errors"] = []map[string]string{
			{"field": "email", "message": "must be a single valid email address"},
			{"field": "password", "message": "must be at least 8 characters"},
		}
	}
	return ex
}

func (s *server) jwksResponses() map[string]*huma.Response {
	out := s.problemResponses(nil, codeInternalError)
	ref := s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[jwkSet](), true, "JWKSet")
	out["200"] = &huma.Response{
		Description: "The key set.",
		Content: map[string]*huma.MediaType{
			"application/json": {Schema: ref, Example: map[string]any{"keys": []map[string]string{{
				"kty": "OKP", "use": "sig", "alg": "EdDSA", "kid": "mT3a0cQ6", "crv": "Ed25519",
				"x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
			}}}},
		},
	}
	return out
}

func (s *server) metricsResponses() map[string]*huma.Response {
	out := s.problemResponses(nil, codeNotFound, codeInternalError)
	out["200"] = &huma.Response{
		Description: "The metrics.",
		Content: map[string]*huma.MediaType{
			"text/plain; version=0.0.4": {Schema: &huma.Schema{Type: huma.TypeString}},
		},
	}
	return out
}

// documentStatic adds the routes served outside huma (the document itself
// and Swagger UI) to the document, so that it covers every endpoint.
func (s *server) documentStatic() {
	oapi := s.api.OpenAPI()
	oapi.AddOperation(&huma.Operation{
		OperationID: "getOpenAPI", Method: http.MethodGet, Path: "/openapi.json", Tags: []string{tagOps},
		Summary:     "This OpenAPI document",
		Description: "The OpenAPI 3.1 document of the API, as JSON; /openapi.yaml serves the same as YAML.",
		Responses: mergeResponses(s.problemResponses(nil, codeInternalError), map[string]*huma.Response{
			"200": {Description: "The document.", Content: map[string]*huma.MediaType{
				"application/json": {Schema: &huma.Schema{Type: huma.TypeObject}},
			}},
		}),
	})
	oapi.AddOperation(&huma.Operation{
		OperationID: "getOpenAPI30", Method: http.MethodGet, Path: spec30Path, Tags: []string{tagOps},
		Summary:     "This document as OpenAPI 3.0",
		Description: "The same API as OpenAPI 3.0.3, as JSON, for tools that do not read 3.1 yet.",
		Responses: mergeResponses(s.problemResponses(nil, codeInternalError), map[string]*huma.Response{
			"200": {Description: "The document.", Content: map[string]*huma.MediaType{
				"application/json": {Schema: &huma.Schema{Type: huma.TypeObject}},
			}},
		}),
	})
	oapi.AddOperation(&huma.Operation{
		OperationID: "getDocs", Method: http.MethodGet, Path: docsPath, Tags: []string{tagOps},
		Summary:     "Swagger UI",
		Description: "Interactive documentation of this document, served by the binary (no CDN). Its assets are under /docs/.",
		Responses: mergeResponses(s.problemResponses(nil, codeInternalError), map[string]*huma.Response{
			"200": {Description: "The Swagger UI page.", Content: map[string]*huma.MediaType{
				"text/html": {Schema: &huma.Schema{Type: huma.TypeString}},
			}},
		}),
	})
}

func mergeResponses(a, b map[string]*huma.Response) map[string]*huma.Response {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// documentCommonHeaders adds the headers every response carries to every
// documented response: X-Request-ID everywhere, and the rate-limit
// headers on the rate-limited POST operations.
func documentCommonHeaders(oapi *huma.OpenAPI) {
	requestID := &huma.Header{
		Description: "The request id: the caller's X-Request-ID when it is 1-128 characters of [A-Za-z0-9._-], otherwise a new one.",
		Schema:      &huma.Schema{Type: huma.TypeString},
		Example:     exampleRequestID,
	}
	rateLimit := map[string]*huma.Header{
		"RateLimit-Limit":     {Description: "Requests allowed per minute from this client address.", Schema: &huma.Schema{Type: huma.TypeInteger}, Example: 60},
		"RateLimit-Remaining": {Description: "Requests left right now.", Schema: &huma.Schema{Type: huma.TypeInteger}, Example: 59},
		"RateLimit-Reset":     {Description: "Seconds until the full budget is back.", Schema: &huma.Schema{Type: huma.TypeInteger}, Example: 1},
	}
	for path, item := range oapi.Paths {
		for method, op := range map[string]*huma.Operation{http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPatch: item.Patch, http.MethodDelete: item.Delete} {
			if op == nil {
				continue
			}
			limited := method == http.MethodPost && strings.HasPrefix(path, "/api/auth/")
			for _, r := range op.Responses {
				if r.Headers == nil {
					r.Headers = map[string]*huma.Header{}
				}
				r.Headers["X-Request-ID"] = requestID
				if limited {
					for name, h := range rateLimit {
						r.Headers[name] = h
					}
				}
			}
		}
	}
}

// marshalSpec renders the finished document as indented JSON (also the
// golden file's form) and as YAML.
func marshalSpec(oapi *huma.OpenAPI) (jsonDoc, yamlDoc []byte, err error) {
	raw, err := json.Marshal(oapi)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal OpenAPI document: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return nil, nil, fmt.Errorf("indent OpenAPI document: %w", err)
	}
	buf.WriteByte('\n')
	yamlDoc, err = oapi.YAML()
	if err != nil {
		return nil, nil, fmt.Errorf("marshal OpenAPI document as YAML: %w", err)
	}
	// Copies of exactly their size: the buffers' doubled capacity would
	// stay resident for the life of the process.
	return bytes.Clone(buf.Bytes()), bytes.Clone(yamlDoc), nil
}
