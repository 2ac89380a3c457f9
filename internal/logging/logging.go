// Package logging builds the one *slog.Logger authserve uses: JSON or text
// lines to standard output and, optionally, to a rotated file; request ids
// and user ids taken from the context; secrets redacted by construction;
// and a bounded buffer between the service and its log sinks, so that a
// slow or stuck sink never blocks a request.
package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Defaults for the zero values of Options.
const (
	DefaultBufferLines  = 4096
	DefaultFlushTimeout = 5 * time.Second
)

// Options configures New.
type Options struct {
	// Level is the lowest level logged.
	Level slog.Level
	// Format is "json" (the default when empty) or "text".
	Format string
	// File, when set, also receives every line, rotated by size.
	File string
	// MaxSizeMB is the size at which File is rotated (lumberjack's default,
	// 100, when 0).
	MaxSizeMB int
	// MaxBackups is how many rotated files are kept; 0 keeps all.
	MaxBackups int
	// MaxAgeDays is how many days rotated files are kept; 0 keeps them
	// regardless of age.
	MaxAgeDays int
	// Stdout is the console output, os.Stdout when nil. It is never closed.
	Stdout io.Writer
	// BufferLines is how many lines each destination may hold while it is
	// slow; further lines are dropped and counted. DefaultBufferLines when 0.
	BufferLines int
	// FlushTimeout bounds how long Close waits for buffered lines to be
	// written. DefaultFlushTimeout when 0.
	FlushTimeout time.Duration
}

// New returns the service's logger and the Sink behind it. Close the Sink
// at exit to flush buffered lines and close the log file; it implements
// io.Closer.
func New(o Options) (*slog.Logger, *Sink, error) {
	stdout := o.Stdout
	if stdout == nil {
		stdout = os.Stdout
	}
	bufferLines := o.BufferLines
	if bufferLines <= 0 {
		bufferLines = DefaultBufferLines
	}
	flush := o.FlushTimeout
	if flush <= 0 {
		flush = DefaultFlushTimeout
	}
	if err := checkFormat(o.Format); err != nil {
		return nil, nil, err
	}

	s := &Sink{flushTimeout: flush}
	s.queues = append(s.queues, newQueue("standard output", stdout, bufferLines))
	if o.File != "" {
		if err := checkFile(o.File); err != nil {
			return nil, nil, err
		}
		lj := &lumberjack.Logger{
			Filename:   o.File,
			MaxSize:    o.MaxSizeMB,
			MaxBackups: o.MaxBackups,
			MaxAge:     o.MaxAgeDays,
		}
		q := newQueue(o.File, lj, bufferLines)
		q.closer = lj
		s.queues = append(s.queues, q)
	}
	for _, q := range s.queues {
		go q.run()
	}

	h, err := NewHandler(s, o.Level, o.Format)
	if err != nil {
		return nil, nil, err
	}
	return slog.New(h), s, nil
}

// checkFile creates the log file (mode 0600) and its directory now, so that
// a path that cannot be written stops start-up instead of losing every
// line later; lumberjack opens it lazily.
func checkFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	return f.Close()
}

// ParseLevel parses debug, info, warn or error, in any case.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
}

func checkFormat(format string) error {
	switch format {
	case "", "json", "text":
		return nil
	}
	return fmt.Errorf("unknown log format %q (want json or text)", format)
}

// Sink is the output behind New's logger: an io.Writer that takes one line
// per Write and hands it to each destination through a bounded in-memory
// buffer drained by one goroutine per destination. Write never blocks on a
// destination: when a buffer holds its limit of lines the line is dropped
// for that destination and counted.
//
// A destination's pending lines are one byte buffer: Write appends to it
// under a mutex (no copy of its own, no channel), and wakes the drain
// goroutine only when the buffer was empty. The drain goroutine swaps the
// buffer for an empty one and writes everything that accumulated in one
// write, so under load a destination costs one system call and one
// wake-up per batch of lines instead of per line, and lines keep their
// order.
type Sink struct {
	queues       []*queue
	flushTimeout time.Duration
}

// Write queues p (one log line) for every destination. It always reports
// success: a logging call must not fail a request.
func (s *Sink) Write(p []byte) (int, error) {
	for _, q := range s.queues {
		q.add(p)
	}
	return len(p), nil
}

// Dropped returns how many lines were lost because a destination's buffer
// was full (or the Sink closed), counted once per destination.
func (s *Sink) Dropped() uint64 {
	var n uint64
	for _, q := range s.queues {
		n += q.dropped.Load()
	}
	return n
}

// Close writes out what is buffered, waiting at most the flush timeout, and
// closes the log file. Standard output is left open. Lines logged after
// Close are dropped. Close is idempotent.
func (s *Sink) Close() error {
	for _, q := range s.queues {
		q.close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.flushTimeout)
	defer cancel()
	var errs []error
	for _, q := range s.queues {
		select {
		case <-q.done:
			if q.closer != nil && q.closeOnce.CompareAndSwap(false, true) {
				if err := q.closer.Close(); err != nil {
					errs = append(errs, fmt.Errorf("close %s: %w", q.name, err))
				}
			}
		case <-ctx.Done():
			// A stuck destination must not hang shutdown; its goroutine is
			// left to finish or die with the process.
			errs = append(errs, fmt.Errorf("logging: %s did not take its buffered lines within %v", q.name, s.flushTimeout))
		}
	}
	return errors.Join(errs...)
}

// maxBatchBytes is the buffer capacity a drained batch may keep for reuse;
// a larger one (a burst of long lines) is let go.
const maxBatchBytes = 256 << 10

// batchLinger is how long a woken drain goroutine lets lines gather before
// it writes them. Without it a drain with a free core wakes for nearly
// every line under load, and the wake-ups and writes were most of what
// info-level logging cost a GET /me; with it, a destination costs at most
// one wake-up and one write per linger, and a line reaches its
// destination at most this late (Close does not wait for it).
const batchLinger = 5 * time.Millisecond

// batchFullBytes ends the linger early: a burst fills a batch before the
// linger is over, and a larger batch only costs copying as it grows.
const batchFullBytes = 64 << 10

// queue is one destination with its pending lines and drain goroutine.
type queue struct {
	name      string
	w         io.Writer
	closer    io.Closer
	maxLines  int
	wake      chan struct{} // capacity 1: the drain goroutine has work
	closing   chan struct{} // closed by close: stop lingering
	full      chan struct{} // capacity 1: the batch reached batchFullBytes
	linger    time.Duration // batchLinger; longer in tests
	done      chan struct{} // closed when the drain goroutine has finished
	dropped   atomic.Uint64
	closeOnce atomic.Bool

	mu      sync.Mutex
	pending []byte // whole lines, in order
	lines   int    // lines in pending
	closed  bool
}

func newQueue(name string, w io.Writer, maxLines int) *queue {
	return &queue{name: name, w: w, maxLines: maxLines, wake: make(chan struct{}, 1),
		closing: make(chan struct{}), full: make(chan struct{}, 1), done: make(chan struct{}), linger: batchLinger,
		pending: make([]byte, 0, 4096)}
}

// add appends one line, or drops and counts it when the buffer holds
// maxLines lines or the queue is closed.
func (q *queue) add(p []byte) {
	q.mu.Lock()
	if q.closed || q.lines >= q.maxLines {
		q.mu.Unlock()
		q.dropped.Add(1)
		return
	}
	wasEmpty := q.lines == 0
	filled := len(q.pending) < batchFullBytes && len(q.pending)+len(p) >= batchFullBytes
	q.pending = append(q.pending, p...)
	q.lines++
	q.mu.Unlock()
	if wasEmpty {
		select {
		case q.wake <- struct{}{}:
		default: // already signalled
		}
	}
	if filled {
		select {
		case q.full <- struct{}{}:
		default:
		}
	}
}

// close stops taking lines and lets the drain goroutine finish once it has
// written what is pending.
func (q *queue) close() {
	q.mu.Lock()
	already := q.closed
	q.closed = true
	q.mu.Unlock()
	if !already {
		close(q.closing)
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

func (q *queue) run() {
	defer close(q.done)
	spare := make([]byte, 0, 4096)
	linger := time.NewTimer(q.linger)
	linger.Stop()
	for range q.wake {
		linger.Reset(q.linger)
		select {
		case <-linger.C:
		case <-q.full:
			linger.Stop()
		case <-q.closing:
			linger.Stop()
		}
		for {
			q.mu.Lock()
			if len(q.pending) == 0 {
				closed := q.closed
				q.mu.Unlock()
				if closed {
					return
				}
				break
			}
			// Double buffering: the writers fill spare while batch is
			// written.
			batch := q.pending
			q.pending, q.lines = spare[:0], 0
			q.mu.Unlock()
			// There is nowhere to report a failed log write; the lines are
			// lost like dropped ones would be.
			_, _ = q.w.Write(batch)
			if cap(batch) > maxBatchBytes {
				batch = make([]byte, 0, 4096)
			}
			spare = batch
		}
	}
}
