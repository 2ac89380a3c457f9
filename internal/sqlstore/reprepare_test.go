package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// BenchmarkUserForSessionVaried is GET /me's query as a server makes it:
// a different user, session and time on each call. A statement that SQLite
// recompiles when its bindings change (a LEFT JOIN on the bound session id
// did) costs over twice as much here as with one session, and shows
// sqlite3Reprepare in a CPU profile.
func BenchmarkUserForSessionVaried(b *testing.B) {
	for _, e := range benchEngines {
		b.Run(e.name, func(b *testing.B) {
			s := openMigrated(b, e.opts(b))
			ctx := context.Background()
			now := time.Now()
			type pair struct {
				user    int64
				session string
			}
			var pairs []pair
			for i := range 8 {
				u, err := s.CreateUser(ctx, auth.NewUser{Email: fmt.Sprintf("bench%d@example.com", i), PasswordHash: "h", IsActive: true, CreatedAt: now})
				if err != nil {
					b.Fatalf("CreateUser = %v", err)
				}
				ss := auth.Session{ID: fmt.Sprintf("bench-session-%d", i), UserID: u.ID, CreatedAt: now,
					ExpiresAt: now.Add(time.Hour), Deadline: now.Add(time.Hour)}
				if err := s.CreateSession(ctx, ss, auth.RefreshToken{Hash: fmt.Sprintf("bench-token-%d", i), IssuedAt: now,
					ExpiresAt: now.Add(time.Hour)}); err != nil {
					b.Fatalf("CreateSession = %v", err)
				}
				pairs = append(pairs, pair{u.ID, ss.ID})
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p := pairs[i%len(pairs)]
				i++
				if _, err := s.UserForSession(ctx, p.user, p.session, time.Now()); err != nil {
					b.Fatalf("UserForSession = %v", err)
				}
			}
		})
	}
}
