package auth_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// recordingAudit is an AuditStore that keeps the batches it is given,
// optionally blocking or failing.
type recordingAudit struct {
	mu      sync.Mutex
	batches [][]auth.AuditEvent
	block   chan struct{} // when not nil, InsertAudit waits for it
	fail    atomic.Bool
}

func (r *recordingAudit) InsertAudit(ctx context.Context, ev []auth.AuditEvent) error {
	if r.block != nil {
		<-r.block
	}
	if r.fail.Load() {
		return errors.New("database down")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, append([]auth.AuditEvent(nil), ev...))
	return nil
}

func (r *recordingAudit) ListAudit(context.Context, auth.AuditQuery) ([]auth.AuditEvent, error) {
	return nil, nil
}

func (r *recordingAudit) PruneAudit(context.Context, time.Time) (int64, error) { return 0, nil }

func (r *recordingAudit) written() (events, batches int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.batches {
		events += len(b)
	}
	return events, len(r.batches)
}

func TestAuditWriterBatchesAndFlushesOnClose(t *testing.T) {
	store := &recordingAudit{}
	w := auth.NewAuditWriter(store, auth.AuditWriterOptions{BatchSize: 10, Flush: time.Hour})
	for range 25 {
		w.Enqueue(auth.AuditEvent{Event: "user.login_failed"})
	}
	w.Close(context.Background())
	events, batches := store.written()
	if events != 25 || batches != 3 {
		t.Errorf("written %d events in %d batches, want 25 in 3 (10, 10, and 5 at Close)", events, batches)
	}
	if w.Dropped() != 0 {
		t.Errorf("Dropped() = %d, want 0", w.Dropped())
	}
}

func TestAuditWriterFlushesAfterInterval(t *testing.T) {
	store := &recordingAudit{}
	w := auth.NewAuditWriter(store, auth.AuditWriterOptions{BatchSize: 100, Flush: 10 * time.Millisecond})
	defer w.Close(context.Background())
	w.Enqueue(auth.AuditEvent{Event: "user.locked"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, _ := store.written(); n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a lone event was never written")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAuditWriterDropsWhenFull: with the database stuck, Enqueue never
// blocks; what does not fit the queue is dropped and counted.
func TestAuditWriterDropsWhenFull(t *testing.T) {
	store := &recordingAudit{block: make(chan struct{})}
	var onDrop atomic.Int64
	w := auth.NewAuditWriter(store, auth.AuditWriterOptions{QueueSize: 5, BatchSize: 1, Flush: time.Millisecond, OnDrop: func() { onDrop.Add(1) }})
	done := make(chan struct{})
	go func() {
		for range 100 {
			w.Enqueue(auth.AuditEvent{Event: "user.login_failed"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Enqueue blocked on a stuck database")
	}
	close(store.block)
	w.Close(context.Background())
	events, _ := store.written()
	if dropped := w.Dropped(); dropped < 90 || int(dropped)+events != 100 || onDrop.Load() != dropped {
		t.Errorf("dropped %d (OnDrop %d), written %d; want at most 6 written + 1 in flight, the rest dropped and counted", dropped, onDrop.Load(), events)
	}
}

// TestAuditWriterCountsFailedBatches: a batch the database refuses is
// dropped and counted, and the writer carries on.
func TestAuditWriterCountsFailedBatches(t *testing.T) {
	store := &recordingAudit{}
	store.fail.Store(true)
	w := auth.NewAuditWriter(store, auth.AuditWriterOptions{BatchSize: 2, Flush: time.Hour})
	w.Enqueue(auth.AuditEvent{Event: "a"})
	w.Enqueue(auth.AuditEvent{Event: "b"})
	deadline := time.Now().Add(5 * time.Second)
	for w.Dropped() != 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	store.fail.Store(false)
	w.Enqueue(auth.AuditEvent{Event: "c"})
	w.Close(context.Background())
	if events, _ := store.written(); w.Dropped() != 2 || events != 1 {
		t.Errorf("dropped %d, written %d; want 2 dropped, 1 written after recovery", w.Dropped(), events)
	}
}
