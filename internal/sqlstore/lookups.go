package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// lookupBatcher coalesces concurrent UserForSession lookups (GET /me, the
// hottest path) into one statement. On PostgreSQL most of a lookup's cost
// is the round trip, not its two index probes: the socket calls and
// wake-ups on both sides, pgx's protocol work and PostgreSQL's own
// per-statement overhead, all on the same cores as the requests. One
// statement for eight lookups pays that once.
//
// Nothing waits on a timer. A caller that finds fewer than maxInFlight
// batches running sends every lookup waiting at that moment, its own
// included, and answers the others; a caller that finds them all busy
// waits for the next one. An idle server so sends each lookup alone and at
// once, and batches form only while the database is busy. Every lookup is
// still answered by the database, after it was asked: a session revoked
// before the request arrived is refused, on every replica, as without
// batching.
type lookupBatcher struct {
	// run answers every lookup of batch, filling its user, found and live;
	// an error answers them all.
	run         func(ctx context.Context, batch []*lookup) error
	maxInFlight int
	maxBatch    int

	mu       sync.Mutex
	inFlight int
	pending  []*lookup
}

// lookup is one UserForSession call: its question, and the answer run
// gives it.
type lookup struct {
	ctx       context.Context
	userID    int64
	sessionID string
	now       time.Time

	user  auth.User
	found bool // the user exists
	live  bool // and the session is theirs and usable at now
	err   error
	// done is closed when the answer is in; nil for the caller that
	// sends the batch itself.
	done chan struct{}
}

func newLookupBatcher(run func(context.Context, []*lookup) error, maxInFlight, maxBatch int) *lookupBatcher {
	return &lookupBatcher{run: run, maxInFlight: maxInFlight, maxBatch: maxBatch}
}

// do answers l, in a batch of its own or with the lookups waiting beside
// it. It returns early, with ctx's error, when ctx ends first; the batch
// then answers l for nobody.
func (b *lookupBatcher) do(ctx context.Context, l *lookup) error {
	l.ctx = ctx
	b.mu.Lock()
	if b.inFlight < b.maxInFlight {
		b.inFlight++
		batch := b.take(l)
		b.mu.Unlock()
		b.send(batch)
		return l.err
	}
	l.done = make(chan struct{})
	b.pending = append(b.pending, l)
	b.mu.Unlock()
	select {
	case <-l.done:
		return l.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// take removes up to maxBatch waiting lookups, first come first served,
// after first (when not nil). The caller holds mu.
func (b *lookupBatcher) take(first *lookup) []*lookup {
	batch := make([]*lookup, 0, min(len(b.pending)+1, b.maxBatch))
	if first != nil {
		batch = append(batch, first)
	}
	i := 0
	for ; i < len(b.pending) && len(batch) < b.maxBatch; i++ {
		if l := b.pending[i]; l.ctx.Err() == nil {
			batch = append(batch, l)
		} else {
			close(l.done) // its caller has gone: nobody reads the answer
		}
	}
	rest := copy(b.pending, b.pending[i:])
	clear(b.pending[rest:])
	b.pending = b.pending[:rest]
	return batch
}

// send runs batch and answers its lookups; then, while lookups wait, it
// hands the slot on to a goroutine that sends them, so that its own
// caller waits for one batch only.
func (b *lookupBatcher) send(batch []*lookup) {
	if len(batch) > 0 {
		err := b.runSafely(batch)
		for _, l := range batch {
			if err != nil {
				l.err = err
			}
			if l.done != nil {
				close(l.done)
			}
		}
	}
	b.mu.Lock()
	if len(b.pending) == 0 {
		b.inFlight--
		b.mu.Unlock()
		return
	}
	next := b.take(nil)
	b.mu.Unlock()
	go b.send(next)
}

// runSafely runs the batch under the earliest deadline of its callers,
// whom it outlives when they go (their lookups still need answers), and
// turns a panic into every lookup's error: it may run on a goroutine no
// caller's recover covers.
func (b *lookupBatcher) runSafely(batch []*lookup) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("batched session lookup panicked: %v", p)
		}
	}()
	ctx := context.WithoutCancel(batch[0].ctx)
	var deadline time.Time
	for _, l := range batch {
		if d, ok := l.ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
			deadline = d
		}
	}
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	return b.run(ctx, batch)
}
