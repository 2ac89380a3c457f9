package sqlstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// benchEngines are the engines worth measuring: an in-memory SQLite
// database measures nothing a deployment runs.
var benchEngines = []struct {
	name string
	skip func(t testing.TB)
	opts func(t testing.TB) Options
}{engines[0], engines[2]}

// BenchmarkUserForSession measures GET /me's query, from parallel callers
// as a server makes it: 16 per CPU, each with a context that can end (a
// request's, with the breaker's deadline).
func BenchmarkUserForSession(b *testing.B) {
	for _, e := range benchEngines {
		b.Run(e.name, func(b *testing.B) {
			s := openMigrated(b, e.opts(b))
			ctx := context.Background()
			now := time.Now()
			u, err := s.CreateUser(ctx, auth.NewUser{Email: "bench@example.com", PasswordHash: "h", IsActive: true, CreatedAt: now})
			if err != nil {
				b.Fatalf("CreateUser = %v", err)
			}
			ss := auth.Session{ID: "bench-session", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
				Deadline: now.Add(time.Hour)}
			if err := s.CreateSession(ctx, ss, auth.RefreshToken{Hash: "bench-token", IssuedAt: now,
				ExpiresAt: now.Add(time.Hour)}); err != nil {
				b.Fatalf("CreateSession = %v", err)
			}
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx, cancel := context.WithTimeout(ctx, time.Hour)
				defer cancel()
				for pb.Next() {
					if _, err := s.UserForSession(ctx, u.ID, ss.ID, now); err != nil {
						b.Errorf("UserForSession = %v", err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkCreateUser measures registration's insert, one durable commit
// each.
func BenchmarkCreateUser(b *testing.B) {
	for _, e := range benchEngines {
		b.Run(e.name, func(b *testing.B) {
			s := openMigrated(b, e.opts(b))
			ctx := context.Background()
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				email := fmt.Sprintf("user%d@example.com", n.Add(1))
				if _, err := s.CreateUser(ctx, auth.NewUser{Email: email, PasswordHash: "h", IsActive: true}); err != nil {
					b.Fatalf("CreateUser = %v", err)
				}
			}
		})
	}
}

// BenchmarkLoginQueries measures the database work of a login by an
// account without a second factor: the user lookup (which also reads
// mfa_enabled, so that MFA adds no query) and the new session.
func BenchmarkLoginQueries(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			s := openMigrated(b, e.opts(b))
			ctx := context.Background()
			now := time.Now()
			if _, err := s.CreateUser(ctx, auth.NewUser{Email: "bench@example.com", PasswordHash: "h", IsActive: true, CreatedAt: now}); err != nil {
				b.Fatalf("CreateUser = %v", err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				u, err := s.UserByEmail(ctx, "bench@example.com")
				if err != nil {
					b.Fatalf("UserByEmail = %v", err)
				}
				id := fmt.Sprintf("bench-login-%d", i)
				ss := auth.Session{ID: id, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), Deadline: now.Add(time.Hour)}
				if err := s.CreateSession(ctx, ss, auth.RefreshToken{Hash: "t-" + id, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
					b.Fatalf("CreateSession = %v", err)
				}
			}
		})
	}
}
