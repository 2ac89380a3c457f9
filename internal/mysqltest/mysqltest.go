// Package mysqltest gives tests a MySQL or MariaDB database of their own: a
// fresh database on the server named by AUTH_TEST_MYSQL_URL, dropped when
// the test ends. Tests of several packages run at once against one server,
// so none may share tables.
package mysqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// EnvURL names the environment variable holding the test server's URL, a
// mysql://user:password@host:port/database URL (the database is only
// where the test databases are created from).
const EnvURL = "AUTH_TEST_MYSQL_URL"

// DSN skips the test when AUTH_TEST_MYSQL_URL is unset. Otherwise it
// creates a uniquely named database and returns the URL with that
// database in place of the original, parameters kept; the database and
// everything in it is dropped when the test ends. A set but unreachable
// server fails the test rather than skipping it: whoever set the variable
// expects these tests to run.
func DSN(t testing.TB) string {
	t.Helper()
	SkipIfUnset(t)
	u, err := url.Parse(os.Getenv(EnvURL))
	if err != nil || u.Scheme != "mysql" {
		// Not err itself: it quotes the URL, password included.
		t.Fatalf("mysqltest: %s is not a mysql:// URL", EnvURL)
	}
	admin, err := adminDSN(u)
	if err != nil {
		t.Fatalf("mysqltest: %s: %v", EnvURL, err)
	}
	name := databaseName()
	if err := exec(admin, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("mysqltest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := exec(admin, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("mysqltest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// SkipIfUnset skips the test when AUTH_TEST_MYSQL_URL is unset: call it at
// the top of a group of MySQL subtests to skip them once, not one by one.
func SkipIfUnset(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvURL) == "" {
		t.Skip(EnvURL + " not set: skipping MySQL tests")
	}
}

// databaseName is "authserve_t_" and 16 random hex digits, well within
// MySQL's 64-character limit, and lower case, which servers that fold
// database names (lower_case_table_names) leave alone.
func databaseName() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return "authserve_t_" + hex.EncodeToString(b[:])
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

// exec runs one statement on a connection of its own.
func exec(dsn, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}
