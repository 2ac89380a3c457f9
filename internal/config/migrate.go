package config

import (
	"errors"
	"fmt"

	"github.com/authserve/authserve/internal/dburl"
)

// MigrateDatabase is AUTH_MIGRATE_DATABASE_URL as Load parsed it, and false
// when it is unset: migrations then use DB. Behind a transaction-pooling
// proxy (a PostgreSQL URL with default_query_exec_mode=exec or
// simple_protocol) it is the direct URL that migrations and their session
// lock need.
func (c Config) MigrateDatabase() (Database, bool) {
	return c.MigrateDB, c.MigrateDatabaseURL != ""
}

// checkMigrateDatabaseURL parses AUTH_MIGRATE_DATABASE_URL into MigrateDB.
// It must name the same kind of database as AUTH_DATABASE_URL (it is the
// same database, reached another way), a server one. Runs after DB is set.
func (c *Config) checkMigrateDatabaseURL() error {
	if c.MigrateDatabaseURL == "" {
		return nil
	}
	m, err := dburl.Parse(c.MigrateDatabaseURL.Reveal())
	if err != nil {
		return err
	}
	if d := c.DB.Driver(); d != "" && m.Driver() != d {
		return fmt.Errorf("a %s URL beside a %s AUTH_DATABASE_URL: want the same database, reached directly", m.Driver(), d)
	}
	if m.Driver() == dburl.DriverSQLite {
		return errors.New("only for a server database (PostgreSQL, MySQL): SQLite has no pooler to go around")
	}
	c.MigrateDB = m
	return nil
}
