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
	warnUnknownVariables(logger, environ())
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(procsBesideHashing(defaultProcs, cfg.HashConcurrency))
	}
	config.SetGCPercent(getenv)
	// The listener comes first: the liveness probe answers while the rest
	// is built (migrations, the API and its OpenAPI document, keys), and
	// requests that arrive meanwhile wait for it (httpapi.Starting).
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		logger.Error("listen failed", slog.String("addr", cfg.Addr), slog.String("error", err.Error()))
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	gate := httpapi.NewStarting(httpapi.StartingOptions{
		Logger:   logger,
		ClientIP: clientip.NewResolver(cfg.TrustedProxies).ClientIP,
	})
	srv := newHTTPServer(ctx, cfg, logger, gate)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("authserve listening",
		slog.String("addr", ln.Addr().String()), slog.String("version", version),
		slog.String("database", cfg.DB.Driver()), slog.Duration("startup", time.Since(start)))
	if afterListen != nil {
		afterListen()
	}

	a, err := newApp(ctx, cfg, logger, sink, true)
	if err != nil {
		gate.Fail()
		srv.Close()
		<-errc
		if ctx.Err() != nil {
			// Stopped (SIGTERM) while starting: a clean exit, as after it.
			logger.Info("stopped during start-up", slog.String("reason", err.Error()))
			return nil
		}
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
	stopMail, err := a.startMail(ctx)
	if err != nil {
		gate.Fail()
		srv.Close()
		<-errc
		return err
	}
	stopAdmin, err := a.startAdmin(ctx)
	if err != nil {
		stopMail(context.Background())
		gate.Fail()
		srv.Close()
		<-errc
		return err
	}
	gate.Ready(a.newHandler(limiter))
	logger.Info("authserve ready",
		slog.String("signing_alg", a.keys.Algorithm()), slog.Duration("startup", time.Since(start)))

	go a.pruneLoginAttempts(ctx, 10*time.Minute)
	go a.pruneAudit(ctx, auditPruneEvery)
	// Start-up's garbage (migrations, the API's registration, key parsing)
	// would otherwise stay resident until the runtime's scavenger returns
	// it, minutes later: an idle replica should be small from the start.
	go debug.FreeOSMemory()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.shutdown(srv, errc, stopAdmin, stopMail)
	return nil
}

// afterListen, when not nil, runs once the listener answers: the profiling
// build (profile.go, -tags profile) ends its start-up profile there.
var afterListen func()

// newHandler builds the HTTP API on the app's service.
func (a *app) newHandler(limiter ratelimit.Limiter) http.Handler {
	ready := a.store.Ready
	if a.fallbacks != nil {
		// /readyz names a limit running on its fallback (scaleout.go).
		ready = a.fallbacks.ready(ready)
	}
	return httpapi.NewHandler(httpapi.Options{
		Service:      a.service,
		Logger:       a.log,
		JWKS:         a.keys.JWKS,
		Ready:        ready,
		Metrics:      a.metrics.Handler(),
		Observe:      a.metrics.ObserveRequest,
		Limiter:      limiter,
		ClientIP:     clientip.NewResolver(a.cfg.TrustedProxies).ClientIP,
		CORSOrigins:  a.cfg.CORSAllowedOrigins,
		Version:      version,
		MaxBodyBytes: 64 << 10,
	})
}

// newServer is newHTTPServer with the app's configuration and logger (the
// admin listener's server).
func (a *app) newServer(ctx context.Context, handler http.Handler) *http.Server {
	return newHTTPServer(ctx, a.cfg, a.log, handler)
}

// newHTTPServer wraps handler in an http.Server with the configured
// timeouts; its requests' contexts outlive ctx, so that shutdown drains
// them.
func newHTTPServer(ctx context.Context, cfg config.Config, log *slog.Logger, handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// "OPTIONS *" would otherwise be answered by net/http itself,
		// without our headers, request id or problem JSON.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:                  func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// shutdown drains srv, and the admin listener through stopAdmin, within
// AUTH_SHUTDOWN_TIMEOUT, then closes what is left, waits for Serve (whose
// result errc carries) to return, and stops the mail sender.
func (a *app) shutdown(srv *http.Server, errc <-chan error, stopAdmin, stopMail func(context.Context)) {
	a.log.Info("shutting down", slog.Duration("timeout", a.cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	// Both listeners drain together, within the one timeout.
	adminDone := make(chan struct{})
	go func() { stopAdmin(sctx); close(adminDone) }()
	if err := srv.Shutdown(sctx); err != nil {
		a.log.Warn("shutdown did not finish in time; closing remaining connections", slog.String("error", err.Error()))
		srv.Close()
	}
	<-adminDone
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.log.Warn("server stopped with an error", slog.String("error", err.Error()))
	}
	stopMail(sctx)
	a.log.Info("stopped")
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
	return ratelimit.NewFallbackNotify(ratelimit.NewRedis(a.redis, n, "authserve:ratelimit:"), mem, a.log,
		a.metrics.RateLimitFallback, a.fallbacks.onChange(limitRate)), mem
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
