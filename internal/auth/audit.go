package auth

import (
	"context"
	"time"
)

// The audit log: a queryable record of security events (contract section
// 10), kept in the database beside the state it describes.
//
// # How an event reaches the log
//
// An event that accompanies a state change is committed in the same
// transaction as the change, so that the log can neither miss an
// acknowledged change nor record one that was rolled back. The mechanism is
// the context of the store call that makes the change:
//
//	u, err := s.store.CreateUser(s.audit(ctx, "user.registered", 0, nil), nu)
//
// Service.audit returns ctx carrying the event (or ctx itself while the
// audit log is off). The store method that changes state calls
// PendingAudit(ctx) and inserts what it finds inside its own transaction;
// where the event names no user (UserID 0), the store fills in the user
// whose state it changed (the new account, the owner of the session). A
// store method that changes nothing, or fails, writes nothing. Attach the
// event to the one call that makes the change, never to a ctx that is
// reused for several writes: each of them would write it.
//
// A new flow (email verification, password reset, MFA) adopts it with one
// line in the domain, wrapping the ctx of its store call as above, and one
// line in the store method, inside its transaction:
//
//	if err := s.writeAudit(ctx, tx, q, userID); err != nil { return err }
//
// Store.Rotate is the one exception to "every pending event is written":
// the events attached to a rotation describe reuse, and are committed only
// with the revocation that reuse detection makes.
//
// Who acted, from where, and in which request comes from the adapter that
// received the request: it puts an Origin on the context (WithOrigin), and
// Service.audit copies it into the event. The public API's origin has
// actor "user", the admin API's "admin:<key name>", the CLI's "cli".
//
// Events that accompany no state change (failed logins, locks) must not
// slow the login they describe: they go to an AuditQueue, which writes
// them in batches off the request path and may drop them under overload
// (counted in /metrics).
//
// Details never hold a password, token, secret, key or code; an email in
// them is masked (MaskEmail) unless it is the account's own, known one.

// Actors of audit events.
const (
	ActorUser = "user"
	ActorCLI  = "cli"
	// ActorAdminPrefix is followed by the admin key's name.
	ActorAdminPrefix = "admin:"
)

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	ID         int64
	OccurredAt time.Time
	// Event is a name of contract section 5 ("user.login_succeeded"), of
	// the later sections, or "admin.*".
	Event string
	// UserID is the account concerned; 0 when unknown.
	UserID    int64
	Actor     string
	ClientIP  string
	UserAgent string
	RequestID string
	// Details are event-specific facts, stored as JSON.
	Details map[string]any
}

// Origin is who makes a request and from where, as the adapter that
// received it knows them.
type Origin struct {
	Actor     string
	ClientIP  string
	UserAgent string
	RequestID string
}

type originKey struct{}

// WithOrigin returns ctx carrying o, for the audit events of the request.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginFrom returns the origin of ctx; actor "user" when none was set.
func OriginFrom(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	if o.Actor == "" {
		o.Actor = ActorUser
	}
	return o
}

type pendingKey struct{}

// WithAudit returns ctx carrying ev, in addition to the events ctx already
// carries, for the store call that makes the change ev describes.
func WithAudit(ctx context.Context, ev ...AuditEvent) context.Context {
	prev := PendingAudit(ctx)
	all := make([]AuditEvent, 0, len(prev)+len(ev))
	all = append(append(all, prev...), ev...)
	return context.WithValue(ctx, pendingKey{}, all)
}

// PendingAudit returns the audit events that the state change made with
// ctx must commit in its transaction. Stores call it; the slice must not
// be modified.
func PendingAudit(ctx context.Context) []AuditEvent {
	ev, _ := ctx.Value(pendingKey{}).([]AuditEvent)
	return ev
}

// AuditQueue takes events that accompany no state change off the request
// path. Enqueue never blocks: when the queue is full the event is dropped
// and counted.
type AuditQueue interface {
	Enqueue(ev AuditEvent)
}

// AuditQuery selects audit events, newest first.
type AuditQuery struct {
	UserID int64  // 0: any
	Event  string // "": any
	Since  time.Time
	Limit  int
	// After, when not nil, continues a listing after this event.
	After *AuditCursor
}

// AuditCursor is the position of an event in the newest-first order.
type AuditCursor struct {
	OccurredAt time.Time
	ID         int64
}

// AuditStore keeps the audit log.
type AuditStore interface {
	// InsertAudit writes events that accompany no state change, in one
	// statement or transaction.
	InsertAudit(ctx context.Context, events []AuditEvent) error
	// ListAudit returns up to q.Limit events matching q, newest first
	// (by occurred_at, then id).
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
	// PruneAudit deletes events that occurred before cutoff and reports
	// how many.
	PruneAudit(ctx context.Context, cutoff time.Time) (int64, error)
}

// audit returns ctx carrying the event name about userID (0 when the store
// knows it better) for the next state change, with the request's origin;
// ctx itself while the audit log is off.
func (s *Service) audit(ctx context.Context, name string, userID int64, details map[string]any) context.Context {
	if !s.auditOn {
		return ctx
	}
	return WithAudit(ctx, s.auditEvent(ctx, name, userID, details))
}

// auditAsync queues an event that accompanies no state change.
func (s *Service) auditAsync(ctx context.Context, name string, userID int64, details map[string]any) {
	if s.auditQ == nil {
		return
	}
	s.auditQ.Enqueue(s.auditEvent(ctx, name, userID, details))
}

func (s *Service) auditEvent(ctx context.Context, name string, userID int64, details map[string]any) AuditEvent {
	o := OriginFrom(ctx)
	return AuditEvent{
		OccurredAt: s.now().UTC(), Event: name, UserID: userID,
		Actor: o.Actor, ClientIP: o.ClientIP, UserAgent: truncate(o.UserAgent, 512), RequestID: o.RequestID,
		Details: details,
	}
}
