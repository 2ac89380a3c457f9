// Package logging builds the one *slog.Logger authserve uses: JSON or text
// lines to standard output and, optionally, to a rotated file; request ids
// and user ids taken from the context; secrets redacted by construction;
// and a bounded buffer between the service and its log sinks, so that a
// slow or stuck sink never blocks a request.
package logging

import (
	"bytes"
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
// queue drained by one goroutine per destination. Write never blocks on a
// destination: when a queue is full the line is dropped for that
// destination and counted.
type Sink struct {
	// mu orders Write against Close: writers share it, so they never wait
	// on each other, and Close takes it alone to close the queues.
	mu           sync.RWMutex
	closed       bool
	queues       []*queue
	flushTimeout time.Duration
}

// Write queues a copy of p (one log line) for every destination. It always
// reports success: a logging call must not fail a request.
func (s *Sink) Write(p []byte) (int, error) {
	line := bytes.Clone(p)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, q := range s.queues {
		if s.closed {
			q.dropped.Add(1)
			continue
		}
		select {
		case q.lines <- line:
		default:
			q.dropped.Add(1)
		}
	}
	return len(p), nil
}

// Dropped returns how many lines were lost because a destination's queue
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
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, q := range s.queues {
		close(q.lines)
	}
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), s.flushTimeout)
	defer cancel()
	var errs []error
	for _, q := range s.queues {
		select {
		case <-q.done:
			if q.closer != nil {
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

// queue is one destination with its buffer and drain goroutine.
type queue struct {
	name    string
	w       io.Writer
	closer  io.Closer
	lines   chan []byte
	done    chan struct{}
	dropped atomic.Uint64
}

func newQueue(name string, w io.Writer, size int) *queue {
	return &queue{name: name, w: w, lines: make(chan []byte, size), done: make(chan struct{})}
}

// maxBatchBytes bounds one batched write of the drain goroutine.
const maxBatchBytes = 64 << 10

func (q *queue) run() {
	defer close(q.done)
	batch := make([]byte, 0, maxBatchBytes)
	for line := range q.lines {
		// Lines that queued up while the last write ran go out together,
		// in order, in one write: under load the destination costs one
		// system call per batch instead of one per line.
		batch = append(batch[:0], line...)
		// At most a buffer's worth of lines: what a stuck destination can
		// hold back stays bounded by twice the buffer.
	more:
		for n := 1; n < cap(q.lines) && len(batch) < maxBatchBytes; n++ {
			select {
			case next, ok := <-q.lines:
				if !ok {
					break more
				}
				batch = append(batch, next...)
			default:
				break more
			}
		}
		// There is nowhere to report a failed log write; the lines are
		// lost like dropped ones would be.
		_, _ = q.w.Write(batch)
		if cap(batch) > 4*maxBatchBytes {
			batch = make([]byte, 0, maxBatchBytes) // one huge line is not kept
		}
	}
}
