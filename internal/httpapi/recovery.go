package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/authserve/authserve/internal/auth"
)

// The operations of CONTRACT section 8: email verification, password reset
// and password change.

const tagRecovery = "email and password"

// linkTokenRequest is the body of POST /api/auth/email/verify.
type linkTokenRequest struct {
	Token string `json:"token" writeOnly:"true" doc:"The token from the verification link (the part after #token=)." example:"Xq2bV9nLr4sT0uWy8zA1cD3eF5gH7iJ9kL1mN3oP5qR"`
}

type linkTokenInput struct {
	Body linkTokenRequest
}

// emailRequest is the body of resend and forgot.
type emailRequest struct {
	Email string `json:"email" doc:"The account's email, in any letter case." example:"alice@example.com"`
}

type emailInput struct {
	Body emailRequest
}

// resetRequest is the body of POST /api/auth/password/reset.
type resetRequest struct {
	Token       string `json:"token" writeOnly:"true" doc:"The token from the reset link (the part after #token=)." example:"Xq2bV9nLr4sT0uWy8zA1cD3eF5gH7iJ9kL1mN3oP5qR"`
	NewPassword string `json:"new_password" writeOnly:"true" doc:"The new password; the registration policy applies." example:"Another-Horse-43"`
}

type resetInput struct {
	Body resetRequest
}

// changeRequest is the body of POST /api/auth/password/change.
type changeRequest struct {
	CurrentPassword string `json:"current_password" writeOnly:"true" doc:"The password now in use." example:"Correct-Horse-42"`
	NewPassword     string `json:"new_password" writeOnly:"true" doc:"The new password; the registration policy applies." example:"Another-Horse-43"`
}

type changeInput struct {
	Body changeRequest
}

// acceptedMessage is the one body of every 202 of resend and forgot,
// whatever the address: the answer must not tell accounts apart.
const acceptedMessage = "If this address belongs to an account that can receive this email, it is on its way."

type accepted struct {
	Message string `json:"message" doc:"Always the same sentence, whether or not an email was sent." example:"If this address belongs to an account that can receive this email, it is on its way."`
}

type acceptedOutput struct {
	Body accepted
}

var (
	verifyExample = map[string]any{"token": "Xq2bV9nLr4sT0uWy8zA1cD3eF5gH7iJ9kL1mN3oP5qR"}
	emailExample  = map[string]any{"email": "alice@example.com"}
	resetExample  = map[string]any{"token": "Xq2bV9nLr4sT0uWy8zA1cD3eF5gH7iJ9kL1mN3oP5qR", "new_password": "Another-Horse-43"}
	changeExample = map[string]any{"current_password": "Correct-Horse-42", "new_password": "Another-Horse-43"}
)

// recoveryRoutes registers the operations of section 8.
func (s *server) recoveryRoutes(bearer []map[string][]string, authenticated huma.Middlewares) {
	api, svc := s.api, s.svc

	huma.Register(api, huma.Operation{
		OperationID: "verifyEmail", Method: http.MethodPost, Path: "/api/auth/email/verify", Tags: []string{tagRecovery},
		Summary:      "Verify an email address",
		Description:  "Spends the one-time token of a verification link and marks the account's email verified. An unknown, expired, used or malformed token gets 400 invalid_link_token, one answer for all.",
		RequestBody:  jsonBody("The token from the link APP_URL/verify-email#token=….", verifyExample),
		Responses:    s.responses(http.StatusOK, "The account, now verified.", postErrors, codeInvalidLinkToken),
		MaxBodyBytes: s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleVerifyEmail(svc))

	huma.Register(api, huma.Operation{
		OperationID: "resendVerification", Method: http.MethodPost, Path: "/api/auth/email/verify/resend", Tags: []string{tagRecovery},
		Summary:       "Send the verification email again",
		Description:   "Queues a new verification email (voiding earlier links) if the address belongs to an active, unverified account and no such email went to it within AUTH_MAIL_COOLDOWN. The answer is the same 202, in about the same time, whatever the address: it reveals nothing.",
		DefaultStatus: http.StatusAccepted,
		RequestBody:   jsonBody("The account's email.", emailExample),
		Responses:     s.responses(http.StatusAccepted, "Accepted; the same answer for every address.", postErrors),
		MaxBodyBytes:  s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleAccepted(svc.ResendVerification))

	huma.Register(api, huma.Operation{
		OperationID: "forgotPassword", Method: http.MethodPost, Path: "/api/auth/password/forgot", Tags: []string{tagRecovery},
		Summary:       "Ask for a password-reset email",
		Description:   "Queues a password-reset email (voiding earlier links) if the address belongs to an active account and no reset email went to it within AUTH_MAIL_COOLDOWN. The answer is the same 202, in about the same time, whatever the address: it reveals nothing. An SMTP outage delays the email; it never fails this call.",
		DefaultStatus: http.StatusAccepted,
		RequestBody:   jsonBody("The account's email.", emailExample),
		Responses:     s.responses(http.StatusAccepted, "Accepted; the same answer for every address.", postErrors),
		MaxBodyBytes:  s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleAccepted(svc.ForgotPassword))

	huma.Register(api, huma.Operation{
		OperationID: "resetPassword", Method: http.MethodPost, Path: "/api/auth/password/reset", Tags: []string{tagRecovery},
		Summary:       "Set a new password with a reset link",
		Description:   "Spends the one-time token of a reset link and sets the new password: every session of the account is revoked, its lockout cleared and its email marked verified; a \"password changed\" email follows. An unknown, expired, used or malformed token gets 400 invalid_link_token; of two resets racing with one token exactly one succeeds.",
		DefaultStatus: http.StatusNoContent,
		RequestBody:   jsonBody("The token from the link APP_URL/reset-password#token=… and the new password.", resetExample),
		Responses:     s.responses(http.StatusNoContent, "The password is set; log in with it.", postErrors, codeInvalidLinkToken, codeOverloaded),
		MaxBodyBytes:  s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleResetPassword(svc))

	huma.Register(api, huma.Operation{
		OperationID: "changePassword", Method: http.MethodPost, Path: "/api/auth/password/change", Tags: []string{tagRecovery},
		Summary:       "Change my password",
		Description:   "Sets a new password for the caller, who proves it with the current one. The caller's session stays; every other session of the account is revoked, its reset links voided, and a \"password changed\" email sent. A wrong current password gets 401 invalid_credentials and counts toward the lockout like a failed login.",
		DefaultStatus: http.StatusNoContent,
		Security:      bearer, Middlewares: authenticated,
		RequestBody: jsonBody("The current and the new password.", changeExample),
		Responses: s.responses(http.StatusNoContent, "The password is changed.", append(append([]string(nil), postErrors...), bearerErrors...),
			codeInvalidCredentials, codeAccountLocked, codeOverloaded),
		MaxBodyBytes: s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleChangePassword(svc))
}

func handleVerifyEmail(svc *auth.Service) func(context.Context, *linkTokenInput) (*userOutput, error) {
	return func(ctx context.Context, in *linkTokenInput) (*userOutput, error) {
		u, err := svc.VerifyEmail(ctx, in.Body.Token)
		if err != nil {
			return nil, problemFor(ctx, err)
		}
		setUserID(ctx, u.ID)
		return &userOutput{Body: userFrom(u)}, nil
	}
}

// handleAccepted serves resend and forgot: 202 and one fixed body unless
// the request itself is bad or the database is down, neither of which
// depends on the address.
func handleAccepted(op func(context.Context, string) error) func(context.Context, *emailInput) (*acceptedOutput, error) {
	return func(ctx context.Context, in *emailInput) (*acceptedOutput, error) {
		if err := op(ctx, in.Body.Email); err != nil {
			return nil, problemFor(ctx, err)
		}
		return &acceptedOutput{Body: accepted{Message: acceptedMessage}}, nil
	}
}

func handleResetPassword(svc *auth.Service) func(context.Context, *resetInput) (*struct{}, error) {
	return func(ctx context.Context, in *resetInput) (*struct{}, error) {
		if err := svc.ResetPassword(ctx, in.Body.Token, in.Body.NewPassword); err != nil {
			return nil, problemFor(ctx, err)
		}
		return &struct{}{}, nil
	}
}

func handleChangePassword(svc *auth.Service) func(context.Context, *changeInput) (*struct{}, error) {
	return func(ctx context.Context, in *changeInput) (*struct{}, error) {
		p, err := principalFrom(ctx)
		if err != nil {
			return nil, err
		}
		var c auth.Client
		if st := stateFrom(ctx); st != nil {
			c = auth.Client{IP: st.clientIP, UserAgent: st.userAgent}
		}
		if err := svc.ChangePassword(ctx, p, in.Body.CurrentPassword, in.Body.NewPassword, c); err != nil {
			return nil, problemFor(ctx, err)
		}
		return &struct{}{}, nil
	}
}
