package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuzzPaths are the operations that decode a request body.
var fuzzPaths = []string{"/api/auth/register", "/api/auth/login", "/api/auth/refresh", "/api/auth/logout"}

// FuzzRequestBody sends arbitrary bodies and content types to every
// operation that decodes one, through the whole handler on a real SQLite
// store: decoding and validation must never panic and never answer 5xx,
// and every error must be problem JSON (docs/api.md "Errors").
func FuzzRequestBody(f *testing.F) {
	seeds := []struct {
		path        byte
		contentType string
		body        string
	}{
		{0, "application/json", `{"email":"a@example.com","password":"Correct-Horse-42"}`},
		{0, "application/json", `{"email":"Zoë <z@example.com>","password":"x","first_name":null}`},
		{0, "application/json; charset=utf-8", `{"email":"a@example.com","password":"Correct-Horse-42","extra":1}`},
		{1, "application/json", `{"email":"a@example.com","password":"wrong"}`},
		{1, "application/json", `{"email":1,"password":[]}`},
		{1, "text/plain", `{"email":"a@example.com"}`},
		{2, "application/json", `{"refresh_token":"abc"}`},
		{2, "application/json", `{"refresh_token":"abc"} trailing`},
		{3, "application/json", `[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]`},
		{3, "", ``},
		{0, "application/json", `{"email":"a@example.com","email":"b@example.com","password":"\u0000\ud800"}`},
	}
	for _, s := range seeds {
		f.Add(s.path, s.contentType, s.body)
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, path byte, contentType, body string) {
		p := fuzzPaths[int(path)%len(fuzzPaths)]
		req := httptest.NewRequest(http.MethodPost, p, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s (%q) %q = %d %s, want no 5xx for bad input", p, contentType, body, rec.Code, rec.Body)
		}
		if rec.Code < 400 {
			return
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("POST %s %q: Content-Type %q, want application/problem+json", p, body, ct)
		}
		var prob struct {
			Status    int    `json:"status"`
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &prob); err != nil || prob.Status != rec.Code || prob.Code == "" || prob.RequestID == "" {
			t.Fatalf("POST %s %q = %d %s, want a problem with status, code and request_id (%v)", p, body, rec.Code, rec.Body, err)
		}
	})
}
