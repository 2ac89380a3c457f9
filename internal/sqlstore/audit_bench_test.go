package sqlstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// BenchmarkCreateSessionAudit measures what a login's audit row adds to
// the login's one transaction (CreateSession), off and on side by side,
// from parallel callers as a server makes them.
func BenchmarkCreateSessionAudit(b *testing.B) {
	for _, e := range engines {
		if e.name == "SQLiteMemory" {
			continue
		}
		for _, audit := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/audit=%t", e.name, audit), func(b *testing.B) {
				e.skip(b)
				s := openMigrated(b, e.opts(b))
				ctx := context.Background()
				now := time.Now()
				u, err := s.CreateUser(ctx, auth.NewUser{Email: "bench@example.com", PasswordHash: "h", IsActive: true, CreatedAt: now})
				if err != nil {
					b.Fatal(err)
				}
				if audit {
					ctx = auth.WithAudit(ctx, auth.AuditEvent{OccurredAt: now, Event: "user.login_succeeded", UserID: u.ID, Actor: "user",
						ClientIP: "203.0.113.7", UserAgent: "bench/1.0", RequestID: "0f8c1c1e3b2a4d5e9f6a7b8c9d0e1f2a",
						Details: map[string]any{"session_id": "9b1f6c0a4e2d4c7f8a3b5d6e7f809112"}})
				}
				var n atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						id := fmt.Sprint(n.Add(1))
						ss := auth.Session{ID: id, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), Deadline: now.Add(time.Hour)}
						if err := s.CreateSession(ctx, ss, auth.RefreshToken{Hash: "t" + id, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
							b.Errorf("CreateSession = %v", err)
							return
						}
					}
				})
			})
		}
	}
}
