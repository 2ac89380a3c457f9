package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// A transaction-pooling proxy (PgBouncer in pool_mode = transaction, RDS
// Proxy, Supavisor) lends a server connection for one transaction, or one
// statement outside a transaction, and lends the next one to someone else.
// A named prepared statement lives on the server connection that prepared
// it, so preparing on one and executing on the next fails with 42P05
// ("already exists") or 26000 ("does not exist"). pgx's own
// default_query_exec_mode exec or simple_protocol avoids that for queries
// pgx runs, but database/sql's Prepare still reaches the server as a named
// statement. (describe_exec prepares nothing named either, so it is
// treated alike, but it is not pooler-safe: it parses into the unnamed
// statement in one round trip and binds it in the next, which a pooler may
// send to another server connection; pgx's documentation says so, and
// TestLookupManyAnswersAsOne through PgBouncer shows it.) So when the URL asks for one of those modes
// the store opens its pool through textConnector, whose "prepared"
// statements are only their query text: every execution is a plain query
// in the URL's mode, which the statement helper (Store.queries) and every
// caller inherit without knowing.

// pgPooled reports whether a PostgreSQL DSN selects a query mode that
// keeps no named statement on the server: the store then prepares nothing
// (see textConnector). A DSN pgx cannot parse is not pooled; opening it
// reports the error.
func pgPooled(dsn string) (*pgx.ConnConfig, bool) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, false
	}
	switch cfg.DefaultQueryExecMode {
	case pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeDescribeExec:
		return cfg, true
	}
	return cfg, false
}

// openPooled opens a pool whose statements are never prepared on the
// server (see textConnector).
func openPooled(cfg *pgx.ConnConfig) *sql.DB {
	return sql.OpenDB(textConnector{stdlib.GetConnector(*cfg)})
}

// textConnector wraps pgx's connector so that its connections prepare
// nothing on the server.
type textConnector struct{ driver.Connector }

func (c textConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := conn.(*stdlib.Conn)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("sqlstore: unexpected pgx connection type")
	}
	return &textConn{Conn: pc}, nil
}

// textConn is a pgx connection (everything but Prepare is pgx's own) whose
// Prepare keeps the query text instead of asking the server.
type textConn struct{ *stdlib.Conn }

// Prepare implements driver.Conn.
func (c *textConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext implements driver.ConnPrepareContext without a round
// trip: the statement is run as a plain query each time.
func (c *textConn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	if c.Conn.Conn().IsClosed() {
		return nil, driver.ErrBadConn
	}
	return &textStmt{conn: c.Conn, query: query}, nil
}

// textStmt is a "prepared" statement that is only its text.
type textStmt struct {
	conn  *stdlib.Conn
	query string
}

var (
	_ driver.StmtExecContext   = (*textStmt)(nil)
	_ driver.StmtQueryContext  = (*textStmt)(nil)
	_ driver.NamedValueChecker = (*textStmt)(nil)
)

// Close implements driver.Stmt: there is nothing on the server to close.
func (s *textStmt) Close() error { return nil }

// NumInput implements driver.Stmt: unknown, the server checks.
func (s *textStmt) NumInput() int { return -1 }

// CheckNamedValue lets pgx, not database/sql's default converter, decide
// which argument types it takes, as for a statement pgx prepared.
func (s *textStmt) CheckNamedValue(nv *driver.NamedValue) error { return s.conn.CheckNamedValue(nv) }

// ExecContext implements driver.StmtExecContext.
func (s *textStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.conn.ExecContext(ctx, s.query, args)
}

// QueryContext implements driver.StmtQueryContext.
func (s *textStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.conn.QueryContext(ctx, s.query, args)
}

// Exec implements driver.Stmt; database/sql uses ExecContext.
func (s *textStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

// Query implements driver.Stmt; database/sql uses QueryContext.
func (s *textStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func named(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, v := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv
}
