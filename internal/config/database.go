package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Database drivers named by AUTH_DATABASE_URL.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
	DriverMySQL    = "mysql"
)

// Database is AUTH_DATABASE_URL taken apart.
type Database struct {
	// Driver is DriverSQLite, DriverPostgres or DriverMySQL.
	Driver string
	// DSN is what the driver opens: for SQLite the text after "sqlite:"
	// (the file, with any ?query of pragmas); for PostgreSQL and MySQL the
	// URL as given (postgresql:// included, which pgx accepts too). It is a
	// SecretURL because server URLs carry passwords.
	DSN SecretURL
	// Path is the SQLite file without its query or a "file:" prefix
	// (":memory:" for sqlite::memory:), empty for server databases.
	Path string
}

// InMemory reports whether the database is a throw-away SQLite database.
func (d Database) InMemory() bool {
	if d.Driver != DriverSQLite {
		return false
	}
	return d.Path == ":memory:" || strings.Contains(d.DSN.Reveal(), "mode=memory")
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]{0,31}$`)

// ParseDatabaseURL parses a database URL: sqlite:PATH, sqlite::memory:,
// postgres://…, postgresql://… or mysql://…. Its errors never quote the
// URL, which may hold a password.
func ParseDatabaseURL(raw string) (Database, error) {
	const want = "(want sqlite:PATH, sqlite::memory:, postgres://… or mysql://…)"
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok || !schemeRE.MatchString(scheme) {
		return Database{}, fmt.Errorf("no database scheme %s", want)
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		if strings.HasPrefix(rest, "//") {
			// sqlite://x is relative in some tools and absolute in others:
			// refuse to guess.
			return Database{}, errors.New("write sqlite:PATH (e.g. sqlite:authserve.db or sqlite:/var/lib/authserve/auth.db), not sqlite://")
		}
		path, _, _ := strings.Cut(rest, "?")
		path = strings.TrimPrefix(path, "file:")
		if path == "" {
			return Database{}, errors.New("sqlite: needs a file (e.g. sqlite:authserve.db, or sqlite::memory: for a throw-away database)")
		}
		return Database{Driver: DriverSQLite, DSN: SecretURL(rest), Path: path}, nil
	case "postgres", "postgresql":
		if err := checkServerURL(raw, rest); err != nil {
			return Database{}, err
		}
		return Database{Driver: DriverPostgres, DSN: SecretURL(raw)}, nil
	case "mysql":
		if err := checkServerURL(raw, rest); err != nil {
			return Database{}, err
		}
		return Database{Driver: DriverMySQL, DSN: SecretURL(raw)}, nil
	}
	return Database{}, fmt.Errorf("unknown database scheme %q %s", scheme, want)
}

// checkServerURL checks a scheme://… URL without quoting it in errors.
func checkServerURL(raw, afterScheme string) error {
	if !strings.HasPrefix(afterScheme, "//") {
		return errors.New("a server database URL needs scheme://host/database")
	}
	if _, err := url.Parse(raw); err != nil {
		return fmt.Errorf("not a valid URL: %v", urlErrorCause(err))
	}
	return nil
}

// urlErrorCause drops the URL that url.Error quotes, which may hold a
// password, and keeps what is wrong with it.
func urlErrorCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
