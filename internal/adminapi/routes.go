package adminapi

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/httpapi"
)

// Tags group the operations in the document.
const (
	tagUsers = "users"
	tagAudit = "audit"
)

// Error codes every operation can produce: the key check and the
// infrastructure.
var keyErrors = []string{
	httpapi.CodeMissingToken, httpapi.CodeInvalidToken,
	httpapi.CodeInternalError, httpapi.CodeDatabaseError, httpapi.CodeServiceUnavailable,
}

// Error codes of the operations with a body, besides keyErrors.
var bodyErrors = []string{
	httpapi.CodeMalformedRequest, httpapi.CodePayloadTooLarge, httpapi.CodeUnsupportedMedia, httpapi.CodeValidationFailed,
}

func codes(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var (
	createExample = map[string]any{"email": "alice@example.com", "password": "Correct-Horse-42", "first_name": "Alice", "last_name": "Liddell"}
	patchExample  = map[string]any{"is_active": false}
)

// routes registers every operation of the admin API.
func routes(api huma.API, doc *httpapi.Doc, svc *auth.Service) {
	security := []map[string][]string{{"bearer": {}}}
	key := huma.Middlewares{requireKey(svc)}
	notFound := []string{httpapi.CodeUserNotFound}

	huma.Register(api, huma.Operation{
		OperationID: "adminListUsers", Method: http.MethodGet, Path: "/admin/users", Tags: []string{tagUsers},
		Summary:     "List accounts",
		Description: "Accounts in creation order, a page at a time (keyset pagination: stable while accounts are added). ?email= keeps those whose email begins with it. A bad cursor or a limit under 1 is 422; a limit over 500 is capped at 500.",
		Security:    security, Middlewares: key,
		Responses: doc.Responses(http.StatusOK, "A page of accounts.", codes(keyErrors, []string{httpapi.CodeValidationFailed})...),
	}, handleListUsers(svc))

	huma.Register(api, huma.Operation{
		OperationID: "adminCreateUser", Method: http.MethodPost, Path: "/admin/users", Tags: []string{tagUsers},
		Summary:     "Create an account",
		Description: "Creates an active account from the registration body, under the same password policy as POST /api/auth/register. A taken email is 409 user_already_exists.",
		Security:    security, Middlewares: key,
		DefaultStatus: http.StatusCreated,
		RequestBody:   doc.JSONBody("The new account.", createExample),
		Responses:     doc.Responses(http.StatusCreated, "The new account.", codes(keyErrors, bodyErrors, []string{httpapi.CodeUserAlreadyExists, httpapi.CodeOverloaded})...),
		MaxBodyBytes:  doc.MaxBodyBytes(), BodyReadTimeout: httpapi.BodyReadTimeout,
	}, handleCreateUser(svc))

	huma.Register(api, huma.Operation{
		OperationID: "adminGetUser", Method: http.MethodGet, Path: "/admin/users/{id}", Tags: []string{tagUsers},
		Summary:     "Read an account",
		Description: "The account, with whether a login lock holds its email and whether it has a second factor.",
		Security:    security, Middlewares: key,
		Responses: doc.Responses(http.StatusOK, "The account.", codes(keyErrors, notFound, []string{httpapi.CodeValidationFailed})...),
	}, handleGetUser(svc))

	huma.Register(api, huma.Operation{
		OperationID: "adminUpdateUser", Method: http.MethodPatch, Path: "/admin/users/{id}", Tags: []string{tagUsers},
		Summary:     "Change an account",
		Description: "Changes is_active, email_verified and the names; absent fields stay as they are, unknown ones are 422. Disabling an account revokes every session of it in the same transaction, as `authserve user disable` does.",
		Security:    security, Middlewares: key,
		RequestBody:  doc.JSONBody("The fields to change.", patchExample),
		Responses:    doc.Responses(http.StatusOK, "The account as changed.", codes(keyErrors, bodyErrors, notFound)...),
		MaxBodyBytes: doc.MaxBodyBytes(), BodyReadTimeout: httpapi.BodyReadTimeout,
	}, handlePatchUser(svc))

	huma.Register(api, huma.Operation{
		OperationID: "adminDeleteUser", Method: http.MethodDelete, Path: "/admin/users/{id}", Tags: []string{tagUsers},
		Summary:     "Delete an account",
		Description: "Deletes the account with its sessions; its audit events stay.",
		Security:    security, Middlewares: key,
		Responses: doc.Responses(http.StatusNoContent, "The account is gone.", codes(keyErrors, notFound, []string{httpapi.CodeValidationFailed})...),
	}, handleDeleteUser(svc))

	huma.Register(api, huma.Operation{
		OperationID: "adminUnlockUser", Method: http.MethodPost, Path: "/admin/users/{id}/unlock", Tags: []string{tagUsers},
		Summary:     "Unlock an account",
		Description: "Clears every login lock and failure count of the account's email: the account-wide one and those of each client address, wherever they are kept (database, Redis).",
		Security:    security, Middlewares: key,
		Responses: doc.Responses(http.StatusNoContent, "The email is unlocked.", codes(keyErrors, notFound, []string{httpapi.CodeValidationFailed})...),
	}, handleUnlock(svc))

	huma.Register(api, huma.Operation{
		OperationID: "adminSendPasswordReset", Method: http.MethodPost, Path: "/admin/users/{id}/password-reset", Tags: []string{tagUsers},
		Summary:     "Email a password-reset link",
		Description: "Queues the password-reset email of POST /api/auth/password/forgot for the account, through the outbox. queued is false while an earlier email to the address is within its cooldown (AUTH_MAIL_COOLDOWN). A disabled account is 403 account_disabled.",
		Security:    security, Middlewares: key,
		DefaultStatus: http.StatusAccepted,
		Responses:     doc.Responses(http.StatusAccepted, "Whether the email was queued.", codes(keyErrors, notFound, []string{httpapi.CodeAccountDisabled, httpapi.CodeValidationFailed})...),
	}, handlePasswordReset(svc))

	huma.Register(api, huma.Operation{
		OperationID: "adminRemoveMFA", Method: http.MethodDelete, Path: "/admin/users/{id}/mfa", Tags: []string{tagUsers},
		Summary:     "Remove an account's second factors",
		Description: "Removes every second factor and recovery code of the account, as `authserve user mfa-reset` does, for a user who lost their authenticator and their codes; the next login needs the password only. Sessions are left alone.",
		Security:    security, Middlewares: key,
		Responses: doc.Responses(http.StatusOK, "How many factors were removed.", codes(keyErrors, notFound, []string{httpapi.CodeValidationFailed})...),
	}, handleRemoveMFA(svc))

	huma.Register(api, huma.Operation{
		OperationID: "adminListSessions", Method: http.MethodGet, Path: "/admin/users/{id}/sessions", Tags: []string{tagUsers},
		Summary:     "List an account's sessions",
		Description: "The account's live login sessions, newest first.",
		Security:    security, Middlewares: key,
		Responses: doc.Responses(http.StatusOK, "The live sessions.", codes(keyErrors, notFound, []string{httpapi.CodeValidationFailed})...),
	}, handleUserSessions(svc))

	huma.Register(api, huma.Operation{
		OperationID: "adminRevokeSessions", Method: http.MethodDelete, Path: "/admin/users/{id}/sessions", Tags: []string{tagUsers},
		Summary:     "Log an account out everywhere",
		Description: "Revokes every live session of the account: its refresh tokens stop working and its access tokens are refused.",
		Security:    security, Middlewares: key,
		Responses: doc.Responses(http.StatusOK, "How many sessions were revoked.", codes(keyErrors, notFound, []string{httpapi.CodeValidationFailed})...),
	}, handleRevokeSessions(svc))

	huma.Register(api, huma.Operation{
		OperationID: "adminListAudit", Method: http.MethodGet, Path: "/admin/audit", Tags: []string{tagAudit},
		Summary:     "Query the audit log",
		Description: "Security events, newest first, a page at a time: registrations, logins (failed ones included), refresh-token reuse, logouts, session revocations, CLI and admin actions. Filter by ?user_id=, ?event= and ?since= (RFC 3339). A bad cursor, time or a limit under 1 is 422; a limit over 500 is capped at 500.",
		Security:    security, Middlewares: key,
		Responses: doc.Responses(http.StatusOK, "A page of events.", codes(keyErrors, []string{httpapi.CodeValidationFailed})...),
	}, handleAudit(svc))
}
