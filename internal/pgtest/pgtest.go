// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema on the server named by AUTH_TEST_POSTGRES_URL, dropped when the
// test ends. Tests of several packages run at once against one server, so
// none may share tables.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/authserve/authserve/internal/dbtest"
)

// EnvURL names the environment variable holding the test server's URL.
const EnvURL = "AUTH_TEST_POSTGRES_URL"

var server = dbtest.Server{
	Tool:   "pgtest",
	EnvURL: EnvURL,
	Engine: "PostgreSQL",
	Name:   schemaName,
	Create: func(ctx context.Context, base, schema string) error {
		return run(ctx, base, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	},
	Drop: func(ctx context.Context, base, schema string) error {
		// A connection the test leaked inside a transaction would make
		// DROP wait forever; fail instead.
		return run(ctx, base, "SET lock_timeout = '10s'",
			"DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	},
	DSN: withSearchPath,
}

// DSN skips the test when AUTH_TEST_POSTGRES_URL is unset. Otherwise it
// creates a uniquely named schema and returns a DSN whose search_path is
// that schema, so that unqualified tables (and the migrations) land there;
// the schema and everything in it is dropped when the test ends. A set but
// unreachable server fails the test rather than skipping it: whoever set
// the variable expects these tests to run.
func DSN(t testing.TB) string {
	t.Helper()
	return server.Provision(t)
}

// SkipIfUnset skips the test when AUTH_TEST_POSTGRES_URL is unset: call it
// at the top of a group of PostgreSQL subtests to skip them once, not one
// by one.
func SkipIfUnset(t testing.TB) {
	t.Helper()
	server.SkipIfUnset(t)
}

// run executes stmts on a connection of its own.
func run(ctx context.Context, base string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", EnvURL, err)
	}
	defer conn.Close(ctx)
	for _, stmt := range stmts {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

var notIdent = regexp.MustCompile(`[^a-z0-9]+`)

// schemaName is "t_", a readable part of the test name (for whoever looks
// at the server while tests run), and 16 random hex digits, within
// PostgreSQL's 63-byte identifier limit.
func schemaName(testName string) string {
	readable := strings.Trim(notIdent.ReplaceAllString(strings.ToLower(testName), "_"), "_")
	if len(readable) > 40 {
		readable = readable[len(readable)-40:]
	}
	return "t_" + readable + "_" + dbtest.RandomHex()
}

// withSearchPath sets search_path in a URL or keyword/value DSN; pgx passes
// unknown settings to the server as run-time parameters.
func withSearchPath(dsn, schema string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// Not err itself: it quotes the URL, password included.
		return "", errors.New("not a valid URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
