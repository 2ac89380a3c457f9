package httpapi

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/authserve/authserve/internal/auth"
)

// The request and response bodies of the authentication operations and the
// makers of their handlers. Each maker captures only what its handler uses.

// registerRequest is the body of POST /api/auth/register.
type registerRequest struct {
	Email     string  `json:"email" doc:"One plain address, at most 254 octets with a local part of at most 64; trimmed and compared case-insensitively." example:"alice@example.com"`
	Password  string  `json:"password" writeOnly:"true" doc:"NFKC-normalised, never trimmed. At least 8 characters (configurable), at most 72 bytes, not whitespace only, not a commonly used password, and under 16 characters at least 3 of lower case, upper case, digit and symbol (configurable)." example:"Correct-Horse-42"`
	FirstName *string `json:"first_name,omitempty" nullable:"true" doc:"At most 100 characters; trimmed." example:"Alice"`
	LastName  *string `json:"last_name,omitempty" nullable:"true" doc:"At most 100 characters; trimmed." example:"Liddell"`
}

type registerInput struct {
	Body registerRequest
}

// loginRequest is the body of POST /api/auth/login.
type loginRequest struct {
	Email    string `json:"email" doc:"The account's email, in any letter case." example:"alice@example.com"`
	Password string `json:"password" writeOnly:"true" doc:"The account's password." example:"Correct-Horse-42"`
}

type loginInput struct {
	Body loginRequest
}

// refreshTokenRequest is the body of POST /api/auth/refresh and
// POST /api/auth/logout.
type refreshTokenRequest struct {
	RefreshToken string `json:"refresh_token" writeOnly:"true" doc:"A refresh token from a login or an earlier refresh." example:"q3Zt0d1oYl0m8a6pV0b2fQkq5x0b9n4TzWcYH2rR8sE"`
}

type refreshTokenInput struct {
	Body refreshTokenRequest
}

// user is an account as the API shows it: never a password or hash.
type user struct {
	ID        int64   `json:"id" doc:"The account's id." example:"42"`
	Email     string  `json:"email" doc:"The normalised (lower case) email." example:"alice@example.com"`
	FirstName *string `json:"first_name" doc:"null when not given." example:"Alice"`
	LastName  *string `json:"last_name" doc:"null when not given." example:"Liddell"`
	IsActive  bool    `json:"is_active" doc:"false when the account is disabled." example:"true"`
	// EmailVerified is CONTRACT section 8's addition to the user shape.
	EmailVerified bool      `json:"email_verified" doc:"true once the owner opened a verification link, reset the password by email, or an administrator verified the address." example:"false"`
	CreatedAt     time.Time `json:"created_at" doc:"RFC 3339, UTC." example:"2026-11-28T14:03:13Z"`
	UpdatedAt     time.Time `json:"updated_at" doc:"RFC 3339, UTC." example:"2026-11-28T14:03:13Z"`
}

type userOutput struct {
	Body user
}

func userFrom(u auth.User) user {
	return user{
		ID:            u.ID,
		Email:         u.Email,
		FirstName:     optional(u.FirstName),
		LastName:      optional(u.LastName),
		IsActive:      u.IsActive,
		EmailVerified: u.EmailVerified,
		CreatedAt:     u.CreatedAt.UTC(),
		UpdatedAt:     u.UpdatedAt.UTC(),
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// tokenResponse is the outcome of a login or refresh.
type tokenResponse struct {
	AccessToken  string `json:"access_token" doc:"A JWT (typ at+jwt) to send as 'Authorization: Bearer <token>'." example:"eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiJhdXRoc2VydmUiLCJzdWIiOiI0MiJ9.c2lnbmF0dXJl"`
	TokenType    string `json:"token_type" enum:"Bearer" doc:"Always Bearer." example:"Bearer"`
	ExpiresIn    int64  `json:"expires_in" doc:"Seconds until the access token expires." example:"900"`
	RefreshToken string `json:"refresh_token" doc:"An opaque token for POST /api/auth/refresh; single use, rotated on every refresh." example:"q3Zt0d1oYl0m8a6pV0b2fQkq5x0b9n4TzWcYH2rR8sE"`
	User         user   `json:"user"`
}

type tokenOutput struct {
	CacheControl string `header:"Cache-Control" doc:"Always no-store: tokens must not be cached." example:"no-store"`
	Pragma       string `header:"Pragma" doc:"Always no-cache, for HTTP/1.0 caches." example:"no-cache"`
	Body         tokenResponse
}

func tokenOutputFrom(t auth.Tokens) *tokenOutput {
	return &tokenOutput{
		CacheControl: "no-store",
		Pragma:       "no-cache",
		Body: tokenResponse{
			AccessToken:  t.AccessToken,
			TokenType:    "Bearer",
			ExpiresIn:    int64((t.ExpiresIn + time.Second/2) / time.Second),
			RefreshToken: t.RefreshToken,
			User:         userFrom(t.User),
		},
	}
}

// session is one of the caller's login sessions.
type session struct {
	ID         string    `json:"id" doc:"The session's id, for DELETE /api/auth/sessions/{id}." example:"9b1f6c0a4e2d4c7f8a3b5d6e7f809112"`
	CreatedAt  time.Time `json:"created_at" doc:"When the login happened (RFC 3339, UTC)." example:"2026-11-28T14:03:13Z"`
	LastUsedAt time.Time `json:"last_used_at" doc:"The last login or refresh (RFC 3339, UTC)." example:"2026-11-28T14:18:02Z"`
	ExpiresAt  time.Time `json:"expires_at" doc:"When the session ends unless refreshed (RFC 3339, UTC)." example:"2026-12-28T14:18:02Z"`
	ClientIP   string    `json:"client_ip" doc:"The client address of the login." example:"203.0.113.7"`
	UserAgent  string    `json:"user_agent" doc:"The User-Agent of the login." example:"Mozilla/5.0 (X11; Linux x86_64)"`
	Current    bool      `json:"current" doc:"true for the session of the access token making this request." example:"true"`
}

type sessionsOutput struct {
	Body []session `nullable:"false"`
}

type sessionIDInput struct {
	ID string `path:"id" doc:"A session id from GET /api/auth/sessions." example:"9b1f6c0a4e2d4c7f8a3b5d6e7f809112"`
}

func handleRegister(svc *auth.Service) func(context.Context, *registerInput) (*userOutput, error) {
	return func(ctx context.Context, in *registerInput) (*userOutput, error) {
		u, err := svc.Register(ctx, auth.Registration{
			Email:     in.Body.Email,
			Password:  in.Body.Password,
			FirstName: deref(in.Body.FirstName),
			LastName:  deref(in.Body.LastName),
		})
		if err != nil {
			return nil, problemFor(ctx, err)
		}
		setUserID(ctx, u.ID)
		return &userOutput{Body: userFrom(u)}, nil
	}
}

func handleLogin(svc *auth.Service) func(context.Context, *loginInput) (*tokenOutput, error) {
	return func(ctx context.Context, in *loginInput) (*tokenOutput, error) {
		var c auth.Client
		if st := stateFrom(ctx); st != nil {
			c = auth.Client{IP: st.clientIP, UserAgent: st.userAgent}
		}
		t, err := svc.Login(ctx, in.Body.Email, in.Body.Password, c)
		if err != nil {
			return nil, problemFor(ctx, err)
		}
		setUserID(ctx, t.User.ID)
		return tokenOutputFrom(t), nil
	}
}

func handleRefresh(svc *auth.Service) func(context.Context, *refreshTokenInput) (*tokenOutput, error) {
	return func(ctx context.Context, in *refreshTokenInput) (*tokenOutput, error) {
		t, err := svc.Refresh(ctx, in.Body.RefreshToken)
		if err != nil {
			return nil, problemFor(ctx, err)
		}
		setUserID(ctx, t.User.ID)
		return tokenOutputFrom(t), nil
	}
}

func handleLogout(svc *auth.Service) func(context.Context, *refreshTokenInput) (*struct{}, error) {
	return func(ctx context.Context, in *refreshTokenInput) (*struct{}, error) {
		if err := svc.Logout(ctx, in.Body.RefreshToken); err != nil {
			return nil, problemFor(ctx, err)
		}
		return &struct{}{}, nil
	}
}

func handleMe() func(context.Context, *struct{}) (*userOutput, error) {
	return func(ctx context.Context, _ *struct{}) (*userOutput, error) {
		p, err := principalFrom(ctx)
		if err != nil {
			return nil, err
		}
		return &userOutput{Body: userFrom(p.User)}, nil
	}
}

func handleSessions(svc *auth.Service) func(context.Context, *struct{}) (*sessionsOutput, error) {
	return func(ctx context.Context, _ *struct{}) (*sessionsOutput, error) {
		p, err := principalFrom(ctx)
		if err != nil {
			return nil, err
		}
		list, err := svc.Sessions(ctx, p)
		if err != nil {
			return nil, problemFor(ctx, err)
		}
		out := make([]session, 0, len(list))
		for _, s := range list {
			out = append(out, session{
				ID:         s.ID,
				CreatedAt:  s.CreatedAt.UTC(),
				LastUsedAt: s.LastUsedAt.UTC(),
				ExpiresAt:  s.ExpiresAt.UTC(),
				ClientIP:   s.ClientIP,
				UserAgent:  s.UserAgent,
				Current:    s.ID == p.SessionID,
			})
		}
		return &sessionsOutput{Body: out}, nil
	}
}

func handleRevokeSession(svc *auth.Service) func(context.Context, *sessionIDInput) (*struct{}, error) {
	return func(ctx context.Context, in *sessionIDInput) (*struct{}, error) {
		p, err := principalFrom(ctx)
		if err != nil {
			return nil, err
		}
		if err := svc.RevokeSession(ctx, p, in.ID); err != nil {
			return nil, problemFor(ctx, err)
		}
		return &struct{}{}, nil
	}
}

// requireBearer is the huma middleware of the protected operations: it
// authenticates the Bearer token and leaves the principal in the request
// state, or answers 401/404/503 itself.
func requireBearer(svc *auth.Service) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		ctx := hctx.Context()
		var p auth.Principal
		raw, ok := bearerToken(hctx.Header("Authorization"))
		err := errMissingToken
		if ok {
			p, err = svc.Authenticate(ctx, raw)
		}
		if err != nil {
			_, w := humago.Unwrap(hctx)
			writeProblem(w, problemFor(ctx, err))
			return
		}
		if st := stateFrom(ctx); st != nil {
			st.principal = &p
		}
		setUserID(ctx, p.User.ID)
		next(hctx)
	}
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 9110 §11.1).
func bearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// errNoPrincipal means a protected handler ran without requireBearer.
var errNoPrincipal = errors.New("operation has no authenticated principal")

// principalFrom returns the principal requireBearer authenticated. Its
// absence is a wiring mistake, hence a 500.
func principalFrom(ctx context.Context) (auth.Principal, error) {
	if st := stateFrom(ctx); st != nil && st.principal != nil {
		return *st.principal, nil
	}
	return auth.Principal{}, problemFor(ctx, errNoPrincipal)
}
