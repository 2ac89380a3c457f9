package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/logging"
)

// This file is the one place where errors become RFC 9457 problem details.
// Every error response of the service, whether it comes from the domain,
// from huma (body parsing and schema validation), from the router (404,
// 405), from a middleware (415, 413, 429) or from a recovered panic, is
// built by problemFor or newProblem and written as application/problem+json.

// problemTypeBase prefixes every problem's code to form its type URI. The
// URIs are identifiers (RFC 9457 §3.1.1); they are documented in the
// OpenAPI description rather than served.
const problemTypeBase = "https://authserve.dev/problems/"

// problemContentType is the media type of every error response.
const problemContentType = "application/problem+json"

// defaultUnavailableRetry is the Retry-After of an outage whose error does
// not say when to come back.
const defaultUnavailableRetry = 5 * time.Second

// defaultOverloadedRetry is the Retry-After of a full hashing queue whose
// error does not say when to come back: queues drain fast.
const defaultOverloadedRetry = time.Second

// The stable error codes (docs/api.md "Errors").
const (
	codeMalformedRequest     = "malformed_request"
	codeInvalidCredentials   = "invalid_credentials"
	codeMissingToken         = "missing_token"
	codeInvalidToken         = "invalid_token"
	codeTokenExpired         = "token_expired"
	codeRefreshTokenReused   = "refresh_token_reused"
	codeAccountDisabled      = "account_disabled"
	codeUserNotFound         = "user_not_found"
	codeNotFound             = "not_found"
	codeMethodNotAllowed     = "method_not_allowed"
	codeUserAlreadyExists    = "user_already_exists"
	codePayloadTooLarge      = "payload_too_large"
	codeUnsupportedMediaType = "unsupported_media_type"
	codeValidationFailed     = "validation_failed"
	codeRateLimited          = "rate_limited"
	codeAccountLocked        = "account_locked"
	codeInternalError        = "internal_error"
	codeDatabaseError        = "database_error"
	codeServiceUnavailable   = "service_unavailable"
	codeOverloaded           = "overloaded"
	codeInvalidLinkToken     = "invalid_link_token"
	codeEmailNotVerified     = "email_not_verified"
	codeMFARequired          = "mfa_required"
	codeInvalidMFACode       = "invalid_mfa_code"
)

// problemKind is the fixed part of a problem: everything but the request
// id, the field errors and the headers.
type problemKind struct {
	code   string
	status int
	title  string
	// detail is a fixed sentence: details never echo an error's text, which
	// could carry SQL, driver messages or input.
	detail string
}

// catalogue lists every code in docs/api.md "Errors"'s order; the OpenAPI enum of
// the code field and the documentation are generated from it.
var catalogue = []problemKind{
	{codeMalformedRequest, http.StatusBadRequest, "Malformed request", "The request body is missing or is not a single valid JSON value."},
	{codeInvalidCredentials, http.StatusUnauthorized, "Invalid credentials", "The email or password is incorrect."},
	{codeMissingToken, http.StatusUnauthorized, "Missing token", "This endpoint needs an access token in an 'Authorization: Bearer' header."},
	{codeInvalidToken, http.StatusUnauthorized, "Invalid token", "The token is invalid, tampered with, of the wrong type, or its session has ended."},
	{codeTokenExpired, http.StatusUnauthorized, "Token expired", "The token has expired."},
	{codeRefreshTokenReused, http.StatusUnauthorized, "Refresh token reused", "This refresh token was already used; every token of its login has been revoked."},
	{codeAccountDisabled, http.StatusForbidden, "Account disabled", "This account is disabled."},
	{codeUserNotFound, http.StatusNotFound, "User not found", "The user behind this token no longer exists."},
	{codeNotFound, http.StatusNotFound, "Not found", "There is no such resource."},
	{codeMethodNotAllowed, http.StatusMethodNotAllowed, "Method not allowed", "This method is not allowed on this resource; the Allow header lists those that are."},
	{codeUserAlreadyExists, http.StatusConflict, "User already exists", "An account with this email already exists."},
	{codePayloadTooLarge, http.StatusRequestEntityTooLarge, "Payload too large", "The request is larger than the server accepts."},
	{codeUnsupportedMediaType, http.StatusUnsupportedMediaType, "Unsupported media type", "Request bodies must be JSON sent with 'Content-Type: application/json'."},
	{codeValidationFailed, http.StatusUnprocessableEntity, "Validation failed", "The request breaks one or more input rules, listed in errors."},
	{codeRateLimited, http.StatusTooManyRequests, "Too many requests", "This client sent too many requests; retry after the number of seconds in Retry-After."},
	{codeAccountLocked, http.StatusTooManyRequests, "Account locked", "Too many failed logins; retry after the number of seconds in Retry-After."},
	{codeInternalError, http.StatusInternalServerError, "Internal error", "Something went wrong on our side; the error was logged with this request's id."},
	{codeDatabaseError, http.StatusInternalServerError, "Database error", "A database error occurred; it was logged with this request's id."},
	{codeServiceUnavailable, http.StatusServiceUnavailable, "Service unavailable", "The service is temporarily unavailable; retry after the number of seconds in Retry-After."},
	{codeOverloaded, http.StatusServiceUnavailable, "Overloaded", "The server is busy; retry after the number of seconds in Retry-After."},
	{codeInvalidLinkToken, http.StatusBadRequest, "Invalid link token", "This link is invalid, has expired or was already used; ask for a new one."},
	{codeEmailNotVerified, http.StatusForbidden, "Email not verified", "This account's email address is not verified yet; open the link in the verification email, or ask for a new one."},
	{codeMFARequired, http.StatusForbidden, "MFA required", "A second factor is needed: exchange mfa_token and a code at POST /api/auth/mfa/verify, or log in again with one for this operation."},
	{codeInvalidMFACode, http.StatusUnauthorized, "Invalid MFA code", "The code is wrong, already used or expired, or the mfa_token is unknown, spent or expired."},
}

// kinds indexes the catalogue by code.
var kinds = func() map[string]problemKind {
	m := make(map[string]problemKind, len(catalogue))
	for _, k := range catalogue {
		m[k.code] = k
	}
	return m
}()

// problem is an RFC 9457 problem details object with a stable code
// and request id. It implements huma's StatusError, HeadersError and
// ContentTypeFilter so that handlers can return it as their error.
type problem struct {
	Type      string            `json:"type" format:"uri" doc:"A URI identifying the problem type: https://authserve.dev/problems/ followed by the code." example:"https://authserve.dev/problems/validation_failed"`
	Title     string            `json:"title" doc:"A short summary of the problem type; fixed per code." example:"Validation failed"`
	Status    int               `json:"status" doc:"The HTTP status code of the response." example:"422"`
	Detail    string            `json:"detail" doc:"A human-readable explanation; a fixed sentence per code." example:"The request breaks one or more input rules, listed in errors."`
	Code      string            `json:"code" doc:"The stable, machine-readable error code; clients switch on this." example:"validation_failed"`
	RequestID string            `json:"request_id" doc:"The id of this request, also in the X-Request-ID header and in every log line of the request." example:"0f8c1c1e3b2a4d5e9f6a7b8c9d0e1f2a"`
	Errors    []fieldError      `json:"errors,omitempty" nullable:"false" doc:"Every broken input rule (validation_failed only)."`
	Checks    map[string]string `json:"checks,omitempty" doc:"The state of each dependency (GET /readyz only)." example:"{\"database\":\"unavailable\",\"breaker\":\"open\"}"`
	// The members of a login's mfa_required (CONTRACT section 9).
	MFAToken    string   `json:"mfa_token,omitempty" doc:"mfa_required from a login only: the opaque token to send with a code to POST /api/auth/mfa/verify; single use, valid 5 minutes, from the same client." example:"Jx7m2bqQ0uZfY3h8sVt1Kc9aWnE4dRpL6oGi5yXzB0M"`
	FactorTypes []string `json:"factor_types,omitempty" nullable:"false" doc:"mfa_required from a login only: the types of the account's active factors." example:"[\"totp\"]"`

	headers http.Header
}

// fieldError is one broken input rule.
type fieldError struct {
	Field   string `json:"field" doc:"The request body field, e.g. email, password, refresh_token." example:"password"`
	Message string `json:"message" doc:"What is wrong with it." example:"must be at least 8 characters"`
}

// Error implements error; it never reaches a client.
func (p *problem) Error() string { return p.Code }

// GetStatus implements huma.StatusError.
func (p *problem) GetStatus() int { return p.Status }

// GetHeaders implements huma.HeadersError: huma copies these onto the
// response before writing the body.
func (p *problem) GetHeaders() http.Header { return p.headers }

// ContentType implements huma.ContentTypeFilter.
func (p *problem) ContentType(string) string { return problemContentType }

// newProblem returns the problem of code for the request of ctx.
func newProblem(ctx context.Context, code string) *problem {
	k, ok := kinds[code]
	if !ok {
		k = kinds[codeInternalError]
	}
	return &problem{
		Type:      problemTypeBase + k.code,
		Title:     k.title,
		Status:    k.status,
		Detail:    k.detail,
		Code:      k.code,
		RequestID: requestIDFrom(ctx),
	}
}

// headersTooLarge is the problem of a request whose headers are over the
// limit: the code of an oversized request, with the status
// HTTP has for headers (RFC 6585).
func headersTooLarge(ctx context.Context) *problem {
	p := newProblem(ctx, codePayloadTooLarge)
	p.Status = http.StatusRequestHeaderFieldsTooLarge
	return p
}

// statusClientClosed is nginx's 499 "client closed request": the status
// the access log and the metrics give a request whose client hung up
// before its answer was ready. No client ever reads it.
const statusClientClosed = 499

// clientClosed is the problem of a request abandoned by its client: the
// work it waited on (a hashing slot, a database call) was cancelled with
// the connection. It is not the server's fault, so it is neither a 5xx in
// the metrics nor an error line with a stack in the log.
func clientClosed(ctx context.Context) *problem {
	p := newProblem(ctx, codeServiceUnavailable)
	p.Status = statusClientClosed
	p.Title = "Client Closed Request"
	p.Detail = "The client closed the connection before the answer was ready."
	return p
}

// withHeader sets a response header of p and returns p.
func (p *problem) withHeader(name, value string) *problem {
	if p.headers == nil {
		p.headers = make(http.Header, 2)
	}
	p.headers.Set(name, value)
	return p
}

// withRetryAfter sets Retry-After to d in whole seconds, rounded up and
// at least one, as RFC 9110 wants an integer of seconds.
func (p *problem) withRetryAfter(d time.Duration) *problem {
	return p.withHeader("Retry-After", strconv.Itoa(retrySeconds(d)))
}

func retrySeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// HTTP-layer failures that are not domain errors; problemFor maps them
// like the domain's sentinels.
var (
	errMissingToken         = errors.New("missing bearer token")
	errMalformedRequest     = errors.New("malformed request body")
	errPayloadTooLarge      = errors.New("request body too large")
	errUnsupportedMediaType = errors.New("unsupported media type")
	errRouteNotFound        = errors.New("no such route")
)

// Values of WWW-Authenticate (RFC 6750 §3). RFC 9110 requires the header
// on every 401.
const (
	wwwAuthBearer       = `Bearer`
	wwwAuthInvalidToken = `Bearer error="invalid_token"`
	wwwAuthExpiredToken = `Bearer error="invalid_token", error_description="token expired"`
	wwwAuthReusedToken  = `Bearer error="invalid_token", error_description="refresh token reused"`
)

// problemFor translates err into a problem. Unknown errors and database
// faults become a 500 whose cause and stack are recorded for the request's
// log; their text never reaches the client.
func problemFor(ctx context.Context, err error) *problem {
	if p, ok := errors.AsType[*problem](err); ok {
		return p
	}
	// net/http cancels a request's context only when its client goes
	// away (the server's base context never is), and only a context ends
	// in context.Canceled.
	if errors.Is(err, context.Canceled) && errors.Is(ctx.Err(), context.Canceled) {
		return clientClosed(ctx)
	}
	if ve, ok := errors.AsType[*auth.ValidationError](err); ok {
		p := newProblem(ctx, codeValidationFailed)
		p.Errors = make([]fieldError, 0, len(ve.Fields))
		for _, f := range ve.Fields {
			p.Errors = append(p.Errors, fieldError{Field: f.Field, Message: f.Message})
		}
		return p
	}
	switch {
	case errors.Is(err, errMissingToken):
		return newProblem(ctx, codeMissingToken).withHeader("WWW-Authenticate", wwwAuthBearer)
	case errors.Is(err, errMalformedRequest):
		return newProblem(ctx, codeMalformedRequest)
	case errors.Is(err, errPayloadTooLarge):
		return newProblem(ctx, codePayloadTooLarge)
	case errors.Is(err, errUnsupportedMediaType):
		return newProblem(ctx, codeUnsupportedMediaType)
	case errors.Is(err, errRouteNotFound):
		return newProblem(ctx, codeNotFound)
	case errors.Is(err, auth.ErrInvalidCredentials):
		return newProblem(ctx, codeInvalidCredentials).withHeader("WWW-Authenticate", wwwAuthBearer)
	case errors.Is(err, auth.ErrTokenExpired):
		return newProblem(ctx, codeTokenExpired).withHeader("WWW-Authenticate", wwwAuthExpiredToken)
	case errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrSessionRevoked):
		return newProblem(ctx, codeInvalidToken).withHeader("WWW-Authenticate", wwwAuthInvalidToken)
	case errors.Is(err, auth.ErrRefreshReused):
		return newProblem(ctx, codeRefreshTokenReused).withHeader("WWW-Authenticate", wwwAuthReusedToken)
	case errors.Is(err, auth.ErrAccountDisabled):
		return newProblem(ctx, codeAccountDisabled)
	case errors.Is(err, auth.ErrInvalidLinkToken):
		return newProblem(ctx, codeInvalidLinkToken)
	case errors.Is(err, auth.ErrEmailNotVerified):
		return newProblem(ctx, codeEmailNotVerified)
	case errors.Is(err, auth.ErrUserNotFound):
		return newProblem(ctx, codeUserNotFound)
	case errors.Is(err, auth.ErrNotFound):
		return newProblem(ctx, codeNotFound)
	case errors.Is(err, auth.ErrEmailTaken):
		return newProblem(ctx, codeUserAlreadyExists)
	case errors.Is(err, auth.ErrMFARequired):
		p := newProblem(ctx, codeMFARequired)
		if m, ok := errors.AsType[*auth.MFARequiredError](err); ok {
			p.MFAToken, p.FactorTypes = m.Token, m.FactorTypes
		}
		return p
	case errors.Is(err, auth.ErrInvalidMFACode):
		return newProblem(ctx, codeInvalidMFACode).withHeader("WWW-Authenticate", wwwAuthBearer)
	case errors.Is(err, auth.ErrLocked):
		d, _ := auth.RetryAfter(err)
		return newProblem(ctx, codeAccountLocked).withRetryAfter(d)
	case errors.Is(err, auth.ErrUnavailable):
		return newProblem(ctx, codeServiceUnavailable).withRetryAfter(retryHint(err, defaultUnavailableRetry))
	case errors.Is(err, auth.ErrOverloaded):
		return newProblem(ctx, codeOverloaded).withRetryAfter(retryHint(err, defaultOverloadedRetry))
	case errors.Is(err, auth.ErrDatabase):
		recordInternal(ctx, err)
		return newProblem(ctx, codeDatabaseError)
	default:
		recordInternal(ctx, err)
		return newProblem(ctx, codeInternalError)
	}
}

func retryHint(err error, def time.Duration) time.Duration {
	if d, ok := auth.RetryAfter(err); ok && d > 0 {
		return d
	}
	return def
}

// writeProblem writes p as the response. It is used where no huma
// operation is involved (router misses, middlewares, panics) and by the
// bearer middleware; huma writes the problems handlers return itself.
func writeProblem(w http.ResponseWriter, p *problem) {
	h := w.Header()
	for k, v := range p.headers {
		h[k] = v
	}
	h.Set("Content-Type", problemContentType)
	h.Del("Content-Length")
	w.WriteHeader(p.Status)
	// An encoding error here means the client went away.
	_ = json.NewEncoder(w).Encode(p)
}

// humaErrorsOnce installs the problem type as huma's error type.
var humaErrorsOnce sync.Once

// useProblemsInHuma makes huma build problems for the errors it produces
// itself: unparsable bodies, schema violations and failed reads. Huma
// exposes this only as package variables; authserve has one huma API per
// process, and every one of them wants this same function, so setting it
// once is safe.
func useProblemsInHuma() {
	humaErrorsOnce.Do(func() {
		huma.NewError = func(status int, _ string, errs ...error) huma.StatusError {
			return problemFromHuma(context.Background(), status, errs)
		}
		huma.NewErrorWithContext = func(hctx huma.Context, status int, _ string, errs ...error) huma.StatusError {
			ctx := context.Background()
			if hctx != nil {
				ctx = hctx.Context()
			}
			return problemFromHuma(ctx, status, errs)
		}
		// Field names are case-sensitive: {"EMAIL": …} is an unknown field,
		// not an alias of email.
		huma.ValidateStrictCasing = true
	})
}

// problemFromHuma maps an error huma raised by its status. Huma's own
// messages are not passed on except as per-field validation messages,
// and the values it echoes (which may be passwords) are dropped.
func problemFromHuma(ctx context.Context, status int, errs []error) *problem {
	var code string
	switch status {
	case 0:
		// huma asks for a zero-value error to derive the error schema.
		return &problem{}
	case http.StatusBadRequest, http.StatusRequestTimeout:
		code = codeMalformedRequest
	case http.StatusRequestEntityTooLarge:
		code = codePayloadTooLarge
	case http.StatusUnsupportedMediaType:
		code = codeUnsupportedMediaType
	case http.StatusUnprocessableEntity:
		p := newProblem(ctx, codeValidationFailed)
		p.Errors = fieldErrorsFromHuma(errs)
		return p
	case http.StatusNotFound:
		code = codeNotFound
	case http.StatusMethodNotAllowed:
		code = codeMethodNotAllowed
	default:
		recordInternal(ctx, fmt.Errorf("huma error %d: %w", status, errors.Join(errs...)))
		code = codeInternalError
	}
	return newProblem(ctx, code)
}

// requiredPrefix and requiredSuffix frame huma's message for a missing
// required property, which huma reports at the object's location.
var requiredPrefix, requiredSuffix = func() (string, string) {
	before, after, _ := strings.Cut(validation.MsgExpectedRequiredProperty, "%s")
	return before, after
}()

// fieldErrorsFromHuma turns huma's validation details into docs/api.md "Errors"'s
// {"field", "message"} list: "body.email" becomes "email", and a missing
// property becomes an error of that property.
func fieldErrorsFromHuma(errs []error) []fieldError {
	out := make([]fieldError, 0, len(errs))
	for _, err := range errs {
		if err == nil {
			continue
		}
		d, ok := errors.AsType[*huma.ErrorDetail](err)
		if !ok {
			out = append(out, fieldError{Field: "body", Message: "is invalid"})
			continue
		}
		field := strings.TrimPrefix(strings.TrimPrefix(d.Location, "body"), ".")
		msg := d.Message
		switch {
		case strings.HasPrefix(msg, requiredPrefix) && strings.HasSuffix(msg, requiredSuffix):
			name := strings.TrimSuffix(strings.TrimPrefix(msg, requiredPrefix), requiredSuffix)
			if field != "" {
				name = field + "." + name
			}
			field, msg = name, "is required"
		case msg == validation.MsgUnexpectedProperty:
			msg = "is not a known field"
		}
		if field == "" {
			field = "body"
		}
		out = append(out, fieldError{Field: field, Message: msg})
	}
	return out
}

// recordInternal keeps the cause of a 500 and the stack where it was
// noticed, for the request's log; the response shows neither.
func recordInternal(ctx context.Context, err error) {
	if st := stateFrom(ctx); st != nil && st.cause == nil {
		st.cause = err
		st.stack = logging.Stack()
	}
}

// logInternal writes the error line of a 500.
func logInternal(ctx context.Context, log *slog.Logger, msg string, cause error, stack slog.Attr) {
	log.LogAttrs(ctx, slog.LevelError, msg, slog.String("error", cause.Error()), stack)
}
