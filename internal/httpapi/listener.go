package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/authserve/authserve/internal/auth"
)

// This file exports the edge of this package, so that another listener
// (the admin API, internal/adminapi) serves its own operations with the
// same request ids, security headers, panic recovery, access log, metrics
// hook, body rules, problem JSON and generated documentation as the
// public API, without copying any of it. problem.go stays the one place
// where errors become problems.

// The contract's error codes (section 3) that other listeners document.
const (
	CodeMissingToken       = codeMissingToken
	CodeInvalidToken       = codeInvalidToken
	CodeUserNotFound       = codeUserNotFound
	CodeAccountDisabled    = codeAccountDisabled
	CodeNotFound           = codeNotFound
	CodeUserAlreadyExists  = codeUserAlreadyExists
	CodeValidationFailed   = codeValidationFailed
	CodeOverloaded         = codeOverloaded
	CodeInternalError      = codeInternalError
	CodeDatabaseError      = codeDatabaseError
	CodeServiceUnavailable = codeServiceUnavailable
	CodeMalformedRequest   = codeMalformedRequest
	CodePayloadTooLarge    = codePayloadTooLarge
	CodeUnsupportedMedia   = codeUnsupportedMediaType
)

// ErrMissingToken is the error of a request without a Bearer credential:
// 401 missing_token with its WWW-Authenticate challenge.
var ErrMissingToken = errMissingToken

// ListenerOptions configures a listener built by NewListener.
type ListenerOptions struct {
	// Title and Description head the listener's OpenAPI document; Version
	// is its version.
	Title, Description, Version string
	// BearerDescription documents the listener's Bearer credential
	// (security scheme "bearer").
	BearerDescription string
	// Tags group its operations.
	Tags []*huma.Tag
	// Logger, Observe, ClientIP and MaxBodyBytes are as in Options.
	Logger       *slog.Logger
	Observe      func(route, method string, status int, d time.Duration)
	ClientIP     func(*http.Request) string
	MaxBodyBytes int64
	// Routes registers the listener's operations.
	Routes func(api huma.API, doc *Doc)
}

// Doc documents a listener's operations as this package documents its own.
type Doc struct{ s *server }

// Responses documents an operation's success and the problems of codes.
func (d *Doc) Responses(status int, desc string, codes ...string) map[string]*huma.Response {
	return d.s.responses(status, desc, nil, codes...)
}

// JSONBody documents a required JSON request body with one example.
func (d *Doc) JSONBody(desc string, example any) *huma.RequestBody { return jsonBody(desc, example) }

// MaxBodyBytes is the value for huma.Operation.MaxBodyBytes of an
// operation with a body: the body rules have read and bounded it already.
func (d *Doc) MaxBodyBytes() int64 { return d.s.maxBody + 1 }

// BodyReadTimeout is the value for huma.Operation.BodyReadTimeout of an
// operation with a body (see bodyInMemory).
const BodyReadTimeout = bodyInMemory

// NewListener returns the handler of a listener with the operations that
// o.Routes registers, its own /openapi.json, /openapi.yaml and /docs.
func NewListener(o ListenerOptions) http.Handler {
	useProblemsInHuma()
	s := &server{
		log:         o.Logger,
		observe:     o.Observe,
		clientIP:    o.ClientIP,
		maxBody:     o.MaxBodyBytes,
		mux:         http.NewServeMux(),
		maxHeader:   DefaultMaxHeaderBytes,
		bodyTimeout: bodyReadTimeout,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clientIP == nil {
		s.clientIP = remoteIP
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	version := o.Version
	if version == "" {
		version = "dev"
	}
	cfg := apiConfig(version)
	cfg.Info.Title = o.Title
	cfg.Info.Description = o.Description
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		bearerScheme: {Type: "http", Scheme: "bearer", Description: o.BearerDescription},
	}
	cfg.Tags = o.Tags
	s.api = humago.New(s.mux, cfg)
	s.problemRef = registerProblemSchema(s.api)
	if o.Routes != nil {
		o.Routes(s.api, &Doc{s: s})
	}
	s.documentStatic()
	ui, err := newSwaggerUI(o.Title)
	if err != nil {
		panic("httpapi: " + err.Error())
	}
	s.docsCSP = ui.csp
	s.mux.HandleFunc("GET "+docsPath, ui.serveIndex)
	s.mux.HandleFunc("GET "+docsPath+"/", ui.serveAsset)
	s.finishDocument(s.api.OpenAPI())
	documentCommonHeaders(s.api.OpenAPI())
	s.docs = lazyDocs(s.api.OpenAPI(), false)
	s.mux.HandleFunc("GET "+specPath, s.serveSpec)
	s.mux.HandleFunc("GET /openapi.yaml", s.serveSpecYAML)
	s.inner = http.HandlerFunc(s.route)
	return s
}

// Problem translates err into the contract's problem for the request of
// ctx; a handler returns it to huma, which writes it.
func Problem(ctx context.Context, err error) error { return problemFor(ctx, err) }

// WriteProblem writes the problem of err as the response, for huma
// middlewares that answer before the handler runs.
func WriteProblem(hctx huma.Context, err error) {
	_, w := humago.Unwrap(hctx)
	writeProblem(w, problemFor(hctx.Context(), err))
}

// BearerToken extracts the credential of an "Authorization: Bearer …"
// header.
func BearerToken(header string) (string, bool) { return bearerToken(header) }

// SetUserID records the account a request acted on, for its log lines.
func SetUserID(ctx context.Context, id int64) { setUserID(ctx, id) }

// originFor is the audit origin of a request: its client, user agent and
// id, acting as actor.
func originFor(st *requestState, actor string) auth.Origin {
	return auth.Origin{Actor: actor, ClientIP: st.clientIP, UserAgent: st.userAgent, RequestID: st.id}
}
