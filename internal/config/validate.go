package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/dburl"
	"github.com/authserve/authserve/internal/token"
	"github.com/authserve/authserve/internal/totp"
)

// parsers replace caarlos0/env's defaults so that messages say what is
// wanted instead of quoting strconv.
var parsers = map[reflect.Type]env.ParserFunc{
	reflect.TypeFor[int](): func(s string) (any, error) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	},
	reflect.TypeFor[bool](): func(s string) (any, error) {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean (want true or false)", s)
		}
		return b, nil
	},
	reflect.TypeFor[time.Duration](): func(s string) (any, error) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration (want e.g. 10s, 15m or 720h)", s)
		}
		return d, nil
	},
}

// normalisers check and rewrite raw values before the typed parse. A ""
// result means "not set".
var normalisers = map[string]func(string) (string, error){
	"AUTH_ENV": oneOf("environment", Development, Production),
	// slog.Level's own parser also takes "WARN+2" or "info-4": only the four
	// documented names are accepted.
	"AUTH_LOG_LEVEL":            oneOf("log level", "debug", "info", "warn", "error"),
	"AUTH_LOG_FORMAT":           oneOf("log format", "json", "text"),
	"AUTH_TRUSTED_PROXIES":      eachOf(normaliseNetwork),
	"AUTH_CORS_ALLOWED_ORIGINS": eachOf(normaliseOrigin),
	"AUTH_JWT_VERIFY_KEY_FILES": eachOf(func(s string) (string, error) { return s, nil }),
	"AUTH_EMAIL_VERIFICATION":   oneOf("verification mode", "off", "optional", "required"),
}

// oneOf accepts the given words, in any case, and gives them in lower case.
func oneOf(what string, words ...string) func(string) (string, error) {
	return func(s string) (string, error) {
		l := strings.ToLower(s)
		for _, w := range words {
			if l == w {
				return l, nil
			}
		}
		list := strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
		return "", fmt.Errorf("unknown %s %q (want %s)", what, s, list)
	}
}

// eachOf applies norm to each comma-separated item, dropping blank ones.
func eachOf(norm func(string) (string, error)) func(string) (string, error) {
	return func(s string) (string, error) {
		var out []string
		for item := range strings.SplitSeq(s, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			n, err := norm(item)
			if err != nil {
				return "", err
			}
			out = append(out, n)
		}
		return strings.Join(out, ","), nil
	}
}

// normaliseNetwork accepts a CIDR or a bare address (a /32 or /128) and
// gives the masked CIDR.
func normaliseNetwork(s string) (string, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked().String(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return "", fmt.Errorf("%q is neither an IP address nor a CIDR (want e.g. 10.0.0.0/8 or 192.0.2.1)", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()).String(), nil
}

// normaliseOrigin accepts scheme://host[:port] and gives it in lower case.
// A trailing slash is forgiven, as browsers never send one and it is an
// easy mistake; a path, a wildcard or "null" is refused, since each would
// allow more sites than the operator meant.
func normaliseOrigin(s string) (string, error) {
	const want = "(want scheme://host[:port], e.g. https://app.example.com)"
	switch {
	case strings.Contains(s, "*"):
		return "", fmt.Errorf("%q: wildcards are not allowed, list each origin", s)
	case strings.EqualFold(s, "null"):
		return "", errors.New(`"null" is not allowed: sandboxed frames and file: pages all send it`)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an origin %s", s, want)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || strings.Contains(s, "#") {
		return "", fmt.Errorf("%q is not an origin: no path, query or user info %s", s, want)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%q: port out of range", s)
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host), nil
}

// validate checks the typed values and their combinations, adding a problem
// for each bad variable not already reported.
func validate(c *Config, ps *problems) {
	ps.check("AUTH_ADDR", checkAddr(c.Addr))
	if c.AdminAddr != "" {
		if err := checkAddr(c.AdminAddr); err != nil {
			ps.add("AUTH_ADMIN_ADDR", err)
		} else if sameListener(c.Addr, c.AdminAddr) {
			ps.add("AUTH_ADMIN_ADDR", fmt.Errorf("%q is the public address (AUTH_ADDR); the admin API must have a listener of its own", c.AdminAddr))
		}
	}

	positive := map[string]time.Duration{
		"AUTH_SHUTDOWN_TIMEOUT":         c.ShutdownTimeout,
		"AUTH_HTTP_READ_HEADER_TIMEOUT": c.HTTPReadHeaderTimeout,
		"AUTH_HTTP_READ_TIMEOUT":        c.HTTPReadTimeout,
		"AUTH_HTTP_WRITE_TIMEOUT":       c.HTTPWriteTimeout,
		"AUTH_HTTP_IDLE_TIMEOUT":        c.HTTPIdleTimeout,
		"AUTH_DB_TIMEOUT":               c.DBTimeout,
		"AUTH_BREAKER_OPEN_TIMEOUT":     c.BreakerOpenTimeout,
		"AUTH_ACCESS_TOKEN_TTL":         c.AccessTokenTTL,
		"AUTH_REFRESH_TOKEN_TTL":        c.RefreshTokenTTL,
		"AUTH_SESSION_MAX_LIFETIME":     c.SessionMaxLifetime,
		"AUTH_HASH_QUEUE_TIMEOUT":       c.HashQueueTimeout,
		"AUTH_LOCKOUT_DURATION":         c.LockoutDuration,
		"AUTH_AUDIT_RETENTION":          c.AuditRetention,
		"AUTH_VERIFY_TOKEN_TTL":         c.VerifyTokenTTL,
		"AUTH_RESET_TOKEN_TTL":          c.ResetTokenTTL,
		"AUTH_MAIL_RETRY_BASE":          c.MailRetryBase,
	}
	for key, d := range positive {
		if d <= 0 {
			ps.add(key, fmt.Errorf("must be greater than 0 (got %v)", d))
		}
	}
	// Zero means "none" or "strict" for these.
	nonNegative := map[string]time.Duration{
		"AUTH_DB_CONN_MAX_LIFETIME":   c.DBConnMaxLifetime,
		"AUTH_DB_CONN_MAX_IDLE_TIME":  c.DBConnMaxIdleTime,
		"AUTH_REFRESH_REUSE_INTERVAL": c.RefreshReuseInterval,
		"AUTH_MAIL_COOLDOWN":          c.MailCooldown,
	}
	for key, d := range nonNegative {
		if d < 0 {
			ps.add(key, fmt.Errorf("must not be negative (got %v)", d))
		}
	}

	ranges := []struct {
		key     string
		n       int
		min     int
		max     int
		meaning string
	}{
		{"AUTH_DB_MAX_OPEN_CONNS", c.DBMaxOpenConns, 0, -1, "0 = automatic"},
		{"AUTH_DB_MAX_IDLE_CONNS", c.DBMaxIdleConns, 0, -1, "0 = automatic"},
		{"AUTH_BREAKER_MAX_FAILURES", c.BreakerMaxFailures, 1, -1, ""},
		{"AUTH_BCRYPT_COST", c.BcryptCost, 4, 31, ""},
		{"AUTH_HASH_CONCURRENCY", c.HashConcurrency, 1, -1, ""},
		{"AUTH_PASSWORD_MIN_LENGTH", c.PasswordMinLength, 1, auth.MaxPasswordBytes, fmt.Sprintf("%d bytes is bcrypt's limit", auth.MaxPasswordBytes)},
		{"AUTH_PASSWORD_MIN_CLASSES", c.PasswordMinClasses, 0, 4, ""},
		{"AUTH_RATE_LIMIT_PER_MINUTE", c.RateLimitPerMinute, 0, -1, "0 = off"},
		{"AUTH_LOCKOUT_THRESHOLD", c.LockoutThreshold, 0, -1, "0 = off"},
		{"AUTH_LOCKOUT_ACCOUNT_THRESHOLD", c.LockoutAccountThreshold, 0, -1, "0 = off"},
		{"AUTH_LOG_FILE_MAX_SIZE_MB", c.LogFileMaxSizeMB, 1, -1, ""},
		{"AUTH_LOG_FILE_MAX_BACKUPS", c.LogFileMaxBackups, 0, -1, "0 = keep all"},
		{"AUTH_LOG_FILE_MAX_AGE_DAYS", c.LogFileMaxAgeDays, 0, -1, "0 = keep regardless of age"},
		{"AUTH_MAIL_MAX_ATTEMPTS", c.MailMaxAttempts, 1, 100, ""},
	}
	for _, r := range ranges {
		ps.check(r.key, checkRange(r.n, r.min, r.max, r.meaning))
	}

	db, err := dburl.Parse(c.DatabaseURL.Reveal())
	if err != nil {
		ps.add("AUTH_DATABASE_URL", err)
	}
	c.DB = db
	ps.check("AUTH_MIGRATE_DATABASE_URL", c.checkMigrateDatabaseURL())
	if c.RedisURL != "" {
		ps.check("AUTH_REDIS_URL", checkRedisURL(c.RedisURL.Reveal()))
	}

	if n := len(c.JWTSecret); n > 0 && n < token.MinSecretLength {
		ps.add("AUTH_JWT_SECRET", fmt.Errorf("must be at least %d bytes (got %d)", token.MinSecretLength, n))
	}
	if c.JWTSecret != "" && c.JWTPrivateKeyFile != "" {
		ps.add("AUTH_JWT_SECRET", errors.New("set together with AUTH_JWT_PRIVATE_KEY_FILE: choose one (HS256 secret or private key)"))
	}

	validateMail(c, ps)
	if c.MFAEncryptionKey != "" {
		if _, err := totp.ParseKey(c.MFAEncryptionKey.Reveal()); err != nil {
			ps.add("AUTH_MFA_ENCRYPTION_KEY", fmt.Errorf("%v: want 32 random bytes in standard base64 (authserve keys generate --type aes256)", err))
		}
	}
	if c.MFAPreviousKeys != "" {
		if _, err := parseKeyList(c.MFAPreviousKeys.Reveal()); err != nil {
			ps.add("AUTH_MFA_PREVIOUS_KEYS", err)
		}
	}

	if c.IsProduction() {
		if c.MFAEncryptionKey == "" {
			ps.add("AUTH_MFA_ENCRYPTION_KEY", errors.New("AUTH_ENV=production needs it: TOTP secrets are encrypted at rest (authserve keys generate --type aes256)"))
		}
		if c.JWTSecret == "" && c.JWTPrivateKeyFile == "" {
			ps.add("AUTH_JWT_SECRET", errors.New("AUTH_ENV=production needs an explicit signing key: set AUTH_JWT_SECRET or AUTH_JWT_PRIVATE_KEY_FILE"))
		}
		if c.BcryptCost < 10 {
			ps.add("AUTH_BCRYPT_COST", fmt.Errorf("%d is below 10, the minimum with AUTH_ENV=production", c.BcryptCost))
		}
		productionMail(c, ps)
	}
}

// checkRange checks min <= n <= max; max < 0 means no upper bound.
func checkRange(n, lo, hi int, meaning string) error {
	if n >= lo && (hi < 0 || n <= hi) {
		return nil
	}
	var msg string
	if hi < 0 {
		msg = fmt.Sprintf("must be at least %d, got %d", lo, n)
	} else {
		msg = fmt.Sprintf("%d is outside %d..%d", n, lo, hi)
	}
	if meaning != "" {
		msg += " (" + meaning + ")"
	}
	return errors.New(msg)
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = errors.New("port out of range")
		}
	}
	if err != nil {
		return fmt.Errorf("%q is not host:port (want e.g. :8080 or 127.0.0.1:8080)", addr)
	}
	return nil
}

// sameListener reports whether two valid listen addresses would be one
// socket: the same port on the same host, or on a wildcard host, which
// takes every address. Port 0 picks a free port: never the same.
func sameListener(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	na, _ := strconv.Atoi(pa)
	nb, _ := strconv.Atoi(pb)
	if na != nb || na == 0 {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wild(ha) || wild(hb) || strings.EqualFold(ha, hb)
}

// checkRedisURL checks the scheme and syntax without quoting the URL, which
// may hold a password.
func checkRedisURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a valid URL: %v", dburl.URLErrorCause(err))
	}
	if s := strings.ToLower(u.Scheme); (s != "redis" && s != "rediss") || u.Opaque != "" {
		return errors.New("want redis://host:port/db or rediss://… (TLS)")
	}
	return nil
}
