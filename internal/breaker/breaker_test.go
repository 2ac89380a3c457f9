package breaker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authserve/authserve/internal/auth"
)

// fakeStore is the failing store the breaker is tested against: every
// method counts the call, records its name and returns what hook says.
type fakeStore struct {
	calls atomic.Int64
	mu    sync.Mutex
	ops   []string
	hook  func(ctx context.Context, op string) error
}

func (f *fakeStore) hit(ctx context.Context, op string) error {
	f.calls.Add(1)
	f.mu.Lock()
	f.ops = append(f.ops, op)
	hook := f.hook
	f.mu.Unlock()
	if hook == nil {
		return nil
	}
	return hook(ctx, op)
}

func (f *fakeStore) setHook(h func(ctx context.Context, op string) error) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

func (f *fakeStore) lastOp() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ops) == 0 {
		return ""
	}
	return f.ops[len(f.ops)-1]
}

func (f *fakeStore) CreateUser(ctx context.Context, u auth.NewUser) (auth.User, error) {
	return auth.User{Email: u.Email}, f.hit(ctx, "CreateUser")
}
func (f *fakeStore) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	return auth.User{Email: email}, f.hit(ctx, "UserByEmail")
}
func (f *fakeStore) UserByID(ctx context.Context, id int64) (auth.User, error) {
	return auth.User{ID: id}, f.hit(ctx, "UserByID")
}
func (f *fakeStore) ListUsers(ctx context.Context, limit int) ([]auth.User, error) {
	return make([]auth.User, limit), f.hit(ctx, "ListUsers")
}
func (f *fakeStore) SetUserActive(ctx context.Context, id int64, active bool, _ time.Time) (auth.User, error) {
	return auth.User{ID: id, IsActive: active}, f.hit(ctx, "SetUserActive")
}
func (f *fakeStore) DeleteUser(ctx context.Context, _ int64) error {
	return f.hit(ctx, "DeleteUser")
}
func (f *fakeStore) CreateSession(ctx context.Context, _ auth.Session, _ auth.RefreshToken) error {
	return f.hit(ctx, "CreateSession")
}
func (f *fakeStore) UserForSession(ctx context.Context, userID int64, _ string, _ time.Time) (auth.User, error) {
	return auth.User{ID: userID}, f.hit(ctx, "UserForSession")
}
func (f *fakeStore) Rotate(ctx context.Context, r auth.Rotation) (auth.Rotated, error) {
	return auth.Rotated{Token: auth.RefreshToken{ParentHash: r.PresentedHash}}, f.hit(ctx, "Rotate")
}
func (f *fakeStore) RevokeSessionByToken(ctx context.Context, hash string, _ time.Time) (auth.Session, error) {
	return auth.Session{ID: hash}, f.hit(ctx, "RevokeSessionByToken")
}
func (f *fakeStore) RevokeSession(ctx context.Context, _ int64, _ string, _ time.Time) error {
	return f.hit(ctx, "RevokeSession")
}
func (f *fakeStore) RevokeAllSessions(ctx context.Context, _ int64, _ time.Time) (int, error) {
	return 2, f.hit(ctx, "RevokeAllSessions")
}
func (f *fakeStore) ListSessions(ctx context.Context, _ int64, _ time.Time) ([]auth.Session, error) {
	return []auth.Session{{ID: "s"}}, f.hit(ctx, "ListSessions")
}
func (f *fakeStore) Ping(ctx context.Context) error {
	return f.hit(ctx, "Ping")
}
func (f *fakeStore) Reserve(ctx context.Context, _ string, _ int, lockFor time.Duration, _ time.Time) (time.Duration, error) {
	return lockFor, f.hit(ctx, "Reserve")
}
func (f *fakeStore) Fail(ctx context.Context, _ string, _ int, _ time.Duration, _ time.Time) (bool, error) {
	return true, f.hit(ctx, "Fail")
}
func (f *fakeStore) Succeed(ctx context.Context, _ string, _ bool) error {
	return f.hit(ctx, "Succeed")
}

func (f *fakeStore) Clear(ctx context.Context, _, _ string) error {
	return f.hit(ctx, "Clear")
}

// recorder is an Observer that remembers everything.
type recorder struct {
	mu     sync.Mutex
	calls  []string // "op outcome"
	states []string
}

func (r *recorder) DBCall(op string, d time.Duration, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, op+" "+outcome)
}

func (r *recorder) BreakerState(state string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, state)
}

func (r *recorder) snapshot() (calls, states []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls), slices.Clone(r.states)
}

// errInfra is what a store returns when its driver cannot reach the database.
var errInfra = fmt.Errorf("user by email: dial tcp 127.0.0.1:5432: connection refused: %w", auth.ErrUnavailable)

const (
	testOpenTimeout = 60 * time.Millisecond
	afterOpen       = 120 * time.Millisecond // comfortably past testOpenTimeout on a busy machine
)

// step is one call in a transition scenario.
type step struct {
	sleep      time.Duration // before the call
	inner      error         // what the inner store answers
	canceled   bool          // the caller's context is canceled while the call runs
	wantErr    error         // nil: success; otherwise errors.Is must hold
	wantCalled bool          // whether the call reached the inner store
	wantState  string        // after the call
}

func repeat(n int, s step) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func steps(groups ...[]step) []step { return slices.Concat(groups...) }

func TestTransitions(t *testing.T) {
	fail := step{inner: errInfra, wantErr: auth.ErrUnavailable, wantCalled: true, wantState: StateClosed}
	failOpens := step{inner: errInfra, wantErr: auth.ErrUnavailable, wantCalled: true, wantState: StateOpen}
	ok := step{wantCalled: true, wantState: StateClosed}
	rejected := step{wantErr: auth.ErrUnavailable, wantState: StateOpen}
	open := steps(repeat(2, fail), []step{failOpens})

	tests := []struct {
		name  string
		steps []step
	}{
		{"opens after MaxFailures consecutive infrastructure failures", steps(open, repeat(3, rejected))},
		{"a success resets the consecutive count", steps(repeat(2, fail), []step{ok}, repeat(2, fail), []step{failOpens})},
		{"our deadline counts as a failure", steps(
			repeat(2, step{inner: fmt.Errorf("query: %w", context.DeadlineExceeded), wantErr: auth.ErrUnavailable, wantCalled: true, wantState: StateClosed}),
			[]step{{inner: context.DeadlineExceeded, wantErr: context.DeadlineExceeded, wantCalled: true, wantState: StateOpen}},
		)},
		{"user not found never opens it", repeat(100, step{inner: auth.ErrUserNotFound, wantErr: auth.ErrUserNotFound, wantCalled: true, wantState: StateClosed})},
		{"a taken email never opens it", repeat(100, step{inner: auth.ErrEmailTaken, wantErr: auth.ErrEmailTaken, wantCalled: true, wantState: StateClosed})},
		{"other domain errors never open it", steps(
			repeat(20, step{inner: auth.ErrNotFound, wantErr: auth.ErrNotFound, wantCalled: true, wantState: StateClosed}),
			repeat(20, step{inner: auth.ErrRefreshReused, wantErr: auth.ErrRefreshReused, wantCalled: true, wantState: StateClosed}),
			repeat(20, step{inner: auth.ErrSessionRevoked, wantErr: auth.ErrSessionRevoked, wantCalled: true, wantState: StateClosed}),
			repeat(20, step{inner: auth.ErrTokenExpired, wantErr: auth.ErrTokenExpired, wantCalled: true, wantState: StateClosed}),
			repeat(20, step{inner: auth.ErrInvalidToken, wantErr: auth.ErrInvalidToken, wantCalled: true, wantState: StateClosed}),
			repeat(20, step{inner: auth.ErrAccountDisabled, wantErr: auth.ErrAccountDisabled, wantCalled: true, wantState: StateClosed}),
		)},
		{"a query bug is not an outage", repeat(100, step{inner: fmt.Errorf("scan: %w", auth.ErrDatabase), wantErr: auth.ErrDatabase, wantCalled: true, wantState: StateClosed})},
		{"domain errors between failures do not break the count", steps(
			repeat(2, fail),
			// A domain answer proves the database is up, so it is a success.
			[]step{{inner: auth.ErrUserNotFound, wantErr: auth.ErrUserNotFound, wantCalled: true, wantState: StateClosed}},
			repeat(2, fail), []step{failOpens},
		)},
		{"callers giving up never open it", repeat(20, step{canceled: true, wantErr: context.Canceled, wantCalled: true, wantState: StateClosed})},
		{"half-open after the open timeout, closes on a success", steps(open, []step{
			{sleep: afterOpen, wantCalled: true, wantState: StateClosed},
			ok,
		})},
		{"half-open closes on a domain answer", steps(open, []step{
			{sleep: afterOpen, inner: auth.ErrUserNotFound, wantErr: auth.ErrUserNotFound, wantCalled: true, wantState: StateClosed},
		})},
		{"a caller giving up during the half-open trial decides nothing", steps(open, []step{
			{sleep: afterOpen, canceled: true, wantErr: context.Canceled, wantCalled: true, wantState: StateHalfOpen},
			{inner: errInfra, wantErr: auth.ErrUnavailable, wantCalled: true, wantState: StateOpen},
		})},
		{"half-open reopens on a failure", steps(open, []step{
			{sleep: afterOpen, inner: errInfra, wantErr: auth.ErrUnavailable, wantCalled: true, wantState: StateOpen},
			rejected,
			{sleep: afterOpen, wantCalled: true, wantState: StateClosed},
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := &fakeStore{}
			s := NewStore(inner, nil, Options{MaxFailures: 3, OpenTimeout: testOpenTimeout, Timeout: time.Second})
			for i, st := range tt.steps {
				time.Sleep(st.sleep)
				ctx, cancel := context.WithCancel(t.Context())
				inner.setHook(func(ctx context.Context, _ string) error {
					if st.canceled {
						// The caller gives up while the query runs; a
						// timer could fire before the call even started.
						cancel()
						<-ctx.Done()
						return fmt.Errorf("query: %w: %w", auth.ErrUnavailable, ctx.Err())
					}
					return st.inner
				})
				before := inner.calls.Load()
				_, err := s.UserByEmail(ctx, "a@example.com")
				cancel()
				if st.wantErr == nil && err != nil || st.wantErr != nil && !errors.Is(err, st.wantErr) {
					t.Fatalf("step %d: UserByEmail() error = %v, want %v", i, err, st.wantErr)
				}
				if called := inner.calls.Load() > before; called != st.wantCalled {
					t.Fatalf("step %d: inner store called = %v, want %v", i, called, st.wantCalled)
				}
				if got := s.State(); got != st.wantState {
					t.Fatalf("step %d: State() = %q, want %q", i, got, st.wantState)
				}
			}
		})
	}
}

func TestOpenRejectsFast(t *testing.T) {
	inner := &fakeStore{hook: func(context.Context, string) error { return errInfra }}
	s := NewStore(inner, nil, Options{MaxFailures: 1, OpenTimeout: time.Minute})
	_, _ = s.UserByID(t.Context(), 1)
	calls := inner.calls.Load()

	start := time.Now()
	for range 1000 {
		_, err := s.UserByID(t.Context(), 1)
		if !errors.Is(err, auth.ErrUnavailable) {
			t.Fatalf("UserByID() on an open circuit = %v, want %v", err, auth.ErrUnavailable)
		}
	}
	if got := inner.calls.Load() - calls; got != 0 {
		t.Errorf("inner calls while open = %d, want 0", got)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("1000 rejected calls took %v, want well under a second", took)
	}
}

func TestTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	tests := []struct {
		name  string
		inner func(ctx context.Context, release <-chan struct{}) error
	}{
		{"inner honours the context", func(ctx context.Context, _ <-chan struct{}) error {
			<-ctx.Done()
			return fmt.Errorf("query: %w: %w", auth.ErrUnavailable, ctx.Err())
		}},
		{"inner ignores the context", func(_ context.Context, release <-chan struct{}) error {
			<-release
			return nil
		}},
		{"inner answers with a bare deadline error", func(ctx context.Context, _ <-chan struct{}) error {
			<-ctx.Done()
			return ctx.Err()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			inner := &fakeStore{hook: func(ctx context.Context, _ string) error { return tt.inner(ctx, release) }}
			rec := &recorder{}
			s := NewStore(inner, nil, Options{Timeout: timeout, Observer: rec})

			start := time.Now()
			_, err := s.UserByEmail(t.Context(), "a@example.com")
			took := time.Since(start)

			if !errors.Is(err, auth.ErrUnavailable) {
				t.Errorf("UserByEmail() error = %v, want %v", err, auth.ErrUnavailable)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("UserByEmail() error = %v, want it to wrap %v", err, context.DeadlineExceeded)
			}
			if ra, ok := auth.RetryAfter(err); !ok || ra < time.Second || ra > 5*time.Second {
				t.Errorf("RetryAfter(%v) = %v, %v; want 1s..5s, true", err, ra, ok)
			}
			// The inner call may never return; a generous margin proves
			// that without flaking on a loaded 2-core machine.
			if took < timeout || took > timeout+2*time.Second {
				t.Errorf("UserByEmail() returned after %v, want about %v", took, timeout)
			}
			if calls, _ := rec.snapshot(); !slices.Equal(calls, []string{"user_by_email failure"}) {
				t.Errorf("observed calls = %q, want [user_by_email failure]", calls)
			}
		})
	}
}

func TestCallerDeadlineShorterThanOurs(t *testing.T) {
	inner := &fakeStore{hook: func(ctx context.Context, _ string) error {
		<-ctx.Done()
		return fmt.Errorf("query: %w: %w", auth.ErrUnavailable, ctx.Err())
	}}
	s := NewStore(inner, nil, Options{Timeout: time.Minute, MaxFailures: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := s.UserByID(ctx, 1)
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("UserByID() error = %v, want %v", err, auth.ErrUnavailable)
	}
	// The caller's own deadline says nothing about the database.
	if got := s.State(); got != StateClosed {
		t.Errorf("State() = %q, want %q", got, StateClosed)
	}
}

func TestCallerAlreadyGone(t *testing.T) {
	inner := &fakeStore{}
	s := NewStore(inner, nil, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Ping(ctx)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("Ping(canceled) = %v, want %v wrapping %v", err, auth.ErrUnavailable, context.Canceled)
	}
	if got := inner.calls.Load(); got != 0 {
		t.Errorf("inner calls = %d, want 0", got)
	}
}

// clock is a settable clock for Retry-After computations.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func TestRetryAfterWhileOpen(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := &clock{now: t0}
	inner := &fakeStore{hook: func(context.Context, string) error { return errInfra }}
	s := NewStore(inner, nil, Options{MaxFailures: 2, OpenTimeout: 30 * time.Second, Now: clk.Now})

	// A failure that leaves the circuit closed asks for a short pause; the
	// one that opens it points at the half-open trial.
	for i, want := range []time.Duration{time.Second, 30 * time.Second} {
		_, err := s.UserByID(t.Context(), 1)
		if got, ok := auth.RetryAfter(err); !ok || got != want {
			t.Errorf("failure %d: RetryAfter(%v) = %v, %v; want %v, true", i+1, err, got, ok, want)
		}
	}

	tests := []struct {
		elapsed time.Duration
		want    time.Duration
	}{
		{0, 30 * time.Second},
		{10 * time.Second, 20 * time.Second},
		{19500 * time.Millisecond, 11 * time.Second}, // rounded up
		{29900 * time.Millisecond, time.Second},
		{30 * time.Second, time.Second}, // never less than a second
		{time.Hour, time.Second},
	}
	for _, tt := range tests {
		clk.set(t0.Add(tt.elapsed))
		_, err := s.UserByID(t.Context(), 1)
		got, ok := auth.RetryAfter(err)
		if !ok || got != tt.want {
			t.Errorf("after %v open: RetryAfter(%v) = %v, %v; want %v, true", tt.elapsed, err, got, ok, tt.want)
		}
		if !errors.Is(err, auth.ErrUnavailable) {
			t.Errorf("after %v open: error = %v, want %v", tt.elapsed, err, auth.ErrUnavailable)
		}
	}
}

func TestHalfOpenTooManyRequests(t *testing.T) {
	release := make(chan struct{})
	var failing atomic.Bool
	failing.Store(true)
	inner := &fakeStore{hook: func(context.Context, string) error {
		if failing.Load() {
			return errInfra
		}
		<-release
		return nil
	}}
	s := NewStore(inner, nil, Options{MaxFailures: 1, OpenTimeout: testOpenTimeout, HalfOpenMaxRequests: 1})
	_ = s.Ping(t.Context())
	failing.Store(false)
	time.Sleep(afterOpen)

	trial := make(chan error)
	go func() { trial <- s.Ping(t.Context()) }()
	for inner.calls.Load() < 2 { // wait for the trial to reach the store
		time.Sleep(time.Millisecond)
	}
	calls := inner.calls.Load()
	err := s.Ping(t.Context())
	if got, ok := auth.RetryAfter(err); !ok || got != time.Second || !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("Ping() during the half-open trial = %v (RetryAfter %v, %v), want %v with RetryAfter 1s", err, got, ok, auth.ErrUnavailable)
	}
	if got := inner.calls.Load() - calls; got != 0 {
		t.Errorf("inner calls beyond the trial = %d, want 0", got)
	}
	close(release)
	if err := <-trial; err != nil {
		t.Errorf("trial Ping() = %v, want nil", err)
	}
	if got := s.State(); got != StateClosed {
		t.Errorf("State() after the trial = %q, want %q", got, StateClosed)
	}
}

func TestHalfOpenNeedsMaxRequestsSuccesses(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	inner := &fakeStore{hook: func(context.Context, string) error {
		if failing.Load() {
			return errInfra
		}
		return nil
	}}
	s := NewStore(inner, nil, Options{MaxFailures: 1, OpenTimeout: testOpenTimeout, HalfOpenMaxRequests: 3})
	_ = s.Ping(t.Context())
	failing.Store(false)
	time.Sleep(afterOpen)
	for i, want := range []string{StateHalfOpen, StateHalfOpen, StateClosed} {
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("trial %d: Ping() = %v, want nil", i+1, err)
		}
		if got := s.State(); got != want {
			t.Errorf("after trial %d: State() = %q, want %q", i+1, got, want)
		}
	}
}

func TestObserver(t *testing.T) {
	var mode atomic.Value
	mode.Store("ok")
	inner := &fakeStore{hook: func(ctx context.Context, _ string) error {
		switch mode.Load() {
		case "domain":
			return auth.ErrUserNotFound
		case "infra":
			return errInfra
		case "hang":
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}}
	rec := &recorder{}
	s := NewStore(inner, nil, Options{MaxFailures: 1, OpenTimeout: testOpenTimeout, Observer: rec})

	_, _ = s.UserByEmail(t.Context(), "a@example.com")
	mode.Store("domain")
	_, _ = s.UserByID(t.Context(), 1)
	mode.Store("hang")
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(5*time.Millisecond, cancel)
	_ = s.Ping(ctx)
	mode.Store("infra")
	_, _ = s.ListUsers(t.Context(), 3)
	_, _ = s.ListUsers(t.Context(), 3)
	time.Sleep(afterOpen)
	mode.Store("ok")
	_ = s.Ping(t.Context())

	calls, states := rec.snapshot()
	wantCalls := []string{
		"user_by_email ok",
		"user_by_id domain",
		"ping canceled",
		"list_users failure",
		"list_users rejected",
		"ping ok",
	}
	if diff := cmp.Diff(wantCalls, calls); diff != "" {
		t.Errorf("DBCall reports mismatch (-want +got):\n%s", diff)
	}
	wantStates := []string{StateClosed, StateOpen, StateHalfOpen, StateClosed}
	if diff := cmp.Diff(wantStates, states); diff != "" {
		t.Errorf("BreakerState reports mismatch (-want +got):\n%s", diff)
	}
}

func TestStateChangesLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	var failing atomic.Bool
	failing.Store(true)
	inner := &fakeStore{hook: func(context.Context, string) error {
		if failing.Load() {
			return errInfra
		}
		return nil
	}}
	s := NewStore(inner, nil, Options{MaxFailures: 2, OpenTimeout: testOpenTimeout, Logger: logger})

	for range 5 { // two failures open it, three are rejected
		_ = s.Ping(t.Context())
		_ = s.State()
	}
	time.Sleep(afterOpen)
	for range 3 { // observing the state repeatedly must not log again
		_ = s.State()
	}
	failing.Store(false)
	for range 3 {
		_ = s.Ping(t.Context())
		_ = s.State()
	}

	mu.Lock()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	mu.Unlock()
	type entry struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
		From  string `json:"from"`
		To    string `json:"to"`
	}
	var got []entry
	for _, l := range lines {
		var e entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		got = append(got, e)
	}
	const msg = "circuit breaker state changed"
	want := []entry{
		{"WARN", msg, StateClosed, StateOpen},
		{"WARN", msg, StateOpen, StateHalfOpen},
		{"WARN", msg, StateHalfOpen, StateClosed},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines mismatch (-want +got):\n%s", diff)
	}
}

// lockedWriter serialises writes to a buffer shared with the test.
type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestReady(t *testing.T) {
	var failing atomic.Bool
	inner := &fakeStore{hook: func(context.Context, string) error {
		if failing.Load() {
			return errInfra
		}
		return nil
	}}
	s := NewStore(inner, nil, Options{MaxFailures: 2, OpenTimeout: time.Minute})

	tests := []struct {
		name    string
		failing bool
		want    map[string]string
		wantErr error
	}{
		{"healthy", false, map[string]string{"database": "ok", "breaker": StateClosed}, nil},
		{"first failure", true, map[string]string{"database": "unavailable", "breaker": StateClosed}, auth.ErrUnavailable},
		{"failure opens the circuit", true, map[string]string{"database": "unavailable", "breaker": StateOpen}, auth.ErrUnavailable},
		{"open even when the database is back", false, map[string]string{"database": "unavailable", "breaker": StateOpen}, auth.ErrUnavailable},
	}
	for _, tt := range tests {
		failing.Store(tt.failing)
		got, err := s.Ready(t.Context())
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: Ready() mismatch (-want +got):\n%s", tt.name, diff)
		}
		if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Ready() error = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
	if got := inner.calls.Load(); got != 3 {
		t.Errorf("inner pings = %d, want 3 (none while open)", got)
	}
}

func TestEveryMethodGoesThroughTheBreaker(t *testing.T) {
	now := time.Now()
	tests := []struct {
		op, inner string
		call      func(context.Context, *Store) error
	}{
		{"create_user", "CreateUser", func(ctx context.Context, s *Store) error {
			_, err := s.CreateUser(ctx, auth.NewUser{Email: "a@example.com"})
			return err
		}},
		{"user_by_email", "UserByEmail", func(ctx context.Context, s *Store) error {
			_, err := s.UserByEmail(ctx, "a@example.com")
			return err
		}},
		{"user_by_id", "UserByID", func(ctx context.Context, s *Store) error { _, err := s.UserByID(ctx, 1); return err }},
		{"list_users", "ListUsers", func(ctx context.Context, s *Store) error { _, err := s.ListUsers(ctx, 1); return err }},
		{"set_user_active", "SetUserActive", func(ctx context.Context, s *Store) error {
			_, err := s.SetUserActive(ctx, 1, false, now)
			return err
		}},
		{"delete_user", "DeleteUser", func(ctx context.Context, s *Store) error { return s.DeleteUser(ctx, 1) }},
		{"create_session", "CreateSession", func(ctx context.Context, s *Store) error {
			return s.CreateSession(ctx, auth.Session{}, auth.RefreshToken{})
		}},
		{"user_for_session", "UserForSession", func(ctx context.Context, s *Store) error {
			_, err := s.UserForSession(ctx, 1, "sid", now)
			return err
		}},
		{"rotate", "Rotate", func(ctx context.Context, s *Store) error { _, err := s.Rotate(ctx, auth.Rotation{}); return err }},
		{"revoke_session_by_token", "RevokeSessionByToken", func(ctx context.Context, s *Store) error {
			_, err := s.RevokeSessionByToken(ctx, "h", now)
			return err
		}},
		{"revoke_session", "RevokeSession", func(ctx context.Context, s *Store) error { return s.RevokeSession(ctx, 1, "sid", now) }},
		{"revoke_all_sessions", "RevokeAllSessions", func(ctx context.Context, s *Store) error {
			_, err := s.RevokeAllSessions(ctx, 1, now)
			return err
		}},
		{"list_sessions", "ListSessions", func(ctx context.Context, s *Store) error { _, err := s.ListSessions(ctx, 1, now); return err }},
		{"ping", "Ping", func(ctx context.Context, s *Store) error { return s.Ping(ctx) }},
		{"lockout_reserve", "Reserve", func(ctx context.Context, s *Store) error {
			_, err := s.Reserve(ctx, "k", 5, time.Minute, now)
			return err
		}},
		{"lockout_fail", "Fail", func(ctx context.Context, s *Store) error { _, err := s.Fail(ctx, "k", 5, time.Minute, now); return err }},
		{"lockout_succeed", "Succeed", func(ctx context.Context, s *Store) error { return s.Succeed(ctx, "k", true) }},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			inner := &fakeStore{}
			lock := &fakeStore{}
			rec := &recorder{}
			s := NewStore(inner, lock, Options{MaxFailures: 1, OpenTimeout: time.Minute, Observer: rec})

			if err := tt.call(t.Context(), s); err != nil {
				t.Fatalf("%s() = %v, want nil", tt.inner, err)
			}
			if got := inner.lastOp() + lock.lastOp(); got != tt.inner {
				t.Errorf("%s() reached inner %q, want %q", tt.inner, got, tt.inner)
			}
			inner.setHook(func(context.Context, string) error { return errInfra })
			lock.setHook(func(context.Context, string) error { return errInfra })
			if err := tt.call(t.Context(), s); !errors.Is(err, auth.ErrUnavailable) {
				t.Errorf("%s() on a failing database = %v, want %v", tt.inner, err, auth.ErrUnavailable)
			}
			if got := s.State(); got != StateOpen {
				t.Errorf("State() after a failing %s = %q, want %q", tt.inner, got, StateOpen)
			}
			before := inner.calls.Load() + lock.calls.Load()
			if err := tt.call(t.Context(), s); !errors.Is(err, auth.ErrUnavailable) {
				t.Errorf("%s() on an open circuit = %v, want %v", tt.inner, err, auth.ErrUnavailable)
			}
			if got := inner.calls.Load() + lock.calls.Load() - before; got != 0 {
				t.Errorf("%s() on an open circuit reached the store %d times, want 0", tt.inner, got)
			}
			calls, _ := rec.snapshot()
			want := []string{tt.op + " ok", tt.op + " failure", tt.op + " rejected"}
			if diff := cmp.Diff(want, calls); diff != "" {
				t.Errorf("DBCall reports mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResultsPassThrough(t *testing.T) {
	// Rotate's reuse error comes with the session and user filled in; the
	// breaker must not drop them.
	inner := &fakeStore{hook: func(context.Context, string) error { return auth.ErrRefreshReused }}
	s := NewStore(inner, nil, Options{})
	got, err := s.Rotate(t.Context(), auth.Rotation{PresentedHash: "h1"})
	if !errors.Is(err, auth.ErrRefreshReused) {
		t.Errorf("Rotate() error = %v, want %v", err, auth.ErrRefreshReused)
	}
	if got.Token.ParentHash != "h1" {
		t.Errorf("Rotate() = %+v, want the inner store's result", got)
	}

	inner.setHook(nil)
	n, err := s.RevokeAllSessions(t.Context(), 1, time.Now())
	if n != 2 || err != nil {
		t.Errorf("RevokeAllSessions() = %d, %v; want 2, nil", n, err)
	}
}

func TestLockoutSharesTheBreaker(t *testing.T) {
	inner := &fakeStore{}
	lock := &fakeStore{hook: func(context.Context, string) error { return errInfra }}
	s := NewStore(inner, lock, Options{MaxFailures: 2, OpenTimeout: time.Minute})
	for range 2 {
		if _, err := s.Fail(t.Context(), "k", 5, time.Minute, time.Now()); !errors.Is(err, auth.ErrUnavailable) {
			t.Fatalf("Fail() = %v, want %v", err, auth.ErrUnavailable)
		}
	}
	if _, err := s.UserByEmail(t.Context(), "a@example.com"); !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("UserByEmail() after lockout failures = %v, want %v", err, auth.ErrUnavailable)
	}
	if got := inner.calls.Load(); got != 0 {
		t.Errorf("inner store calls = %d, want 0", got)
	}
}

func TestNoLockout(t *testing.T) {
	s := NewStore(&fakeStore{}, nil, Options{})
	now := time.Now()
	if _, err := s.Reserve(t.Context(), "k", 5, time.Minute, now); !errors.Is(err, errNoLockout) {
		t.Errorf("Reserve() = %v, want %v", err, errNoLockout)
	}
	if _, err := s.Fail(t.Context(), "k", 5, time.Minute, now); !errors.Is(err, errNoLockout) {
		t.Errorf("Fail() = %v, want %v", err, errNoLockout)
	}
	if err := s.Succeed(t.Context(), "k", true); !errors.Is(err, errNoLockout) {
		t.Errorf("Succeed() = %v, want %v", err, errNoLockout)
	}
}

func TestPanicReachesTheCaller(t *testing.T) {
	boom := errors.New("boom")
	inner := &fakeStore{hook: func(context.Context, string) error { panic(boom) }}
	s := NewStore(inner, nil, Options{MaxFailures: 1})

	func() {
		defer func() {
			p := recover()
			err, ok := p.(error)
			if !ok || !errors.Is(err, boom) {
				t.Errorf("recovered %v, want an error wrapping %v", p, boom)
			}
			if ok && !strings.Contains(err.Error(), "fakeStore") {
				t.Errorf("panic message lacks the store goroutine's stack:\n%v", err)
			}
		}()
		_ = s.Ping(t.Context())
		t.Error("Ping() returned, want a panic")
	}()
	// A bug is not an outage.
	if got := s.State(); got != StateClosed {
		t.Errorf("State() after a panic = %q, want %q", got, StateClosed)
	}
}
