package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// spec30Path serves the document downgraded to OpenAPI 3.0.3, for tools
// that do not read 3.1 yet.
const spec30Path = "/openapi-3.0.json"

// The licence the document declares. The repository carries no licence
// file, so the API is proprietary (all rights reserved) until it does; the
// URL is the README section that says so.
const (
	apiLicenseName = "Proprietary"
	apiLicenseURL  = "https://github.com/authserve/authserve#licence"
)

// operations returns the operations of a path item, whatever their method.
func operations(item *huma.PathItem) []*huma.Operation {
	var ops []*huma.Operation
	for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Options, item.Head, item.Patch, item.Trace} {
		if op != nil {
			ops = append(ops, op)
		}
	}
	return ops
}

// finishDocument applies the rules every operation follows, whoever
// registered it, so that new operations inherit them instead of repeating
// them: an operation that names no security scheme says explicitly that
// it needs no credentials (security: []), and one that documents no
// client error gets the one every request can meet, 431 for headers over
// the limit (the middleware answers it before any routing).
func (s *server) finishDocument(oapi *huma.OpenAPI) {
	for _, item := range oapi.Paths {
		for _, op := range operations(item) {
			if op.Security == nil {
				op.Security = []map[string][]string{}
			}
			if !documentsClientError(op) {
				if op.Responses == nil {
					op.Responses = map[string]*huma.Response{}
				}
				op.Responses["431"] = s.headersTooLargeResponse()
			}
		}
	}
}

// documentsClientError reports whether op documents a 4xx response.
func documentsClientError(op *huma.Operation) bool {
	for status := range op.Responses {
		if len(status) == 3 && status[0] == '4' {
			return true
		}
	}
	return false
}

// headersTooLargeResponse documents the 431 of headersTooLarge.
func (s *server) headersTooLargeResponse() *huma.Response {
	k := kinds[codePayloadTooLarge]
	k.status = http.StatusRequestHeaderFieldsTooLarge
	return &huma.Response{
		Description: fmt.Sprintf("- `%s`: the request line and headers are over %d KiB.", k.code, s.maxHeader>>10),
		Content: map[string]*huma.MediaType{
			problemContentType: {Schema: s.problemRef, Examples: map[string]*huma.Example{
				k.code: {Summary: "Request headers too large", Value: exampleProblem(k)},
			}},
		},
	}
}

// downgradeSpec returns oapi as indented OpenAPI 3.0.3 JSON: huma's
// Downgrade (version, type arrays, exclusive bounds, single examples),
// then what that leaves which 3.0 does not allow.
func downgradeSpec(oapi *huma.OpenAPI) ([]byte, error) {
	raw, err := oapi.Downgrade()
	if err != nil {
		return nil, fmt.Errorf("downgrade OpenAPI document: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("downgrade OpenAPI document: %w", err)
	}
	delete(doc, "jsonSchemaDialect")
	delete(doc, "webhooks")
	if info, ok := doc["info"].(map[string]any); ok {
		if lic, ok := info["license"].(map[string]any); ok {
			delete(lic, "identifier") // 3.1 only; url remains
		}
	}
	if comps, ok := doc["components"].(map[string]any); ok {
		if schemas, ok := comps["schemas"].(map[string]any); ok {
			for _, sch := range schemas {
				downgradeSchema(sch)
			}
		}
	}
	if paths, ok := doc["paths"].(map[string]any); ok {
		downgradeInline(paths)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal OpenAPI 3.0 document: %w", err)
	}
	return append(out, '\n'), nil
}

// downgradeSchema rewrites the JSON Schema keywords of 3.1 that huma's
// Downgrade keeps into their 3.0 forms, in v and every schema under it.
func downgradeSchema(v any) {
	sch, ok := v.(map[string]any)
	if !ok {
		return
	}
	// 3.0 schemas have one example, not a list of them.
	if exs, ok := sch["examples"].([]any); ok {
		if _, has := sch["example"]; !has && len(exs) > 0 {
			sch["example"] = exs[0]
		}
		delete(sch, "examples")
	}
	if c, ok := sch["const"]; ok {
		sch["enum"] = []any{c}
		delete(sch, "const")
	}
	delete(sch, "$schema")
	for _, key := range []string{"items", "not", "additionalProperties"} {
		downgradeSchema(sch[key])
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		if list, ok := sch[key].([]any); ok {
			for _, s := range list {
				downgradeSchema(s)
			}
		}
	}
	if props, ok := sch["properties"].(map[string]any); ok {
		for _, p := range props {
			downgradeSchema(p)
		}
	}
}

// downgradeInline finds the schemas inside the paths (parameters, bodies,
// headers) and downgrades them.
func downgradeInline(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if k == "schema" {
				downgradeSchema(child)
				continue
			}
			downgradeInline(child)
		}
	case []any:
		for _, child := range v {
			downgradeInline(child)
		}
	}
}
