// Package httpapi is the HTTP adapter of authserve and the only package
// that imports huma. It serves the operations of docs/api.md "Endpoints"
// on a Go 1.22+ ServeMux through huma's humago adapter, generates their
// OpenAPI 3.1 document, serves Swagger UI from embedded assets, and
// translates every failure into RFC 9457 problem details (problem.go).
//
// A request passes, outermost first: request id, security headers, panic
// recovery and access log (middleware.go); CORS when configured; the rate
// limit of POST /api/auth/*; router misses (404, 405); the body rules
// (415, 413); then huma, which parses and validates the body and calls the
// handler.
package httpapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/rs/cors"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/ratelimit"
)

// DefaultMaxBodyBytes is the request body limit of docs/api.md "Requests" (64 KiB).
const DefaultMaxBodyBytes = 64 << 10

// DefaultMaxHeaderBytes bounds the request line and headers together
// (32 KiB): the largest token fits many times over. Requests past it get
// 431 with problem JSON; http.Server.MaxHeaderBytes should be set higher,
// as a backstop whose plain-text answer net/http writes itself.
const DefaultMaxHeaderBytes = 32 << 10

// Options configures the handler. Service is required; everything else
// has a working default.
type Options struct {
	// Service is the domain the operations call.
	Service *auth.Service
	// Logger receives the access log and error lines; discarded when nil.
	Logger *slog.Logger
	// JWKS returns the body of /.well-known/jwks.json; an empty key set
	// when nil or empty.
	JWKS func() []byte
	// Ready reports readiness with a state per dependency, e.g.
	// {"database":"ok","breaker":"closed"}; an error makes /readyz 503.
	// When nil, Service.Ready is used.
	Ready func(ctx context.Context) (details map[string]string, err error)
	// Metrics serves /metrics; /metrics is 404 when nil.
	Metrics http.Handler
	// Observe, when not nil, is called once per request with the matched
	// route pattern (never the raw path; "unmatched" for 404, 405 and
	// preflights), the method, the status and the duration.
	Observe func(route, method string, status int, d time.Duration)
	// Limiter limits POST /api/auth/* per client address; off when nil.
	Limiter ratelimit.Limiter
	// ClientIP returns the client address of a request; the socket's
	// address when nil.
	ClientIP func(*http.Request) string
	// CORSOrigins are the exact origins allowed to call the API from a
	// browser; no CORS headers at all when empty.
	CORSOrigins []string
	// Version is the API version in the OpenAPI document.
	Version string
	// MaxBodyBytes bounds request bodies; DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64
	// MaxHeaderBytes bounds the request line and headers;
	// DefaultMaxHeaderBytes when zero.
	MaxHeaderBytes int
}

// server holds what the middlewares and operations share.
type server struct {
	svc      *auth.Service
	log      *slog.Logger
	jwks     func() []byte
	ready    readyFunc
	metrics  http.Handler
	observe  func(route, method string, status int, d time.Duration)
	limiter  ratelimit.Limiter
	clientIP func(*http.Request) string
	maxBody  int64
	// maxHeader bounds the request line and headers (MaxHeaderBytes).
	maxHeader int
	// bodyTimeout bounds reading a request body (bodyReadTimeout).
	bodyTimeout time.Duration

	mux        *http.ServeMux
	api        huma.API
	problemRef *huma.Schema
	docsCSP    string
	// docs renders the OpenAPI documents on first use: 1.5 MB that an
	// idle replica, or one nobody asks for its documentation, need not
	// hold.
	docs func() (specDocs, error)
	// inner is everything inside the outermost middleware: CORS, then route.
	inner http.Handler
	// humaMe serves GET /api/auth/me through huma instead of serveMe
	// (tests compare the two).
	humaMe bool
}

// NewHandler returns the HTTP handler of the whole API. It panics when
// Service is nil or an operation cannot be registered, both programming
// errors caught by any test. The OpenAPI documents are rendered on their
// first request (the golden-file test fetches them).
func NewHandler(o Options) http.Handler {
	return newServer(o, nil)
}

// newServer builds the server. extra, when not nil, runs after the API's
// operations are registered and before the document is frozen: tests use
// it to add routes (a panicking one).
func newServer(o Options, extra func(*server)) *server {
	if o.Service == nil {
		panic("httpapi: Options.Service is nil")
	}
	useProblemsInHuma()
	s := &server{
		svc:      o.Service,
		log:      o.Logger,
		jwks:     o.JWKS,
		ready:    o.Ready,
		metrics:  o.Metrics,
		observe:  o.Observe,
		limiter:  o.Limiter,
		clientIP: o.ClientIP,
		maxBody:  o.MaxBodyBytes,
		mux:      http.NewServeMux(),

		maxHeader: o.MaxHeaderBytes,

		bodyTimeout: bodyReadTimeout,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ready == nil {
		s.ready = serviceReady(o.Service)
	}
	if s.clientIP == nil {
		s.clientIP = remoteIP
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxHeader <= 0 {
		s.maxHeader = DefaultMaxHeaderBytes
	}
	version := o.Version
	if version == "" {
		version = "dev"
	}

	s.api = humago.New(s.mux, apiConfig(version))
	s.problemRef = registerProblemSchema(s.api)
	s.routes()

	ui, err := newSwaggerUI("authserve")
	if err != nil {
		panic("httpapi: " + err.Error())
	}
	s.docsCSP = ui.csp
	s.mux.HandleFunc("GET "+docsPath, ui.serveIndex)
	s.mux.HandleFunc("GET "+docsPath+"/", ui.serveAsset)

	if extra != nil {
		extra(s)
	}

	s.finishDocument(s.api.OpenAPI())
	documentCommonHeaders(s.api.OpenAPI())
	s.docs = lazyDocs(s.api.OpenAPI(), true)
	s.mux.HandleFunc("GET "+specPath, s.serveSpec)
	s.mux.HandleFunc("GET "+spec30Path, s.serveSpec30)
	s.mux.HandleFunc("GET /openapi.yaml", s.serveSpecYAML)

	s.inner = http.HandlerFunc(s.route)
	if c := newCORS(o.CORSOrigins); c != nil {
		s.inner = normalizePreflight(c.Handler(s.inner))
	}
	return s
}

// normalizePreflight rewrites Access-Control-Request-Headers into the form
// browsers send (lower case, sorted, unique, comma-separated), which is
// the only form rs/cors accepts, so that hand-written preflights (curl,
// test clients) are judged on the headers they ask for, not their
// spelling.
func normalizePreflight(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if vs, ok := r.Header["Access-Control-Request-Headers"]; ok && r.Method == http.MethodOptions {
			var names []string
			for _, v := range vs {
				for _, n := range strings.Split(v, ",") {
					if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
						names = append(names, n)
					}
				}
			}
			slices.Sort(names)
			r.Header["Access-Control-Request-Headers"] = []string{strings.Join(slices.Compact(names), ",")}
		}
		next.ServeHTTP(w, r)
	})
}

// lazyDocs renders oapi's documents (with its 3.0 form when with30) on
// the first call, once.
func lazyDocs(oapi *huma.OpenAPI, with30 bool) func() (specDocs, error) {
	return sync.OnceValues(func() (specDocs, error) {
		var d specDocs
		var err error
		if d.json, d.yaml, err = marshalSpec(oapi); err != nil || !with30 {
			return d, err
		}
		d.json30, err = downgradeSpec(oapi)
		return d, err
	})
}

// specDocs are the rendered OpenAPI documents.
type specDocs struct {
	json, yaml []byte
	json30     []byte // the document as OpenAPI 3.0.3
}

func (s *server) serveSpec(w http.ResponseWriter, r *http.Request) {
	s.serveDoc(w, r, "application/json", func(d specDocs) []byte { return d.json })
}

func (s *server) serveSpec30(w http.ResponseWriter, r *http.Request) {
	s.serveDoc(w, r, "application/json", func(d specDocs) []byte { return d.json30 })
}

func (s *server) serveSpecYAML(w http.ResponseWriter, r *http.Request) {
	s.serveDoc(w, r, "application/yaml", func(d specDocs) []byte { return d.yaml })
}

// serveDoc writes one of the documents, rendering them on first use; a
// document that cannot be rendered is a bug, answered as one.
func (s *server) serveDoc(w http.ResponseWriter, r *http.Request, contentType string, pick func(specDocs) []byte) {
	d, err := s.docs()
	if err != nil {
		stateFrom(r.Context()).cause = err
		writeProblem(w, newProblem(r.Context(), codeInternalError))
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(pick(d))
}

// serviceReady is the readiness check when the caller gives none: the
// database answers.
func serviceReady(svc *auth.Service) readyFunc {
	return func(ctx context.Context) (map[string]string, error) {
		if err := svc.Ready(ctx); err != nil {
			return map[string]string{"database": "unavailable"}, err
		}
		return map[string]string{"database": "ok"}, nil
	}
}

// remoteIP is the socket's address, for when no resolver is configured.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// newCORS allows exactly the configured origins, without credentials
// (the API uses Bearer headers, not cookies). A wildcard or "null" in the
// list is ignored rather than trusted: origins are compared as exact
// strings, so look-alikes never match. It returns nil, adding no headers
// at all, when no origin is configured.
func newCORS(origins []string) *cors.Cors {
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		if o == "" || o == "*" || strings.EqualFold(o, "null") || strings.Contains(o, "*") {
			continue
		}
		allowed[strings.ToLower(o)] = true
	}
	if len(allowed) == 0 {
		return nil
	}
	return cors.New(cors.Options{
		AllowOriginFunc: func(origin string) bool { return allowed[origin] },
		AllowedMethods:  []string{http.MethodGet, http.MethodPost, http.MethodDelete},
		AllowedHeaders:  []string{"Authorization", "Content-Type", "X-Request-ID"},
		ExposedHeaders: []string{
			"X-Request-ID", "Retry-After", "WWW-Authenticate",
			"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
		},
		AllowCredentials:     false,
		MaxAge:               600,
		OptionsSuccessStatus: http.StatusNoContent,
	})
}
