package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/breaker"
	"github.com/authserve/authserve/internal/config"
	"github.com/authserve/authserve/internal/lockout"
	"github.com/authserve/authserve/internal/logging"
	"github.com/authserve/authserve/internal/mail"
	"github.com/authserve/authserve/internal/metrics"
	"github.com/authserve/authserve/internal/redisconn"
	"github.com/authserve/authserve/internal/sqlstore"
	"github.com/authserve/authserve/internal/token"
)

// app holds everything built from the configuration; serve and the
// administrative commands share it.
type app struct {
	cfg     config.Config
	log     *slog.Logger
	sink    io.Closer
	db      *sqlstore.Store
	store   *breaker.Store
	metrics *metrics.Metrics
	keys    *token.KeySet
	tokens  *token.Manager
	service *auth.Service
	redis   *redisconn.Client
	// fallbacks is set with redis: which shared limits run on their
	// fallback (scaleout.go).
	fallbacks *fallbacks
	// audit writes the audit events that accompany no state change.
	audit *auth.AuditWriter
	// composer renders emails and wakes the outbox sender (mail.go).
	composer *mail.Composer
}

// loadConfig reads the configuration and builds the logger.
func loadConfig(getenv func(string) string, stdout io.Writer) (config.Config, *slog.Logger, *logging.Sink, error) {
	cfg, err := config.Load(getenv, ".")
	if err != nil {
		return config.Config{}, nil, nil, exitError{code: 1, msg: err.Error()}
	}
	logger, sink, err := logging.New(logging.Options{
		Level: cfg.LogLevel, Format: cfg.LogFormat, File: cfg.LogFile,
		MaxSizeMB: cfg.LogFileMaxSizeMB, MaxBackups: cfg.LogFileMaxBackups, MaxAgeDays: cfg.LogFileMaxAgeDays,
		Stdout: stdout,
	})
	if err != nil {
		return config.Config{}, nil, nil, exitError{code: 1, msg: "AUTH_LOG_FILE: " + err.Error()}
	}
	return cfg, logger, sink, nil
}

// openStore opens the configured database and, when migrate is true,
// applies pending migrations.
func openStore(ctx context.Context, cfg config.Config, migrate bool) (*sqlstore.Store, error) {
	mdb, _ := cfg.MigrateDatabase()
	s, err := sqlstore.Open(ctx, sqlstore.Options{
		URL:          cfg.DB,
		MigrateDSN:   mdb.DSN(),
		OpTimeout:    cfg.DBTimeout,
		MaxOpenConns: cfg.DBMaxOpenConns, MaxIdleConns: cfg.DBMaxIdleConns,
		ConnMaxLifetime: cfg.DBConnMaxLifetime, ConnMaxIdleTime: cfg.DBConnMaxIdleTime,
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if migrate {
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, migrateFailed("migrate database", err)
		}
	}
	return s, nil
}

// newApp wires the store, breaker, keys and service. withTokens is false
// for administrative commands, which issue no tokens.
func newApp(ctx context.Context, cfg config.Config, logger *slog.Logger, sink io.Closer, withTokens bool) (*app, error) {
	a := &app{cfg: cfg, log: logger, sink: sink, metrics: metrics.New()}
	var err error
	if a.db, err = openStore(ctx, cfg, cfg.AutoMigrate); err != nil {
		return nil, err
	}
	if !cfg.AutoMigrate {
		if err := a.checkSchema(ctx); err != nil {
			a.close()
			return nil, err
		}
	}
	var counters auth.Lockout = a.db
	if cfg.RedisURL != "" {
		redis.SetLogger(redisLogger{logger})
		if a.redis, err = openRedis(ctx, cfg, logger); err != nil {
			a.close()
			return nil, err
		}
		a.fallbacks = newFallbacks(a.metrics)
	}
	a.store = breaker.NewStore(a.db, counters, breaker.Options{
		Timeout:     cfg.DBTimeout,
		MaxFailures: uint32(cfg.BreakerMaxFailures),
		OpenTimeout: cfg.BreakerOpenTimeout,
		Logger:      logger,
		Observer:    a.metrics,
		// Every sqlstore driver honours its context's deadline.
		InlineCalls: true,
	})
	var lock auth.Lockout = a.store
	if a.redis != nil {
		// Redis shares lockout state across replicas; when it fails the
		// database-backed counters take over, so no login is refused
		// because Redis is down.
		lock = lockout.NewFallbackNotify(lockout.NewRedis(a.redis, "authserve:lockout:"), a.store, logger,
			a.fallbacks.onChange(limitLockout))
	}
	hasher, err := auth.NewHasher(cfg.BcryptCost, cfg.HashConcurrency, cfg.HashQueueTimeout, a.metrics)
	if err != nil {
		a.close()
		return nil, fmt.Errorf("hasher: %w", err)
	}
	if withTokens {
		if err := a.loadKeys(); err != nil {
			a.close()
			return nil, err
		}
	}
	sealer, err := a.mfaSealer(withTokens)
	if err != nil {
		a.close()
		return nil, err
	}
	a.audit = auth.NewAuditWriter(a.store, auth.AuditWriterOptions{Logger: logger, Timeout: cfg.DBTimeout, Context: breaker.Background(context.Background())})
	a.metrics.AuditDropped(a.audit.Dropped)
	if a.composer, err = mail.NewComposer(cfg.AppURL, cfg.MailTemplatesDir); err != nil {
		a.close()
		return nil, exitError{code: 1, msg: "AUTH_MAIL_TEMPLATES_DIR: " + err.Error()}
	}
	a.service = auth.NewService(auth.Config{
		Password:                auth.PasswordPolicy{MinLength: cfg.PasswordMinLength, MinClasses: cfg.PasswordMinClasses},
		RefreshTokenTTL:         cfg.RefreshTokenTTL,
		SessionMaxLifetime:      cfg.SessionMaxLifetime,
		RefreshReuseInterval:    cfg.RefreshReuseInterval,
		LockoutThreshold:        cfg.LockoutThreshold,
		LockoutAccountThreshold: cfg.LockoutAccountThreshold,
		LockoutDuration:         cfg.LockoutDuration,
		Recovery:                recoveryConfig(cfg),
	}, auth.Deps{Store: a.store, Hasher: hasher, Tokens: a.tokens, Lockout: lock, Logger: logger, Observer: a.metrics,
		Recovery: a.store, Mail: a.composer, Sealer: sealer, MFAIssuer: cfg.JWTIssuer,
		Audit: a.audit, Admin: a.store, AuditLog: a.store})
	return a, nil
}

// loadKeys builds the signing keys: an explicit secret or key file, or in
// development a secret generated once and kept beside the database.
func (a *app) loadKeys() error {
	cfg := a.cfg
	var err error
	switch {
	case cfg.JWTSecret != "":
		a.keys, err = token.NewHMACKeySet([]byte(cfg.JWTSecret.Reveal()))
		if err != nil {
			return exitError{code: 1, msg: "AUTH_JWT_SECRET: " + err.Error()}
		}
		if len(cfg.JWTVerifyKeyFiles) > 0 {
			a.log.Warn("AUTH_JWT_VERIFY_KEY_FILES is ignored with AUTH_JWT_SECRET (HS256 has no public keys)")
		}
	case cfg.JWTPrivateKeyFile != "":
		a.keys, err = token.LoadKeySet(cfg.JWTPrivateKeyFile, cfg.JWTVerifyKeyFiles)
		switch {
		case errors.Is(err, token.ErrVerifyKey):
			return exitError{code: 1, msg: "AUTH_JWT_VERIFY_KEY_FILES: " + err.Error()}
		case err != nil:
			return exitError{code: 1, msg: "AUTH_JWT_PRIVATE_KEY_FILE: " + err.Error()}
		}
	default:
		path := cfg.DevKeyPath()
		secret, created, err := token.DevSecret(path)
		if err != nil {
			return fmt.Errorf("development signing secret %s: %w", path, err)
		}
		a.keys, err = token.NewHMACKeySet(secret)
		if err != nil {
			return fmt.Errorf("development signing secret %s: %w", path, err)
		}
		a.log.Warn("no AUTH_JWT_SECRET or AUTH_JWT_PRIVATE_KEY_FILE: signing with a development secret; set one before production",
			slog.String("key_file", path), slog.Bool("created", created))
		if len(cfg.JWTVerifyKeyFiles) > 0 {
			a.log.Warn("AUTH_JWT_VERIFY_KEY_FILES is ignored without AUTH_JWT_PRIVATE_KEY_FILE (the development secret is HS256)")
		}
	}
	a.tokens, err = token.NewManager(token.Config{
		Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, TTL: cfg.AccessTokenTTL,
	}, a.keys)
	if err != nil {
		return fmt.Errorf("token manager: %w", err)
	}
	return nil
}

// checkSchema refuses to run on a schema that migrations have not brought
// up to date: every request would fail with database_error. A database
// that cannot be asked is only warned about: the breaker and /readyz take
// it from there, as they do for an outage at any other time.
func (a *app) checkSchema(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, a.cfg.DBTimeout)
	defer cancel()
	current, err := a.db.SchemaCurrent(cctx)
	switch {
	case err != nil:
		a.log.Warn("could not check the schema version; starting anyway", slog.String("error", err.Error()))
		return nil
	case !current:
		return exitError{code: 1, msg: "AUTH_AUTO_MIGRATE: the database has pending migrations and AUTH_AUTO_MIGRATE is false; run `authserve migrate up` first"}
	}
	return nil
}

// close releases what newApp opened, in reverse order.
func (a *app) close() error {
	var errs []error
	if a.audit != nil {
		// What is queued is written before the database closes.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		a.audit.Close(ctx)
		cancel()
	}
	if a.redis != nil {
		errs = append(errs, a.redis.Close())
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	return errors.Join(errs...)
}

// redisLogger sends go-redis's own messages (dial failures) to the JSON
// log instead of plain text on standard error.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
