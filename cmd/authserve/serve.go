package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/authserve/authserve/internal/breaker"
	"github.com/authserve/authserve/internal/clientip"
	"github.com/authserve/authserve/internal/config"
	"github.com/authserve/authserve/internal/httpapi"
	"github.com/authserve/authserve/internal/ratelimit"
)

// maxHeaderBytes is net/http's own bound on request headers, a backstop
// far above the handler's (httpapi.DefaultMaxHeaderBytes), which answers
// with problem JSON: only what is past this one gets net/http's plain 431.
const maxHeaderBytes = 8 * httpapi.DefaultMaxHeaderBytes

// serve runs the HTTP API until ctx is cancelled (SIGTERM or SIGINT), then
// drains in-flight requests within AUTH_SHUTDOWN_TIMEOUT.
func serve(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	start := time.Now()
	cfg, logger, sink, err := loadConfig(getenv, stdout)
	if err != nil {
		return err
	}
	defer sink.Close()
	if err := checkProductionKeys(cfg); err != nil {
		return err
	}
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(procsBesideHashing(defaultProcs, cfg.HashConcurrency))
	}
	a, err := newApp(ctx, cfg, logger, sink, true)
	if err != nil {
		// A bad setting is said once, by main, naming the variable; only
		// an unexpected failure is logged too.
		if !errors.As(err, new(exitError)) {
			logger.Error("start-up failed", slog.String("error", err.Error()))
		}
		return err
	}
	defer a.close()
	a.metrics.LogDropped(sink.Dropped)

	limiter, mem := a.newLimiter()
	if mem != nil {
		defer mem.Close()
	}
	handler := httpapi.NewHandler(httpapi.Options{
		Service:      a.service,
		Logger:       logger,
		JWKS:         a.keys.JWKS,
		Ready:        a.store.Ready,
		Metrics:      a.metrics.Handler(),
		Observe:      a.metrics.ObserveRequest,
		Limiter:      limiter,
		ClientIP:     clientip.NewResolver(cfg.TrustedProxies).ClientIP,
		CORSOrigins:  cfg.CORSAllowedOrigins,
		Version:      version,
		MaxBodyBytes: 64 << 10,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// "OPTIONS *" would otherwise be answered by net/http itself,
		// without our headers, request id or problem JSON.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:                  func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		logger.Error("listen failed", slog.String("addr", cfg.Addr), slog.String("error", err.Error()))
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	db, _ := cfg.Database()
	logger.Info("authserve listening",
		slog.String("addr", ln.Addr().String()), slog.String("version", version),
		slog.String("database", db.Driver), slog.String("signing_alg", a.keys.Algorithm()),
		slog.Duration("startup", time.Since(start)))

	stopAdmin, err := a.startAdmin(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go a.pruneLoginAttempts(ctx, 10*time.Minute)
	go a.pruneAudit(ctx, auditPruneEvery)
	// Start-up's garbage (migrations, the OpenAPI document, key parsing)
	// would otherwise stay resident until the runtime's scavenger returns
	// it, minutes later: an idle replica should be small from the start.
	go debug.FreeOSMemory()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", slog.Duration("timeout", cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Both listeners drain together, within the one timeout.
	adminDone := make(chan struct{})
	go func() { stopAdmin(sctx); close(adminDone) }()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("shutdown did not finish in time; closing remaining connections", slog.String("error", err.Error()))
		srv.Close()
	}
	<-adminDone
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("server stopped with an error", slog.String("error", err.Error()))
	}
	logger.Info("stopped")
	return nil
}

// defaultProcs is the runtime's own GOMAXPROCS (the CPUs, or the
// container's CPU limit), read before serve changes it.
var defaultProcs = runtime.GOMAXPROCS(0)

// procsBesideHashing is the GOMAXPROCS that keeps the service responsive
// while every hashing slot is busy: bcrypt never yields, so with one P per
// CPU a probe or a /me request waits for the scheduler to preempt a hash
// (10 ms slices; a /healthz p99 of 30 ms at cost 10 on two cores). With a
// P per hashing slot on top of the CPUs' own, the kernel shares the cores
// between the hashing threads and the rest at its much finer grain, and
// the hashes still get all the CPU that nothing else wants.
func procsBesideHashing(procs, hashSlots int) int {
	return procs + max(hashSlots, 0)
}

// checkProductionKeys refuses development defaults in production. Config
// validation checks this too; keeping it here makes the rule visible where
// keys are chosen.
func checkProductionKeys(cfg config.Config) error {
	if cfg.IsProduction() && cfg.JWTSecret == "" && cfg.JWTPrivateKeyFile == "" {
		return exitError{code: 1, msg: "AUTH_JWT_SECRET: production needs AUTH_JWT_SECRET or AUTH_JWT_PRIVATE_KEY_FILE"}
	}
	return nil
}

// newLimiter builds the per-client rate limiter: in process, or in Redis
// with the in-process limiter as its fallback; nil when turned off. The
// in-process limiter is returned too, to be closed at exit.
func (a *app) newLimiter() (ratelimit.Limiter, *ratelimit.Memory) {
	n := a.cfg.RateLimitPerMinute
	if n <= 0 {
		return nil, nil
	}
	mem := ratelimit.NewMemory(n)
	if a.redis == nil {
		return mem, mem
	}
	return ratelimit.NewFallback(ratelimit.NewRedis(a.redis, n, "authserve:ratelimit:"), mem, a.log, a.metrics.RateLimitFallback), mem
}

// pruneLoginAttempts deletes expired lockout counters now and then, so that
// guessed emails that never log in do not accumulate. It skips its turn
// while the circuit is not closed: maintenance must not add load to a
// database that is struggling.
func (a *app) pruneLoginAttempts(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if a.store.State() != breaker.StateClosed {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, a.cfg.DBTimeout)
		n, err := a.db.PruneLoginAttempts(pctx, time.Now().Add(-a.cfg.LockoutDuration))
		cancel()
		if err != nil {
			a.log.Warn("pruning lockout counters failed", slog.String("error", err.Error()))
			continue
		}
		a.log.Debug("pruned lockout counters", slog.Int64("rows", n))
	}
}
