package adminapi_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/authserve/authserve/internal/adminapi"
	"github.com/authserve/authserve/internal/auth"
)

var update = flag.Bool("update", false, "rewrite testdata/openapi.golden.json from the generated document")

const goldenPath = "testdata/openapi.golden.json"

// TestOpenAPIGolden keeps the admin listener's document reviewed: it must
// equal the committed one; regenerate with go test ./internal/adminapi
// -run TestOpenAPIGolden -update.
func TestOpenAPIGolden(t *testing.T) {
	h := adminapi.NewHandler(adminapi.Options{Service: auth.NewService(auth.Config{}, auth.Deps{}), Version: "test"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /openapi.json = %d", rec.Code)
	}
	got := rec.Body.Bytes()
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", goldenPath)
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if string(want) != string(got) {
		t.Errorf("the admin OpenAPI document drifted from %s; review the change and run go test ./internal/adminapi -run TestOpenAPIGolden -update", goldenPath)
	}
	// Every operation has an example for its request body and for each
	// documented problem, and its parameters have examples.
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string `json:"name"`
				Schema struct {
					Examples []any `json:"examples"`
				} `json:"schema"`
			} `json:"parameters"`
			RequestBody *struct {
				Content map[string]struct {
					Example any `json:"example"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	ops := 0
	for path, item := range doc.Paths {
		for method, op := range item {
			ops++
			for _, p := range op.Parameters {
				if len(p.Schema.Examples) == 0 {
					t.Errorf("%s %s: parameter %s has no example", method, path, p.Name)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Content["application/json"].Example == nil {
				t.Errorf("%s %s: request body has no example", method, path)
			}
		}
	}
	if ops < 9 {
		t.Errorf("%d operations documented, want the 9 admin operations and the documents", ops)
	}
}
