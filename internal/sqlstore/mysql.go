package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
)

// mysqlDialect serves MySQL 8 and MariaDB 10.5 and later through
// github.com/go-sql-driver/mysql (on MariaDB 10.5, which lacks SKIP
// LOCKED, outbox senders take turns: see mysqlHasSkipLocked and
// claimLock). Neither has UPDATE … RETURNING (nor MySQL
// INSERT … RETURNING), so the store reads back what it wrote in the same
// transaction; InnoDB's row locks (SELECT … FOR UPDATE) hold what a
// transaction decides on, as in PostgreSQL. MariaDB has no FOR UPDATE OF,
// so a rotation locks its user row too: rotations of one user's sessions
// take turns, which costs nothing at one user's rate of refreshes.
var mysqlDialect = &dialect{
	name:            "mysql",
	driver:          "mysql",
	goose:           goose.DialectMySQL,
	dir:             "migrations/mysql",
	lockRotation:    " FOR UPDATE",
	lockRow:         " FOR UPDATE",
	ignoreDuplicate: " ON DUPLICATE KEY UPDATE attempt_key = attempt_key",
	maxKeyLen:       mysqlMaxKeyLen,
	isUnique:        mysqlUnique,
	isForeignKey:    mysqlForeignKey,
	isOutage:        mysqlOutage,
	isConflict:      mysqlConflict,
}

// mysqlMaxKeyLen is the width in bytes of login_attempts.attempt_key
// (VARBINARY(512)); see dialect.attemptKey.
const mysqlMaxKeyLen = 512

// mysqlSession are the session settings every connection gets: the store
// relies on them, so a URL may not change them (see mysqlDSN).
//   - sql_mode: strict, so that a value that does not fit its column is an
//     error rather than silently truncated or zeroed; the list is valid on
//     MySQL 8 and MariaDB alike (MariaDB's default adds
//     NO_AUTO_CREATE_USER, which MySQL 8 refuses).
//   - time_zone: UTC, so that CURRENT_TIMESTAMP defaults and goose's
//     timestamps are UTC like every time the store writes.
var mysqlSession = map[string]string{
	"sql_mode":  "'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
	"time_zone": "'+00:00'",
}

// mysqlLockWait is innodb_lock_wait_timeout unless the URL sets it: a
// statement waiting for a row lock long after its caller's deadline
// (AUTH_DB_TIMEOUT, a few seconds) only holds the locks it already has.
const mysqlLockWait = "10"

// mysqlFixed are the driver parameters the store needs, each with the one
// value a URL may repeat (an empty value: refused whatever it is).
//   - parseTime: DATETIME columns scan into time.Time;
//   - loc: those times, and the ones the store sends, are UTC;
//   - clientFoundRows: UPDATE reports the rows it matched, as the other
//     engines do, not only those it changed;
//   - charset: utf8mb4, all of Unicode (MySQL's utf8 stops at three bytes);
//   - strict: removed from the driver, which panics on it.
var mysqlFixed = map[string]string{
	"parseTime":       "true",
	"loc":             "UTC",
	"clientFoundRows": "true",
	"charset":         "utf8mb4",
	"sql_mode":        "",
	"time_zone":       "",
	"strict":          "",
}

// mysqlDSN turns a mysql://user:password@host:port/database?params URL into
// the driver's DSN (user:password@tcp(host:port)/database?params) with the
// settings the store needs. Parameters the URL gives are kept: driver
// options (tls, timeout, readTimeout, interpolateParams, …) and any other
// name=value, which the driver sets as a session variable on every
// connection. Errors never quote the URL, which may hold a password.
func mysqlDSN(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, "mysql") || u.Opaque != "" {
		return "", errors.New("sqlstore: want a mysql://user:password@host:port/database URL")
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return "", errors.New("sqlstore: the mysql:// URL needs a database name (mysql://user:password@host:port/DATABASE)")
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// The error quotes only the bad escape, never the URL.
		return "", fmt.Errorf("sqlstore: mysql:// URL query: %w", err)
	}
	params := make([]string, 0, len(query))
	collation := ""
	for name, values := range query {
		value := values[len(values)-1]
		if want, fixed := mysqlFixed[name]; fixed && !sameSetting(value, want) {
			if want == "" {
				return "", fmt.Errorf("sqlstore: mysql:// URL: authserve sets %s itself; remove it", name)
			}
			return "", fmt.Errorf("sqlstore: mysql:// URL: authserve needs %s=%s", name, want)
		}
		if name == "collation" {
			if !strings.HasPrefix(value, "utf8mb4_") {
				return "", errors.New("sqlstore: mysql:// URL: the collation must be a utf8mb4 one")
			}
			collation = value
		}
		// Escaped again: the driver splits its DSN at the last '/', and
		// a value (loc=Europe/Paris, say) may hold one.
		params = append(params, name+"="+url.QueryEscape(value))
	}
	sort.Strings(params)
	cfg, err := mysql.ParseDSN("/?" + strings.Join(params, "&"))
	if err != nil {
		return "", fmt.Errorf("sqlstore: mysql:// URL parameters: %w", err)
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net = "tcp"
	cfg.Addr = mysqlAddr(u)
	cfg.DBName = db
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.ClientFoundRows = true
	if err := cfg.Apply(mysql.Charset("utf8mb4", collation)); err != nil {
		return "", fmt.Errorf("sqlstore: mysql:// URL: %w", err)
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	for name, value := range mysqlSession {
		cfg.Params[name] = value
	}
	if _, ok := cfg.Params["innodb_lock_wait_timeout"]; !ok {
		cfg.Params["innodb_lock_wait_timeout"] = mysqlLockWait
	}
	return cfg.FormatDSN(), nil
}

// readMySQLVersion asks the server its version, once, when the store
// opens, and sets noSkipLocked when it lacks SKIP LOCKED.
func (s *Store) readMySQLVersion(ctx context.Context) error {
	var version string
	if err := s.db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return fmt.Errorf("read server version: %w", err)
	}
	s.noSkipLocked = !mysqlHasSkipLocked(version)
	return nil
}

// mysqlHasSkipLocked reports whether the server whose VERSION() is version
// has SELECT … FOR UPDATE SKIP LOCKED: MariaDB from 10.6, MySQL 8.
// MariaDB names itself in its version
// ("10.5.23-MariaDB-1:10.5.23+maria~deb11"); MySQL and its forks (Percona
// Server "8.0.36-28") do not. The "5.5.5-" that MariaDB puts before its
// version in the connection handshake is not part of VERSION(), but is
// dropped in case a proxy answers with that form.
//
// A version it cannot read gets false, the claim without SKIP LOCKED,
// rather than a guess of SKIP LOCKED: that claim is correct on every MySQL
// and MariaDB (senders only take turns, see claimLock), whereas SKIP
// LOCKED on a server without it fails to prepare, and since the store
// prepares all its statements together, that would fail every call, not
// only the outbox's.
func mysqlHasSkipLocked(version string) bool {
	mariaDB := strings.Contains(strings.ToLower(version), "mariadb")
	if mariaDB {
		version = strings.TrimPrefix(version, "5.5.5-")
	}
	major, minor, ok := majorMinor(version)
	switch {
	case !ok:
		return false
	case mariaDB:
		return major > 10 || major == 10 && minor >= 6
	default:
		return major >= 8
	}
}

// majorMinor reads the leading "MAJOR.MINOR" of a server version.
func majorMinor(version string) (major, minor int, ok bool) {
	end := strings.IndexFunc(version, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end >= 0 {
		version = version[:end]
	}
	parts := strings.Split(version, ".")
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return major, minor, true
}

// sameSetting reports whether a URL's value is the one wanted, written any
// way the driver accepts ("1" for "true", any case).
func sameSetting(value, want string) bool {
	if want == "true" && value == "1" {
		return true
	}
	return want != "" && strings.EqualFold(value, want)
}

// mysqlAddr is the URL's host and port, MySQL's 3306 by default, and the
// local server when the URL names no host.
func mysqlAddr(u *url.URL) string {
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "3306"
	}
	return net.JoinHostPort(host, port)
}

// MySQL and MariaDB error numbers the store tells apart (mysqld_error.h,
// errmsg.h, MariaDB's own above 1900).
const (
	erDBAccessDenied      = 1044 // at connect: no right to the database
	erAccessDenied        = 1045 // at connect: bad user or password
	erBadDB               = 1049 // at connect: no such database
	erConCount            = 1040 // too many connections
	erOutOfMemory         = 1037
	erOutOfSortMemory     = 1038
	erOutOfResources      = 1041
	erUnknownCom          = 1047 // Galera: this node is not ready ("WSREP has not yet prepared node")
	erServerShutdown      = 1053
	erDiskFull            = 1021
	erRecordFileFull      = 1114 // the table is full: out of disk
	erHostIsBlocked       = 1129
	erHostNotPrivileged   = 1130
	erAbortingConnection  = 1152
	erNetReadError        = 1158
	erNetReadInterrupted  = 1159
	erNetErrorOnWrite     = 1160
	erNetWriteInterrupted = 1161
	erNewAbortingConn     = 1184
	erTooManyUserConns    = 1203
	erLockWaitTimeout     = 1205
	erLockDeadlock        = 1213
	erUserLimitReached    = 1226
	erReadOnly            = 1290 // --read-only (a replica, or a primary being failed over)
	erQueryInterrupted    = 1317 // KILL QUERY
	erCantExecReadOnlyTx  = 1792
	erConnectionKilled    = 1927 // MariaDB: KILL CONNECTION
	erStatementTimeout    = 1969 // MariaDB: max_statement_time
	erQueryTimeout        = 3024 // MySQL: max_execution_time
	erClientInteraction   = 4031 // MySQL: disconnected by the server after wait_timeout
	crConnectionError     = 2002 // client library codes, which a proxy may relay
	crConnHostError       = 2003
	crServerGoneError     = 2006
	crServerLost          = 2013

	erDupEntry            = 1062
	erDupEntryWithKeyName = 1586
	erNoReferencedRow     = 1216
	erRowIsReferenced     = 1217
	erRowIsReferenced2    = 1451
	erNoReferencedRow2    = 1452
)

func mysqlNumber(err error) (uint16, bool) {
	var e *mysql.MySQLError
	if !errors.As(err, &e) {
		return 0, false
	}
	return e.Number, true
}

// mysqlOutage: the driver lost the connection, or the server cannot serve
// us right now (refused the connection, is shutting down, out of memory or
// disk, read-only, or interrupted the statement), as opposed to refusing
// this statement.
func mysqlOutage(err error) bool {
	switch {
	case errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, mysql.ErrMalformPkt),
		errors.Is(err, mysql.ErrPktSync), errors.Is(err, mysql.ErrPktSyncMul):
		return true
	}
	n, ok := mysqlNumber(err)
	if !ok {
		return false
	}
	switch n {
	case erDBAccessDenied, erAccessDenied, erBadDB, erConCount, erOutOfMemory, erOutOfSortMemory,
		erOutOfResources, erUnknownCom, erServerShutdown, erDiskFull, erRecordFileFull, erHostIsBlocked,
		erHostNotPrivileged, erAbortingConnection, erNetReadError, erNetReadInterrupted, erNetErrorOnWrite,
		erNetWriteInterrupted, erNewAbortingConn, erTooManyUserConns, erLockWaitTimeout, erUserLimitReached,
		erReadOnly, erQueryInterrupted, erCantExecReadOnlyTx, erConnectionKilled, erStatementTimeout,
		erQueryTimeout, erClientInteraction, crConnectionError, crConnHostError, crServerGoneError, crServerLost:
		return true
	}
	return false
}

// mysqlConflict: InnoDB chose this transaction as a deadlock's victim and
// rolled it back, or a lock wait timed out; either may simply run again.
// Rotations lock token, session and user in that order while deleting a
// user locks them the other way round, so a rotation racing the deletion
// of its own user can deadlock.
func mysqlConflict(err error) bool {
	n, ok := mysqlNumber(err)
	return ok && (n == erLockDeadlock || n == erLockWaitTimeout)
}

func mysqlUnique(err error) bool {
	n, ok := mysqlNumber(err)
	return ok && (n == erDupEntry || n == erDupEntryWithKeyName)
}

func mysqlForeignKey(err error) bool {
	n, ok := mysqlNumber(err)
	return ok && (n == erNoReferencedRow || n == erNoReferencedRow2 || n == erRowIsReferenced || n == erRowIsReferenced2)
}

// mysqlLocker is a goose lock.SessionLocker on a named lock (GET_LOCK):
// the server holds it for the connection, so a migrator that dies frees it
// at once, and waiting happens in the server, not in a polling loop.
type mysqlLocker struct {
	name string
	wait time.Duration
}

// newMySQLLocker names the lock after the database being migrated: lock
// names are server-wide, and databases that share a server (parallel
// tests, say) must not wait for one another.
func (s *Store) newMySQLLocker(ctx context.Context) (*mysqlLocker, error) {
	var db sql.NullString
	if err := s.db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&db); err != nil {
		return nil, err
	}
	h := fnv.New64a()
	_, _ = io.WriteString(h, db.String)
	// MySQL limits lock names to 64 characters.
	return &mysqlLocker{name: fmt.Sprintf("authserve:migrate:%016x", h.Sum64()), wait: 5 * time.Minute}, nil
}

// SessionLock waits up to l.wait for the lock.
func (l *mysqlLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", l.name, int(l.wait.Seconds())).Scan(&got); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	if got.Int64 != 1 {
		return fmt.Errorf("take migration lock: another migration held it for %v", l.wait)
	}
	return nil
}

// SessionUnlock releases the lock.
func (l *mysqlLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", l.name).Scan(&released); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	if released.Int64 != 1 {
		return errors.New("release migration lock: not held")
	}
	return nil
}
