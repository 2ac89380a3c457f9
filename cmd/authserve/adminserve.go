package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/authserve/authserve/internal/adminapi"
	"github.com/authserve/authserve/internal/breaker"
	"github.com/authserve/authserve/internal/clientip"
)

// auditPruneEvery is how often audit events past AUTH_AUDIT_RETENTION are
// deleted.
const auditPruneEvery = time.Hour

// startAdmin serves the admin API on AUTH_ADMIN_ADDR, when set, and
// returns the function that shuts it down gracefully (nothing to do when
// it is off). A listen failure stops start-up: an operator who asked for
// the admin API must not find it silently missing.
func (a *app) startAdmin(ctx context.Context) (shutdown func(context.Context), err error) {
	cfg := a.cfg
	if cfg.AdminAddr == "" {
		return func(context.Context) {}, nil
	}
	handler := adminapi.NewHandler(adminapi.Options{
		Service:  a.service,
		Logger:   a.log,
		Observe:  a.metrics.ObserveRequest,
		ClientIP: clientip.NewResolver(cfg.TrustedProxies).ClientIP,
		Version:  version,
	})
	srv := a.newServer(ctx, handler)
	ln, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		a.log.Error("admin listen failed", slog.String("addr", cfg.AdminAddr), slog.String("error", err.Error()))
		return nil, fmt.Errorf("listen on %s (AUTH_ADMIN_ADDR): %w", cfg.AdminAddr, err)
	}
	a.log.Info("admin API listening", slog.String("addr", ln.Addr().String()))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func(sctx context.Context) {
		if err := srv.Shutdown(sctx); err != nil {
			a.log.Warn("admin API shutdown did not finish in time; closing remaining connections", slog.String("error", err.Error()))
			srv.Close()
		}
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Warn("admin API stopped with an error", slog.String("error", err.Error()))
		}
	}, nil
}

// pruneAudit deletes audit events past AUTH_AUDIT_RETENTION, at start and
// then every interval, skipping its turn while the circuit is not closed.
func (a *app) pruneAudit(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if a.store.State() == breaker.StateClosed {
			pctx, cancel := context.WithTimeout(breaker.Background(ctx), a.cfg.DBTimeout)
			n, err := a.service.PruneAudit(pctx, a.cfg.AuditRetention)
			cancel()
			if err != nil {
				a.log.Warn("pruning audit events failed", slog.String("error", err.Error()))
			} else if n > 0 {
				a.log.Info("pruned audit events", slog.Int64("rows", n), slog.Duration("retention", a.cfg.AuditRetention))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
