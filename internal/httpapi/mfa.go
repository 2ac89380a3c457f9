package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/authserve/authserve/internal/auth"
)

// The multi-factor authentication operations (CONTRACT section 9).

// enrolOutput is the answer of POST /api/auth/mfa/totp.
type enrolOutput struct {
	CacheControl string `header:"Cache-Control" doc:"Always no-store: the secret must not be cached." example:"no-store"`
	Body         struct {
		FactorID   string `json:"factor_id" doc:"The new factor, pending until activated." example:"s1Gd4mW0rXkQy8cZ2pV7bA"`
		Secret     string `json:"secret" doc:"The shared secret, base32: what a user types into an authenticator app by hand. Shown this once." example:"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"`
		OTPAuthURI string `json:"otpauth_uri" doc:"The otpauth:// URI to show as a QR code (SHA1, 6 digits, 30 seconds)." example:"otpauth://totp/authserve:alice@example.com?algorithm=SHA1&digits=6&issuer=authserve&period=30&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"`
	}
}

// codeRequest is the body of POST /api/auth/mfa/totp/{factor_id}/activate.
type codeRequest struct {
	Code string `json:"code" writeOnly:"true" doc:"The 6-digit code the authenticator app shows now. Anything else (letters, other lengths) is a wrong code: 401 invalid_mfa_code." example:"492039"`
}

type activateInput struct {
	FactorID string `path:"factor_id" maxLength:"64" doc:"The factor_id from POST /api/auth/mfa/totp." example:"s1Gd4mW0rXkQy8cZ2pV7bA"`
	Body     codeRequest
}

// recoveryCodesOutput carries recovery codes, shown once.
type recoveryCodesOutput struct {
	CacheControl string `header:"Cache-Control" doc:"Always no-store." example:"no-store"`
	Body         struct {
		RecoveryCodes []string `json:"recovery_codes" nullable:"false" doc:"10 single-use recovery codes, shown this once: each replaces a TOTP code at POST /api/auth/mfa/verify. Earlier codes stop working." example:"[\"k3vq-7d2m-xw4p-a9cf\",\"p2hs-6ynt-c4rb-3kze\"]"`
	}
}

// factor is one of the caller's active factors.
type factor struct {
	ID         string     `json:"id" doc:"The factor's id, for DELETE /api/auth/mfa/factors/{id}." example:"s1Gd4mW0rXkQy8cZ2pV7bA"`
	Type       string     `json:"type" enum:"totp" doc:"totp: an authenticator app." example:"totp"`
	CreatedAt  time.Time  `json:"created_at" doc:"When enrolment started (RFC 3339, UTC)." example:"2026-11-28T14:03:13Z"`
	LastUsedAt *time.Time `json:"last_used_at" doc:"The last login it completed (RFC 3339, UTC); null before the first." example:"2026-11-28T14:18:02Z"`
}

type factorsOutput struct {
	Body []factor `nullable:"false"`
}

type factorIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"A factor id from GET /api/auth/mfa/factors." example:"s1Gd4mW0rXkQy8cZ2pV7bA"`
}

// verifyRequest is the body of POST /api/auth/mfa/verify.
type verifyRequest struct {
	MFAToken string `json:"mfa_token" writeOnly:"true" doc:"The mfa_token of the login's 403 mfa_required answer." example:"Jx7m2bqQ0uZfY3h8sVt1Kc9aWnE4dRpL6oGi5yXzB0M"`
	Code     string `json:"code" writeOnly:"true" doc:"A 6-digit code from the authenticator app, or one recovery code (xxxx-xxxx-xxxx-xxxx, any case, hyphens optional). Anything else is a wrong code: 401 invalid_mfa_code." example:"492039"`
}

type verifyInput struct {
	Body verifyRequest
}

var (
	activateExample  = map[string]any{"code": "492039"}
	mfaVerifyExample = map[string]any{"mfa_token": "Jx7m2bqQ0uZfY3h8sVt1Kc9aWnE4dRpL6oGi5yXzB0M", "code": "492039"}
)

// mfaRoutes registers the MFA operations.
func (s *server) mfaRoutes(bearer []map[string][]string, authenticated huma.Middlewares) {
	api, svc := s.api, s.svc

	huma.Register(api, huma.Operation{
		OperationID: "enrolTOTP", Method: http.MethodPost, Path: "/api/auth/mfa/totp", Tags: []string{tagMFA},
		Summary:       "Start enrolling an authenticator app",
		Description:   "Creates a pending TOTP factor and returns its secret and otpauth:// URI, shown this once; it replaces an earlier pending one. It is not used for logins until activated with a first code. No request body. An account that already has an active factor needs an aal2 token (403 mfa_required otherwise).",
		DefaultStatus: http.StatusCreated,
		Security:      bearer, Middlewares: authenticated,
		Responses:    s.responses(http.StatusCreated, "The pending factor and its secret.", bearerErrors, codeMFARequired, codeRateLimited, codeUnsupportedMediaType, codePayloadTooLarge),
		MaxBodyBytes: s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleEnrolTOTP(svc))

	huma.Register(api, huma.Operation{
		OperationID: "activateTOTP", Method: http.MethodPost, Path: "/api/auth/mfa/totp/{factor_id}/activate", Tags: []string{tagMFA},
		Summary:     "Activate an authenticator app",
		Description: "Activates the caller's pending factor with a first code from the app and returns 10 recovery codes, shown this once (earlier ones stop working). From now on logins take two steps. A factor id that is not one of the caller's gets 404 not_found; an already active one, 422 validation_failed; a wrong code, 401 invalid_mfa_code.",
		RequestBody: jsonBody("A code from the app.", activateExample),
		Security:    bearer, Middlewares: authenticated,
		Responses:    s.responses(http.StatusOK, "The factor is active; the recovery codes.", postErrors, codeMissingToken, codeInvalidToken, codeTokenExpired, codeUserNotFound, codeNotFound, codeInvalidMFACode, codeMFARequired),
		MaxBodyBytes: s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleActivateTOTP(svc))

	huma.Register(api, huma.Operation{
		OperationID: "listFactors", Method: http.MethodGet, Path: "/api/auth/mfa/factors", Tags: []string{tagMFA},
		Summary:     "List my factors",
		Description: "Lists the caller's active second factors, oldest first. Secrets are never shown again.",
		Security:    bearer, Middlewares: authenticated,
		Responses: s.responses(http.StatusOK, "The active factors.", bearerErrors),
	}, handleListFactors(svc))

	huma.Register(api, huma.Operation{
		OperationID: "deleteFactor", Method: http.MethodDelete, Path: "/api/auth/mfa/factors/{id}", Tags: []string{tagMFA},
		Summary:     "Remove one of my factors (aal2)",
		Description: "Removes one of the caller's factors; with the last one go the recovery codes, and logins take one step again. Needs an aal2 token (a login completed with a second factor): an aal1 token gets 403 mfa_required. An id that is not one of the caller's factors gets 404 not_found.",
		Security:    bearer, Middlewares: authenticated,
		Responses: s.responses(http.StatusNoContent, "The factor is removed.", bearerErrors, codeNotFound, codeMFARequired),
	}, handleDeleteFactor(svc))

	huma.Register(api, huma.Operation{
		OperationID: "regenerateRecoveryCodes", Method: http.MethodPost, Path: "/api/auth/mfa/recovery-codes", Tags: []string{tagMFA},
		Summary:     "Replace my recovery codes (aal2)",
		Description: "Replaces every recovery code of the caller with 10 new ones, shown this once. No request body. Needs an aal2 token (403 mfa_required otherwise) and an active factor (404 not_found otherwise).",
		Security:    bearer, Middlewares: authenticated,
		Responses:    s.responses(http.StatusOK, "The new recovery codes.", bearerErrors, codeNotFound, codeMFARequired, codeRateLimited, codeUnsupportedMediaType, codePayloadTooLarge),
		MaxBodyBytes: s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleRegenerateRecoveryCodes(svc))

	huma.Register(api, huma.Operation{
		OperationID: "verifyMFA", Method: http.MethodPost, Path: "/api/auth/mfa/verify", Tags: []string{tagMFA, tagAuth},
		Summary:      "Complete a login with a second factor",
		Description:  "The second step of a login that answered 403 mfa_required: exchanges its mfa_token and a TOTP code (or one recovery code) for tokens at aal2, from the same client (address and User-Agent) as the login. A wrong code gets 401 invalid_mfa_code and counts against the email's lockout like a wrong password; the mfa_token stays usable until its fifth wrong code, its use, or 5 minutes. A code already used is refused.",
		RequestBody:  jsonBody("The mfa_token and a code.", mfaVerifyExample),
		Responses:    s.responses(http.StatusOK, "Tokens (aal2) and the account.", postErrors, codeInvalidMFACode, codeAccountDisabled, codeAccountLocked),
		MaxBodyBytes: s.maxBody + 1, BodyReadTimeout: bodyInMemory,
	}, handleVerifyMFA(svc))
}

func handleEnrolTOTP(svc *auth.Service) func(context.Context, *struct{}) (*enrolOutput, error) {
	return func(ctx context.Context, _ *struct{}) (*enrolOutput, error) {
		p, err := principalFrom(ctx)
		if err != nil {
			return nil, err
		}
		e, err := svc.EnrolTOTP(ctx, p)
		if err != nil {
			return nil, problemFor(ctx, err)
		}
		out := &enrolOutput{CacheControl: "no-store"}
		out.Body.FactorID, out.Body.Secret, out.Body.OTPAuthURI = e.FactorID, e.Secret, e.URI
		return out, nil
	}
}

func handleActivateTOTP(svc *auth.Service) func(context.Context, *activateInput) (*recoveryCodesOutput, error) {
	return func(ctx context.Context, in *activateInput) (*recoveryCodesOutput, error) {
		p, err := principalFrom(ctx)
		if err != nil {
			return nil, err
		}
		codes, err := svc.ActivateTOTP(ctx, p, in.FactorID, in.Body.Code)
		if err != nil {
			return nil, problemFor(ctx, err)
		}
		out := &recoveryCodesOutput{CacheControl: "no-store"}
		out.Body.RecoveryCodes = codes
		return out, nil
	}
}

func handleListFactors(svc *auth.Service) func(context.Context, *struct{}) (*factorsOutput, error) {
	return func(ctx context.Context, _ *struct{}) (*factorsOutput, error) {
		p, err := principalFrom(ctx)
		if err != nil {
			return nil, err
		}
		fs, err := svc.Factors(ctx, p)
		if err != nil {
			return nil, problemFor(ctx, err)
		}
		out := make([]factor, 0, len(fs))
		for _, f := range fs {
			var used *time.Time
			if f.LastUsedAt != nil {
				t := f.LastUsedAt.UTC()
				used = &t
			}
			out = append(out, factor{ID: f.ID, Type: f.Type, CreatedAt: f.CreatedAt.UTC(), LastUsedAt: used})
		}
		return &factorsOutput{Body: out}, nil
	}
}

func handleDeleteFactor(svc *auth.Service) func(context.Context, *factorIDInput) (*struct{}, error) {
	return func(ctx context.Context, in *factorIDInput) (*struct{}, error) {
		p, err := principalFrom(ctx)
		if err != nil {
			return nil, err
		}
		if err := svc.RemoveFactor(ctx, p, in.ID); err != nil {
			return nil, problemFor(ctx, err)
		}
		return &struct{}{}, nil
	}
}

func handleRegenerateRecoveryCodes(svc *auth.Service) func(context.Context, *struct{}) (*recoveryCodesOutput, error) {
	return func(ctx context.Context, _ *struct{}) (*recoveryCodesOutput, error) {
		p, err := principalFrom(ctx)
		if err != nil {
			return nil, err
		}
		codes, err := svc.RegenerateRecoveryCodes(ctx, p)
		if err != nil {
			return nil, problemFor(ctx, err)
		}
		out := &recoveryCodesOutput{CacheControl: "no-store"}
		out.Body.RecoveryCodes = codes
		return out, nil
	}
}

func handleVerifyMFA(svc *auth.Service) func(context.Context, *verifyInput) (*tokenOutput, error) {
	return func(ctx context.Context, in *verifyInput) (*tokenOutput, error) {
		var c auth.Client
		if st := stateFrom(ctx); st != nil {
			c = auth.Client{IP: st.clientIP, UserAgent: st.userAgent}
		}
		t, err := svc.VerifyMFA(ctx, in.Body.MFAToken, in.Body.Code, c)
		if err != nil {
			return nil, problemFor(ctx, err)
		}
		setUserID(ctx, t.User.ID)
		return tokenOutputFrom(t), nil
	}
}
