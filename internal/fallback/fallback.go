// Package fallback is the "primary, fall back, re-probe" switch shared by
// the lockout counters and the rate limiter: each asks a shared backend
// (Redis) first and, while it fails, a local one, so that an outage of the
// shared backend never refuses a request.
package fallback

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ProbeEvery is how often a primary known to be down is tried again.
const ProbeEvery = time.Second

// Options configure a Switch.
type Options struct {
	// Name is what the log lines call the component, e.g. "lockout".
	Name string
	// To names the fallback in the outage's log line, e.g. "the database".
	To string
	// Logger receives one warning when an outage starts and one when it
	// ends (the end is what an operator who heard the start waits for);
	// nil discards them.
	Logger *slog.Logger
	// OnFallback, if not nil, is called for every call served by the
	// fallback (a metrics counter).
	OnFallback func()
	// OnChange, if not nil, hears each change once: true when the fallback
	// takes over, false when the primary is back (a gauge, a readiness
	// check). It is called with the switch's lock held.
	OnChange func(down bool)
	// Now is the clock that spaces the probes; nil means time.Now.
	Now func() time.Time
	// ProbeEvery overrides ProbeEvery when positive.
	ProbeEvery time.Duration
}

// Switch remembers whether the primary is down. While it is up every call
// goes to the primary (with no lock taken); from its first failure on,
// which is logged once ("NAME falling back to TO"), calls go straight to
// the fallback but for one probe of the primary a ProbeEvery; the first
// success logs "NAME recovered", a warning too. A caller that gave up (its context ended)
// is no sign of an outage. Switch is safe for concurrent use.
type Switch struct {
	o Options

	down      atomic.Bool // fast path: no lock while the primary is up
	mu        sync.Mutex
	nextProbe time.Time
}

// New returns a Switch with the primary taken to be up.
func New(o Options) *Switch {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OnFallback == nil {
		o.OnFallback = func() {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProbeEvery <= 0 {
		o.ProbeEvery = ProbeEvery
	}
	return &Switch{o: o}
}

// Do answers from primary when the switch lets it be asked and it
// succeeds, and from fallback otherwise; it returns an error only when the
// fallback fails.
func Do[T any](ctx context.Context, s *Switch, primary, fallback func() (T, error)) (T, error) {
	if s.shouldTryPrimary() {
		v, err := primary()
		if err == nil {
			s.markUp(ctx)
			return v, nil
		}
		if ctx.Err() == nil {
			s.markDown(ctx, err)
		}
	}
	s.o.OnFallback()
	return fallback()
}

// Down reports whether the primary is taken to be down.
func (s *Switch) Down() bool { return s.down.Load() }

// shouldTryPrimary reports whether to ask the primary: always while it is
// up, and during an outage only for the one caller whose turn it is to
// probe.
func (s *Switch) shouldTryPrimary() bool {
	if !s.down.Load() {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	if now.Before(s.nextProbe) {
		return false
	}
	s.nextProbe = now.Add(s.o.ProbeEvery)
	return true
}

func (s *Switch) markDown(ctx context.Context, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down.Load() {
		return
	}
	s.nextProbe = s.o.Now().Add(s.o.ProbeEvery)
	s.down.Store(true)
	if s.o.OnChange != nil {
		s.o.OnChange(true)
	}
	s.o.Logger.WarnContext(ctx, s.o.Name+" falling back to "+s.o.To, "error", err.Error())
}

func (s *Switch) markUp(ctx context.Context) {
	if !s.down.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.down.Load() {
		return
	}
	s.down.Store(false)
	if s.o.OnChange != nil {
		s.o.OnChange(false)
	}
	s.o.Logger.WarnContext(ctx, s.o.Name+" recovered")
}
