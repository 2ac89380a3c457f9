package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/storetest"
)

// TestEmailMigrationKeepsUsersUnverified migrates a database that already
// has a user to 00004: the user is there, unverified, and can verify.
func TestEmailMigrationKeepsUsersUnverified(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			e.skip(t)
			s := openMigrated(t, e.opts(t))
			if err := s.MigrateDown(ctx); err != nil {
				t.Fatalf("MigrateDown() = %v", err)
			}
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			if _, err := s.DB().ExecContext(ctx, s.d.rebind(`INSERT INTO users (email, hashed_password, is_active, created_at, updated_at)
VALUES ('before@example.com', 'h', TRUE, ?, ?)`), s.d.ts(now), s.d.ts(now)); err != nil {
				t.Fatalf("insert a user at 00003: %v", err)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate() = %v", err)
			}
			u, err := s.UserByEmail(ctx, "before@example.com")
			if err != nil || u.EmailVerified || !u.IsActive {
				t.Fatalf("UserByEmail() after 00004 = %+v, %v; want the active user, unverified", u, err)
			}
			u, err = s.SetEmailVerified(ctx, u.ID, true, now.Add(time.Minute))
			if err != nil || !u.EmailVerified {
				t.Errorf("SetEmailVerified() = %+v, %v; want verified", u, err)
			}
			var _ auth.RecoveryStore = s
		})
	}
}

func TestRecovery(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			e.skip(t)
			storetest.RunRecovery(t, func(t *testing.T) storetest.Recovery { return openMigrated(t, e.opts(t)) })
		})
	}
}
