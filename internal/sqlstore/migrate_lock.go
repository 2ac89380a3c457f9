package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// leaseLocker is a goose lock.Locker for SQLite, which has no advisory
// locks: a one-row table holds the owner of the migration lock and when
// its lease ends. The owner renews the lease while it migrates, so a long
// migration keeps the lock, and a crashed one frees it within a lease.
type leaseLocker struct {
	owner            string
	lease, heartbeat time.Duration
	poll             time.Duration

	mu   sync.Mutex
	stop context.CancelFunc
	done chan struct{}
}

func newLeaseLocker() *leaseLocker {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return &leaseLocker{owner: hex.EncodeToString(b[:]), lease: 30 * time.Second,
		heartbeat: 10 * time.Second, poll: 50 * time.Millisecond}
}

const (
	qCreateMigrationLock = `CREATE TABLE IF NOT EXISTS migration_lock (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT`
	// Taken when there is no row, or its lease has ended.
	qTakeMigrationLock = `INSERT INTO migration_lock (id, owner, expires_at) VALUES (1, ?, ?)
ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE migration_lock.expires_at <= ?`
	qRenewMigrationLock   = `UPDATE migration_lock SET expires_at = ? WHERE id = 1 AND owner = ?`
	qReleaseMigrationLock = `DELETE FROM migration_lock WHERE id = 1 AND owner = ?`
)

// Lock waits for the lock until ctx ends.
func (l *leaseLocker) Lock(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, qCreateMigrationLock); err != nil {
		return fmt.Errorf("create migration lock table: %w", err)
	}
	for {
		now := time.Now()
		res, err := db.ExecContext(ctx, qTakeMigrationLock, l.owner, now.Add(l.lease).UnixNano(), now.UnixNano())
		if err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		} else if n == 1 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for migration lock: %w", ctx.Err())
		case <-time.After(l.poll):
		}
	}
	hbCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	l.mu.Lock()
	l.stop, l.done = stop, done
	l.mu.Unlock()
	go func() {
		defer close(done)
		t := time.NewTicker(l.heartbeat)
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
				// A failed renewal is retried at the next beat; the
				// lease outlasts two of them.
				_, _ = db.ExecContext(hbCtx, qRenewMigrationLock, time.Now().Add(l.lease).UnixNano(), l.owner)
			}
		}
	}()
	return nil
}

// Unlock stops renewing the lease and releases the lock.
func (l *leaseLocker) Unlock(ctx context.Context, db *sql.DB) error {
	l.mu.Lock()
	stop, done := l.stop, l.done
	l.stop, l.done = nil, nil
	l.mu.Unlock()
	if stop == nil {
		return errors.New("release migration lock: not held")
	}
	stop()
	<-done
	if _, err := db.ExecContext(ctx, qReleaseMigrationLock, l.owner); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	return nil
}
