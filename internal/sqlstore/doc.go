// Package sqlstore implements auth.Store and auth.Lockout on database/sql,
// for SQLite (modernc.org/sqlite, pure Go), PostgreSQL
// (github.com/jackc/pgx/v5/stdlib) and MySQL 8 / MariaDB 10.5+
// (github.com/go-sql-driver/mysql; on MariaDB 10.5, which has no SKIP
// LOCKED, outbox senders take turns: see claimLock). Open takes the
// database as internal/dburl parsed it from AUTH_DATABASE_URL.
//
// # One implementation, small dialects
//
// The engines share every query and every rule; what differs lives in a
// dialect value (dialect.go, and mysql.go for MySQL's DSN and migration
// lock): the driver name and DSN, the placeholder style (? or $n), how a
// time is encoded, the row-locking clause of the transactions that need
// one, the goose dialect and migration directory, whether RETURNING exists
// (MySQL reads back what it wrote, in the same transaction, and takes new
// ids from LastInsertId), and which driver error codes mean "unique
// violation", "conflict, run again" or "outage". Copies of the same queries
// would drift apart; one copy tested on every engine by the same contract
// suites (internal/storetest for auth.Store, internal/lockouttest for
// auth.Lockout) cannot. The rules themselves live in the domain: Rotate
// asks auth.PlanRotation what to do and only carries it out atomically.
//
// # Concurrency
//
// Writes that read before they write run in one transaction that holds the
// rows it decides on: PostgreSQL and MySQL lock them with SELECT … FOR
// UPDATE, SQLite takes the database write lock when the transaction begins
// (_txlock=immediate), so a second writer waits (busy_timeout) instead of
// failing half-way. Single-statement writes rely on the database alone:
// concurrent registrations of one email are settled by the unique index.
//
// # Time
//
// Times are stored in UTC and returned as UTC time.Time, truncated to the
// microsecond on every engine (PostgreSQL's resolution), so every engine
// returns exactly what the others would. SQLite keeps them as INTEGER Unix
// nanoseconds, so comparisons in SQL are integer comparisons; MySQL as
// DATETIME(6) in UTC.
//
// # Errors
//
// Domain outcomes come back as the auth sentinels (auth.ErrUserNotFound,
// auth.ErrEmailTaken, …). Driver errors are classified by their code, never
// their text: outages (lost or refused connections, timeouts, a busy,
// full, read-only or unreadable database) are wrapped with
// auth.ErrUnavailable, everything else with auth.ErrDatabase; in both cases
// errors.Is and errors.As still reach the driver's error.
package sqlstore
