package adminapi

import (
	"context"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/httpapi"
)

// The bodies of the admin operations and the makers of their handlers.

// user is an account as the admin API shows it: the public user shape.
type user struct {
	ID            int64     `json:"id" doc:"The account's id." example:"42"`
	Email         string    `json:"email" doc:"The normalised (lower case) email." example:"alice@example.com"`
	FirstName     *string   `json:"first_name" doc:"null when not given." example:"Alice"`
	LastName      *string   `json:"last_name" doc:"null when not given." example:"Liddell"`
	IsActive      bool      `json:"is_active" doc:"false when the account is disabled." example:"true"`
	EmailVerified bool      `json:"email_verified" doc:"true once the owner proved the address is theirs, or an administrator said so." example:"true"`
	CreatedAt     time.Time `json:"created_at" doc:"RFC 3339, UTC." example:"2026-11-28T14:03:13Z"`
	UpdatedAt     time.Time `json:"updated_at" doc:"RFC 3339, UTC." example:"2026-11-28T14:03:13Z"`
}

func userFrom(u auth.User) user {
	return user{
		ID: u.ID, Email: u.Email, FirstName: optional(u.FirstName), LastName: optional(u.LastName),
		IsActive: u.IsActive, EmailVerified: u.EmailVerified, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// userDetail is the user shape with the account's lock and MFA state.
type userDetail struct {
	user
	Locked     bool `json:"locked" doc:"true while a login lock holds the email, from any client address (POST /admin/users/{id}/unlock lifts it)." example:"false"`
	MFAEnabled bool `json:"mfa_enabled" doc:"true when the account has an active second factor." example:"false"`
}

type userOutput struct{ Body user }

type userDetailOutput struct{ Body userDetail }

type userPage struct {
	Items      []user  `json:"items" nullable:"false" doc:"Accounts in creation order."`
	NextCursor *string `json:"next_cursor" doc:"The cursor of the next page; null on the last one." example:"dTE6NDI"`
}

type userPageOutput struct{ Body userPage }

type listUsersInput struct {
	Email  string `query:"email" maxLength:"254" doc:"Keep the accounts whose email begins with this (case-insensitive)." example:"alice@"`
	Limit  int    `query:"limit" minimum:"1" default:"50" doc:"Page size, 1 to 500; a larger one is capped at 500." example:"50"`
	Cursor string `query:"cursor" maxLength:"200" doc:"next_cursor of the previous page." example:"dTE6NDI"`
}

type userIDInput struct {
	ID int64 `path:"id" minimum:"1" doc:"The account's id." example:"42"`
}

// registerRequest is the body of POST /admin/users: the public
// registration body.
type registerRequest struct {
	Email     string  `json:"email" doc:"One plain address, at most 254 octets; trimmed and compared case-insensitively." example:"alice@example.com"`
	Password  string  `json:"password" writeOnly:"true" doc:"Under the same policy as POST /api/auth/register." example:"Correct-Horse-42"`
	FirstName *string `json:"first_name,omitempty" nullable:"true" doc:"At most 100 characters; trimmed." example:"Alice"`
	LastName  *string `json:"last_name,omitempty" nullable:"true" doc:"At most 100 characters; trimmed." example:"Liddell"`
}

type createUserInput struct{ Body registerRequest }

// patchRequest is the body of PATCH /admin/users/{id}: the fields to
// change; absent ones stay as they are.
type patchRequest struct {
	IsActive      *bool   `json:"is_active,omitempty" doc:"false disables the account and revokes every session at once; true enables it." example:"false"`
	EmailVerified *bool   `json:"email_verified,omitempty" doc:"Mark the email verified (true) or not (false)." example:"true"`
	FirstName     *string `json:"first_name,omitempty" doc:"At most 100 characters; \"\" clears it." example:"Alice"`
	LastName      *string `json:"last_name,omitempty" doc:"At most 100 characters; \"\" clears it." example:"Liddell"`
}

type patchUserInput struct {
	ID   int64 `path:"id" minimum:"1" doc:"The account's id." example:"42"`
	Body patchRequest
}

// session is one of an account's live login sessions.
type session struct {
	ID         string    `json:"id" doc:"The session's id." example:"9b1f6c0a4e2d4c7f8a3b5d6e7f809112"`
	CreatedAt  time.Time `json:"created_at" doc:"When the login happened (RFC 3339, UTC)." example:"2026-11-28T14:03:13Z"`
	LastUsedAt time.Time `json:"last_used_at" doc:"The last login or refresh (RFC 3339, UTC)." example:"2026-11-28T14:18:02Z"`
	ExpiresAt  time.Time `json:"expires_at" doc:"When the session ends unless refreshed (RFC 3339, UTC)." example:"2026-12-28T14:18:02Z"`
	ClientIP   string    `json:"client_ip" doc:"The client address of the login." example:"203.0.113.7"`
	UserAgent  string    `json:"user_agent" doc:"The User-Agent of the login." example:"Mozilla/5.0 (X11; Linux x86_64)"`
}

type sessionPage struct {
	Items      []session `json:"items" nullable:"false" doc:"The live sessions, newest first."`
	NextCursor *string   `json:"next_cursor" doc:"Always null: an account's sessions fit one page." example:"null"`
}

type sessionPageOutput struct{ Body sessionPage }

type revokedOutput struct {
	Body struct {
		Revoked int `json:"revoked" doc:"How many live sessions were revoked." example:"2"`
	}
}

// auditEvent is one entry of the audit log.
type auditEvent struct {
	ID         int64          `json:"id" doc:"The event's id." example:"1017"`
	OccurredAt time.Time      `json:"occurred_at" doc:"RFC 3339, UTC." example:"2026-11-28T14:03:13.512Z"`
	Event      string         `json:"event" doc:"The event name, e.g. user.login_succeeded, user.login_failed, admin.user_updated." example:"user.login_failed"`
	UserID     *int64         `json:"user_id" doc:"The account concerned; null when unknown (a failed login for an unknown email)." example:"42"`
	Actor      string         `json:"actor" doc:"user, admin:<key name> or cli." example:"user"`
	ClientIP   string         `json:"client_ip" doc:"The client address of the request; empty for the CLI." example:"203.0.113.7"`
	UserAgent  string         `json:"user_agent" doc:"The User-Agent of the request." example:"curl/8.5.0"`
	RequestID  string         `json:"request_id" doc:"The X-Request-ID of the request, as in the logs." example:"0f8c1c1e3b2a4d5e9f6a7b8c9d0e1f2a"`
	Details    map[string]any `json:"details" doc:"Event-specific facts; never a password, token, secret or code, and the email of an unknown account masked." example:"{\"reason\":\"wrong_password\",\"email\":\"a***@example.com\"}"`
}

type auditPage struct {
	Items      []auditEvent `json:"items" nullable:"false" doc:"Events, newest first."`
	NextCursor *string      `json:"next_cursor" doc:"The cursor of the next page; null on the last one." example:"YTE6MTc2NDMzODk5MzUxMjAwMDAwMDoxMDE3"`
}

type auditPageOutput struct{ Body auditPage }

type auditInput struct {
	UserID int64  `query:"user_id" minimum:"0" doc:"Keep the events of this account." example:"42"`
	Event  string `query:"event" maxLength:"64" doc:"Keep the events of this name." example:"user.login_failed"`
	Since  string `query:"since" maxLength:"64" doc:"Keep the events at or after this time (RFC 3339)." example:"2026-11-28T00:00:00Z"`
	Limit  int    `query:"limit" minimum:"1" default:"50" doc:"Page size, 1 to 500; a larger one is capped at 500." example:"50"`
	Cursor string `query:"cursor" maxLength:"200" doc:"next_cursor of the previous page." example:"YTE6MTc2NDMzODk5MzUxMjAwMDAwMDoxMDE3"`
}

func handleListUsers(svc *auth.Service) func(context.Context, *listUsersInput) (*userPageOutput, error) {
	return func(ctx context.Context, in *listUsersInput) (*userPageOutput, error) {
		q := auth.UserQuery{EmailPrefix: in.Email, Limit: in.Limit}
		if in.Cursor != "" {
			after, err := parseUserCursor(in.Cursor)
			if err != nil {
				return nil, httpapi.Problem(ctx, fieldError("cursor", "is not a cursor of this listing"))
			}
			q.AfterID = after
		}
		us, more, err := svc.ListUsersPage(ctx, q)
		if err != nil {
			return nil, httpapi.Problem(ctx, err)
		}
		out := &userPageOutput{Body: userPage{Items: make([]user, 0, len(us))}}
		for _, u := range us {
			out.Body.Items = append(out.Body.Items, userFrom(u))
		}
		if more {
			out.Body.NextCursor = userCursor(us[len(us)-1].ID)
		}
		return out, nil
	}
}

func handleCreateUser(svc *auth.Service) func(context.Context, *createUserInput) (*userOutput, error) {
	return func(ctx context.Context, in *createUserInput) (*userOutput, error) {
		r := auth.Registration{Email: in.Body.Email, Password: in.Body.Password}
		if in.Body.FirstName != nil {
			r.FirstName = *in.Body.FirstName
		}
		if in.Body.LastName != nil {
			r.LastName = *in.Body.LastName
		}
		u, err := svc.CreateUser(ctx, r)
		if err != nil {
			return nil, httpapi.Problem(ctx, err)
		}
		httpapi.SetUserID(ctx, u.ID)
		return &userOutput{Body: userFrom(u)}, nil
	}
}

func handleGetUser(svc *auth.Service) func(context.Context, *userIDInput) (*userDetailOutput, error) {
	return func(ctx context.Context, in *userIDInput) (*userDetailOutput, error) {
		d, err := svc.UserDetail(ctx, in.ID)
		if err != nil {
			return nil, httpapi.Problem(ctx, err)
		}
		return &userDetailOutput{Body: userDetail{user: userFrom(d.User), Locked: d.Locked, MFAEnabled: d.MFAEnabled}}, nil
	}
}

func handlePatchUser(svc *auth.Service) func(context.Context, *patchUserInput) (*userOutput, error) {
	return func(ctx context.Context, in *patchUserInput) (*userOutput, error) {
		u, err := svc.UpdateUser(ctx, in.ID, auth.UserPatch{
			IsActive: in.Body.IsActive, EmailVerified: in.Body.EmailVerified, FirstName: in.Body.FirstName, LastName: in.Body.LastName,
		})
		if err != nil {
			return nil, httpapi.Problem(ctx, err)
		}
		httpapi.SetUserID(ctx, u.ID)
		return &userOutput{Body: userFrom(u)}, nil
	}
}

func handleDeleteUser(svc *auth.Service) func(context.Context, *userIDInput) (*struct{}, error) {
	return func(ctx context.Context, in *userIDInput) (*struct{}, error) {
		if err := svc.DeleteUserByID(ctx, in.ID); err != nil {
			return nil, httpapi.Problem(ctx, err)
		}
		return &struct{}{}, nil
	}
}

func handleUnlock(svc *auth.Service) func(context.Context, *userIDInput) (*struct{}, error) {
	return func(ctx context.Context, in *userIDInput) (*struct{}, error) {
		if err := svc.UnlockUser(ctx, in.ID); err != nil {
			return nil, httpapi.Problem(ctx, err)
		}
		return &struct{}{}, nil
	}
}

type resetOutput struct {
	Body struct {
		Queued bool `json:"queued" doc:"true when the email was queued; false while an earlier email to the address is within its cooldown (AUTH_MAIL_COOLDOWN)." example:"true"`
	}
}

func handlePasswordReset(svc *auth.Service) func(context.Context, *userIDInput) (*resetOutput, error) {
	return func(ctx context.Context, in *userIDInput) (*resetOutput, error) {
		queued, err := svc.SendPasswordReset(ctx, in.ID)
		if err != nil {
			return nil, httpapi.Problem(ctx, err)
		}
		out := &resetOutput{}
		out.Body.Queued = queued
		return out, nil
	}
}

type removedOutput struct {
	Body struct {
		Removed int `json:"removed" doc:"How many second factors were removed (0 when there were none)." example:"1"`
	}
}

func handleRemoveMFA(svc *auth.Service) func(context.Context, *userIDInput) (*removedOutput, error) {
	return func(ctx context.Context, in *userIDInput) (*removedOutput, error) {
		n, err := svc.RemoveUserMFA(ctx, in.ID)
		if err != nil {
			return nil, httpapi.Problem(ctx, err)
		}
		out := &removedOutput{}
		out.Body.Removed = n
		return out, nil
	}
}

func handleUserSessions(svc *auth.Service) func(context.Context, *userIDInput) (*sessionPageOutput, error) {
	return func(ctx context.Context, in *userIDInput) (*sessionPageOutput, error) {
		list, err := svc.UserSessions(ctx, in.ID)
		if err != nil {
			return nil, httpapi.Problem(ctx, err)
		}
		out := &sessionPageOutput{Body: sessionPage{Items: make([]session, 0, len(list))}}
		for _, s := range list {
			out.Body.Items = append(out.Body.Items, session{
				ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastUsedAt: s.LastUsedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(),
				ClientIP: s.ClientIP, UserAgent: s.UserAgent,
			})
		}
		return out, nil
	}
}

func handleRevokeSessions(svc *auth.Service) func(context.Context, *userIDInput) (*revokedOutput, error) {
	return func(ctx context.Context, in *userIDInput) (*revokedOutput, error) {
		n, err := svc.RevokeUserSessions(ctx, in.ID)
		if err != nil {
			return nil, httpapi.Problem(ctx, err)
		}
		out := &revokedOutput{}
		out.Body.Revoked = n
		return out, nil
	}
}

func handleAudit(svc *auth.Service) func(context.Context, *auditInput) (*auditPageOutput, error) {
	return func(ctx context.Context, in *auditInput) (*auditPageOutput, error) {
		q := auth.AuditQuery{UserID: in.UserID, Event: in.Event, Limit: in.Limit}
		if in.Since != "" {
			t, err := time.Parse(time.RFC3339Nano, in.Since)
			if err != nil {
				return nil, httpapi.Problem(ctx, fieldError("since", "must be an RFC 3339 time, e.g. 2026-11-28T00:00:00Z"))
			}
			q.Since = t
		}
		if in.Cursor != "" {
			after, err := parseAuditCursor(in.Cursor)
			if err != nil {
				return nil, httpapi.Problem(ctx, fieldError("cursor", "is not a cursor of this listing"))
			}
			q.After = after
		}
		evs, more, err := svc.Audit(ctx, q)
		if err != nil {
			return nil, httpapi.Problem(ctx, err)
		}
		out := &auditPageOutput{Body: auditPage{Items: make([]auditEvent, 0, len(evs))}}
		for _, ev := range evs {
			e := auditEvent{
				ID: ev.ID, OccurredAt: ev.OccurredAt.UTC(), Event: ev.Event, Actor: ev.Actor,
				ClientIP: ev.ClientIP, UserAgent: ev.UserAgent, RequestID: ev.RequestID, Details: ev.Details,
			}
			if ev.UserID != 0 {
				id := ev.UserID
				e.UserID = &id
			}
			if e.Details == nil {
				e.Details = map[string]any{}
			}
			out.Body.Items = append(out.Body.Items, e)
		}
		if more {
			out.Body.NextCursor = auditCursor(evs[len(evs)-1])
		}
		return out, nil
	}
}
