package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// BenchmarkOutboxEnqueue measures what a password-reset request writes:
// the address's cooldown, the link token and the outbox message, in one
// durable transaction (RequestLink). Each iteration names another address,
// so none is held back by the cooldown.
func BenchmarkOutboxEnqueue(b *testing.B) {
	for _, e := range benchEngines {
		b.Run(e.name, func(b *testing.B) {
			s := openMigrated(b, e.opts(b))
			ctx := context.Background()
			now := time.Now()
			u, err := s.CreateUser(ctx, auth.NewUser{Email: "outbox@example.com", PasswordHash: "h", IsActive: true, CreatedAt: now})
			if err != nil {
				b.Fatalf("CreateUser = %v", err)
			}
			msg := auth.OutboxMessage{UserID: u.ID, To: u.Email, Kind: auth.MailPasswordReset,
				Message: auth.Message{Subject: "Reset your password", Text: "Open the link.", HTML: "<p>Open the link.</p>"}}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				queued, err := s.RequestLink(ctx, auth.LinkRequest{AddressKey: fmt.Sprintf("bench-%d", i), Kind: auth.LinkResetPassword,
					Now: now, Cooldown: time.Minute, Send: true, UserID: u.ID, TokenHash: fmt.Sprintf("bench-token-%d", i),
					ExpiresAt: now.Add(30 * time.Minute), Mail: msg})
				if err != nil || !queued {
					b.Fatalf("RequestLink = %v, %v; want true, nil", queued, err)
				}
			}
		})
	}
}
