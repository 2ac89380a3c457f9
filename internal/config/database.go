package config

import "github.com/authserve/authserve/internal/dburl"

// Database is AUTH_DATABASE_URL taken apart, once, by Load (Config.DB).
type Database = dburl.URL

// ParseDatabaseURL parses a database URL as AUTH_DATABASE_URL is parsed.
func ParseDatabaseURL(raw string) (Database, error) { return dburl.Parse(raw) }
