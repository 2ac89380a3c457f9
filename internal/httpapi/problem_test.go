package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/logging"
)

func TestProblemFor(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantHeader map[string]string
		internal   bool // the cause is kept for the log
		gone       bool // the client hung up: the request's context is cancelled
	}{
		{"invalid credentials", auth.ErrInvalidCredentials, 401, codeInvalidCredentials, map[string]string{"WWW-Authenticate": "Bearer"}, false, false},
		{"missing token", errMissingToken, 401, codeMissingToken, map[string]string{"WWW-Authenticate": "Bearer"}, false, false},
		{"invalid token", auth.ErrInvalidToken, 401, codeInvalidToken, map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}, false, false},
		{"revoked session", fmt.Errorf("authenticate: %w", auth.ErrSessionRevoked), 401, codeInvalidToken, nil, false, false},
		{"expired token", fmt.Errorf("verify: %w", auth.ErrTokenExpired), 401, codeTokenExpired,
			map[string]string{"WWW-Authenticate": `Bearer error="invalid_token", error_description="token expired"`}, false, false},
		{"reused refresh token", auth.ErrRefreshReused, 401, codeRefreshTokenReused, nil, false, false},
		{"disabled", auth.ErrAccountDisabled, 403, codeAccountDisabled, nil, false, false},
		{"user gone", auth.ErrUserNotFound, 404, codeUserNotFound, nil, false, false},
		{"not found", fmt.Errorf("revoke: %w", auth.ErrNotFound), 404, codeNotFound, nil, false, false},
		{"email taken", auth.ErrEmailTaken, 409, codeUserAlreadyExists, nil, false, false},
		{"locked", &auth.RetryError{Kind: auth.ErrLocked, RetryAfter: 14*time.Minute + 100*time.Millisecond}, 429, codeAccountLocked,
			map[string]string{"Retry-After": "841"}, false, false},
		{"locked without a hint", &auth.RetryError{Kind: auth.ErrLocked}, 429, codeAccountLocked, map[string]string{"Retry-After": "1"}, false, false},
		{"unavailable", fmt.Errorf("ping: %w", auth.ErrUnavailable), 503, codeServiceUnavailable, map[string]string{"Retry-After": "5"}, false, false},
		{"circuit open", fmt.Errorf("store: %w", &auth.RetryError{Kind: auth.ErrUnavailable, RetryAfter: 29 * time.Second}), 503, codeServiceUnavailable,
			map[string]string{"Retry-After": "29"}, false, false},
		{"overloaded", &auth.RetryError{Kind: auth.ErrOverloaded, RetryAfter: 2 * time.Second}, 503, codeOverloaded, map[string]string{"Retry-After": "2"}, false, false},
		{"overloaded without a hint", auth.ErrOverloaded, 503, codeOverloaded, map[string]string{"Retry-After": "1"}, false, false},
		{"database", fmt.Errorf("insert: %w", auth.ErrDatabase), 500, codeDatabaseError, nil, true, false},
		{"unknown", errors.New("pq: relation users does not exist"), 500, codeInternalError, nil, true, false},
		{"malformed", errMalformedRequest, 400, codeMalformedRequest, nil, false, false},
		{"too large", errPayloadTooLarge, 413, codePayloadTooLarge, nil, false, false},
		{"media type", errUnsupportedMediaType, 415, codeUnsupportedMediaType, nil, false, false},
		{"route", errRouteNotFound, 404, codeNotFound, nil, false, false},
		// A client that hangs up cancels what its request waited on; that
		// is a 499 for the log and the metrics, not the server's error.
		{"client gone while hashing", fmt.Errorf("hash password: %w", context.Canceled), statusClientClosed, codeServiceUnavailable, nil, false, true},
		{"client gone during a query", fmt.Errorf("user by email: %w: %w", auth.ErrUnavailable, context.Canceled), statusClientClosed, codeServiceUnavailable, nil, false, true},
		{"domain answer after the client left", auth.ErrInvalidCredentials, 401, codeInvalidCredentials, nil, false, true},
		// With the client still there, a cancellation is a bug of ours.
		{"cancelled while the client waits", fmt.Errorf("hash password: %w", context.Canceled), 500, codeInternalError, nil, true, false},
		{"query timed out after the client left", fmt.Errorf("q: %w: %w", auth.ErrUnavailable, context.DeadlineExceeded), 503, codeServiceUnavailable, nil, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &requestState{}
			ctx := withState(logging.WithRequestID(context.Background(), "rid-1"), st)
			if tc.gone {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				cancel()
			}
			p := problemFor(ctx, tc.err)
			if p.Status != tc.wantStatus || p.Code != tc.wantCode {
				t.Errorf("problemFor(%v) = %d %s, want %d %s", tc.err, p.Status, p.Code, tc.wantStatus, tc.wantCode)
			}
			if p.RequestID != "rid-1" || p.Type != problemTypeBase+tc.wantCode || p.Title == "" || p.Detail == "" {
				t.Errorf("problemFor(%v) = %+v, want request id, type, title and detail filled in", tc.err, p)
			}
			if strings.Contains(p.Detail, tc.err.Error()) {
				t.Errorf("problemFor(%v).Detail = %q copies the error", tc.err, p.Detail)
			}
			for k, v := range tc.wantHeader {
				if got := p.headers.Get(k); got != v {
					t.Errorf("problemFor(%v) header %s = %q, want %q", tc.err, k, got, v)
				}
			}
			if got := st.cause != nil; got != tc.internal {
				t.Errorf("problemFor(%v) kept cause = %v, want %v", tc.err, got, tc.internal)
			}
		})
	}
}

func TestProblemForValidation(t *testing.T) {
	ve := &auth.ValidationError{}
	ve.Add("email", "is required")
	ve.Add("password", "must be at least 8 characters")
	ve.Add("password", "is too common")
	p := problemFor(context.Background(), fmt.Errorf("register: %w", ve))
	want := []fieldError{{"email", "is required"}, {"password", "must be at least 8 characters"}, {"password", "is too common"}}
	if p.Status != http.StatusUnprocessableEntity || p.Code != codeValidationFailed || fmt.Sprint(p.Errors) != fmt.Sprint(want) {
		t.Errorf("problemFor(validation) = %d %s %v, want 422 validation_failed %v", p.Status, p.Code, p.Errors, want)
	}
}

func TestFieldErrorsFromHuma(t *testing.T) {
	tests := []struct {
		name string
		in   error
		want fieldError
	}{
		{"type", &huma.ErrorDetail{Location: "body.email", Message: "expected string", Value: 42}, fieldError{"email", "expected string"}},
		{"required", &huma.ErrorDetail{Location: "body", Message: "expected required property password to be present"}, fieldError{"password", "is required"}},
		{"nested required", &huma.ErrorDetail{Location: "body.user", Message: "expected required property id to be present"}, fieldError{"user.id", "is required"}},
		{"unknown", &huma.ErrorDetail{Location: "body.admin", Message: "unexpected property", Value: map[string]any{"admin": true}}, fieldError{"admin", "is not a known field"}},
		{"whole body", &huma.ErrorDetail{Location: "body", Message: "expected object"}, fieldError{"body", "expected object"}},
		{"foreign error", errors.New("secret: hunter2"), fieldError{"body", "is invalid"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fieldErrorsFromHuma([]error{tc.in})
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("fieldErrorsFromHuma(%v) = %v, want [%v]", tc.in, got, tc.want)
			}
		})
	}
}

func TestProblemFromHuma(t *testing.T) {
	useProblemsInHuma()
	tests := []struct {
		status   int
		wantCode string
	}{
		{400, codeMalformedRequest},
		{408, codeMalformedRequest},
		{413, codePayloadTooLarge},
		{415, codeUnsupportedMediaType},
		{422, codeValidationFailed},
		{404, codeNotFound},
		{405, codeMethodNotAllowed},
		{500, codeInternalError},
		{406, codeInternalError},
	}
	for _, tc := range tests {
		err := huma.NewError(tc.status, "huma's own message", errors.New("detail"))
		p, ok := err.(*problem)
		if !ok {
			t.Fatalf("huma.NewError(%d) = %T, want *problem", tc.status, err)
		}
		if p.Code != tc.wantCode || p.Status != kinds[tc.wantCode].status {
			t.Errorf("huma.NewError(%d) = %d %s, want %d %s", tc.status, p.Status, p.Code, kinds[tc.wantCode].status, tc.wantCode)
		}
		if strings.Contains(p.Detail, "huma's own message") {
			t.Errorf("huma.NewError(%d) kept huma's message: %q", tc.status, p.Detail)
		}
	}
}

func TestRetrySeconds(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want int
	}{
		{0, 1}, {-time.Second, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {15 * time.Minute, 900},
	}
	for _, tc := range tests {
		if got := retrySeconds(tc.in); got != tc.want {
			t.Errorf("retrySeconds(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestCatalogueMatchesContract(t *testing.T) {
	// docs/api.md "Errors"'s table, in its order.
	want := "malformed_request 400, invalid_credentials 401, missing_token 401, invalid_token 401, token_expired 401, " +
		"refresh_token_reused 401, account_disabled 403, user_not_found 404, not_found 404, method_not_allowed 405, " +
		"user_already_exists 409, payload_too_large 413, unsupported_media_type 415, validation_failed 422, " +
		"rate_limited 429, account_locked 429, internal_error 500, database_error 500, service_unavailable 503, overloaded 503, " +
		// Section 8.
		"invalid_link_token 400, email_not_verified 403, " +
		// Section 9.
		"mfa_required 403, invalid_mfa_code 401"
	var got []string
	for _, k := range catalogue {
		got = append(got, fmt.Sprintf("%s %d", k.code, k.status))
		if k.title == "" || !strings.HasSuffix(k.detail, ".") {
			t.Errorf("%s: title %q, detail %q; want a title and a sentence", k.code, k.title, k.detail)
		}
	}
	if g := strings.Join(got, ", "); g != want {
		t.Errorf("catalogue = %s\nwant %s", g, want)
	}
}

func TestValidRequestID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"a", true}, {"A.b_c-1", true}, {strings.Repeat("x", 128), true},
		{"", false}, {strings.Repeat("x", 129), false}, {"a b", false}, {"a/b", false}, {"a\nb", false}, {"ü", false},
	}
	for _, tc := range tests {
		if got := validRequestID(tc.id); got != tc.want {
			t.Errorf("validRequestID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER   abc  ", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"Bearerabc", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		got, ok := bearerToken(tc.header)
		if got != tc.want || ok != tc.ok {
			t.Errorf("bearerToken(%q) = %q, %v, want %q, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}
