// Package dburl parses AUTH_DATABASE_URL once into a typed value that the
// configuration, the store, the development key path and the start-up log
// line all use, so that the driver, the SQLite file and whether the
// database lives in memory are derived by one set of rules.
package dburl

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Database drivers named by AUTH_DATABASE_URL.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
	DriverMySQL    = "mysql"
)

// URL is a parsed database URL. Its DSN may hold a password: every way of
// printing a URL (fmt verbs, slog) shows it without its credentials.
type URL struct {
	driver   string
	dsn      string
	path     string
	memory   bool
	readOnly bool
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]{0,31}$`)

// Parse parses a database URL: sqlite:PATH, sqlite::memory:, postgres://…,
// postgresql://… or mysql://…. Its errors never quote the URL, which may
// hold a password.
func Parse(raw string) (URL, error) {
	const want = "(want sqlite:PATH, sqlite::memory:, postgres://… or mysql://…)"
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok || !schemeRE.MatchString(scheme) {
		return URL{}, fmt.Errorf("no database scheme %s", want)
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		if strings.HasPrefix(rest, "//") {
			// sqlite://x is relative in some tools and absolute in others:
			// refuse to guess.
			return URL{}, errors.New("write sqlite:PATH (e.g. sqlite:authserve.db or sqlite:/var/lib/authserve/auth.db), not sqlite://")
		}
		return FromDSN(DriverSQLite, rest)
	case "postgres", "postgresql":
		if err := checkServerURL(raw, rest); err != nil {
			return URL{}, err
		}
		return URL{driver: DriverPostgres, dsn: raw}, nil
	case "mysql":
		if err := checkServerURL(raw, rest); err != nil {
			return URL{}, err
		}
		return URL{driver: DriverMySQL, dsn: raw}, nil
	}
	return URL{}, fmt.Errorf("unknown database scheme %q %s", scheme, want)
}

// FromDSN is the URL of a driver ("sqlite", "postgres" or "mysql") and
// what that driver opens: for SQLite a file path, a "file:" URI or
// ":memory:", with any ?query of pragmas; for the others the server URL.
// Tests and tools that know their driver use it instead of Parse.
func FromDSN(driver, dsn string) (URL, error) {
	switch driver {
	case DriverPostgres, DriverMySQL:
		if dsn == "" {
			return URL{}, fmt.Errorf("empty %s DSN", driver)
		}
		return URL{driver: driver, dsn: dsn}, nil
	case DriverSQLite:
	default:
		return URL{}, fmt.Errorf("unknown database driver %q (want sqlite, postgres or mysql)", driver)
	}
	u := URL{driver: DriverSQLite, dsn: dsn}
	path, query, _ := strings.Cut(dsn, "?")
	if rest, ok := strings.CutPrefix(path, "file:"); ok {
		path = rest
		if strings.HasPrefix(rest, "//") {
			pu, err := url.Parse(dsn)
			if err != nil {
				return URL{}, errors.New("sqlite: not a valid file: URI")
			}
			path = pu.Path
		}
	}
	if path == "" {
		return URL{}, errors.New("sqlite: needs a file (e.g. sqlite:authserve.db, or sqlite::memory: for a throw-away database)")
	}
	u.path = path
	mode := ""
	if v, err := url.ParseQuery(query); err == nil {
		mode = v.Get("mode")
	}
	u.memory = path == ":memory:" || mode == "memory"
	u.readOnly = mode == "ro"
	return u, nil
}

// Driver is DriverSQLite, DriverPostgres or DriverMySQL; "" for the zero URL.
func (u URL) Driver() string { return u.driver }

// DSN is what the driver opens: for SQLite the text after "sqlite:" (the
// file, with any ?query of pragmas); for PostgreSQL and MySQL the URL as
// given, password included.
func (u URL) DSN() string { return u.dsn }

// Path is the SQLite file without its query or "file:" prefix (":memory:"
// for sqlite::memory:), empty for server databases.
func (u URL) Path() string { return u.path }

// InMemory reports whether the database is a throw-away SQLite database.
func (u URL) InMemory() bool { return u.memory }

// ReadOnly reports whether the SQLite DSN asks for mode=ro.
func (u URL) ReadOnly() bool { return u.readOnly }

// File reports whether the database is a SQLite file on disk: the one
// kind beside which a development key may be kept.
func (u URL) File() bool { return u.driver == DriverSQLite && !u.memory }

// String returns the URL without credentials: the SQLite file, or the
// server URL with its password and credential-like parameters hidden.
func (u URL) String() string {
	switch u.driver {
	case "":
		return ""
	case DriverSQLite:
		return "sqlite:" + u.path
	}
	pu, err := url.Parse(u.dsn)
	if err != nil {
		return u.driver + "://[REDACTED]"
	}
	pu.RawQuery = ""
	return pu.Redacted()
}

// GoString is String, so that %#v reveals nothing either.
func (u URL) GoString() string { return strconv.Quote(u.String()) }

// Format prints String for every verb.
func (u URL) Format(f fmt.State, verb rune) {
	s := u.String()
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		s = strconv.Quote(s)
	}
	_, _ = io.WriteString(f, s)
}

// LogValue makes slog print String.
func (u URL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// MarshalText encodes String.
func (u URL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// checkServerURL checks a scheme://… URL without quoting it in errors.
func checkServerURL(raw, afterScheme string) error {
	if !strings.HasPrefix(afterScheme, "//") {
		return errors.New("a server database URL needs scheme://host/database")
	}
	if _, err := url.Parse(raw); err != nil {
		return fmt.Errorf("not a valid URL: %v", URLErrorCause(err))
	}
	return nil
}

// URLErrorCause drops the URL that url.Error quotes, which may hold a
// password, and keeps what is wrong with it.
func URLErrorCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
