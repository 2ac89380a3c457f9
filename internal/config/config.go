// Package config reads authserve's configuration from environment variables
// and an optional .env file, and refuses bad values with one line that names
// the variable at fault.
//
// Every variable of the public contract has a field here, plus a few
// extensions (database pool sizes, HTTP server timeouts, log rotation),
// marked "Extension" in their documentation. The file .env.example at the
// root of the repository lists them all (README "Configuration" names the
// common ones); a test keeps the two in step.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/joho/godotenv"

	"github.com/authserve/authserve/internal/totp"
)

// Config is the whole configuration of the service. Load fills it in and
// validates it; the zero value is not a usable configuration.
//
// Secrets are typed (Secret, SecretURL), so a Config can be printed or logged
// without revealing them.
type Config struct {
	// Env is "development" or "production". Production refuses development
	// defaults: no explicit signing key, or a bcrypt cost under 10.
	Env string `env:"AUTH_ENV" envDefault:"development"`
	// Addr is the listen address.
	Addr string `env:"AUTH_ADDR" envDefault:":8080"`
	// ShutdownTimeout is the drain time on SIGTERM/SIGINT.
	ShutdownTimeout time.Duration `env:"AUTH_SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// AdminAddr is the listen address of the admin API; off when empty.
	// Never the same as Addr.
	AdminAddr string `env:"AUTH_ADMIN_ADDR"`
	// AuditRetention is how long audit events are kept.
	AuditRetention time.Duration `env:"AUTH_AUDIT_RETENTION" envDefault:"2160h"`
	// HTTPReadHeaderTimeout bounds reading request headers (slowloris defence).
	// Extension: not in the public contract.
	HTTPReadHeaderTimeout time.Duration `env:"AUTH_HTTP_READ_HEADER_TIMEOUT" envDefault:"5s"`
	// HTTPReadTimeout bounds reading a whole request. Extension.
	HTTPReadTimeout time.Duration `env:"AUTH_HTTP_READ_TIMEOUT" envDefault:"10s"`
	// HTTPWriteTimeout bounds writing a response. Extension.
	HTTPWriteTimeout time.Duration `env:"AUTH_HTTP_WRITE_TIMEOUT" envDefault:"30s"`
	// HTTPIdleTimeout is how long an idle keep-alive connection is kept.
	// Extension.
	HTTPIdleTimeout time.Duration `env:"AUTH_HTTP_IDLE_TIMEOUT" envDefault:"120s"`
	// TrustedProxies are the networks whose X-Forwarded-For is believed. A bare
	// address in the variable is a /32 (IPv4) or /128 (IPv6) network.
	TrustedProxies []netip.Prefix `env:"AUTH_TRUSTED_PROXIES"`
	// CORSAllowedOrigins are the origins (scheme://host[:port], lower case)
	// allowed by CORS; empty means no CORS headers at all.
	CORSAllowedOrigins []string `env:"AUTH_CORS_ALLOWED_ORIGINS"`

	// DatabaseURL is sqlite:PATH, sqlite::memory:, postgres://…,
	// postgresql://… or mysql://…; see Database.
	DatabaseURL SecretURL `env:"AUTH_DATABASE_URL" envDefault:"sqlite:authserve.db"`
	// DB is DatabaseURL parsed, once, by Load: what the store opens, the
	// development key path and the start-up log line all read.
	DB Database
	// MigrateDatabaseURL, when set, is the database migrations (and their
	// lock) use instead of DatabaseURL: a direct URL beside a pooled one
	// (see MigrateDatabase).
	MigrateDatabaseURL SecretURL `env:"AUTH_MIGRATE_DATABASE_URL"`
	// MigrateDB is MigrateDatabaseURL parsed by Load (zero when unset).
	MigrateDB Database
	// AutoMigrate applies pending migrations at start-up.
	AutoMigrate bool `env:"AUTH_AUTO_MIGRATE" envDefault:"true"`
	// DBTimeout is the upper bound on any one database operation.
	DBTimeout time.Duration `env:"AUTH_DB_TIMEOUT" envDefault:"3s"`
	// DBMaxOpenConns caps open database connections; 0 lets the store decide
	// (10 for PostgreSQL and MySQL; SQLite chooses its own). Extension.
	DBMaxOpenConns int `env:"AUTH_DB_MAX_OPEN_CONNS" envDefault:"0"`
	// DBMaxIdleConns caps idle database connections; 0 lets the store decide.
	// Extension.
	DBMaxIdleConns int `env:"AUTH_DB_MAX_IDLE_CONNS" envDefault:"0"`
	// DBConnMaxLifetime retires connections after this long; 0 keeps them
	// forever. Extension.
	DBConnMaxLifetime time.Duration `env:"AUTH_DB_CONN_MAX_LIFETIME" envDefault:"30m"`
	// DBConnMaxIdleTime closes connections idle this long; 0 keeps them.
	// Extension.
	DBConnMaxIdleTime time.Duration `env:"AUTH_DB_CONN_MAX_IDLE_TIME" envDefault:"5m"`
	// BreakerMaxFailures is the number of consecutive infrastructure failures
	// that open the circuit.
	BreakerMaxFailures int `env:"AUTH_BREAKER_MAX_FAILURES" envDefault:"5"`
	// BreakerOpenTimeout is how long the circuit stays open before a
	// half-open trial.
	BreakerOpenTimeout time.Duration `env:"AUTH_BREAKER_OPEN_TIMEOUT" envDefault:"30s"`

	// JWTSecret is the HS256 signing secret, at least 32 bytes.
	JWTSecret Secret `env:"AUTH_JWT_SECRET"`
	// JWTPrivateKeyFile is a PEM private key (Ed25519, P-256 or RSA ≥ 2048).
	JWTPrivateKeyFile string `env:"AUTH_JWT_PRIVATE_KEY_FILE"`
	// JWTVerifyKeyFiles are PEM files of earlier keys: published and still
	// verifying, never signing.
	JWTVerifyKeyFiles []string `env:"AUTH_JWT_VERIFY_KEY_FILES"`
	// JWTIssuer is the iss claim, checked on every token.
	JWTIssuer string `env:"AUTH_JWT_ISSUER" envDefault:"authserve"`
	// JWTAudience, when set, is the aud claim of every token, and checked.
	JWTAudience string `env:"AUTH_JWT_AUDIENCE"`
	// AccessTokenTTL is the lifetime of an access token.
	AccessTokenTTL time.Duration `env:"AUTH_ACCESS_TOKEN_TTL" envDefault:"15m"`
	// RefreshTokenTTL is the lifetime of a refresh token.
	RefreshTokenTTL time.Duration `env:"AUTH_REFRESH_TOKEN_TTL" envDefault:"720h"`
	// SessionMaxLifetime is the absolute lifetime of a login session,
	// whatever its refreshes.
	SessionMaxLifetime time.Duration `env:"AUTH_SESSION_MAX_LIFETIME" envDefault:"2160h"`
	// RefreshReuseInterval is the grace period in which a just-spent refresh
	// token may be presented again; 0 is strict.
	RefreshReuseInterval time.Duration `env:"AUTH_REFRESH_REUSE_INTERVAL" envDefault:"10s"`

	// MFAEncryptionKey is 32 random bytes, standard base64: TOTP secrets
	// are sealed with it (AES-256-GCM). Required in production.
	MFAEncryptionKey Secret `env:"AUTH_MFA_ENCRYPTION_KEY"`
	// MFAPreviousKeys are earlier encryption keys, comma-separated: they
	// still open secrets sealed before a rotation, never seal. Extension.
	MFAPreviousKeys Secret `env:"AUTH_MFA_PREVIOUS_KEYS"`

	// BcryptCost is the bcrypt work factor, 4..31.
	BcryptCost int `env:"AUTH_BCRYPT_COST" envDefault:"12"`
	// HashConcurrency is how many password hashes are computed at once; it
	// defaults to the number of CPUs.
	HashConcurrency int `env:"AUTH_HASH_CONCURRENCY"`
	// HashQueueTimeout is the longest wait for a hashing slot before 503
	// overloaded.
	HashQueueTimeout time.Duration `env:"AUTH_HASH_QUEUE_TIMEOUT" envDefault:"2s"`
	// PasswordMinLength is the minimum password length in characters, after
	// normalisation, 1..72.
	PasswordMinLength int `env:"AUTH_PASSWORD_MIN_LENGTH" envDefault:"8"`
	// PasswordMinClasses is how many of lower case, upper case, digit and
	// symbol a password under 16 characters needs, 0..4.
	PasswordMinClasses int `env:"AUTH_PASSWORD_MIN_CLASSES" envDefault:"3"`

	// RateLimitPerMinute is the number of requests per client IP per minute
	// on POST /api/auth/*; 0 turns the limit off.
	RateLimitPerMinute int `env:"AUTH_RATE_LIMIT_PER_MINUTE" envDefault:"60"`
	// LockoutThreshold is the number of consecutive failed logins for one
	// email from one client address that locks that pair; 0 turns it off.
	LockoutThreshold int `env:"AUTH_LOCKOUT_THRESHOLD" envDefault:"5"`
	// LockoutAccountThreshold is the number of failed logins for one email
	// from all addresses that locks it everywhere; 0 turns it off.
	LockoutAccountThreshold int `env:"AUTH_LOCKOUT_ACCOUNT_THRESHOLD" envDefault:"50"`
	// LockoutDuration is how long a lock lasts.
	LockoutDuration time.Duration `env:"AUTH_LOCKOUT_DURATION" envDefault:"15m"`
	// RedisURL (redis:// or rediss://) holds rate-limit and lockout state
	// shared by all replicas; empty keeps rate limits in process and
	// lockout counters in the database. A Redis Cluster is named by one or
	// more of its nodes (more as ?addr=host:port).
	RedisURL SecretURL `env:"AUTH_REDIS_URL"`

	// LogLevel is the lowest level logged.
	LogLevel slog.Level `env:"AUTH_LOG_LEVEL" envDefault:"info"`
	// LogFormat is "json" or "text".
	LogFormat string `env:"AUTH_LOG_FORMAT" envDefault:"json"`
	// LogFile, when set, also receives the logs, rotated.
	LogFile string `env:"AUTH_LOG_FILE"`
	// LogFileMaxSizeMB is the size at which LogFile is rotated. Extension.
	LogFileMaxSizeMB int `env:"AUTH_LOG_FILE_MAX_SIZE_MB" envDefault:"100"`
	// LogFileMaxBackups is how many rotated files are kept; 0 keeps all
	// (subject to LogFileMaxAgeDays). Extension.
	LogFileMaxBackups int `env:"AUTH_LOG_FILE_MAX_BACKUPS" envDefault:"5"`
	// LogFileMaxAgeDays is how many days rotated files are kept; 0 keeps them
	// regardless of age. Extension.
	LogFileMaxAgeDays int `env:"AUTH_LOG_FILE_MAX_AGE_DAYS" envDefault:"28"`

	// SMTPURL is smtp://user:pass@host:587 (STARTTLS required),
	// smtps://…:465 (implicit TLS) or smtp+plain://host:port (no TLS,
	// development only). Empty in development writes .eml files to MailDir.
	SMTPURL SecretURL `env:"AUTH_SMTP_URL"`
	// MailFrom is the From header of every email.
	MailFrom string `env:"AUTH_MAIL_FROM" envDefault:"authserve <no-reply@localhost>"`
	// MailDir receives each email as an .eml file when there is no SMTP
	// server (development only).
	MailDir string `env:"AUTH_MAIL_DIR" envDefault:"mail"`
	// MailTemplatesDir overrides the built-in templates, file by file.
	MailTemplatesDir string `env:"AUTH_MAIL_TEMPLATES_DIR"`
	// AppURL is the base of the links in emails.
	AppURL string `env:"AUTH_APP_URL" envDefault:"http://localhost:8080"`
	// EmailVerification is off, optional or required.
	EmailVerification string `env:"AUTH_EMAIL_VERIFICATION" envDefault:"optional"`
	// VerifyTokenTTL is the lifetime of an email-verification token.
	VerifyTokenTTL time.Duration `env:"AUTH_VERIFY_TOKEN_TTL" envDefault:"24h"`
	// ResetTokenTTL is the lifetime of a password-reset token.
	ResetTokenTTL time.Duration `env:"AUTH_RESET_TOKEN_TTL" envDefault:"30m"`
	// MailCooldown is the least time between two emails of one kind to one
	// account.
	MailCooldown time.Duration `env:"AUTH_MAIL_COOLDOWN" envDefault:"60s"`
	// MailMaxAttempts bounds delivery attempts of one email before it is
	// marked failed. Extension.
	MailMaxAttempts int `env:"AUTH_MAIL_MAX_ATTEMPTS" envDefault:"10"`
	// MailRetryBase is the wait after a first failed delivery, doubled
	// after each further one (at most an hour). Extension.
	MailRetryBase time.Duration `env:"AUTH_MAIL_RETRY_BASE" envDefault:"30s"`
}

// Default values that production refuses.
const (
	defaultMailFrom = "authserve <no-reply@localhost>"
	defaultAppURL   = "http://localhost:8080"
)

// Environments accepted by AUTH_ENV.
const (
	Development = "development"
	Production  = "production"
)

// IsProduction reports whether AUTH_ENV is production.
func (c Config) IsProduction() bool { return c.Env == Production }

// DevKeyPath is where the development signing secret is kept when neither
// AUTH_JWT_SECRET nor AUTH_JWT_PRIVATE_KEY_FILE is set: beside the SQLite
// file (authserve.db → authserve.db.key), so that a database and the key
// that signed its sessions travel together; authserve.key in the working
// directory for an in-memory or server database.
func (c Config) DevKeyPath() string {
	if c.DB.File() {
		return c.DB.Path() + ".key"
	}
	return "authserve.key"
}

// Problem is one bad variable.
type Problem struct {
	// Var is the variable at fault, such as "AUTH_LOG_LEVEL".
	Var string
	// Message says what is wrong with it and what is wanted.
	Message string
}

// Error is returned by Load when variables are bad. It prints as one line:
// "VAR: problem", several separated by "; ", in the order of .env.example.
type Error struct {
	Problems []Problem
}

// Error returns the problems on one line.
func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Var + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

// variable describes one field of Config.
type variable struct {
	key        string
	field      string
	def        string
	hasDefault bool
}

// variables lists Config's fields in declaration order, which is also the
// order of .env.example and of reported problems.
var variables = func() []variable {
	t := reflect.TypeFor[Config]()
	vs := make([]variable, 0, t.NumField())
	for f := range t.Fields() {
		key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if key == "" {
			continue
		}
		def, ok := f.Tag.Lookup("envDefault")
		vs = append(vs, variable{key: key, field: f.Name, def: def, hasDefault: ok})
	}
	return vs
}()

// Variables returns the names of every variable Config reads, in the order
// of .env.example.
func Variables() []string {
	names := make([]string, len(variables))
	for i, v := range variables {
		names[i] = v.key
	}
	return names
}

// Load reads .env from dotenvDir (the working directory when empty), if
// present, under the variables of getenv: a variable getenv gives a
// non-empty value wins over the file. It then parses and validates every
// variable and returns the configuration, or an *Error naming each bad
// variable. An AUTH_ variable in .env that Config does not know is refused
// too, as it is almost always a typo that would silently keep a default.
func Load(getenv func(string) string, dotenvDir string) (Config, error) {
	dotenv, err := readDotenv(dotenvDir)
	if err != nil {
		return Config{}, err
	}
	raw := make(map[string]string, len(variables))
	for _, v := range variables {
		val := getenv(v.key)
		if val == "" {
			val = dotenv[v.key]
		}
		// A secret may legitimately end in a space; anything else with
		// surrounding blanks is a quoting accident.
		if v.key != "AUTH_JWT_SECRET" {
			val = strings.TrimSpace(val)
		}
		if val != "" {
			raw[v.key] = val
		}
	}
	return parse(raw)
}

// readDotenv reads dir/.env; a missing file is an empty one.
func readDotenv(dir string) (map[string]string, error) {
	if dir == "" {
		dir = "."
	}
	path := filepath.Join(dir, ".env")
	m, err := godotenv.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		// godotenv quotes the rest of the file after a syntax error, which
		// may hold secrets: keep only its first clause.
		msg, _, _ := strings.Cut(err.Error(), " near ")
		return nil, fmt.Errorf("%s: %s", path, msg)
	}
	known := Variables()
	var unknown []string
	for k := range m {
		if strings.HasPrefix(k, "AUTH_") && !strings.HasPrefix(k, "AUTH_TEST_") && !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("%s: unknown variable %s (see .env.example for the list)", path, strings.Join(unknown, ", "))
	}
	return m, nil
}

// parse turns raw values (absent or non-empty) into a validated Config.
func parse(raw map[string]string) (Config, error) {
	var ps problems
	// Normalisers run first: they check values that the typed parse would
	// accept too loosely (slog's level names) or not at all (a bare IP as a
	// proxy network), and rewrite them into the canonical form.
	for _, v := range variables {
		norm, ok := normalisers[v.key]
		val, set := raw[v.key]
		if !ok || !set {
			continue
		}
		nv, err := norm(val)
		switch {
		case err != nil:
			ps.add(v.key, err)
			delete(raw, v.key)
		case nv == "":
			delete(raw, v.key)
		default:
			raw[v.key] = nv
		}
	}

	var c Config
	err := env.ParseWithOptions(&c, env.Options{Environment: raw, FuncMap: parsers})
	if err != nil {
		var agg env.AggregateError
		if !errors.As(err, &agg) {
			return Config{}, err
		}
		for _, e := range agg.Errors {
			var pe env.ParseError
			if !errors.As(e, &pe) {
				return Config{}, e
			}
			ps.add(keyOfField(pe.Name), pe.Err)
		}
	}
	if _, set := raw["AUTH_HASH_CONCURRENCY"]; !set {
		c.HashConcurrency = runtime.NumCPU()
	}

	validate(&c, &ps)
	if len(ps) > 0 {
		return Config{}, ps.err()
	}
	return c, nil
}

func keyOfField(name string) string {
	for _, v := range variables {
		if v.field == name {
			return v.key
		}
	}
	return name
}

// problems collects bad variables, at most one per variable.
type problems []Problem

func (ps *problems) add(key string, err error) {
	if !ps.bad(key) {
		*ps = append(*ps, Problem{Var: key, Message: err.Error()})
	}
}

// check records err, if any. Like add, it keeps only the first problem of a
// variable: a value that did not parse is not also reported as out of range.
func (ps *problems) check(key string, err error) {
	if err != nil {
		ps.add(key, err)
	}
}

func (ps *problems) bad(key string) bool {
	return slices.ContainsFunc(*ps, func(p Problem) bool { return p.Var == key })
}

func (ps problems) err() error {
	order := func(key string) int {
		return slices.IndexFunc(variables, func(v variable) bool { return v.key == key })
	}
	sorted := slices.Clone(ps)
	slices.SortStableFunc(sorted, func(a, b Problem) int { return order(a.Var) - order(b.Var) })
	return &Error{Problems: sorted}
}

// MFAKeys decodes AUTH_MFA_ENCRYPTION_KEY (nil when unset) and
// AUTH_MFA_PREVIOUS_KEYS. Errors never quote a key.
func (c Config) MFAKeys() (current []byte, previous [][]byte, err error) {
	if c.MFAEncryptionKey != "" {
		if current, err = totp.ParseKey(c.MFAEncryptionKey.Reveal()); err != nil {
			return nil, nil, fmt.Errorf("AUTH_MFA_ENCRYPTION_KEY: %w", err)
		}
	}
	if c.MFAPreviousKeys != "" {
		if previous, err = parseKeyList(c.MFAPreviousKeys.Reveal()); err != nil {
			return nil, nil, fmt.Errorf("AUTH_MFA_PREVIOUS_KEYS: %w", err)
		}
	}
	return current, previous, nil
}

// parseKeyList decodes comma-separated encryption keys.
func parseKeyList(list string) ([][]byte, error) {
	var keys [][]byte
	for i, s := range strings.Split(list, ",") {
		k, err := totp.ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("key %d %v", i+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}
