package config

import (
	"errors"
	"fmt"
)

// MigrateDatabase parses MigrateDatabaseURL, and reports false when it is
// unset: migrations then use Database. Behind a transaction-pooling proxy
// (a PostgreSQL URL with default_query_exec_mode=exec or simple_protocol)
// it is the direct URL that migrations and their session lock need.
func (c Config) MigrateDatabase() (Database, bool, error) {
	if c.MigrateDatabaseURL == "" {
		return Database{}, false, nil
	}
	db, err := ParseDatabaseURL(c.MigrateDatabaseURL.Reveal())
	return db, err == nil, err
}

// checkMigrateDatabaseURL: a migration URL must be a URL for the same kind
// of database as AUTH_DATABASE_URL (it is the same database, reached
// another way).
func (c Config) checkMigrateDatabaseURL() error {
	m, ok, err := c.MigrateDatabase()
	if err != nil || !ok {
		return err
	}
	db, err := c.Database()
	if err != nil {
		return nil // AUTH_DATABASE_URL's own problem, reported for it
	}
	if m.Driver != db.Driver {
		return fmt.Errorf("a %s URL beside a %s AUTH_DATABASE_URL: want the same database, reached directly", m.Driver, db.Driver)
	}
	if db.Driver == DriverSQLite {
		return errors.New("only for a server database (PostgreSQL, MySQL): SQLite has no pooler to go around")
	}
	return nil
}
