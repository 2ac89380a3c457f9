package main

import (
	"errors"
	"fmt"

	"github.com/authserve/authserve/internal/sqlstore"
)

// migrateFailed is op's error; an unreachable AUTH_MIGRATE_DATABASE_URL
// stops start-up (or the migrate command) with one line naming it, like
// any other bad setting. The cause names host and user, never the
// password (the drivers' connect errors do not carry it).
func migrateFailed(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sqlstore.ErrMigrateDatabase) {
		return exitError{code: 1, msg: "AUTH_MIGRATE_DATABASE_URL: the migration database does not answer: " + errors.Unwrap(err).Error()}
	}
	return fmt.Errorf("%s: %w", op, err)
}
