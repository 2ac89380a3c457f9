package mail_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/mail"
	"github.com/authserve/authserve/internal/sqlstore"
)

// scripted is a transport whose outcome per recipient follows a script:
// each call takes the next error (nil once the script runs out).
type scripted struct {
	mu     sync.Mutex
	script map[string][]error
	sent   map[string]int
	calls  map[string]int
	block  chan struct{} // when not nil, Send waits on it
}

func (s *scripted) Describe() string { return "scripted" }

func (s *scripted) Send(ctx context.Context, _ string, m auth.OutboxMessage) error {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[m.To]++
	if q := s.script[m.To]; len(q) > 0 {
		s.script[m.To] = q[1:]
		if q[0] != nil {
			return q[0]
		}
	}
	s.sent[m.To]++
	return nil
}

type events struct {
	mu    sync.Mutex
	names []string
}

func (e *events) record(_ context.Context, name string, _ ...slog.Attr) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.names = append(e.names, name)
}

func (e *events) count(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, x := range e.names {
		if x == name {
			n++
		}
	}
	return n
}

// queue stores one user and one reset email per address, as the domain
// would.
func queue(t *testing.T, s *sqlstore.Store, addrs ...string) {
	t.Helper()
	ctx := context.Background()
	for _, a := range addrs {
		u, err := s.CreateUser(ctx, auth.NewUser{Email: a, PasswordHash: "h", IsActive: true, CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if _, err := s.RequestLink(ctx, auth.LinkRequest{AddressKey: a, Kind: auth.LinkResetPassword, Now: now, Cooldown: time.Minute,
			Send: true, UserID: u.ID, TokenHash: "hash-" + a, ExpiresAt: now.Add(time.Hour),
			Mail: auth.OutboxMessage{UserID: u.ID, To: a, Kind: auth.MailPasswordReset, Message: auth.Message{Subject: "s", Text: "t", HTML: "h"}}}); err != nil {
			t.Fatal(err)
		}
	}
}

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSenderRetriesThenGivesUp: temporary failures are retried with
// backoff until delivered; a permanent refusal fails at once; a message
// that keeps failing is failed after MaxAttempts. Each delivered message
// is sent exactly once.
func TestSenderRetriesThenGivesUp(t *testing.T) {
	s := openStore(t)
	temp := errors.New("421 try again later")
	perm := &mail.PermanentError{Err: errors.New("550 no such user")}
	tr := &scripted{
		script: map[string][]error{
			"flaky@example.com":   {temp, temp},
			"refused@example.com": {perm},
			"broken@example.com":  {temp, temp, temp, temp, temp, temp},
		},
		sent: map[string]int{}, calls: map[string]int{},
	}
	queue(t, s, "ok@example.com", "flaky@example.com", "refused@example.com", "broken@example.com")
	ev := &events{}
	wake := make(chan struct{}, 1)
	snd := mail.NewSender(mail.SenderOptions{Outbox: s, Transport: tr, From: "x <n@x.test>", Wake: wake, Event: ev.record,
		Poll: time.Hour, MaxAttempts: 3, RetryBase: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); snd.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for ev.count("email.sent")+ev.count("email.failed") < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	tr.mu.Lock()
	defer tr.mu.Unlock()
	want := map[string][2]int{ // calls, sent
		"ok@example.com": {1, 1}, "flaky@example.com": {3, 1}, "refused@example.com": {1, 0}, "broken@example.com": {3, 0},
	}
	for addr, w := range want {
		if tr.calls[addr] != w[0] || tr.sent[addr] != w[1] {
			t.Errorf("%s: %d attempts, %d delivered; want %d and %d", addr, tr.calls[addr], tr.sent[addr], w[0], w[1])
		}
	}
	if ev.count("email.sent") != 2 || ev.count("email.failed") != 2 {
		t.Errorf("events: %d email.sent, %d email.failed; want 2 and 2", ev.count("email.sent"), ev.count("email.failed"))
	}
	failed, _ := s.ListOutbox(context.Background(), auth.OutboxFailed, 10)
	if len(failed) != 2 {
		t.Errorf("failed messages = %d, want 2", len(failed))
	}
	for _, m := range failed {
		if m.Message != (auth.Message{}) {
			t.Errorf("failed message %d keeps its body", m.ID)
		}
	}
}

// TestSenderShutdownReleasesClaims: stopping mid-batch finishes the
// delivery in progress and hands the rest back, unattempted, so another
// sender takes them at once.
func TestSenderShutdownReleasesClaims(t *testing.T) {
	s := openStore(t)
	var addrs []string
	for i := range 5 {
		addrs = append(addrs, fmt.Sprintf("r%d@example.com", i))
	}
	queue(t, s, addrs...)
	block := make(chan struct{})
	tr := &scripted{script: map[string][]error{}, sent: map[string]int{}, calls: map[string]int{}, block: block}
	snd := mail.NewSender(mail.SenderOptions{Outbox: s, Transport: tr, From: "x <n@x.test>", Poll: time.Hour, Batch: 5})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); snd.Run(ctx) }()
	// The first delivery is under way (blocked); stop now.
	time.Sleep(100 * time.Millisecond)
	cancel()
	close(block)
	<-done
	if n := len(tr.sent); n != 1 {
		t.Errorf("delivered %d messages during shutdown, want 1 (the one in progress)", n)
	}
	other, err := s.ClaimOutbox(context.Background(), "other", time.Now(), time.Minute, 10)
	if err != nil || len(other) != 4 {
		t.Fatalf("another sender claims %d, %v; want the 4 released at once", len(other), err)
	}
	for _, m := range other {
		if m.Attempts != 1 {
			t.Errorf("released message %d has attempts %d after a new claim, want 1 (the release uncounted its own)", m.ID, m.Attempts)
		}
	}
}
