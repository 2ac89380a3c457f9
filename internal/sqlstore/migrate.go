package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"path"
	"text/tabwriter"
	"time"

	"github.com/authserve/authserve/internal/dburl"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrations holds every dialect's schema history, so that start-up and
// `authserve migrate` apply the very same files.
//
//go:embed migrations
var migrations embed.FS

// ErrNoMigration is returned by MigrateDown when no migration is applied.
var ErrNoMigration = errors.New("no migration to roll back")

// ErrMigrateDatabase marks a failure to reach the migration database
// (Options.MigrateDSN), so that start-up can name the setting at fault.
var ErrMigrateDatabase = errors.New("migration database unreachable")

// provider builds the goose provider for this store's dialect, on the
// migration database; done releases that database when it is not the
// store's own.
func (s *Store) provider(ctx context.Context) (p *goose.Provider, done func(), err error) {
	fsys, err := fs.Sub(migrations, s.d.dir)
	if err != nil {
		return nil, nil, err
	}
	db, done, err := s.migrationDB(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			done()
		}
	}()
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	// Processes migrating at once (replicas starting together, or
	// `authserve migrate` beside a starting server) must not apply a
	// migration twice, so they take turns on a lock. Both lockers need a
	// connection besides goose's own, so a pool of one (an in-memory
	// database, which no other process can see anyway) goes without.
	if db.Stats().MaxOpenConnections != 1 {
		switch {
		case s.d == postgresDialect && s.pooled && db == s.db:
			// Behind a transaction-pooling proxy a session-level
			// advisory lock would stay on whichever server connection
			// took it: take turns on a lease in a table instead.
			locker, err := lock.NewPostgresTableLocker(lock.WithTableName("migration_lease"),
				lock.WithTableLockTimeout(200*time.Millisecond, 1500))
			if err != nil {
				return nil, nil, err
			}
			opts = append(opts, goose.WithLocker(locker))
		case s.d == postgresDialect:
			id, err := migrationLockID(ctx, db)
			if err != nil {
				return nil, nil, err
			}
			locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(id), lock.WithLockTimeout(1, 300))
			if err != nil {
				return nil, nil, err
			}
			opts = append(opts, goose.WithSessionLocker(locker))
		case s.d == mysqlDialect:
			locker, err := s.newMySQLLocker(ctx)
			if err != nil {
				return nil, nil, err
			}
			opts = append(opts, goose.WithSessionLocker(locker))
		case s.d == sqliteDialect:
			opts = append(opts, goose.WithLocker(newLeaseLocker()))
		}
	}
	p, err = goose.NewProvider(s.d.goose, db, fsys, opts...)
	return p, done, err
}

// migrationDB returns the database migrations run on: the store's own, or
// a pool of its own on Options.MigrateDSN (a direct connection beside a
// pooled one), closed by done.
func (s *Store) migrationDB(ctx context.Context) (db *sql.DB, done func(), err error) {
	if s.migrateDSN == "" {
		return s.db, func() {}, nil
	}
	u, err := dburl.FromDSN(s.d.name, s.migrateDSN)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMigrateDatabase, err)
	}
	dsn, err := s.d.driverDSN(u)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMigrateDatabase, err)
	}
	db, err = sql.Open(s.d.driver, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMigrateDatabase, err)
	}
	// goose's connection and the lock's.
	db.SetMaxOpenConns(2)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, nil, fmt.Errorf("%w: %w", ErrMigrateDatabase, err)
	}
	return db, func() { _ = db.Close() }, nil
}

// migrationLockID derives the advisory lock from the schema being migrated:
// replicas of one deployment share it, while databases or schemas that
// share a server (parallel tests, say) do not wait for one another.
func migrationLockID(ctx context.Context, conn *sql.DB) (int64, error) {
	var db, schema string
	if err := conn.QueryRowContext(ctx, "SELECT current_database(), current_schema()").Scan(&db, &schema); err != nil {
		return 0, err
	}
	h := fnv.New64a()
	_, _ = io.WriteString(h, "authserve migrations\x00"+db+"\x00"+schema)
	return int64(h.Sum64()), nil
}

// versionTableExists asks, per dialect, whether goose's version table
// exists, without creating it.
var versionTableExists = map[*dialect]string{
	sqliteDialect:   `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version')`,
	postgresDialect: `SELECT to_regclass('goose_db_version') IS NOT NULL`,
	mysqlDialect:    `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'goose_db_version')`,
}

// Migrate applies every pending migration.
func (s *Store) Migrate(ctx context.Context) error {
	// Statements prepared against the old schema must not outlive it.
	defer s.resetStatements()
	p, done, err := s.provider(ctx)
	if err != nil {
		return s.wrap("migrate up", err)
	}
	defer done()
	err = s.serialiseMigrations(ctx, func() error {
		_, err := p.Up(ctx)
		return err
	})
	if err != nil {
		return s.wrap("migrate up", err)
	}
	return nil
}

// serialiseMigrations runs fn under a lock of the whole run where goose's
// own lock is not enough. goose's Up first asks HasPending, which takes no
// lock and creates the version table if it is missing; on MySQL that
// CREATE TABLE commits before the table's first row is inserted, so a
// replica starting at the same moment could find the table without its
// row and fail with "missing zero version migration". PostgreSQL and
// SQLite create the table and its row in one transaction.
func (s *Store) serialiseMigrations(ctx context.Context, fn func() error) error {
	if s.d != mysqlDialect || s.db.Stats().MaxOpenConnections == 1 {
		return fn()
	}
	l, err := s.newMySQLLocker(ctx)
	if err != nil {
		return err
	}
	// Another name than goose's lock, which goose takes on a connection
	// of its own while this one is held.
	l.name += ":run"
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := l.SessionLock(ctx, conn); err != nil {
		return err
	}
	defer func() { _ = l.SessionUnlock(context.WithoutCancel(ctx), conn) }()
	return fn()
}

// MigrateDown rolls back the most recent migration; ErrNoMigration when
// there is none.
func (s *Store) MigrateDown(ctx context.Context) error {
	defer s.resetStatements()
	p, done, err := s.provider(ctx)
	if err != nil {
		return s.wrap("migrate down", err)
	}
	defer done()
	if _, err := p.Down(ctx); err != nil {
		if errors.Is(err, goose.ErrNoNextVersion) {
			return ErrNoMigration
		}
		return s.wrap("migrate down", err)
	}
	return nil
}

// MigrateStatus writes one line per known migration to w: when it was
// applied, or that it is pending.
func (s *Store) MigrateStatus(ctx context.Context, w io.Writer) error {
	p, done, err := s.provider(ctx)
	if err != nil {
		return s.wrap("migrate status", err)
	}
	defer done()
	status, err := p.Status(ctx)
	if err != nil {
		return s.wrap("migrate status", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MIGRATION\tSTATE\tAPPLIED AT")
	for _, m := range status {
		applied := "-"
		if m.State == goose.StateApplied {
			applied = m.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", path.Base(m.Source.Path), m.State, applied)
	}
	return tw.Flush()
}

// SchemaCurrent reports whether every embedded migration has been applied,
// without applying any. A database goose has never seen is not current.
func (s *Store) SchemaCurrent(ctx context.Context) (bool, error) {
	// goose's HasPending creates the version table when it is missing: a
	// check must not change the database, so an empty one is answered
	// here.
	var exists bool
	if err := s.db.QueryRowContext(ctx, versionTableExists[s.d]).Scan(&exists); err != nil {
		return false, s.wrap("check schema version", err)
	}
	if !exists {
		return false, nil
	}
	p, done, err := s.provider(ctx)
	if err != nil {
		return false, s.wrap("check schema version", err)
	}
	defer done()
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, s.wrap("check schema version", err)
	}
	return !pending, nil
}
