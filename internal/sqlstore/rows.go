package sqlstore

import (
	"context"
	"database/sql"
)

// collect runs a prepared list query and scans every row with scan,
// closing the rows; the caller wraps the error with its op. The slice is
// never nil on success, so an empty list encodes as [] in JSON.
func collect[T any](ctx context.Context, stmt *sql.Stmt, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// execOne runs stmt in tx and returns none when it changed no row: the
// single-row updates inside a transaction whose miss has its own sentinel.
func execOne(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, none error, args ...any) error {
	res, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return none
	}
	return nil
}
