package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// readyTimeout bounds a readiness check, so /readyz answers even when a
// dependency hangs.
const readyTimeout = 5 * time.Second

// emptyJWKS is the key set published when no asymmetric key is configured.
var emptyJWKS = []byte(`{"keys":[]}`)

type health struct {
	Status string `json:"status" enum:"ok" doc:"Always ok." example:"ok"`
}

type healthOutput struct {
	CacheControl string `header:"Cache-Control" doc:"Always no-store." example:"no-store"`
	Body         health
}

func handleHealthz() func(context.Context, *struct{}) (*healthOutput, error) {
	return func(context.Context, *struct{}) (*healthOutput, error) {
		return &healthOutput{CacheControl: "no-store", Body: health{Status: "ok"}}, nil
	}
}

type readiness struct {
	Status string            `json:"status" enum:"ok" doc:"Always ok; a failing check gives a 503 problem instead." example:"ok"`
	Checks map[string]string `json:"checks,omitempty" doc:"The state of each dependency: database (ok), breaker (closed) and, with AUTH_REDIS_URL, rate_limit and lockout (redis, or the fallback they run on while Redis fails: still 200)." example:"{\"database\":\"ok\",\"breaker\":\"closed\",\"rate_limit\":\"redis\",\"lockout\":\"redis\"}"`
}

type readinessOutput struct {
	CacheControl string `header:"Cache-Control" doc:"Always no-store." example:"no-store"`
	Body         readiness
}

// readyFunc reports readiness with a state per dependency.
type readyFunc func(ctx context.Context) (map[string]string, error)

func handleReadyz(ready readyFunc, log *slog.Logger) func(context.Context, *struct{}) (*readinessOutput, error) {
	return func(ctx context.Context, _ *struct{}) (*readinessOutput, error) {
		cctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		checks, err := ready(cctx)
		if err != nil {
			log.WarnContext(ctx, "readiness check failed", slog.String("error", err.Error()))
			p := newProblem(ctx, codeServiceUnavailable).withRetryAfter(retryHint(err, defaultUnavailableRetry))
			p.Checks = checks
			return nil, p
		}
		return &readinessOutput{CacheControl: "no-store", Body: readiness{Status: "ok", Checks: checks}}, nil
	}
}

type jwksOutput struct {
	ContentType  string `header:"Content-Type" hidden:"true"`
	CacheControl string `header:"Cache-Control" doc:"Keys may be cached for 5 minutes." example:"public, max-age=300"`
	Body         []byte
}

// jwkSet and jwk document the key set; the handler serves the bytes the
// key set prepared, without decoding them.
type jwkSet struct {
	Keys []jwk `json:"keys" nullable:"false" doc:"The public keys; empty with an HS256 secret."`
}

type jwk struct {
	Kty string `json:"kty" doc:"Key type." enum:"OKP,EC,RSA" example:"OKP"`
	Use string `json:"use,omitempty" doc:"Always sig." example:"sig"`
	Alg string `json:"alg,omitempty" doc:"The JWS algorithm." enum:"EdDSA,ES256,RS256" example:"EdDSA"`
	Kid string `json:"kid" doc:"The key id, matched against the kid of a token's header." example:"mT3a0cQ6"`
	Crv string `json:"crv,omitempty" doc:"Curve (OKP, EC)." example:"Ed25519"`
	X   string `json:"x,omitempty" doc:"Public key (OKP, EC), base64url." example:"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"`
	Y   string `json:"y,omitempty" doc:"Public key (EC), base64url."`
	N   string `json:"n,omitempty" doc:"Modulus (RSA), base64url."`
	E   string `json:"e,omitempty" doc:"Exponent (RSA), base64url."`
}

func handleJWKS(jwks func() []byte) func(context.Context, *struct{}) (*jwksOutput, error) {
	return func(context.Context, *struct{}) (*jwksOutput, error) {
		body := emptyJWKS
		if jwks != nil {
			if b := jwks(); len(b) > 0 {
				body = b
			}
		}
		return &jwksOutput{ContentType: "application/json", CacheControl: "public, max-age=300", Body: body}, nil
	}
}

type metricsOutput struct {
	Body func(huma.Context)
}

func handleMetrics(metrics http.Handler) func(context.Context, *struct{}) (*metricsOutput, error) {
	return func(ctx context.Context, _ *struct{}) (*metricsOutput, error) {
		if metrics == nil {
			return nil, problemFor(ctx, errRouteNotFound)
		}
		return &metricsOutput{Body: func(hctx huma.Context) {
			r, w := humago.Unwrap(hctx)
			metrics.ServeHTTP(w, r)
		}}, nil
	}
}
