// Package sqlstore implements auth.Store and auth.Lockout on database/sql,
// for SQLite (modernc.org/sqlite, pure Go) and PostgreSQL
// (github.com/jackc/pgx/v5/stdlib).
//
// # One implementation, small dialects
//
// The two engines share every query and every rule; what differs lives in
// a dialect value (dialect.go): the driver name and DSN, the placeholder
// style (? or $n), how a time is encoded, the row-locking clause of the
// transactions that need one, the goose dialect and migration directory,
// and which driver error codes mean "unique violation" or "outage". Two
// copies of the same queries would drift apart; one copy tested on both
// engines by the same contract suite (internal/storetest) cannot. A
// MySQL/MariaDB dialect would add its own migrations, placeholders, error
// codes and a LastInsertId path where this package uses RETURNING (the
// current engines both support it).
//
// # Concurrency
//
// Writes that read before they write run in one transaction that holds the
// rows it decides on: PostgreSQL locks them with SELECT … FOR UPDATE,
// SQLite takes the database write lock when the transaction begins
// (_txlock=immediate), so a second writer waits (busy_timeout) instead of
// failing half-way. Single-statement writes rely on the database alone:
// concurrent registrations of one email are settled by the unique index.
//
// # Time
//
// Times are stored in UTC and returned as UTC time.Time, truncated to the
// microsecond on every engine (PostgreSQL's resolution), so both engines
// return exactly what the other would. SQLite keeps them as INTEGER Unix
// nanoseconds, so comparisons in SQL are integer comparisons.
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
