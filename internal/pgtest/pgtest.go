// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema on the server named by AUTH_TEST_POSTGRES_URL, dropped when the
// test ends. Tests of several packages run at once against one server, so
// none may share tables.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable holding the test server's URL.
const EnvURL = "AUTH_TEST_POSTGRES_URL"

// DSN skips the test when AUTH_TEST_POSTGRES_URL is unset. Otherwise it
// creates a uniquely named schema and returns a DSN whose search_path is
// that schema, so that unqualified tables (and the migrations) land there;
// the schema and everything in it is dropped when the test ends. A set but
// unreachable server fails the test rather than skipping it: whoever set
// the variable expects these tests to run.
func DSN(t testing.TB) string {
	t.Helper()
	SkipIfUnset(t)
	base := os.Getenv(EnvURL)
	schema := schemaName(t.Name())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create schema %s: %v", schema, err)
	}
	t.Cleanup(func() { dropSchema(t, base, schema) })

	dsn, err := withSearchPath(base, schema)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	return dsn
}

// SkipIfUnset skips the test when AUTH_TEST_POSTGRES_URL is unset: call it
// at the top of a group of PostgreSQL subtests to skip them once, not one
// by one.
func SkipIfUnset(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvURL) == "" {
		t.Skip(EnvURL + " not set: skipping PostgreSQL tests")
	}
}

func dropSchema(t testing.TB, base, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Errorf("pgtest: drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	// A connection the test leaked inside a transaction would make DROP
	// wait forever; fail instead.
	if _, err := conn.Exec(ctx, "SET lock_timeout = '10s'"); err != nil {
		t.Errorf("pgtest: drop schema %s: %v", schema, err)
		return
	}
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("pgtest: drop schema %s: %v", schema, err)
	}
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
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return "t_" + readable + "_" + hex.EncodeToString(b[:])
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
