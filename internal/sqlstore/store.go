package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/dburl"
	"github.com/jackc/pgx/v5"

	// The database/sql drivers of the dialects (MySQL's: mysql.go).
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Options selects and tunes the database. Zero pool settings take the
// dialect's defaults.
type Options struct {
	// URL is the database, as config parsed AUTH_DATABASE_URL. When it is
	// the zero URL, Driver and DSN name the database instead (tests,
	// tools).
	URL dburl.URL
	// Driver is "sqlite", "postgres" or "mysql".
	Driver string
	// DSN is, for SQLite, a file path, a "file:" URI or ":memory:"; for
	// PostgreSQL, a postgres:// URL or a keyword/value string; for MySQL
	// and MariaDB, a mysql://user:password@host:port/database URL, whose
	// parameters are the driver's (see mysqlDSN). A PostgreSQL DSN with
	// default_query_exec_mode=exec or simple_protocol is safe behind a
	// transaction-pooling proxy (see pooler.go).
	DSN string
	// MigrateDSN, when set, is the database Migrate and its lock use
	// instead of DSN: migrations need a session of their own, which a
	// transaction-pooling proxy does not give (see migrate.go).
	MigrateDSN string

	// OpTimeout is the bound on one operation (AUTH_DB_TIMEOUT, 3s when
	// zero). The breaker enforces it through the context; the SQLite
	// readers of GET /me, which take no cancellable context, through
	// their busy_timeout (readers.go).
	OpTimeout time.Duration

	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
}

// Pool defaults. SQLite writers serialise on the database lock anyway, so a
// few connections are enough for WAL's concurrent readers; a server
// database (PostgreSQL, MySQL) keeps every connection idle rather than
// reconnecting under load, and recycles them so that a failover or a new
// server setting is picked up, and long before MySQL's wait_timeout.
const (
	sqliteMaxOpen        = 4
	postgresMaxOpen      = 10
	postgresConnLifetime = 30 * time.Minute
	postgresConnIdleTime = 5 * time.Minute

	// lookupsInFlight batches of at most lookupsPerBatch /me lookups run
	// at once on PostgreSQL (lookups.go); the rest of the pool stays free
	// for everything else.
	lookupsInFlight = 2
	lookupsPerBatch = 64

	// defaultOpTimeout is AUTH_DB_TIMEOUT's default, for a store opened
	// without Options.OpTimeout.
	defaultOpTimeout = 3 * time.Second
)

// Store is an auth.Store and auth.Lockout on a SQL database. It is safe for
// concurrent use.
type Store struct {
	db *sql.DB
	d  *dialect
	// pooled: the DSN asks for no named statements (pooler.go), so
	// nothing may rely on session state; migrateDSN: Options.MigrateDSN.
	pooled     bool
	migrateDSN string
	// noSkipLocked: the server has no SKIP LOCKED (MariaDB before 10.6,
	// read by Open), so the outbox claim reads without locking and lets
	// its conditional UPDATE decide (see claimLock). A field, not a
	// dialect setting: the dialects are shared by every store in the
	// process.
	noSkipLocked bool

	// stmts holds the prepared statements, prepared together on first
	// use (the tables may not exist before Migrate) and dropped when the
	// schema changes.
	prepMu sync.Mutex
	stmts  atomic.Pointer[statements]

	// lookups batches concurrent UserForSession calls (PostgreSQL only;
	// nil elsewhere: SQLite has no round trip to share, MySQL no arrays).
	lookups *lookupBatcher
	// readers answer UserForSession on a SQLite file (readers.go; nil
	// elsewhere, and for an in-memory database, which is one connection).
	readers *sqliteReaders
}

var (
	_ auth.Store   = (*Store)(nil)
	_ auth.Lockout = (*Store)(nil)
)

// Open opens the database described by o and checks that it answers. It
// does not migrate: call Migrate for that.
//
// An in-memory SQLite database lives in one connection and dies with it,
// so for ":memory:" the pool is one connection that is never closed while
// the Store is open, whatever o says.
func Open(ctx context.Context, o Options) (*Store, error) {
	u := o.URL
	if u.Driver() == "" {
		if _, err := dialectFor(o.Driver); err != nil {
			return nil, err
		}
		var err error
		if u, err = dburl.FromDSN(o.Driver, o.DSN); err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
	}
	d, err := dialectFor(u.Driver())
	if err != nil {
		return nil, err
	}
	dsn, err := d.driverDSN(u)
	if err != nil {
		return nil, err
	}
	memory := u.InMemory()
	if u.File() && !u.ReadOnly() {
		// Best effort: where this cannot create the file, neither can
		// SQLite, and its error (an outage, to the breaker) says why.
		_ = createPrivate(u.Path())
	}
	var db *sql.DB
	pooled := false
	if d == postgresDialect {
		var cfg *pgx.ConnConfig
		if cfg, pooled = pgPooled(dsn); pooled {
			db = openPooled(cfg)
		}
	}
	if db == nil {
		if db, err = sql.Open(d.driver, dsn); err != nil {
			return nil, err
		}
	}
	configurePool(db, d, o, memory)
	s := &Store{db: db, d: d, pooled: pooled, migrateDSN: o.MigrateDSN}
	if d == postgresDialect {
		s.lookups = newLookupBatcher(s.lookupMany, lookupsInFlight, lookupsPerBatch)
	}
	if d == sqliteDialect && !memory {
		timeout := o.OpTimeout
		if timeout <= 0 {
			timeout = defaultOpTimeout
		}
		// As many as there are cores to run them: each lookup is
		// CPU work, not a wait.
		s.readers = newSQLiteReaders(db.Driver(), readerDSN(dsn, timeout), d.rebind(qUserForSession), max(2, runtime.GOMAXPROCS(0)))
	}
	if err := s.ping(ctx); err != nil {
		_ = db.Close()
		return nil, s.wrap("open "+d.name+" database", err)
	}
	if d == mysqlDialect {
		if err := s.readMySQLVersion(ctx); err != nil {
			_ = db.Close()
			return nil, s.wrap("open "+d.name+" database", err)
		}
	}
	return s, nil
}

// createPrivate creates the SQLite file at path, if it does not exist
// yet, readable by its owner only: it holds password hashes. SQLite gives
// its -wal and -shm files the database file's permissions.
func createPrivate(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// ping checks the database answers, for Open. While a brand-new SQLite
// file is being switched to WAL by another connection, the switch fails at
// once with SQLITE_BUSY rather than waiting (busy_timeout does not cover
// it); the switch is over within moments, so wait that out.
func (s *Store) ping(ctx context.Context) error {
	const retries, pause = 50, 20 * time.Millisecond
	for i := 0; ; i++ {
		err := s.db.PingContext(ctx)
		code, isSQLite := sqliteCode(err)
		if err == nil || !isSQLite || code&0xff != sqlite3.SQLITE_BUSY || i == retries {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// pool is the part of *sql.DB that configurePool sets.
type pool interface {
	SetMaxOpenConns(n int)
	SetMaxIdleConns(n int)
	SetConnMaxLifetime(d time.Duration)
	SetConnMaxIdleTime(d time.Duration)
}

func configurePool(db pool, d *dialect, o Options, memory bool) {
	if memory {
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		return
	}
	maxOpen, lifetime, idleTime := postgresMaxOpen, postgresConnLifetime, postgresConnIdleTime
	if d == sqliteDialect {
		// Connections to a file cost nothing to keep: no expiry.
		maxOpen, lifetime, idleTime = sqliteMaxOpen, 0, 0
	}
	if o.MaxOpenConns != 0 {
		maxOpen = o.MaxOpenConns
	}
	maxIdle := maxOpen
	if o.MaxIdleConns != 0 {
		maxIdle = o.MaxIdleConns
	}
	if o.ConnMaxLifetime != 0 {
		lifetime = o.ConnMaxLifetime
	}
	if o.ConnMaxIdleTime != 0 {
		idleTime = o.ConnMaxIdleTime
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxIdle)
	db.SetConnMaxLifetime(lifetime)
	db.SetConnMaxIdleTime(idleTime)
}

// DB returns the underlying pool, for health checks and tools.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the prepared statements and the pool.
func (s *Store) Close() error {
	if s.readers != nil {
		s.readers.close()
	}
	s.resetStatements()
	return s.db.Close()
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.wrap("ping", s.db.PingContext(ctx))
}

// statements are the prepared forms of every query, by use.
type statements struct {
	createUser, userByEmail, userByID, listUsers, setUserActive, deleteUser *sql.Stmt

	insertSession, insertToken, userForSession, rotateLock, spendToken, touchSession,
	revokeSession, revokeByToken, sessionByToken, revokeOwnSession, revokeAllSessions, listSessions *sql.Stmt
	// usersForSessions answers a batch of lookups (PostgreSQL only, else nil).
	usersForSessions *sql.Stmt

	ensureAttempt, lockAttempt, saveAttempt, releaseAttempt, deleteAttempt, pruneAttempts *sql.Stmt

	// The audit log and administration (audit.go, admin.go).
	insertAudit, pruneAudit, listUsersPage, updateUser, lockedAttempts,
	insertAdminKey, adminKeyByHash, touchAdminKey, listAdminKeys, deleteAdminKey *sql.Stmt
	listAudit auditListQueries
	// rec are the statements of email verification, password reset and
	// the outbox (recovery.go).
	rec recoveryStatements

	mfa mfaStatements // mfa.go
}

// queries returns the prepared statements, preparing them on first use.
// Callers get them before they begin a transaction: preparing takes a
// connection of its own, and an in-memory database has only one.
//
// Behind a transaction-pooling proxy (a pooled store, see pooler.go)
// "preparing" asks nothing of the server: each statement is its query
// text, run as a plain query in the URL's default_query_exec_mode, so a
// query added here is pooler-safe without further thought.
func (s *Store) queries(ctx context.Context) (*statements, error) {
	if st := s.stmts.Load(); st != nil {
		return st, nil
	}
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if st := s.stmts.Load(); st != nil {
		return st, nil
	}
	st := new(statements)
	var all []*sql.Stmt
	prepare := func(dst **sql.Stmt, query string) error {
		stmt, err := s.db.PrepareContext(ctx, s.d.rebind(query))
		if err != nil {
			return err
		}
		*dst = stmt
		all = append(all, stmt)
		return nil
	}
	createUser, setUserActive, revokeByToken := qCreateUser, qSetUserActive, qRevokeByToken
	if !s.d.returning {
		createUser, setUserActive, revokeByToken = qInsertUser, qUpdateUserActive, qRevokeByTokenJoin
	}
	err := errors.Join(
		prepare(&st.createUser, createUser),
		prepare(&st.userByEmail, qUserByEmail),
		prepare(&st.userByID, qUserByID),
		prepare(&st.listUsers, qListUsers),
		prepare(&st.setUserActive, setUserActive),
		prepare(&st.deleteUser, qDeleteUser),
		prepare(&st.insertSession, qInsertSession),
		prepare(&st.insertToken, qInsertToken),
		prepare(&st.userForSession, qUserForSession),
		func() error {
			if s.lookups == nil {
				return nil
			}
			return prepare(&st.usersForSessions, qUsersForSessions)
		}(),
		prepare(&st.rotateLock, qRotateLock+s.d.lockRotation),
		prepare(&st.spendToken, qSpendToken),
		prepare(&st.touchSession, qTouchSession),
		prepare(&st.revokeSession, qRevokeSession),
		prepare(&st.revokeByToken, revokeByToken),
		prepare(&st.sessionByToken, qSessionByToken),
		prepare(&st.revokeOwnSession, qRevokeOwnSession),
		prepare(&st.revokeAllSessions, qRevokeAllSessions),
		prepare(&st.listSessions, qListSessions),
		prepare(&st.ensureAttempt, qEnsureAttempt+s.d.ignoreDuplicate),
		prepare(&st.lockAttempt, qLockAttempt+s.d.lockRow),
		prepare(&st.saveAttempt, qSaveAttempt),
		prepare(&st.releaseAttempt, qReleaseAttempt),
		prepare(&st.deleteAttempt, qDeleteAttempt),
		prepare(&st.pruneAttempts, qPruneAttempts),
		s.prepareAdmin(st, prepare),
		s.prepareRecovery(prepare, &st.rec),
		prepareMFA(prepare, &st.mfa),
	)
	if err != nil {
		for _, stmt := range all {
			_ = stmt.Close()
		}
		return nil, err
	}
	s.stmts.Store(st)
	return st, nil
}

// resetStatements drops the prepared statements, after a schema change or
// on Close.
func (s *Store) resetStatements() {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	st := s.stmts.Swap(nil)
	if st == nil {
		return
	}
	for _, stmt := range append(st.mfa.all(),
		st.createUser, st.userByEmail, st.userByID, st.listUsers, st.setUserActive, st.deleteUser,
		st.insertSession, st.insertToken, st.userForSession, st.rotateLock, st.spendToken, st.touchSession,
		st.revokeSession, st.revokeByToken, st.sessionByToken, st.revokeOwnSession, st.revokeAllSessions, st.listSessions,
		st.ensureAttempt, st.lockAttempt, st.saveAttempt, st.releaseAttempt, st.deleteAttempt, st.pruneAttempts,
		st.insertAudit, st.pruneAudit, st.listUsersPage, st.updateUser, st.lockedAttempts,
		st.insertAdminKey, st.adminKeyByHash, st.touchAdminKey, st.listAdminKeys, st.deleteAdminKey,
		st.listAudit.all, st.listAudit.byUser, st.listAudit.byEvent, st.listAudit.byUserEvent,
	) {
		_ = stmt.Close()
	}
	for _, stmt := range st.rec.all() {
		_ = stmt.Close()
	}
	if st.usersForSessions != nil {
		_ = st.usersForSessions.Close()
	}
}

// tx runs fn in a transaction (an immediate one on SQLite) and commits
// when fn returns nil, retrying conflicts (see retry): fn must start from
// scratch on every call.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.retry(func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// retry runs do again, a few times, when the database aborted it to break
// a deadlock or a serialisation conflict.
func (s *Store) retry(do func() error) error {
	const attempts = 3
	for i := 1; ; i++ {
		err := do()
		if err == nil || i == attempts || !s.d.isConflict(err) {
			return err
		}
	}
}
