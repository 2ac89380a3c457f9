// Package adminapi is the administration API of authserve (contract
// section 10): account administration and the audit log, for back offices
// and support tools, served on a listener of its own (AUTH_ADMIN_ADDR),
// never on the public one.
//
// It stands on the same HTTP edge as the public API, through what
// httpapi exports for other listeners (httpapi.NewListener): request ids,
// security headers, panic recovery, the access log, the metrics hook, the
// body rules, problem JSON and the generated OpenAPI document with Swagger
// UI. What is its own: the routes (routes.go), their bodies and handlers
// (handlers.go), the opaque cursors (cursor.go) and the admin key check
// below.
package adminapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/httpapi"
)

// Options configures the handler. Service is required.
type Options struct {
	Service *auth.Service
	// Logger, Observe and ClientIP are as in httpapi.Options.
	Logger   *slog.Logger
	Observe  func(route, method string, status int, d time.Duration)
	ClientIP func(*http.Request) string
	Version  string
}

// NewHandler returns the handler of the admin listener.
func NewHandler(o Options) http.Handler {
	if o.Service == nil {
		panic("adminapi: Options.Service is nil")
	}
	return httpapi.NewListener(httpapi.ListenerOptions{
		Title:             "authserve administration",
		Description:       description,
		Version:           o.Version,
		BearerDescription: "An admin key from `authserve admin-key create --name NAME`, sent as 'Authorization: Bearer <key>'. A key in the query string is not accepted.",
		Tags: []*huma.Tag{
			{Name: tagUsers, Description: "Accounts: list, create, read, change, delete, unlock, sessions."},
			{Name: tagAudit, Description: "The audit log of security events."},
		},
		Logger:       o.Logger,
		Observe:      o.Observe,
		ClientIP:     o.ClientIP,
		MaxBodyBytes: httpapi.DefaultMaxBodyBytes,
		Routes: func(api huma.API, doc *httpapi.Doc) {
			routes(api, doc, o.Service)
		},
	})
}

const description = `The administration API of authserve, on its own listener (` + "`AUTH_ADMIN_ADDR`" + `). Expose it on a private network only.

Every request carries an admin key: ` + "`Authorization: Bearer <key>`" + `, a key made with ` + "`authserve admin-key create --name NAME`" + `. No key is 401 ` + "`missing_token`" + `; a wrong or revoked one 401 ` + "`invalid_token`" + `. Every change is recorded in the audit log as an ` + "`admin.*`" + ` event whose actor is ` + "`admin:<key name>`" + `.

Lists answer ` + "`{\"items\": [...], \"next_cursor\": \"...\"}`" + `; ` + "`next_cursor`" + ` is ` + "`null`" + ` on the last page and otherwise goes, unchanged, into ` + "`?cursor=`" + ` for the next page. Cursors are opaque; one that was not given by the same listing is 422. ` + "`?limit=`" + ` is 1 to 500 (default 50); a larger limit is capped at 500, a smaller one is 422. Users are listed in creation order, audit events newest first; both stay stable while rows are added.

Errors are RFC 9457 problems with the same codes as the public API.`

// requireKey is the huma middleware of every operation: it checks the
// admin key and makes its name the actor of the request's audit events.
// The key is read from the Authorization header only: one in the query
// string would end up in proxies' and browsers' logs.
func requireKey(svc *auth.Service) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		ctx := hctx.Context()
		raw, ok := httpapi.BearerToken(hctx.Header("Authorization"))
		if !ok {
			httpapi.WriteProblem(hctx, httpapi.ErrMissingToken)
			return
		}
		k, err := svc.VerifyAdminKey(ctx, raw)
		if err != nil {
			httpapi.WriteProblem(hctx, err)
			return
		}
		o := auth.OriginFrom(ctx)
		o.Actor = auth.ActorAdminPrefix + k.Name
		next(huma.WithContext(hctx, auth.WithOrigin(ctx, o)))
	}
}
