package httpapi

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPI30 checks that /openapi-3.0.json is a valid OpenAPI 3.0
// document (by kin-openapi, a validator that knows 3.0 only) describing
// the same operations as /openapi.json.
func TestOpenAPI30(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", spec30Path, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s = %d", spec30Path, r.status)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.body)
	if err != nil {
		t.Fatalf("load the 3.0 document: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Errorf("the 3.0 document is not valid OpenAPI 3.0: %v", err)
	}

	var got []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			got = append(got, method+" "+path+" "+op.OperationID)
		}
	}
	var want []string
	for path, item := range e.handler.(*server).api.OpenAPI().Paths {
		for _, op := range operations(item) {
			want = append(want, op.Method+" "+path+" "+op.OperationID)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("3.0 operations = %v\nwant the 3.1 document's %v", got, want)
	}

	// Nothing of JSON Schema 2020-12 that 3.0 lacks is left behind.
	for _, kw := range []string{`"jsonSchemaDialect"`, `"const"`, `"$schema"`, `"3.1.0"`} {
		if strings.Contains(string(r.body), kw) {
			t.Errorf("the 3.0 document still has %s", kw)
		}
	}
	var raw map[string]any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	checkNoSchemaExampleLists(t, "#", raw)
}

// checkNoSchemaExampleLists fails on an "examples" list anywhere: 3.0
// knows only maps of named examples (media types, parameters) and a
// schema's single example.
func checkNoSchemaExampleLists(t *testing.T, at string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if _, isList := child.([]any); isList && k == "examples" {
				t.Errorf("%s/examples is a list", at)
			}
			checkNoSchemaExampleLists(t, at+"/"+k, child)
		}
	case []any:
		for _, child := range v {
			checkNoSchemaExampleLists(t, at, child)
		}
	}
}

// TestDocumentRules checks the rules finishDocument gives every operation
// of both documents, so that operations added later inherit them: a
// security requirement, empty for public operations, and a 4xx response.
func TestDocumentRules(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{specPath, spec30Path} {
		r := e.do("GET", path, nil)
		var doc struct {
			Info struct {
				Description string
				License     struct{ Name, URL string }
			}
			Servers []struct{ URL string }
			Paths   map[string]map[string]struct {
				Security  *[]map[string][]string
				Responses map[string]json.RawMessage
			}
		}
		if err := json.Unmarshal(r.body, &doc); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(doc.Servers) == 0 {
			t.Errorf("%s has no servers", path)
		}
		if doc.Info.License.Name == "" || doc.Info.License.URL == "" {
			t.Errorf("%s has no licence name and URL: %+v", path, doc.Info.License)
		}
		if !strings.Contains(doc.Info.Description, "("+spec30Path+")") {
			t.Errorf("%s's description does not link %s", path, spec30Path)
		}
		for p, item := range doc.Paths {
			for method, op := range item {
				if op.Security == nil {
					t.Errorf("%s: %s %s has no security requirement (public ones need security: [])", path, method, p)
				}
				if !slices.ContainsFunc(slices.Collect(maps.Keys(op.Responses)), func(s string) bool { return strings.HasPrefix(s, "4") }) {
					t.Errorf("%s: %s %s documents no 4xx response", path, method, p)
				}
			}
		}
	}
}
