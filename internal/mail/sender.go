package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// Observer receives the sender's measurements; the metrics adapter
// implements it.
type Observer interface {
	// MailSent counts a delivery of kind, latency after it was queued.
	MailSent(kind string, latency time.Duration)
	// MailFailed counts a message of kind given up on.
	MailFailed(kind string)
	// OutboxDepth reports the number of pending messages.
	OutboxDepth(n int)
}

// SenderOptions configure a Sender. Zero durations and counts take the
// defaults below.
type SenderOptions struct {
	Outbox    auth.Outbox
	Transport Transport
	// From is the From header (AUTH_MAIL_FROM).
	From string
	// Wake is signalled when mail is queued in this process.
	Wake <-chan struct{}
	// Event logs and counts email.sent and email.failed (the service's
	// Record).
	Event    func(ctx context.Context, name string, attrs ...slog.Attr)
	Observer Observer
	Logger   *slog.Logger
	// Poll is how often the outbox is read without a wake-up: mail queued
	// by another replica, and retries that fell due.
	Poll time.Duration
	// Lease is how long a claim lasts; a sender that dies holding one
	// delays those messages by this much.
	Lease time.Duration
	// Batch is the most messages claimed at once.
	Batch int
	// MaxAttempts bounds delivery attempts before a message is failed.
	MaxAttempts int
	// RetryBase is the wait after the first failed attempt, doubled after
	// each further one up to RetryMax.
	RetryBase time.Duration
	RetryMax  time.Duration
	// SendTimeout bounds one delivery.
	SendTimeout time.Duration
	// WakeJitter bounds the random pause after a wake-up (see settle); 0
	// claims at once.
	WakeJitter time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Defaults of SenderOptions.
const (
	DefaultPoll        = 10 * time.Second
	DefaultLease       = 2 * time.Minute
	DefaultBatch       = 10
	DefaultMaxAttempts = 10
	DefaultRetryBase   = 30 * time.Second
	DefaultRetryMax    = time.Hour
	DefaultSendTimeout = 30 * time.Second
	DefaultWakeJitter  = 250 * time.Millisecond
	// pruneEvery is how often spent link tokens and cooldowns are deleted.
	pruneEvery = time.Hour
)

// Sender delivers the outbox: it claims due messages (with a lease, so that
// replicas never send one twice in normal operation), sends them, records
// each outcome, and retries failures with exponential backoff up to
// MaxAttempts. It wakes when this process queues mail and polls slowly for
// the rest.
type Sender struct {
	o     SenderOptions
	owner string
	log   *slog.Logger
	// retries are the times of the retries this sender scheduled and has
	// not reached yet, so that it wakes for each rather than waiting for
	// the next poll.
	retries   []time.Time
	lastPrune time.Time
}

// NewSender returns a Sender; Run starts it.
func NewSender(o SenderOptions) *Sender {
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.RetryBase <= 0 {
		o.RetryBase = DefaultRetryBase
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultRetryMax
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = DefaultSendTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Event == nil {
		o.Event = func(context.Context, string, ...slog.Attr) {}
	}
	return &Sender{o: o, owner: newOwner(), log: o.Logger}
}

// newOwner names this sender in claims: the host and a random suffix, so
// that two processes on one host differ.
func newOwner() string {
	host, _ := os.Hostname()
	if len(host) > 40 {
		host = host[:40]
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// Owner returns the name this sender claims messages under.
func (s *Sender) Owner() string { return s.owner }

// Run delivers until ctx ends. A delivery in progress then finishes (within
// SendTimeout) and claimed messages not yet attempted are handed back, so
// another replica or the next start sends them at once.
func (s *Sender) Run(ctx context.Context) {
	for {
		n := s.round(ctx)
		if ctx.Err() != nil {
			return
		}
		s.housekeeping(ctx)
		if n == s.o.Batch {
			continue // more may be due
		}
		wait := s.o.Poll
		now := s.o.Now()
		for _, r := range s.retries {
			if d := r.Sub(now); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.o.Wake:
			t.Stop()
			s.settle(ctx)
		case <-t.C:
		}
	}
}

// settle waits a random moment (up to WakeJitter) after a wake-up before
// claiming. The sender's database writes would otherwise follow each
// queued email at once, and on SQLite, whose writers take turns, slow the
// very next request: a client timing a forgot request right after another
// could tell whether the first address had an account.
func (s *Sender) settle(ctx context.Context) {
	if s.o.WakeJitter <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(mrand.Int64N(int64(s.o.WakeJitter))))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// round claims one batch and delivers it; it returns how many it claimed.
func (s *Sender) round(ctx context.Context) int {
	now := s.o.Now()
	// Retries due by now are claimed below (or by another replica).
	s.retries = slices.DeleteFunc(s.retries, func(r time.Time) bool { return !r.After(now) })
	msgs, err := s.o.Outbox.ClaimOutbox(ctx, s.owner, now, s.o.Lease, s.o.Batch)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("reading the email outbox failed; will try again", slog.String("error", err.Error()))
		}
		return 0
	}
	for i, m := range msgs {
		if ctx.Err() != nil {
			s.release(msgs[i:])
			break
		}
		s.deliver(ctx, m)
	}
	return len(msgs)
}

// deliver sends one claimed message and records the outcome. The send and
// the record outlive ctx's cancellation (each bounded by its own
// timeout), so that shutdown never abandons a message half-recorded.
func (s *Sender) deliver(ctx context.Context, m auth.OutboxMessage) {
	base := context.WithoutCancel(ctx)
	sctx, cancel := context.WithTimeout(base, s.o.SendTimeout)
	err := s.o.Transport.Send(sctx, s.o.From, m)
	cancel()
	now := s.o.Now()
	rctx, cancel := context.WithTimeout(base, s.o.SendTimeout)
	defer cancel()
	attrs := []slog.Attr{slog.Int64("email_id", m.ID), slog.String("kind", m.Kind), slog.Int64("user_id", m.UserID), slog.Int("attempts", m.Attempts)}
	if err == nil {
		if rerr := s.o.Outbox.MarkSent(rctx, m.ID, s.owner, now); rerr != nil {
			// Sent, but not recorded: after the lease it would be sent
			// again. Say so loudly; nothing else can be done.
			s.log.Error("email sent but recording it failed; it may be sent again after its lease", append([]any{slog.String("error", rerr.Error())}, attrsAny(attrs)...)...)
		}
		latency := now.Sub(m.CreatedAt)
		if s.o.Observer != nil {
			s.o.Observer.MailSent(m.Kind, latency)
		}
		s.o.Event(ctx, "email.sent", append(attrs, slog.String("latency", latency.Round(time.Millisecond).String()))...)
		return
	}
	reason := sanitize(err.Error(), m.To)
	var perm *PermanentError
	if errors.As(err, &perm) || m.Attempts >= s.o.MaxAttempts {
		if rerr := s.o.Outbox.MarkFailed(rctx, m.ID, s.owner, now, reason); rerr != nil {
			s.log.Warn("recording a failed email failed", slog.String("error", rerr.Error()), slog.Int64("email_id", m.ID))
		}
		if s.o.Observer != nil {
			s.o.Observer.MailFailed(m.Kind)
		}
		s.o.Event(ctx, "email.failed", append(attrs, slog.String("reason", reason), slog.Bool("permanent", perm != nil))...)
		return
	}
	next := now.Add(s.backoff(m.Attempts))
	if rerr := s.o.Outbox.MarkRetry(rctx, m.ID, s.owner, next, reason); rerr != nil {
		s.log.Warn("recording a delivery failure failed", slog.String("error", rerr.Error()), slog.Int64("email_id", m.ID))
	}
	s.retries = append(s.retries, next)
	s.log.Warn("email delivery failed; will retry", append([]any{slog.String("reason", reason), slog.String("next_attempt", next.UTC().Format(time.RFC3339))}, attrsAny(attrs)...)...)
}

// backoff is the wait after the attempts-th failed attempt: RetryBase
// doubled per further attempt, at most RetryMax, with ±10 % jitter so that
// replicas recovering together do not retry in lockstep.
func (s *Sender) backoff(attempts int) time.Duration {
	exp := math.Pow(2, float64(max(attempts-1, 0)))
	d := time.Duration(min(float64(s.o.RetryBase)*exp, float64(s.o.RetryMax)))
	jitter := time.Duration(float64(d) * 0.1 * (2*mrand.Float64() - 1))
	return d + jitter
}

// release hands back claims that were not attempted.
func (s *Sender) release(msgs []auth.OutboxMessage) {
	for _, m := range msgs {
		ctx, cancel := context.WithTimeout(context.Background(), s.o.SendTimeout)
		if err := s.o.Outbox.ReleaseOutbox(ctx, m.ID, s.owner); err != nil {
			s.log.Warn("handing back a claimed email failed; it waits for its lease", slog.String("error", err.Error()), slog.Int64("email_id", m.ID))
		}
		cancel()
	}
}

// housekeeping reports the outbox depth and now and then prunes spent
// link tokens and ended cooldowns.
func (s *Sender) housekeeping(ctx context.Context) {
	if s.o.Observer != nil {
		if n, err := s.o.Outbox.OutboxDepth(ctx); err == nil {
			s.o.Observer.OutboxDepth(n)
		}
	}
	now := s.o.Now()
	if now.Sub(s.lastPrune) < pruneEvery {
		return
	}
	s.lastPrune = now
	// A day's grace keeps recent tokens for an operator's questions.
	if n, err := s.o.Outbox.PruneRecovery(ctx, now.Add(-24*time.Hour)); err != nil {
		s.log.Warn("pruning link tokens failed", slog.String("error", err.Error()))
	} else {
		s.log.Debug("pruned link tokens and cooldowns", slog.Int64("rows", n))
	}
}

// sanitize keeps a delivery error fit for logs and the outbox: the
// recipient masked, on one line, bounded.
func sanitize(msg, to string) string {
	if to != "" {
		msg = strings.ReplaceAll(msg, to, auth.MaskEmail(to))
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

func attrsAny(attrs []slog.Attr) []any {
	out := make([]any, len(attrs))
	for i, a := range attrs {
		out[i] = a
	}
	return out
}
