package pgtest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvPgBouncerURL names the environment variable holding the URL of a
// PgBouncer in transaction pooling in front of the server of EnvURL, with
// default_query_exec_mode=exec (or simple_protocol) as an operator would
// write it. .ci/services starts one.
const EnvPgBouncerURL = "AUTH_TEST_PGBOUNCER_URL"

// SkipIfNoPgBouncer skips the test unless both AUTH_TEST_PGBOUNCER_URL and
// AUTH_TEST_POSTGRES_URL are set (the databases are made over the direct
// one).
func SkipIfNoPgBouncer(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvPgBouncerURL) == "" {
		t.Skip(EnvPgBouncerURL + " not set: skipping PostgreSQL tests through PgBouncer")
	}
	SkipIfUnset(t)
}

// PooledDSN skips the test unless SkipIfNoPgBouncer passes. Otherwise it
// creates a database of the test's own over the direct URL and returns
// two DSNs for it: pooled, through PgBouncer (the AUTH_TEST_PGBOUNCER_URL
// with that database name), and direct (for migrations, which need a
// session). The database is dropped when the test ends.
//
// Not a schema, as DSN makes: the schema is chosen by search_path, and a
// transaction pooler cannot give a client's start-up parameters to the
// server connections it lends (PgBouncer 1.18 refuses search_path, or with
// ignore_startup_parameters drops it, so every test would share public).
// A database, in contrast, is part of what PgBouncer pools by: with a
// wildcard [databases] entry each test gets its own pool.
func PooledDSN(t testing.TB) (pooled, direct string) {
	t.Helper()
	SkipIfNoPgBouncer(t)
	return databaseVia(t, os.Getenv(EnvPgBouncerURL), EnvPgBouncerURL)
}

// databaseVia is PooledDSN through the pooler at poolerURL (named by what,
// for errors).
func databaseVia(t testing.TB, poolerURL, what string) (pooled, direct string) {
	t.Helper()
	base := os.Getenv(EnvURL)
	name := schemaName(t.Name())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	// template0 accepts no connections, so a concurrent CREATE DATABASE
	// never finds its template "being accessed by other users".
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, base, name) })

	if direct, err = withDatabase(base, name); err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	if pooled, err = withDatabase(poolerURL, name); err != nil {
		t.Fatalf("pgtest: %s: %v", what, err)
	}
	return pooled, direct
}

// dropDatabase drops a test's database, ending the connections PgBouncer
// still keeps to it (WITH (FORCE), PostgreSQL 13+).
func dropDatabase(t testing.TB, base, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// withDatabase replaces the database name of a postgres:// URL.
func withDatabase(dsn, name string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return "", errors.New("not a postgres:// URL")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// Not err itself: it quotes the URL, password included.
		return "", errors.New("not a valid URL")
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}
