// Package breaker decorates an auth.Store (and the database-backed
// auth.Lockout) with one circuit breaker and one per-call deadline, so that a
// database outage turns into fast auth.ErrUnavailable errors carrying a
// retry hint instead of piling up hung requests.
//
// Only infrastructure faults (errors matching auth.ErrUnavailable, and
// deadlines running out) count toward opening the circuit; domain outcomes
// such as auth.ErrUserNotFound or auth.ErrEmailTaken show that the database
// answered and count as successes, and calls abandoned by their caller count
// as nothing at all.
package breaker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/authserve/authserve/internal/auth"
)

// Defaults used for zero fields of Options; they match the documented
// defaults of AUTH_DB_TIMEOUT, AUTH_BREAKER_MAX_FAILURES and
// AUTH_BREAKER_OPEN_TIMEOUT.
const (
	DefaultTimeout             = 3 * time.Second
	DefaultMaxFailures         = 5
	DefaultOpenTimeout         = 30 * time.Second
	DefaultHalfOpenMaxRequests = 1
)

// retryAfterFailure is the hint given with an infrastructure failure that did
// not open the circuit: the next call may well succeed, so ask for a short
// pause only.
const retryAfterFailure = time.Second

// Outcomes reported to Observer.DBCall.
const (
	OutcomeOK       = "ok"       // the call succeeded
	OutcomeDomain   = "domain"   // the database answered with a domain error (not found, duplicate, …)
	OutcomeFailure  = "failure"  // infrastructure fault or our deadline: counts toward opening the circuit
	OutcomeRejected = "rejected" // refused by an open (or busy half-open) circuit without touching the database
	OutcomeCanceled = "canceled" // the caller gave up first (its context ended); counts as nothing
	OutcomePanic    = "panic"    // the inner store panicked: a bug, not an outage; counts as nothing
)

// Breaker states, as reported by State and Observer.BreakerState.
const (
	StateClosed   = "closed"
	StateHalfOpen = "half-open"
	StateOpen     = "open"
)

// Options configures a Store. Zero fields take the Default* values.
type Options struct {
	// Timeout bounds every call (AUTH_DB_TIMEOUT).
	Timeout time.Duration
	// MaxFailures is the number of consecutive infrastructure failures that
	// open the circuit (AUTH_BREAKER_MAX_FAILURES).
	MaxFailures uint32
	// OpenTimeout is how long the circuit stays open before it lets trial
	// calls through (AUTH_BREAKER_OPEN_TIMEOUT).
	OpenTimeout time.Duration
	// HalfOpenMaxRequests is the number of trial calls let through while
	// half-open; that many consecutive successes close the circuit, one
	// failure opens it again.
	HalfOpenMaxRequests uint32
	// Logger receives one warning per state change; nil discards.
	Logger *slog.Logger
	// Observer receives call outcomes and state changes; nil ignores them.
	Observer Observer
	// Now is the clock used for Retry-After hints; nil means time.Now. The
	// breaker itself always runs on the real clock (gobreaker has no clock
	// injection).
	Now func() time.Time
}

// Observer receives the breaker's measurements; metrics adapters implement
// it. Its methods are called synchronously, BreakerState while the breaker's
// lock is held, so they must be cheap and must not call back into the Store.
type Observer interface {
	// DBCall reports one call: op names the Store method (such as
	// "user_by_email"), d is how long it took and outcome is one of the
	// Outcome* constants.
	DBCall(op string, d time.Duration, outcome string)
	// BreakerState reports the breaker's state ("closed", "half-open" or
	// "open") once at start and on every change.
	BreakerState(state string)
}

// Store is an auth.Store and auth.Lockout whose every call passes through
// one circuit breaker and one deadline. It is safe for concurrent use.
type Store struct {
	inner auth.Store
	lock  auth.Lockout
	// cb is gobreaker's two-step form: the outcome is reported after our
	// own deadline and the caller's cancellation have been told apart,
	// which Execute's single closure cannot express once the call is left
	// running in the background.
	cb      *gobreaker.TwoStepCircuitBreaker[struct{}]
	timeout time.Duration
	open    time.Duration
	log     *slog.Logger
	obs     Observer
	now     func() time.Time

	mu       sync.Mutex
	openedAt time.Time // when the circuit last opened, on the Now clock
}

var (
	_ auth.Store   = (*Store)(nil)
	_ auth.Lockout = (*Store)(nil)
)

// errNoLockout is returned by the Lockout methods of a Store built without
// one: failing loudly beats silently turning login lockout off.
var errNoLockout = errors.New("breaker: no lockout store configured")

// errNotCounted marks, for gobreaker's IsExcluded, a call that says nothing
// about the database's health: its caller gave up first, or it panicked.
var errNotCounted = errors.New("not counted")

// NewStore wraps inner, and lock when it is not nil, with one circuit breaker
// and a per-call deadline configured by o. Pass the result as auth.Lockout
// only when lock is not nil.
func NewStore(inner auth.Store, lock auth.Lockout, o Options) *Store {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxFailures == 0 {
		o.MaxFailures = DefaultMaxFailures
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = DefaultOpenTimeout
	}
	if o.HalfOpenMaxRequests == 0 {
		o.HalfOpenMaxRequests = DefaultHalfOpenMaxRequests
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Store{
		inner:   inner,
		lock:    lock,
		timeout: o.Timeout,
		open:    o.OpenTimeout,
		log:     o.Logger,
		obs:     o.Observer,
		now:     o.Now,
	}
	maxFailures := o.MaxFailures
	s.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "database",
		MaxRequests: o.HalfOpenMaxRequests,
		Timeout:     o.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= maxFailures
		},
		IsSuccessful:  func(err error) bool { return !isInfrastructure(err) },
		IsExcluded:    func(err error) bool { return errors.Is(err, errNotCounted) },
		OnStateChange: s.stateChanged,
	})
	s.obs.BreakerState(StateClosed)
	return s
}

// State returns the breaker's current state: "closed", "half-open" or "open".
func (s *Store) State() string {
	return s.cb.State().String()
}

// Ready reports readiness for /readyz: it pings the database through the
// breaker and returns {"database": "ok"|"unavailable", "breaker": state},
// with the ping's error when the database is not usable.
func (s *Store) Ready(ctx context.Context) (map[string]string, error) {
	err := s.Ping(ctx)
	db := "ok"
	if err != nil {
		db = "unavailable"
	}
	return map[string]string{"database": db, "breaker": s.State()}, err
}

// stateChanged is gobreaker's OnStateChange hook; gobreaker calls it once per
// transition, with its own lock held.
func (s *Store) stateChanged(_ string, from, to gobreaker.State) {
	if to == gobreaker.StateOpen {
		s.mu.Lock()
		s.openedAt = s.now()
		s.mu.Unlock()
	}
	s.log.Warn("circuit breaker state changed", slog.String("from", from.String()), slog.String("to", to.String()))
	s.obs.BreakerState(to.String())
}

// isInfrastructure reports whether err means the database could not be
// reached or did not answer in time; everything else (nil, domain errors,
// auth.ErrDatabase) shows the database answering.
func isInfrastructure(err error) bool {
	return errors.Is(err, auth.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// retryAfter returns how long a client should wait after the breaker refused
// a call with err: until the next half-open trial when open, rounded up to a
// whole second and at least one.
func (s *Store) retryAfter(err error) time.Duration {
	d := time.Second
	if errors.Is(err, gobreaker.ErrOpenState) {
		s.mu.Lock()
		d = s.openedAt.Add(s.open).Sub(s.now())
		s.mu.Unlock()
	}
	if d <= time.Second {
		return time.Second
	}
	// Rounded up: Retry-After is in whole seconds, and a client retrying a
	// moment early would only be rejected again.
	return (d + time.Second - 1).Truncate(time.Second)
}

// failureRetryAfter is the hint given with an infrastructure failure: the
// open circuit's hint when this failure opened it, a short pause otherwise.
func (s *Store) failureRetryAfter() time.Duration {
	if s.cb.State() == gobreaker.StateOpen {
		return s.retryAfter(gobreaker.ErrOpenState)
	}
	return retryAfterFailure
}

// result carries an inner call's outcome out of its goroutine.
type result[T any] struct {
	v     T
	err   error
	panic *panicError
}

// panicError carries a panic of the inner store, with the stack of the
// goroutine it happened in, back to the caller's goroutine, where it is
// raised again so that the caller's recovery (the HTTP layer's) sees it.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string {
	return fmt.Sprintf("panic in store call: %v\n\n%s", p.value, p.stack)
}

// Unwrap returns the panic value when it is an error.
func (p *panicError) Unwrap() error {
	err, _ := p.value.(error)
	return err
}

// call runs fn through the breaker with the per-call deadline. It returns by
// the deadline even when fn ignores its context; fn then finishes in the
// background and its result is dropped (its context is already canceled, so
// a well-behaved driver rolls back).
func call[T any](ctx context.Context, s *Store, op string, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	start := time.Now()
	if err := ctx.Err(); err != nil {
		// The caller is gone already: neither the breaker nor the database
		// needs to hear about it.
		s.obs.DBCall(op, time.Since(start), OutcomeCanceled)
		return zero, &auth.RetryError{Kind: auth.ErrUnavailable, RetryAfter: retryAfterFailure, Cause: fmt.Errorf("%s: %w", op, err)}
	}
	done, err := s.cb.Allow()
	if err != nil {
		s.obs.DBCall(op, time.Since(start), OutcomeRejected)
		return zero, &auth.RetryError{Kind: auth.ErrUnavailable, RetryAfter: s.retryAfter(err), Cause: fmt.Errorf("%s: %w", op, err)}
	}

	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ch := make(chan result[T], 1) // buffered: a late goroutine must not block forever
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- result[T]{panic: &panicError{value: p, stack: debug.Stack()}}
			}
		}()
		v, err := fn(cctx)
		ch <- result[T]{v: v, err: err}
	}()

	var r result[T]
	select {
	case r = <-ch:
	case <-cctx.Done():
		select {
		case r = <-ch: // finished right at the deadline: keep its answer
		default:
			r.err = cctx.Err()
		}
	}
	d := time.Since(start)

	switch {
	case r.panic != nil:
		// A panic is a bug, not an outage.
		done(fmt.Errorf("%w: %w", errNotCounted, r.panic))
		s.obs.DBCall(op, d, OutcomePanic)
		panic(r.panic)
	case r.err == nil:
		done(nil)
		s.obs.DBCall(op, d, OutcomeOK)
		return r.v, nil
	case !isInfrastructure(r.err) && !errors.Is(r.err, context.Canceled):
		done(r.err) // the database answered: IsSuccessful counts it as a success
		s.obs.DBCall(op, d, OutcomeDomain)
		return r.v, r.err
	case ctx.Err() != nil:
		// The caller's own context ended (canceled, or its deadline was
		// shorter than ours): not the database's fault.
		done(fmt.Errorf("%w: %w", errNotCounted, r.err))
		s.obs.DBCall(op, d, OutcomeCanceled)
		return zero, &auth.RetryError{Kind: auth.ErrUnavailable, RetryAfter: retryAfterFailure, Cause: fmt.Errorf("%s: %w", op, r.err)}
	case errors.Is(r.err, context.Canceled):
		// Only the caller cancels our context, and it has not; the inner
		// store canceled something of its own. Treat it as an answer.
		done(r.err)
		s.obs.DBCall(op, d, OutcomeDomain)
		return r.v, r.err
	default:
		if isBackground(ctx) {
			done(fmt.Errorf("%w: %w", errNotCounted, r.err))
		} else {
			done(r.err)
		}
		s.obs.DBCall(op, d, OutcomeFailure)
		return zero, &auth.RetryError{Kind: auth.ErrUnavailable, RetryAfter: s.failureRetryAfter(), Cause: fmt.Errorf("%s: %w", op, r.err)}
	}
}

// exec is call for operations that return only an error.
func exec(ctx context.Context, s *Store, op string, fn func(context.Context) error) error {
	_, err := call(ctx, s, op, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx)
	})
	return err
}

type nopObserver struct{}

func (nopObserver) DBCall(string, time.Duration, string) {}
func (nopObserver) BreakerState(string)                  {}
