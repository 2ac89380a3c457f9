package config

import (
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cmpPrefix compares netip.Prefix values, whose fields are unexported.
// cmpPrefix compares configurations: prefixes by value, and DB (derived
// from DatabaseURL, and checked to be so) left out.
var cmpPrefix = cmp.Options{
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b Database) bool { return true }),
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// defaults is the configuration with nothing set, written out by hand so
// that a changed default is a deliberate edit here too.
func defaults() Config {
	return Config{
		Env:                     "development",
		Addr:                    ":8080",
		ShutdownTimeout:         15 * time.Second,
		AuditRetention:          2160 * time.Hour,
		HTTPReadHeaderTimeout:   5 * time.Second,
		HTTPReadTimeout:         10 * time.Second,
		HTTPWriteTimeout:        30 * time.Second,
		HTTPIdleTimeout:         120 * time.Second,
		DatabaseURL:             "sqlite:authserve.db",
		AutoMigrate:             true,
		DBTimeout:               3 * time.Second,
		DBConnMaxLifetime:       30 * time.Minute,
		DBConnMaxIdleTime:       5 * time.Minute,
		BreakerMaxFailures:      5,
		BreakerOpenTimeout:      30 * time.Second,
		JWTIssuer:               "authserve",
		AccessTokenTTL:          15 * time.Minute,
		RefreshTokenTTL:         720 * time.Hour,
		SessionMaxLifetime:      2160 * time.Hour,
		RefreshReuseInterval:    10 * time.Second,
		BcryptCost:              12,
		HashConcurrency:         runtime.NumCPU(),
		HashQueueTimeout:        2 * time.Second,
		PasswordMinLength:       8,
		PasswordMinClasses:      3,
		RateLimitPerMinute:      60,
		LockoutThreshold:        5,
		LockoutAccountThreshold: 50,
		LockoutDuration:         15 * time.Minute,
		LogLevel:                slog.LevelInfo,
		LogFormat:               "json",
		LogFileMaxSizeMB:        100,
		LogFileMaxBackups:       5,
		LogFileMaxAgeDays:       28,
		MailFrom:                "authserve <no-reply@localhost>",
		MailDir:                 "mail",
		AppURL:                  "http://localhost:8080",
		EmailVerification:       "optional",
		VerifyTokenTTL:          24 * time.Hour,
		ResetTokenTTL:           30 * time.Minute,
		MailCooldown:            time.Minute,
		MailMaxAttempts:         10,
		MailRetryBase:           30 * time.Second,
	}
}

// prodMail are mail settings production accepts, merged into other
// variables by withProdMail.
var prodMail = map[string]string{
	"AUTH_SMTP_URL":  "smtps://mailer:secret@smtp.example.com:465",
	"AUTH_MAIL_FROM": "Example <no-reply@example.com>",
	"AUTH_APP_URL":   "https://app.example.com",
}

// withProdMail also sets the MFA key production needs (section 9); an
// empty value in env unsets it.
func withProdMail(env map[string]string) map[string]string {
	out := map[string]string{"AUTH_MFA_ENCRYPTION_KEY": mfaKey}
	for k, v := range prodMail {
		out[k] = v
	}
	for k, v := range env {
		out[k] = v
	}
	return out
}

const secret32 = "0123456789abcdef0123456789abcdef"

func TestLoadDefaults(t *testing.T) {
	got, err := Load(envOf(nil), t.TempDir())
	if err != nil {
		t.Fatalf("Load(empty) error = %v", err)
	}
	if diff := cmp.Diff(defaults(), got, cmpPrefix); diff != "" {
		t.Errorf("Load(empty) mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadIgnoresProcessEnvironment(t *testing.T) {
	t.Setenv("AUTH_LOG_LEVEL", "debug")
	got, err := Load(envOf(nil), t.TempDir())
	if err != nil {
		t.Fatalf("Load(empty) error = %v", err)
	}
	if got.LogLevel != slog.LevelInfo {
		t.Errorf("Load(empty getenv).LogLevel = %v, want %v: the process environment leaked in", got.LogLevel, slog.LevelInfo)
	}
}

// mfaKey is a valid AUTH_MFA_ENCRYPTION_KEY (32 bytes of 0x01, base64).
const mfaKey = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="

func TestLoadParsesEachVariable(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want func(c *Config)
	}{
		{withProdMail(map[string]string{"AUTH_ENV": "production", "AUTH_JWT_SECRET": secret32, "AUTH_MFA_ENCRYPTION_KEY": mfaKey}),
			func(c *Config) {
				c.Env = "production"
				c.JWTSecret = secret32
				c.MFAEncryptionKey = mfaKey
				c.SMTPURL = SecretURL(prodMail["AUTH_SMTP_URL"])
				c.MailFrom = prodMail["AUTH_MAIL_FROM"]
				c.AppURL = prodMail["AUTH_APP_URL"]
			}},
		{map[string]string{"AUTH_MFA_ENCRYPTION_KEY": mfaKey, "AUTH_MFA_PREVIOUS_KEYS": mfaKey + "," + mfaKey},
			func(c *Config) { c.MFAEncryptionKey = mfaKey; c.MFAPreviousKeys = Secret(mfaKey + "," + mfaKey) }},
		{map[string]string{"AUTH_SMTP_URL": "smtp+plain://127.0.0.1:1025"}, func(c *Config) { c.SMTPURL = "smtp+plain://127.0.0.1:1025" }},
		{map[string]string{"AUTH_EMAIL_VERIFICATION": "Required"}, func(c *Config) { c.EmailVerification = "required" }},
		{map[string]string{"AUTH_MAIL_COOLDOWN": "0"}, func(c *Config) { c.MailCooldown = 0 }},
		{map[string]string{"AUTH_RESET_TOKEN_TTL": "1h"}, func(c *Config) { c.ResetTokenTTL = time.Hour }},
		{map[string]string{"AUTH_MAIL_TEMPLATES_DIR": "/etc/authserve/mail"}, func(c *Config) { c.MailTemplatesDir = "/etc/authserve/mail" }},
		{map[string]string{"AUTH_ENV": "Development"}, func(c *Config) {}},
		{map[string]string{"AUTH_ADDR": "127.0.0.1:9000"}, func(c *Config) { c.Addr = "127.0.0.1:9000" }},
		{map[string]string{"AUTH_ADDR": ":0"}, func(c *Config) { c.Addr = ":0" }},
		{map[string]string{"AUTH_ADMIN_ADDR": "127.0.0.1:8081"}, func(c *Config) { c.AdminAddr = "127.0.0.1:8081" }},
		{map[string]string{"AUTH_ADDR": "127.0.0.1:8080", "AUTH_ADMIN_ADDR": "10.0.0.5:8080"}, func(c *Config) { c.Addr, c.AdminAddr = "127.0.0.1:8080", "10.0.0.5:8080" }},
		{map[string]string{"AUTH_ADDR": ":0", "AUTH_ADMIN_ADDR": "127.0.0.1:0"}, func(c *Config) { c.Addr, c.AdminAddr = ":0", "127.0.0.1:0" }},
		{map[string]string{"AUTH_AUDIT_RETENTION": "720h"}, func(c *Config) { c.AuditRetention = 720 * time.Hour }},
		{map[string]string{"AUTH_SHUTDOWN_TIMEOUT": "1m"}, func(c *Config) { c.ShutdownTimeout = time.Minute }},
		{map[string]string{"AUTH_HTTP_READ_HEADER_TIMEOUT": "2s"}, func(c *Config) { c.HTTPReadHeaderTimeout = 2 * time.Second }},
		{map[string]string{"AUTH_HTTP_READ_TIMEOUT": "20s"}, func(c *Config) { c.HTTPReadTimeout = 20 * time.Second }},
		{map[string]string{"AUTH_HTTP_WRITE_TIMEOUT": "1m30s"}, func(c *Config) { c.HTTPWriteTimeout = 90 * time.Second }},
		{map[string]string{"AUTH_HTTP_IDLE_TIMEOUT": "5m"}, func(c *Config) { c.HTTPIdleTimeout = 5 * time.Minute }},
		{map[string]string{"AUTH_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,2001:db8::/32 , ::1,10.1.2.3/16"},
			func(c *Config) {
				c.TrustedProxies = []netip.Prefix{
					netip.MustParsePrefix("10.0.0.0/8"),
					netip.MustParsePrefix("192.0.2.7/32"),
					netip.MustParsePrefix("2001:db8::/32"),
					netip.MustParsePrefix("::1/128"),
					netip.MustParsePrefix("10.1.0.0/16"),
				}
			}},
		{map[string]string{"AUTH_TRUSTED_PROXIES": "::ffff:192.0.2.1"},
			func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")} }},
		{map[string]string{"AUTH_TRUSTED_PROXIES": " , "}, func(c *Config) {}},
		{map[string]string{"AUTH_CORS_ALLOWED_ORIGINS": "https://App.Example.com, http://localhost:3000/,https://[::1]:8443"},
			func(c *Config) {
				c.CORSAllowedOrigins = []string{"https://app.example.com", "http://localhost:3000", "https://[::1]:8443"}
			}},
		{map[string]string{"AUTH_DATABASE_URL": "postgres://u:p@db:5432/auth?sslmode=require"},
			func(c *Config) { c.DatabaseURL = "postgres://u:p@db:5432/auth?sslmode=require" }},
		{map[string]string{"AUTH_DATABASE_URL": "sqlite::memory:"}, func(c *Config) { c.DatabaseURL = "sqlite::memory:" }},
		{map[string]string{"AUTH_AUTO_MIGRATE": "false"}, func(c *Config) { c.AutoMigrate = false }},
		{map[string]string{"AUTH_AUTO_MIGRATE": "0"}, func(c *Config) { c.AutoMigrate = false }},
		{map[string]string{"AUTH_DB_TIMEOUT": "500ms"}, func(c *Config) { c.DBTimeout = 500 * time.Millisecond }},
		{map[string]string{"AUTH_DB_MAX_OPEN_CONNS": "25"}, func(c *Config) { c.DBMaxOpenConns = 25 }},
		{map[string]string{"AUTH_DB_MAX_IDLE_CONNS": "4"}, func(c *Config) { c.DBMaxIdleConns = 4 }},
		{map[string]string{"AUTH_DB_CONN_MAX_LIFETIME": "0"}, func(c *Config) { c.DBConnMaxLifetime = 0 }},
		{map[string]string{"AUTH_DB_CONN_MAX_IDLE_TIME": "1m"}, func(c *Config) { c.DBConnMaxIdleTime = time.Minute }},
		{map[string]string{"AUTH_BREAKER_MAX_FAILURES": "3"}, func(c *Config) { c.BreakerMaxFailures = 3 }},
		{map[string]string{"AUTH_BREAKER_OPEN_TIMEOUT": "5s"}, func(c *Config) { c.BreakerOpenTimeout = 5 * time.Second }},
		{map[string]string{"AUTH_JWT_SECRET": secret32 + " "}, func(c *Config) { c.JWTSecret = secret32 + " " }},
		{map[string]string{"AUTH_JWT_PRIVATE_KEY_FILE": "/etc/authserve/key.pem"},
			func(c *Config) { c.JWTPrivateKeyFile = "/etc/authserve/key.pem" }},
		{map[string]string{"AUTH_JWT_VERIFY_KEY_FILES": "old1.pem, old2.pem,"},
			func(c *Config) { c.JWTVerifyKeyFiles = []string{"old1.pem", "old2.pem"} }},
		{map[string]string{"AUTH_JWT_ISSUER": "https://auth.example.com"}, func(c *Config) { c.JWTIssuer = "https://auth.example.com" }},
		{map[string]string{"AUTH_JWT_AUDIENCE": "api"}, func(c *Config) { c.JWTAudience = "api" }},
		{map[string]string{"AUTH_ACCESS_TOKEN_TTL": "5m"}, func(c *Config) { c.AccessTokenTTL = 5 * time.Minute }},
		{map[string]string{"AUTH_REFRESH_TOKEN_TTL": "24h"}, func(c *Config) { c.RefreshTokenTTL = 24 * time.Hour }},
		{map[string]string{"AUTH_SESSION_MAX_LIFETIME": "48h"}, func(c *Config) { c.SessionMaxLifetime = 48 * time.Hour }},
		{map[string]string{"AUTH_REFRESH_REUSE_INTERVAL": "0"}, func(c *Config) { c.RefreshReuseInterval = 0 }},
		{map[string]string{"AUTH_BCRYPT_COST": "4"}, func(c *Config) { c.BcryptCost = 4 }},
		{map[string]string{"AUTH_BCRYPT_COST": "31"}, func(c *Config) { c.BcryptCost = 31 }},
		{map[string]string{"AUTH_HASH_CONCURRENCY": "3"}, func(c *Config) { c.HashConcurrency = 3 }},
		{map[string]string{"AUTH_HASH_QUEUE_TIMEOUT": "250ms"}, func(c *Config) { c.HashQueueTimeout = 250 * time.Millisecond }},
		{map[string]string{"AUTH_PASSWORD_MIN_LENGTH": "72"}, func(c *Config) { c.PasswordMinLength = 72 }},
		{map[string]string{"AUTH_PASSWORD_MIN_CLASSES": "0"}, func(c *Config) { c.PasswordMinClasses = 0 }},
		{map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "0"}, func(c *Config) { c.RateLimitPerMinute = 0 }},
		{map[string]string{"AUTH_LOCKOUT_THRESHOLD": "0"}, func(c *Config) { c.LockoutThreshold = 0 }},
		{map[string]string{"AUTH_LOCKOUT_ACCOUNT_THRESHOLD": "100"}, func(c *Config) { c.LockoutAccountThreshold = 100 }},
		{map[string]string{"AUTH_LOCKOUT_DURATION": "1h"}, func(c *Config) { c.LockoutDuration = time.Hour }},
		{map[string]string{"AUTH_REDIS_URL": "rediss://:pw@cache:6380/2"}, func(c *Config) { c.RedisURL = "rediss://:pw@cache:6380/2" }},
		{map[string]string{"AUTH_LOG_LEVEL": "DEBUG"}, func(c *Config) { c.LogLevel = slog.LevelDebug }},
		{map[string]string{"AUTH_LOG_LEVEL": "warn"}, func(c *Config) { c.LogLevel = slog.LevelWarn }},
		{map[string]string{"AUTH_LOG_LEVEL": "error"}, func(c *Config) { c.LogLevel = slog.LevelError }},
		{map[string]string{"AUTH_LOG_FORMAT": "Text"}, func(c *Config) { c.LogFormat = "text" }},
		{map[string]string{"AUTH_LOG_FILE": "/var/log/authserve.log"}, func(c *Config) { c.LogFile = "/var/log/authserve.log" }},
		{map[string]string{"AUTH_LOG_FILE_MAX_SIZE_MB": "10"}, func(c *Config) { c.LogFileMaxSizeMB = 10 }},
		{map[string]string{"AUTH_LOG_FILE_MAX_BACKUPS": "0"}, func(c *Config) { c.LogFileMaxBackups = 0 }},
		{map[string]string{"AUTH_LOG_FILE_MAX_AGE_DAYS": "7"}, func(c *Config) { c.LogFileMaxAgeDays = 7 }},
		// Blank values are unset values: the default applies.
		{map[string]string{"AUTH_BCRYPT_COST": "  ", "AUTH_LOG_LEVEL": ""}, func(c *Config) {}},
		{map[string]string{"AUTH_ACCESS_TOKEN_TTL": " 20m "}, func(c *Config) { c.AccessTokenTTL = 20 * time.Minute }},
	}
	for _, tt := range tests {
		got, err := Load(envOf(tt.env), t.TempDir())
		if err != nil {
			t.Errorf("Load(%v) error = %v", tt.env, err)
			continue
		}
		want := defaults()
		tt.want(&want)
		if diff := cmp.Diff(want, got, cmpPrefix); diff != "" {
			t.Errorf("Load(%v) mismatch (-want +got):\n%s", tt.env, diff)
		}
		if db, err := ParseDatabaseURL(want.DatabaseURL.Reveal()); err != nil || got.DB != db {
			t.Errorf("Load(%v).DB = %v, want %v parsed from AUTH_DATABASE_URL (%v)", tt.env, got.DB, db, err)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"AUTH_LOG_LEVEL": "loud"}, `AUTH_LOG_LEVEL: unknown log level "loud" (want debug, info, warn or error)`},
		{map[string]string{"AUTH_LOG_LEVEL": "warn+2"}, `AUTH_LOG_LEVEL: unknown log level "warn+2" (want debug, info, warn or error)`},
		{map[string]string{"AUTH_LOG_FORMAT": "xml"}, `AUTH_LOG_FORMAT: unknown log format "xml" (want json or text)`},
		{map[string]string{"AUTH_ENV": "staging"}, `AUTH_ENV: unknown environment "staging" (want development or production)`},
		{map[string]string{"AUTH_ADDR": "8080"}, `AUTH_ADDR: "8080" is not host:port (want e.g. :8080 or 127.0.0.1:8080)`},
		{map[string]string{"AUTH_ADDR": ":99999"}, `AUTH_ADDR: ":99999" is not host:port (want e.g. :8080 or 127.0.0.1:8080)`},
		{map[string]string{"AUTH_ADMIN_ADDR": "8081"}, `AUTH_ADMIN_ADDR: "8081" is not host:port (want e.g. :8080 or 127.0.0.1:8080)`},
		{map[string]string{"AUTH_ADMIN_ADDR": ":8080"}, `AUTH_ADMIN_ADDR: ":8080" is the public address (AUTH_ADDR); the admin API must have a listener of its own`},
		{map[string]string{"AUTH_ADDR": "127.0.0.1:9000", "AUTH_ADMIN_ADDR": "0.0.0.0:9000"}, `AUTH_ADMIN_ADDR: "0.0.0.0:9000" is the public address (AUTH_ADDR); the admin API must have a listener of its own`},
		{map[string]string{"AUTH_ADDR": "[::1]:9000", "AUTH_ADMIN_ADDR": "[::1]:9000"}, `AUTH_ADMIN_ADDR: "[::1]:9000" is the public address (AUTH_ADDR); the admin API must have a listener of its own`},
		{map[string]string{"AUTH_AUDIT_RETENTION": "0s"}, `AUTH_AUDIT_RETENTION: must be greater than 0 (got 0s)`},
		{map[string]string{"AUTH_ACCESS_TOKEN_TTL": "15"}, `AUTH_ACCESS_TOKEN_TTL: "15" is not a duration (want e.g. 10s, 15m or 720h)`},
		{map[string]string{"AUTH_ACCESS_TOKEN_TTL": "0"}, `AUTH_ACCESS_TOKEN_TTL: must be greater than 0 (got 0s)`},
		{map[string]string{"AUTH_REFRESH_TOKEN_TTL": "-1h"}, `AUTH_REFRESH_TOKEN_TTL: must be greater than 0 (got -1h0m0s)`},
		{map[string]string{"AUTH_SESSION_MAX_LIFETIME": "forever"}, `AUTH_SESSION_MAX_LIFETIME: "forever" is not a duration (want e.g. 10s, 15m or 720h)`},
		{map[string]string{"AUTH_REFRESH_REUSE_INTERVAL": "-1s"}, `AUTH_REFRESH_REUSE_INTERVAL: must not be negative (got -1s)`},
		{map[string]string{"AUTH_SHUTDOWN_TIMEOUT": "0s"}, `AUTH_SHUTDOWN_TIMEOUT: must be greater than 0 (got 0s)`},
		{map[string]string{"AUTH_HTTP_READ_HEADER_TIMEOUT": "0"}, `AUTH_HTTP_READ_HEADER_TIMEOUT: must be greater than 0 (got 0s)`},
		{map[string]string{"AUTH_HTTP_READ_TIMEOUT": "-5s"}, `AUTH_HTTP_READ_TIMEOUT: must be greater than 0 (got -5s)`},
		{map[string]string{"AUTH_HTTP_WRITE_TIMEOUT": "x"}, `AUTH_HTTP_WRITE_TIMEOUT: "x" is not a duration (want e.g. 10s, 15m or 720h)`},
		{map[string]string{"AUTH_HTTP_IDLE_TIMEOUT": "0"}, `AUTH_HTTP_IDLE_TIMEOUT: must be greater than 0 (got 0s)`},
		{map[string]string{"AUTH_DB_TIMEOUT": "0"}, `AUTH_DB_TIMEOUT: must be greater than 0 (got 0s)`},
		{map[string]string{"AUTH_DB_CONN_MAX_LIFETIME": "-1m"}, `AUTH_DB_CONN_MAX_LIFETIME: must not be negative (got -1m0s)`},
		{map[string]string{"AUTH_DB_CONN_MAX_IDLE_TIME": "-1m"}, `AUTH_DB_CONN_MAX_IDLE_TIME: must not be negative (got -1m0s)`},
		{map[string]string{"AUTH_BREAKER_OPEN_TIMEOUT": "0"}, `AUTH_BREAKER_OPEN_TIMEOUT: must be greater than 0 (got 0s)`},
		{map[string]string{"AUTH_HASH_QUEUE_TIMEOUT": "0"}, `AUTH_HASH_QUEUE_TIMEOUT: must be greater than 0 (got 0s)`},
		{map[string]string{"AUTH_LOCKOUT_DURATION": "0"}, `AUTH_LOCKOUT_DURATION: must be greater than 0 (got 0s)`},
		{map[string]string{"AUTH_AUTO_MIGRATE": "yes"}, `AUTH_AUTO_MIGRATE: "yes" is not a boolean (want true or false)`},
		{map[string]string{"AUTH_BCRYPT_COST": "3"}, `AUTH_BCRYPT_COST: 3 is outside 4..31`},
		{map[string]string{"AUTH_BCRYPT_COST": "32"}, `AUTH_BCRYPT_COST: 32 is outside 4..31`},
		{map[string]string{"AUTH_BCRYPT_COST": "twelve"}, `AUTH_BCRYPT_COST: "twelve" is not an integer`},
		{map[string]string{"AUTH_HASH_CONCURRENCY": "0"}, `AUTH_HASH_CONCURRENCY: must be at least 1, got 0`},
		{map[string]string{"AUTH_PASSWORD_MIN_LENGTH": "0"}, `AUTH_PASSWORD_MIN_LENGTH: 0 is outside 1..72 (72 bytes is bcrypt's limit)`},
		{map[string]string{"AUTH_PASSWORD_MIN_LENGTH": "73"}, `AUTH_PASSWORD_MIN_LENGTH: 73 is outside 1..72 (72 bytes is bcrypt's limit)`},
		{map[string]string{"AUTH_PASSWORD_MIN_CLASSES": "5"}, `AUTH_PASSWORD_MIN_CLASSES: 5 is outside 0..4`},
		{map[string]string{"AUTH_PASSWORD_MIN_CLASSES": "-1"}, `AUTH_PASSWORD_MIN_CLASSES: -1 is outside 0..4`},
		{map[string]string{"AUTH_RATE_LIMIT_PER_MINUTE": "-1"}, `AUTH_RATE_LIMIT_PER_MINUTE: must be at least 0, got -1 (0 = off)`},
		{map[string]string{"AUTH_LOCKOUT_THRESHOLD": "-5"}, `AUTH_LOCKOUT_THRESHOLD: must be at least 0, got -5 (0 = off)`},
		{map[string]string{"AUTH_LOCKOUT_ACCOUNT_THRESHOLD": "-1"}, `AUTH_LOCKOUT_ACCOUNT_THRESHOLD: must be at least 0, got -1 (0 = off)`},
		{map[string]string{"AUTH_BREAKER_MAX_FAILURES": "0"}, `AUTH_BREAKER_MAX_FAILURES: must be at least 1, got 0`},
		{map[string]string{"AUTH_DB_MAX_OPEN_CONNS": "-1"}, `AUTH_DB_MAX_OPEN_CONNS: must be at least 0, got -1 (0 = automatic)`},
		{map[string]string{"AUTH_DB_MAX_IDLE_CONNS": "-2"}, `AUTH_DB_MAX_IDLE_CONNS: must be at least 0, got -2 (0 = automatic)`},
		{map[string]string{"AUTH_LOG_FILE_MAX_SIZE_MB": "0"}, `AUTH_LOG_FILE_MAX_SIZE_MB: must be at least 1, got 0`},
		{map[string]string{"AUTH_LOG_FILE_MAX_BACKUPS": "-1"}, `AUTH_LOG_FILE_MAX_BACKUPS: must be at least 0, got -1 (0 = keep all)`},
		{map[string]string{"AUTH_LOG_FILE_MAX_AGE_DAYS": "-1"}, `AUTH_LOG_FILE_MAX_AGE_DAYS: must be at least 0, got -1 (0 = keep regardless of age)`},
		{map[string]string{"AUTH_JWT_SECRET": "short"}, `AUTH_JWT_SECRET: must be at least 32 bytes (got 5)`},
		{map[string]string{"AUTH_JWT_SECRET": secret32, "AUTH_JWT_PRIVATE_KEY_FILE": "key.pem"},
			`AUTH_JWT_SECRET: set together with AUTH_JWT_PRIVATE_KEY_FILE: choose one (HS256 secret or private key)`},
		{map[string]string{"AUTH_DATABASE_URL": "mongodb://u:hunter2@db/auth"},
			`AUTH_DATABASE_URL: unknown database scheme "mongodb" (want sqlite:PATH, sqlite::memory:, postgres://… or mysql://…)`},
		{map[string]string{"AUTH_DATABASE_URL": "authserve.db"},
			`AUTH_DATABASE_URL: no database scheme (want sqlite:PATH, sqlite::memory:, postgres://… or mysql://…)`},
		{map[string]string{"AUTH_DATABASE_URL": "postgres://u:hunter2@db:bad/auth"},
			`AUTH_DATABASE_URL: not a valid URL: invalid port ":bad" after host`},
		{map[string]string{"AUTH_DATABASE_URL": "sqlite:"},
			`AUTH_DATABASE_URL: sqlite: needs a file (e.g. sqlite:authserve.db, or sqlite::memory: for a throw-away database)`},
		{map[string]string{"AUTH_REDIS_URL": "http://cache:6379"}, `AUTH_REDIS_URL: want redis://host:port/db or rediss://… (TLS)`},
		{map[string]string{"AUTH_REDIS_URL": "cache:6379"}, `AUTH_REDIS_URL: want redis://host:port/db or rediss://… (TLS)`},
		{map[string]string{"AUTH_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"},
			`AUTH_TRUSTED_PROXIES: "proxy.local" is neither an IP address nor a CIDR (want e.g. 10.0.0.0/8 or 192.0.2.1)`},
		{map[string]string{"AUTH_TRUSTED_PROXIES": "10.0.0.0/33"},
			`AUTH_TRUSTED_PROXIES: "10.0.0.0/33" is neither an IP address nor a CIDR (want e.g. 10.0.0.0/8 or 192.0.2.1)`},
		{map[string]string{"AUTH_TRUSTED_PROXIES": "fe80::1%eth0"},
			`AUTH_TRUSTED_PROXIES: "fe80::1%eth0" is neither an IP address nor a CIDR (want e.g. 10.0.0.0/8 or 192.0.2.1)`},
		{map[string]string{"AUTH_CORS_ALLOWED_ORIGINS": "*"}, `AUTH_CORS_ALLOWED_ORIGINS: "*": wildcards are not allowed, list each origin`},
		{map[string]string{"AUTH_CORS_ALLOWED_ORIGINS": "https://*.example.com"},
			`AUTH_CORS_ALLOWED_ORIGINS: "https://*.example.com": wildcards are not allowed, list each origin`},
		{map[string]string{"AUTH_CORS_ALLOWED_ORIGINS": "null"},
			`AUTH_CORS_ALLOWED_ORIGINS: "null" is not allowed: sandboxed frames and file: pages all send it`},
		{map[string]string{"AUTH_CORS_ALLOWED_ORIGINS": "https://app.example.com/login"},
			`AUTH_CORS_ALLOWED_ORIGINS: "https://app.example.com/login" is not an origin: no path, query or user info (want scheme://host[:port], e.g. https://app.example.com)`},
		{map[string]string{"AUTH_CORS_ALLOWED_ORIGINS": "app.example.com"},
			`AUTH_CORS_ALLOWED_ORIGINS: "app.example.com" is not an origin (want scheme://host[:port], e.g. https://app.example.com)`},
		{map[string]string{"AUTH_CORS_ALLOWED_ORIGINS": "https://app.example.com:0"},
			`AUTH_CORS_ALLOWED_ORIGINS: "https://app.example.com:0": port out of range`},
		// The production rules.
		{withProdMail(map[string]string{"AUTH_ENV": "production", "AUTH_MFA_ENCRYPTION_KEY": mfaKey}),
			`AUTH_JWT_SECRET: AUTH_ENV=production needs an explicit signing key: set AUTH_JWT_SECRET or AUTH_JWT_PRIVATE_KEY_FILE`},
		{withProdMail(map[string]string{"AUTH_ENV": "production", "AUTH_JWT_SECRET": secret32, "AUTH_MFA_ENCRYPTION_KEY": ""}),
			`AUTH_MFA_ENCRYPTION_KEY: AUTH_ENV=production needs it: TOTP secrets are encrypted at rest (authserve keys generate --type aes256)`},
		{map[string]string{"AUTH_MFA_ENCRYPTION_KEY": "c2hvcnQ="},
			`AUTH_MFA_ENCRYPTION_KEY: decodes to 5 bytes, want 32: want 32 random bytes in standard base64 (authserve keys generate --type aes256)`},
		{map[string]string{"AUTH_MFA_ENCRYPTION_KEY": "not base64!"},
			`AUTH_MFA_ENCRYPTION_KEY: is not standard base64: want 32 random bytes in standard base64 (authserve keys generate --type aes256)`},
		{map[string]string{"AUTH_MFA_ENCRYPTION_KEY": mfaKey, "AUTH_MFA_PREVIOUS_KEYS": mfaKey + ",c2hvcnQ="},
			`AUTH_MFA_PREVIOUS_KEYS: key 2 decodes to 5 bytes, want 32`},
		{withProdMail(map[string]string{"AUTH_ENV": "production", "AUTH_JWT_PRIVATE_KEY_FILE": "key.pem", "AUTH_BCRYPT_COST": "9", "AUTH_MFA_ENCRYPTION_KEY": mfaKey}),
			`AUTH_BCRYPT_COST: 9 is below 10, the minimum with AUTH_ENV=production`},
		// Production's mail rules, one variable at a time.
		{withProdMail(map[string]string{"AUTH_ENV": "production", "AUTH_JWT_SECRET": secret32, "AUTH_SMTP_URL": ""}),
			`AUTH_SMTP_URL: AUTH_ENV=production needs an SMTP server: set AUTH_SMTP_URL (smtp:// with STARTTLS or smtps://)`},
		{withProdMail(map[string]string{"AUTH_ENV": "production", "AUTH_JWT_SECRET": secret32, "AUTH_SMTP_URL": "smtp+plain://mail.internal:25"}),
			`AUTH_SMTP_URL: smtp+plain (no TLS) is for development peers only; use smtp:// (STARTTLS) or smtps:// with AUTH_ENV=production`},
		{withProdMail(map[string]string{"AUTH_ENV": "production", "AUTH_JWT_SECRET": secret32, "AUTH_MAIL_FROM": ""}),
			`AUTH_MAIL_FROM: AUTH_ENV=production needs AUTH_MAIL_FROM set to your own sender address`},
		{withProdMail(map[string]string{"AUTH_ENV": "production", "AUTH_JWT_SECRET": secret32, "AUTH_APP_URL": ""}),
			`AUTH_APP_URL: AUTH_ENV=production needs AUTH_APP_URL set to the application that opens the email links`},
		// Mail settings in any environment; the SMTP URL's password is
		// never quoted.
		{map[string]string{"AUTH_SMTP_URL": "imap://user:hunter2@mail.example.com"}, `AUTH_SMTP_URL: unknown scheme "imap" (want smtp, smtps or smtp+plain)`},
		{map[string]string{"AUTH_SMTP_URL": "smtp://user:hunter2@:587"}, `AUTH_SMTP_URL: no host (want e.g. smtp://user:pass@mail.example.com:587)`},
		{map[string]string{"AUTH_SMTP_URL": "smtps://user:hunter2@mail.example.com:99999"}, `AUTH_SMTP_URL: port out of range`},
		{map[string]string{"AUTH_SMTP_URL": "smtp://user:hunter2@mail.example.com/x?y=1"}, `AUTH_SMTP_URL: no path, query or fragment allowed`},
		{map[string]string{"AUTH_SMTP_URL": "smtp://user:hunter2@mail example.com"}, `AUTH_SMTP_URL: not a valid URL (want smtp://user:pass@host:587, smtps://…:465 or smtp+plain://host:port)`},
		{map[string]string{"AUTH_MAIL_FROM": "not an address"}, `AUTH_MAIL_FROM: "not an address" is not an address (want e.g. Example <no-reply@example.com>)`},
		{map[string]string{"AUTH_APP_URL": "app.example.com"}, `AUTH_APP_URL: "app.example.com" is not an http(s) URL (want e.g. https://app.example.com)`},
		{map[string]string{"AUTH_APP_URL": "https://app.example.com/#x"}, `AUTH_APP_URL: "https://app.example.com/#x": no query or fragment allowed (the links add a path and the token fragment)`},
		{map[string]string{"AUTH_EMAIL_VERIFICATION": "sometimes"}, `AUTH_EMAIL_VERIFICATION: unknown verification mode "sometimes" (want off, optional or required)`},
		{map[string]string{"AUTH_RESET_TOKEN_TTL": "0s"}, `AUTH_RESET_TOKEN_TTL: must be greater than 0 (got 0s)`},
		{map[string]string{"AUTH_MAIL_COOLDOWN": "-1s"}, `AUTH_MAIL_COOLDOWN: must not be negative (got -1s)`},
		// Several bad variables: one line, in .env.example order.
		{map[string]string{"AUTH_LOG_LEVEL": "loud", "AUTH_BCRYPT_COST": "99", "AUTH_ADDR": "x"},
			`AUTH_ADDR: "x" is not host:port (want e.g. :8080 or 127.0.0.1:8080); AUTH_BCRYPT_COST: 99 is outside 4..31; ` +
				`AUTH_LOG_LEVEL: unknown log level "loud" (want debug, info, warn or error)`},
	}
	for _, tt := range tests {
		_, err := Load(envOf(tt.env), t.TempDir())
		if err == nil {
			t.Errorf("Load(%v) error = nil, want %q", tt.env, tt.want)
			continue
		}
		if got := err.Error(); got != tt.want {
			t.Errorf("Load(%v) error =\n %q, want\n %q", tt.env, got, tt.want)
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("Load(%v) error is %T, want *Error", tt.env, err)
		}
		if strings.ContainsAny(err.Error(), "\n") {
			t.Errorf("Load(%v) error %q spans several lines", tt.env, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Load(%v) error %q reveals a password", tt.env, err)
		}
	}
}

func TestLoadDotenv(t *testing.T) {
	tests := []struct {
		name    string
		dotenv  string // "" means no .env file
		env     map[string]string
		check   func(c Config) (got, want any)
		wantErr string
	}{
		{
			name:   "no file",
			check:  func(c Config) (any, any) { return c.LogLevel, slog.LevelInfo },
			dotenv: "",
		},
		{
			name:   "file value used",
			dotenv: "AUTH_LOG_LEVEL=debug\n",
			check:  func(c Config) (any, any) { return c.LogLevel, slog.LevelDebug },
		},
		{
			name:   "environment wins",
			dotenv: "AUTH_LOG_LEVEL=debug\nAUTH_BCRYPT_COST=5\n",
			env:    map[string]string{"AUTH_LOG_LEVEL": "error"},
			check:  func(c Config) (any, any) { return [2]any{c.LogLevel, c.BcryptCost}, [2]any{slog.LevelError, 5} },
		},
		{
			name:   "quotes, export and comments",
			dotenv: "# comment\nexport AUTH_JWT_SECRET=\"" + secret32 + "\"\nAUTH_ADDR=':9090'\n",
			check: func(c Config) (any, any) {
				return [2]string{c.JWTSecret.Reveal(), c.Addr}, [2]string{secret32, ":9090"}
			},
		},
		{
			name:   "test variables are not refused",
			dotenv: "AUTH_TEST_POSTGRES_URL=postgres://x/y\nOTHER_TOOL=1\n",
			check:  func(c Config) (any, any) { return c.Addr, ":8080" },
		},
		{
			name:    "unknown AUTH variable",
			dotenv:  "AUTH_LOG_LEVLE=debug\n",
			wantErr: ".env: unknown variable AUTH_LOG_LEVLE (see .env.example for the list)",
		},
		{
			name:    "bad value from the file names the variable",
			dotenv:  "AUTH_LOG_FORMAT=yaml\n",
			wantErr: `AUTH_LOG_FORMAT: unknown log format "yaml" (want json or text)`,
		},
		{
			name:    "syntax error does not quote the file",
			dotenv:  "AUTH-LOG=1\nAUTH_JWT_SECRET=" + secret32 + "\n",
			wantErr: `.env: unexpected character "-" in variable name`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.dotenv != "" {
				if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(tt.dotenv), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(envOf(tt.env), dir)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Load() error = nil, want %q", tt.wantErr)
				}
				got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
				if got != tt.wantErr {
					t.Errorf("Load() error = %q, want %q", got, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret32) {
					t.Errorf("Load() error %q reveals the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if got, want := tt.check(c); got != want {
				t.Errorf("Load() = %v, want %v", got, want)
			}
		})
	}
}

func TestLoadUnreadableDotenv(t *testing.T) {
	// A directory named .env cannot be read: that is an error, unlike a
	// missing file.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".env"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(envOf(nil), dir); err == nil {
		t.Errorf("Load() with .env a directory: error = nil, want one")
	}
}

func TestDevKeyPath(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"sqlite:authserve.db", "authserve.db.key"},
		{"sqlite:/var/lib/authserve/auth.db", "/var/lib/authserve/auth.db.key"},
		{"sqlite:data/auth.db?_pragma=busy_timeout(5000)", "data/auth.db.key"},
		{"sqlite::memory:", "authserve.key"},
		{"sqlite:file:x?mode=memory", "authserve.key"},
		{"sqlite:file::memory:?cache=shared", "authserve.key"},
		{"sqlite:file:data/auth.db?_pragma=foreign_keys(1)", "data/auth.db.key"},
		{"postgres://u:p@db/auth", "authserve.key"},
		{"mysql://u:p@db/auth", "authserve.key"},
	}
	for _, tt := range tests {
		db, err := ParseDatabaseURL(tt.url)
		if err != nil {
			t.Fatalf("ParseDatabaseURL(%q) = %v", tt.url, err)
		}
		c := Config{DatabaseURL: SecretURL(tt.url), DB: db}
		if got := c.DevKeyPath(); got != tt.want {
			t.Errorf("Config{DatabaseURL: %q}.DevKeyPath() = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestVariablesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Variables() {
		if seen[v] {
			t.Errorf("variable %s is read by two fields", v)
		}
		seen[v] = true
		if !strings.HasPrefix(v, "AUTH_") {
			t.Errorf("variable %s lacks the AUTH_ prefix", v)
		}
	}
}
