// Package mysqltest gives tests a MySQL or MariaDB database of their own: a
// fresh database on the server named by AUTH_TEST_MYSQL_URL, dropped when
// the test ends. Tests of several packages run at once against one server,
// so none may share tables.
package mysqltest

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/authserve/authserve/internal/dbtest"
)

// EnvURL names the environment variable holding the test server's URL, a
// mysql://user:password@host:port/database URL (the database is only
// where the test databases are created from).
const EnvURL = "AUTH_TEST_MYSQL_URL"

var server = dbtest.Server{
	Tool:   "mysqltest",
	EnvURL: EnvURL,
	Engine: "MySQL",
	Name:   func(string) string { return databaseName() },
	Create: func(ctx context.Context, base, name string) error {
		return exec(ctx, base, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	},
	Drop: func(ctx context.Context, base, name string) error {
		return exec(ctx, base, "DROP DATABASE IF EXISTS `"+name+"`")
	},
	DSN: func(base, name string) (string, error) {
		u, err := parse(base)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	},
}

// DSN skips the test when AUTH_TEST_MYSQL_URL is unset. Otherwise it
// creates a uniquely named database and returns the URL with that
// database in place of the original, parameters kept; the database and
// everything in it is dropped when the test ends. A set but unreachable
// server fails the test rather than skipping it: whoever set the variable
// expects these tests to run.
func DSN(t testing.TB) string {
	t.Helper()
	return server.Provision(t)
}

// SkipIfUnset skips the test when AUTH_TEST_MYSQL_URL is unset: call it at
// the top of a group of MySQL subtests to skip them once, not one by one.
func SkipIfUnset(t testing.TB) {
	t.Helper()
	server.SkipIfUnset(t)
}

// parse checks that raw is a mysql:// URL, without quoting it in errors.
func parse(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "mysql" {
		// Not err itself: it quotes the URL, password included.
		return nil, errors.New("not a mysql:// URL")
	}
	return u, nil
}

// databaseName is "authserve_t_" and 16 random hex digits, well within
// MySQL's 64-character limit, and lower case, which servers that fold
// database names (lower_case_table_names) leave alone.
func databaseName() string {
	return "authserve_t_" + dbtest.RandomHex()
}

// adminDSN is the driver DSN of the server in u, with no database
// selected, and u's parameters (tls, say) kept.
func adminDSN(u *url.URL) (string, error) {
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", errors.New("bad query string")
	}
	var params []string
	for name, values := range query {
		params = append(params, name+"="+url.QueryEscape(values[len(values)-1]))
	}
	cfg, err := mysql.ParseDSN("/?" + strings.Join(params, "&"))
	if err != nil {
		return "", err
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net = "tcp"
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "3306"
	}
	cfg.Addr = net.JoinHostPort(host, port)
	cfg.DBName = ""
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	// A connection the test leaked inside a transaction would make DROP
	// DATABASE wait for its metadata lock for a year (the default); fail
	// instead.
	cfg.Params["lock_wait_timeout"] = "10"
	return cfg.FormatDSN(), nil
}

// exec runs one statement on a connection of its own to the server of
// base, with no database selected.
func exec(ctx context.Context, base, stmt string) error {
	u, err := parse(base)
	if err != nil {
		return err
	}
	dsn, err := adminDSN(u)
	if err != nil {
		return err
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}
