package httpapi

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// Tags group the operations in the OpenAPI document and Swagger UI.
const (
	tagAuth     = "auth"
	tagSessions = "sessions"
	tagMFA      = "mfa"
	tagKeys     = "keys"
	tagOps      = "operations"
)

// Error codes every body-carrying POST under /api/auth can produce before
// or besides its own: body rules, the rate limit and the infrastructure.
var postErrors = []string{
	codeMalformedRequest, codePayloadTooLarge, codeUnsupportedMediaType, codeValidationFailed,
	codeRateLimited, codeInternalError, codeDatabaseError, codeServiceUnavailable,
}

// Error codes every Bearer-protected operation can produce.
var bearerErrors = []string{
	codeMissingToken, codeInvalidToken, codeTokenExpired, codeUserNotFound,
	codeInternalError, codeDatabaseError, codeServiceUnavailable,
}

// bodyInMemory tells huma not to put a read deadline on the connection
// (-1 clears any): readBody has already read the body into memory, and a
// deadline left behind would cancel the request's context mid-handler.
// huma's own size check (MaxBodyBytes) is set one byte above ours so that
// it never fires.
const bodyInMemory = -1

// routes registers every operation of the API.
func (s *server) routes() {
	api, svc := s.api, s.svc
	bearer := []map[string][]string{{bearerScheme: {}}}
	authenticated := huma.Middlewares{requireBearer(svc)}

	huma.Register(api, huma.Operation{
		OperationID: "register", Method: http.MethodPost, Path: "/api/auth/register", Tags: []string{tagAuth},
		Summary:       "Create an account",
		Description:   "Creates an active account. Every broken input rule is listed in the 422 response's errors. Emails are unique case-insensitively.",
		DefaultStatus: http.StatusCreated,
		RequestBody:   jsonBody("The new account.", registerExample),
		Responses:     s.responses(http.StatusCreated, "The new account.", postErrors, codeUserAlreadyExists, codeOverloaded),
		MaxBodyBytes:  s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleRegister(svc))

	huma.Register(api, huma.Operation{
		OperationID: "login", Method: http.MethodPost, Path: "/api/auth/login", Tags: []string{tagAuth},
		Summary:      "Log in",
		Description:  "Exchanges an email and password for an access token and a refresh token, starting a login session. A wrong password and an unknown email fail alike. Repeated failures for one email lock it for that client address (429 account_locked). For an account with an active second factor the right password issues no tokens: 403 mfa_required carries an mfa_token for POST /api/auth/mfa/verify.",
		RequestBody:  jsonBody("The account's credentials.", loginExample),
		Responses:    s.responses(http.StatusOK, "Tokens and the account.", postErrors, codeInvalidCredentials, codeAccountDisabled, codeEmailNotVerified, codeAccountLocked, codeOverloaded, codeMFARequired),
		MaxBodyBytes: s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleLogin(svc))

	huma.Register(api, huma.Operation{
		OperationID: "refresh", Method: http.MethodPost, Path: "/api/auth/refresh", Tags: []string{tagAuth},
		Summary:      "Refresh tokens",
		Description:  "Spends a refresh token and returns a new pair (rotation). A spent token presented again after the reuse interval revokes its whole login session (401 refresh_token_reused).",
		RequestBody:  jsonBody("The refresh token to spend.", refreshExample),
		Responses:    s.responses(http.StatusOK, "A new token pair and the account.", postErrors, codeInvalidToken, codeTokenExpired, codeRefreshTokenReused, codeAccountDisabled),
		MaxBodyBytes: s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleRefresh(svc))

	huma.Register(api, huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: "/api/auth/logout", Tags: []string{tagAuth},
		Summary:      "Log out",
		Description:  "Revokes the login session of a refresh token. As in RFC 7009, an unknown, expired or already revoked token also gets 204.",
		RequestBody:  jsonBody("The refresh token whose session ends.", refreshExample),
		Responses:    s.responses(http.StatusNoContent, "The session is over (or there was none).", postErrors),
		MaxBodyBytes: s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleLogout(svc))

	huma.Register(api, huma.Operation{
		OperationID: "getMe", Method: http.MethodGet, Path: "/api/auth/me", Tags: []string{tagAuth},
		Summary:     "The current user",
		Description: "Returns the account behind the Bearer access token.",
		Security:    bearer, Middlewares: authenticated,
		Responses: s.responses(http.StatusOK, "The account.", bearerErrors),
	}, handleMe())

	huma.Register(api, huma.Operation{
		OperationID: "listSessions", Method: http.MethodGet, Path: "/api/auth/sessions", Tags: []string{tagSessions},
		Summary:     "List my sessions",
		Description: "Lists the caller's live login sessions, newest first; current marks the session of the token used.",
		Security:    bearer, Middlewares: authenticated,
		Responses: s.responses(http.StatusOK, "The live sessions, newest first.", bearerErrors),
	}, handleSessions(svc))

	huma.Register(api, huma.Operation{
		OperationID: "revokeSession", Method: http.MethodDelete, Path: "/api/auth/sessions/{id}", Tags: []string{tagSessions},
		Summary:     "Revoke one of my sessions",
		Description: "Ends one of the caller's login sessions: its refresh tokens stop working and its access tokens are refused. An id that is not one of the caller's live sessions gets 404 not_found.",
		Security:    bearer, Middlewares: authenticated,
		Responses: s.responses(http.StatusNoContent, "The session is revoked.", bearerErrors, codeNotFound),
	}, handleRevokeSession(svc))

	s.mfaRoutes(bearer, authenticated)

	huma.Register(api, huma.Operation{
		OperationID: "getJWKS", Method: http.MethodGet, Path: "/.well-known/jwks.json", Tags: []string{tagKeys},
		Summary:     "Public signing keys",
		Description: "The JSON Web Key Set (RFC 7517) that verifies access tokens, earlier keys of a rotation included. Empty when tokens are signed with an HS256 secret. Cacheable for 5 minutes.",
		Responses:   s.jwksResponses(),
	}, handleJWKS(s.jwks))

	huma.Register(api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{tagOps},
		Summary:     "Liveness",
		Description: "200 while the process serves HTTP; touches no dependency.",
		Responses:   s.responses(http.StatusOK, "The process is alive.", nil, codeInternalError),
	}, handleHealthz())

	huma.Register(api, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{tagOps},
		Summary:     "Readiness",
		Description: "200 when the database answers and the circuit breaker is not open; otherwise 503 service_unavailable with Retry-After. Both list the state of each dependency in checks.",
		Responses:   s.responses(http.StatusOK, "Ready to serve.", nil, codeServiceUnavailable, codeInternalError),
	}, handleReadyz(s.ready, s.log))

	huma.Register(api, huma.Operation{
		OperationID: "metrics", Method: http.MethodGet, Path: "/metrics", Tags: []string{tagOps},
		Summary:     "Prometheus metrics",
		Description: "Metrics in the Prometheus text format: requests per route and status, authentication events, database calls and the circuit breaker. 404 when metrics are disabled.",
		Responses:   s.metricsResponses(),
	}, handleMetrics(s.metrics))

	s.recoveryRoutes(bearer, authenticated)

	s.documentStatic()
}

// jsonBody documents a required JSON request body with one example.
func jsonBody(desc string, example any) *huma.RequestBody {
	return &huma.RequestBody{
		Description: desc + " JSON only (Content-Type: application/json), at most 64 KiB, no unknown fields. An empty body or one that is not a single JSON value gets 400 malformed_request.",
		Required:    true,
		Content: map[string]*huma.MediaType{
			"application/json": {Example: example},
		},
	}
}

var (
	registerExample = map[string]any{"email": "alice@example.com", "password": "Correct-Horse-42", "first_name": "Alice", "last_name": "Liddell"}
	loginExample    = map[string]any{"email": "alice@example.com", "password": "Correct-Horse-42"}
	refreshExample  = map[string]any{"refresh_token": "q3Zt0d1oYl0m8a6pV0b2fQkq5x0b9n4TzWcYH2rR8sE"}
)
