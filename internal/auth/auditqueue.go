package auth

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the AuditWriter.
const (
	DefaultAuditQueueSize = 10_000
	DefaultAuditBatchSize = 200
	DefaultAuditFlush     = 200 * time.Millisecond
)

// AuditWriter is the AuditQueue of the service: a bounded queue that one
// goroutine drains into the AuditStore in batches (one insert per batch),
// so that recording a failed login costs the login only a channel send.
// When the queue is full (the database is slow or down) the event is
// dropped and counted: a flood of failed logins must not grow memory
// without bound nor slow the logins themselves.
type AuditWriter struct {
	store   AuditStore
	log     *slog.Logger
	onDrop  func()
	batch   int
	flush   time.Duration
	timeout time.Duration
	base    context.Context

	q       chan AuditEvent
	dropped atomic.Int64
	done    chan struct{}
	stop    sync.Once
	quit    chan struct{}
}

// AuditWriterOptions configures an AuditWriter; zero fields take defaults.
type AuditWriterOptions struct {
	QueueSize int
	BatchSize int
	// Flush is the longest an event waits for its batch to fill.
	Flush time.Duration
	// Timeout bounds one batch's insert.
	Timeout time.Duration
	Logger  *slog.Logger
	// OnDrop is called once per dropped event (a metrics counter).
	OnDrop func()
	// Context is the parent of every batch's context (default
	// context.Background()); cmd marks it as background work, so that the
	// writer's failures during an outage do not decide the circuit breaker
	// for the requests.
	Context context.Context
}

// NewAuditWriter starts a writer into store; Close stops it.
func NewAuditWriter(store AuditStore, o AuditWriterOptions) *AuditWriter {
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultAuditQueueSize
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultAuditBatchSize
	}
	if o.Flush <= 0 {
		o.Flush = DefaultAuditFlush
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OnDrop == nil {
		o.OnDrop = func() {}
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	w := &AuditWriter{
		store: store, log: o.Logger, onDrop: o.OnDrop, batch: o.BatchSize, flush: o.Flush, timeout: o.Timeout, base: o.Context,
		q: make(chan AuditEvent, o.QueueSize), done: make(chan struct{}), quit: make(chan struct{}),
	}
	go w.run()
	return w
}

// Enqueue implements AuditQueue; it never blocks.
func (w *AuditWriter) Enqueue(ev AuditEvent) {
	select {
	case w.q <- ev:
	default:
		w.dropped.Add(1)
		w.onDrop()
	}
}

// Dropped returns how many events were dropped so far.
func (w *AuditWriter) Dropped() int64 { return w.dropped.Load() }

// Close writes what is queued, within ctx, and stops the writer.
func (w *AuditWriter) Close(ctx context.Context) {
	w.stop.Do(func() { close(w.quit) })
	select {
	case <-w.done:
	case <-ctx.Done():
	}
}

func (w *AuditWriter) run() {
	defer close(w.done)
	buf := make([]AuditEvent, 0, w.batch)
	t := time.NewTimer(w.flush)
	defer t.Stop()
	for {
		select {
		case ev := <-w.q:
			buf = append(buf, ev)
			if len(buf) < w.batch {
				continue
			}
		case <-t.C:
			t.Reset(w.flush)
		case <-w.quit:
			for {
				select {
				case ev := <-w.q:
					buf = append(buf, ev)
					if len(buf) == w.batch {
						w.write(buf)
						buf = buf[:0]
					}
					continue
				default:
				}
				break
			}
			w.write(buf)
			return
		}
		if len(buf) > 0 {
			w.write(buf)
			buf = buf[:0]
		}
	}
}

// write inserts one batch. A batch that fails is dropped and counted:
// retrying it would hold up the queue behind an outage the breaker is
// already reporting.
func (w *AuditWriter) write(batch []AuditEvent) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(w.base, w.timeout)
	defer cancel()
	if err := w.store.InsertAudit(ctx, batch); err != nil {
		w.log.Warn("writing audit events failed; dropped", slog.Int("events", len(batch)), slog.String("error", err.Error()))
		w.dropped.Add(int64(len(batch)))
		for range batch {
			w.onDrop()
		}
	}
}
