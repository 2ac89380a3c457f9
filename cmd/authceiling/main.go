// Command authceiling is the reference the token check is measured
// against: a bare net/http server that checks the same HS256 access token
// authserve issues, with the same settings (AUTH_JWT_SECRET, AUTH_JWT_ISSUER,
// AUTH_JWT_AUDIENCE, read by the same config package) and the same
// verifier (internal/token, its verified-token cache included), and answers
// GET /api/auth/me with a fixed JSON body: no database, no logging, no
// middleware. What authserve's GET /api/auth/me sustains divided by what
// this sustains on the same machine in the same run is how close the
// token check is to the machine's ceiling (make bench, docs/performance).
//
//	AUTH_ADDR=127.0.0.1:18099 AUTH_JWT_SECRET=... authceiling
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/authserve/authserve/internal/config"
	"github.com/authserve/authserve/internal/token"
)

// body is the fixed answer, the size of a typical /me.
var body = []byte(`{"id":1,"email":"bench@example.com","first_name":"","last_name":"","is_active":true,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}` + "\n")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "authceiling:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := config.Load(getenv, "")
	if err != nil {
		return err
	}
	config.SetGCPercent(getenv)
	if cfg.JWTSecret == "" {
		return errors.New("AUTH_JWT_SECRET is required (the ceiling checks HS256 tokens)")
	}
	keys, err := token.NewHMACKeySet([]byte(cfg.JWTSecret.Reveal()))
	if err != nil {
		return err
	}
	tokens, err := token.NewManager(token.Config{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, TTL: cfg.AccessTokenTTL}, keys)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler(tokens), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintln(os.Stderr, "authceiling listening on", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// handler answers GET /healthz and GET /api/auth/me (200 with the fixed
// body for a valid token, 401 otherwise).
func handler(tokens *token.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("{\"status\":\"ok\"}\n"))
		case "/api/auth/me":
			raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if _, err := tokens.Verify(raw, time.Now()); err != nil {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
}
