package sqlstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/authserve/authserve/internal/dburl"
)

// dialect is everything that differs between the engines; the queries and
// rules themselves are shared.
type dialect struct {
	// name is the Options.Driver value.
	name string
	// driver is the database/sql driver name.
	driver string
	// goose is the migration dialect; dir the embedded migrations.
	goose goose.Dialect
	dir   string
	// numbered placeholders ($1, $2, …) instead of ?.
	numbered bool
	// lockRotation is appended to the rotation's SELECT, lockRow to the
	// lockout's: the rows a transaction decides on stay locked until it
	// ends. Empty for SQLite, whose immediate transactions already hold
	// the database's write lock.
	//
	// PostgreSQL takes the locks in the order listed: the user (KEY SHARE,
	// which the successor's foreign key needs anyway), the session, the
	// token. Deleting a user locks the user, then cascades to sessions and
	// tokens; in any other order the two could deadlock.
	lockRotation string
	lockRow      string
	// ignoreDuplicate ends an INSERT that leaves an existing row's values
	// alone. Where writers run concurrently (PostgreSQL, MySQL) it also
	// locks that row for the rest of the transaction, as an update does:
	// a reset deleting the row can then no longer slip in before the lock
	// that follows (SQLite has one writer at a time anyway).
	ignoreDuplicate string
	// returning: UPDATE … RETURNING and INSERT … RETURNING exist; without
	// them the store reads back what it wrote, in the same transaction.
	returning bool
	// maxKeyLen, when positive, is the longest lockout key stored as it
	// is; longer ones are stored hashed (see attemptKey).
	maxKeyLen int
	// intTime stores times as INTEGER Unix nanoseconds (SQLite has no
	// time type) rather than the driver's native time encoding.
	intTime bool
	// isUnique and isForeignKey recognise constraint violations; isOutage
	// recognises database errors that mean the database is unavailable;
	// isConflict, a transaction aborted by a deadlock or serialisation
	// conflict, which may simply be run again.
	isUnique     func(error) bool
	isForeignKey func(error) bool
	isOutage     func(error) bool
	isConflict   func(error) bool
}

var (
	sqliteDialect = &dialect{
		name:            "sqlite",
		driver:          "sqlite",
		goose:           goose.DialectSQLite3,
		dir:             "migrations/sqlite",
		intTime:         true,
		returning:       true,
		ignoreDuplicate: " ON CONFLICT (attempt_key) DO NOTHING",
		isUnique:        sqliteUnique,
		isForeignKey:    sqliteForeignKey,
		isOutage:        sqliteOutage,
		// Immediate transactions take the write lock up front: no
		// deadlock to break, and waiting is busy_timeout's job.
		isConflict: func(error) bool { return false },
	}
	postgresDialect = &dialect{
		name:            "postgres",
		driver:          "pgx",
		goose:           goose.DialectPostgres,
		dir:             "migrations/postgres",
		numbered:        true,
		returning:       true,
		ignoreDuplicate: " ON CONFLICT (attempt_key) DO UPDATE SET attempt_key = EXCLUDED.attempt_key",
		// A B-tree entry must fit in a third of a page (about 2.7 kB).
		maxKeyLen:    512,
		lockRotation: " FOR KEY SHARE OF u FOR UPDATE OF s, t",
		lockRow:      " FOR UPDATE",
		isUnique:     pgUnique,
		isForeignKey: pgForeignKey,
		isOutage:     pgOutage,
		isConflict:   pgConflict,
	}
)

func dialectFor(driver string) (*dialect, error) {
	switch driver {
	case "sqlite":
		return sqliteDialect, nil
	case "postgres":
		return postgresDialect, nil
	case "mysql":
		return mysqlDialect, nil
	default:
		return nil, fmt.Errorf("sqlstore: unknown driver %q (want \"sqlite\", \"postgres\" or \"mysql\")", driver)
	}
}

// sqlitePragmas are set through the DSN so that modernc applies them to
// every connection the pool opens, not just the first:
//   - busy_timeout: a writer waits up to 5s for another's lock instead of
//     failing at once with SQLITE_BUSY;
//   - foreign_keys: SQLite does not enforce them (nor cascade) otherwise;
//   - journal_mode WAL: readers never block the writer nor it them;
//   - synchronous FULL: in WAL mode NORMAL may lose the last commits on a
//     power cut, and an acknowledged write must survive;
//   - _txlock=immediate: transactions take the write lock when they begin,
//     so two read-then-write transactions never deadlock on the upgrade.
const sqlitePragmas = sqliteBusyTimeout + "&_pragma=foreign_keys(1)" +
	"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"

// sqliteBusyTimeout is the writers' wait; the /me readers replace it with
// their own (readerDSN).
const sqliteBusyTimeout = "_pragma=busy_timeout(5000)"

// driverDSN is what the driver opens for u: the MySQL URL in the driver's
// own form, the SQLite DSN with the store's pragmas.
func (d *dialect) driverDSN(u dburl.URL) (string, error) {
	switch d {
	case mysqlDialect:
		return mysqlDSN(u.DSN())
	case postgresDialect:
		return u.DSN(), nil
	}
	sep := "?"
	if strings.Contains(u.DSN(), "?") {
		sep = "&"
	}
	return u.DSN() + sep + sqlitePragmas, nil
}

// rebind turns the ? placeholders of a shared query into the dialect's.
// The shared queries have no ? inside string literals.
func (d *dialect) rebind(query string) string {
	if !d.numbered {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// attemptKey is the stored form of a lockout key: the key itself, or a
// hash of it when it is longer than the dialect's key column (a login's
// email is only validated after its attempt is counted, so a key can be as
// long as a request body).
func (d *dialect) attemptKey(key string) string {
	if d.maxKeyLen > 0 && len(key) > d.maxKeyLen {
		return hashedKey(key)
	}
	return key
}

// hashedKey is the stored form of a lockout key too long for its column.
// The prefix cannot begin a key the domain makes ("pair:", "acct:").
func hashedKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// utc is the form in which every time is stored and returned.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ts encodes a time as a query argument.
func (d *dialect) ts(t time.Time) any {
	if d.intTime {
		return utc(t).UnixNano()
	}
	return utc(t)
}

// tsp encodes a nullable time as a query argument.
func (d *dialect) tsp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.ts(*t)
}

// timeDest scans a time column of either encoding. Being one pointer wide,
// it is stored in an interface without allocating.
type timeDest struct{ p *time.Time }

func (d timeDest) Scan(v any) error {
	switch v := v.(type) {
	case int64:
		*d.p = time.Unix(0, v).UTC()
	case time.Time:
		*d.p = v.UTC()
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", v)
	}
	return nil
}

// nullTimeDest scans a nullable time column of either encoding.
type nullTimeDest struct{ p **time.Time }

func (d nullTimeDest) Scan(v any) error {
	if v == nil {
		*d.p = nil
		return nil
	}
	var t time.Time
	if err := (timeDest{&t}).Scan(v); err != nil {
		return err
	}
	*d.p = &t
	return nil
}

// nullString stores "" as NULL, an absent name (null in the API).
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
