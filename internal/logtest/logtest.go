// Package logtest gives tests one place to collect log output written by
// concurrent goroutines and to read it back: as text, counted, as JSON
// lines, or once it shows what a test waits for.
package logtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is an io.Writer safe for concurrent use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Count reports how many times s occurs in what was written.
func (b *Buffer) Count(s string) int {
	return strings.Count(b.String(), s)
}

// WaitFor returns the logs once they satisfy ok, or fails the test after a
// few seconds. A response can reach the client before its log lines do:
// the access line is written after the response, and the sink writes
// asynchronously, so checks of log content must wait for it.
func (b *Buffer) WaitFor(t testing.TB, what string, ok func(logs string) bool) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		logs := b.String()
		if ok(logs) {
			return logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs never showed %s:\n%s", what, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Lines decodes every JSON log line written so far.
func (b *Buffer) Lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// NewLogger returns a text logger that writes into a new Buffer.
func NewLogger() (*slog.Logger, *Buffer) {
	b := &Buffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}
