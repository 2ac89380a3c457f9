package logging

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/logtest"
)

// accessCases are access lines with everything a client can put into one:
// tokens in the path and user agent, quotes, control characters, invalid
// UTF-8, line separators, HTML.
var accessCases = []AccessLine{
	{Level: slog.LevelInfo, RequestID: "0123abcd", Method: "GET", Path: "/api/auth/me", Status: 200, DurationMS: 0.147,
		ClientIP: "127.0.0.1", UserAgent: "curl/8.0", Bytes: 161, UserID: 42, HasUserID: true},
	{Level: slog.LevelError, RequestID: "r", Method: "POST", Path: "/api/auth/login", Status: 500, DurationMS: 1234.5,
		ClientIP: "::1", UserAgent: "", Bytes: 0},
	{Level: slog.LevelInfo, RequestID: "jwt", Method: "GET", Path: "/x/" + jwt + "/y", Status: 404, DurationMS: 0,
		ClientIP: "10.0.0.1", UserAgent: "agent Bearer " + opaque, Bytes: 1},
	{Level: slog.LevelInfo, RequestID: "unsigned", Method: "GET", Path: "/" + unsigned, Status: 404, DurationMS: 0.001,
		ClientIP: "10.0.0.1", UserAgent: "bearer   abcdefgh12345678==", Bytes: 1},
	{Level: slog.LevelWarn, RequestID: "odd", Method: "PATCH", Path: "/a\"b\\c\n\r\t\x00\x1f<>&\u2028\u2029é\xff\xfez",
		Status: 405, DurationMS: 99999999.999, ClientIP: "1.2.3.4", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) \"quoted\"",
		Bytes: 1 << 40, UserID: -1, HasUserID: true},
	{Level: slog.LevelInfo, RequestID: "tiny", Method: "GET", Path: "/", Status: 200, DurationMS: 1e-7, Bytes: 2},
	{Level: slog.LevelInfo, RequestID: "huge", Method: "GET", Path: "/", Status: 200, DurationMS: 1e22, Bytes: 2},
}

// withoutTime drops the time value, the only part two writes of one
// line may differ in.
func withoutTime(t *testing.T, line string) string {
	t.Helper()
	const key = `{"time":"`
	rest, ok := strings.CutPrefix(line, key)
	_, after, found := strings.Cut(rest, `"`)
	if !ok || !found {
		t.Fatalf("line without a leading time: %q", line)
	}
	return key + after
}

// TestAccessLineAsSlogWritesIt shows the fast path writes the very bytes
// slog's JSON handler writes for the same record through redactAttr: the
// same escaping, number formats and masking.
func TestAccessLineAsSlogWritesIt(t *testing.T) {
	for _, l := range accessCases {
		var fast, slow bytes.Buffer
		LogAccess(context.Background(), newTestLogger(t, &fast, "json"), &l)
		newTestLogger(t, &slow, "json").LogAttrs(context.Background(), l.Level, AccessMessage, l.attrs()...)
		if f, s := withoutTime(t, fast.String()), withoutTime(t, slow.String()); f != s {
			t.Errorf("request %s:\nfast %s\nslog %s", l.RequestID, f, s)
		}
		if !json.Valid(fast.Bytes()) {
			t.Errorf("request %s: invalid JSON %q", l.RequestID, fast.String())
		}
		for _, secret := range []string{jwt, unsigned, opaque, "abcdefgh12345678"} {
			if strings.Contains(fast.String(), secret) {
				t.Errorf("request %s: line contains %q: %s", l.RequestID, secret, fast.String())
			}
		}
	}
}

// TestAccessLineFallbacks shows where the fast path steps aside: the text
// format, a logger with attributes or groups, a handler of another kind;
// and that it honours the level.
func TestAccessLineFallbacks(t *testing.T) {
	l := accessCases[0]
	var text bytes.Buffer
	LogAccess(context.Background(), newTestLogger(t, &text, "text"), &l)
	if !strings.Contains(text.String(), "msg=request") || !strings.Contains(text.String(), "path=/api/auth/me") {
		t.Errorf("text format: %q", text.String())
	}
	var with bytes.Buffer
	LogAccess(context.Background(), newTestLogger(t, &with, "json").With("component", "api"), &l)
	if !strings.Contains(with.String(), `"component":"api"`) || !strings.Contains(with.String(), `"path":"/api/auth/me"`) {
		t.Errorf("logger with attributes: %q", with.String())
	}
	var other bytes.Buffer
	LogAccess(context.Background(), slog.New(slog.NewJSONHandler(&other, nil)), &l)
	if !strings.Contains(other.String(), `"path":"/api/auth/me"`) {
		t.Errorf("another handler: %q", other.String())
	}
	var quiet bytes.Buffer
	h, err := NewHandler(&quiet, slog.LevelWarn, "json")
	if err != nil {
		t.Fatal(err)
	}
	LogAccess(context.Background(), slog.New(h), &l) // info: below the level
	if quiet.Len() != 0 {
		t.Errorf("an info access line at level warn was written: %q", quiet.String())
	}
}

// TestAccessKeysNotSensitive: the fast path skips SensitiveKey because
// its keys are fixed; this keeps that true.
func TestAccessKeysNotSensitive(t *testing.T) {
	for _, k := range accessKeys {
		if SensitiveKey(k) {
			t.Errorf("access key %q is sensitive: the fast path would not redact it", k)
		}
	}
}

// TestAccessLinesThroughTheSink drives access lines from many goroutines
// through New's bounded buffer: every line arrives whole, each goroutine's
// lines in the order it logged them, all of them by Close.
func TestAccessLinesThroughTheSink(t *testing.T) {
	out := &logtest.Buffer{}
	l, sink, err := New(Options{Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, perG = 8, 250
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				LogAccess(context.Background(), l, &AccessLine{Level: slog.LevelInfo, RequestID: fmt.Sprintf("g%d", g),
					Method: "GET", Path: "/p", Status: 200, Bytes: int64(i)})
			}
		})
	}
	wg.Wait()
	if err := sink.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if got := sink.Dropped(); got != 0 {
		t.Errorf("Dropped() = %d, want 0", got)
	}
	next := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	n := 0
	for sc.Scan() {
		var m struct {
			RequestID string `json:"request_id"`
			Bytes     int64  `json:"bytes"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if m.Bytes != next[m.RequestID] {
			t.Fatalf("goroutine %s: line %d arrived when %d was due", m.RequestID, m.Bytes, next[m.RequestID])
		}
		next[m.RequestID]++
		n++
	}
	if n != goroutines*perG {
		t.Errorf("%d lines written, want %d", n, goroutines*perG)
	}
}

// TestAccessLinesNeverBlock: against a stuck destination access lines are
// dropped and counted, and the logging goroutine never waits.
func TestAccessLinesNeverBlock(t *testing.T) {
	w := stuckWriter{release: make(chan struct{})}
	defer close(w.release)
	const buffer, lines = 8, 1000
	l, sink, err := New(Options{Stdout: w, BufferLines: buffer, FlushTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range lines {
			LogAccess(context.Background(), l, &accessCases[0])
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%d access lines against a stuck writer still running after 5s", lines)
	}
	if got, min := sink.Dropped(), uint64(lines-2*buffer); got < min {
		t.Errorf("Dropped() = %d, want at least %d", got, min)
	}
	_ = sink.Close()
}

// TestAccessLineAllocations: the fast path allocates only the Sink's copy
// of the line.
func TestAccessLineAllocations(t *testing.T) {
	l, sink, err := New(Options{Stdout: discard{}, BufferLines: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	line := accessCases[0]
	ctx := context.Background()
	if n := testing.AllocsPerRun(200, func() { LogAccess(ctx, l, &line) }); n > 1 {
		t.Errorf("LogAccess allocates %v times, want at most 1", n)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkAccessLine compares the fast path with slog's generic one for
// the same line, both through New's Sink.
func BenchmarkAccessLine(b *testing.B) {
	l, sink, err := New(Options{Stdout: discard{}, BufferLines: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	line := accessCases[0]
	ctx := context.Background()
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			LogAccess(ctx, l, &line)
		}
	})
	b.Run("slog", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l.LogAttrs(ctx, line.Level, AccessMessage, line.attrs()...)
		}
	})
}

// countingWriter counts the writes it gets.
type countingWriter struct {
	mu     sync.Mutex
	writes int
	buf    bytes.Buffer
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.buf.Write(p)
}

// TestSinkBatchesWrites: lines that queue up while the destination is
// busy go out in one write, whole and in order.
func TestSinkBatchesWrites(t *testing.T) {
	w := &countingWriter{}
	l, sink, err := New(Options{Stdout: w})
	if err != nil {
		t.Fatal(err)
	}
	const lines = 2000
	for i := range lines {
		LogAccess(context.Background(), l, &AccessLine{Level: slog.LevelInfo, RequestID: "r", Method: "GET", Path: "/", Status: 200, Bytes: int64(i)})
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(w.buf.String(), "\n"), "\n")
	if len(got) != lines {
		t.Fatalf("%d lines written, want %d", len(got), lines)
	}
	for i, line := range got {
		if !strings.HasSuffix(line, fmt.Sprintf(`"bytes":%d}`, i)) {
			t.Fatalf("line %d out of order: %s", i, line)
		}
	}
	t.Logf("%d lines in %d writes", lines, w.writes)
	if w.writes >= lines {
		t.Errorf("%d lines took %d writes: no batching", lines, w.writes)
	}
}

// TestSinkLinger: a woken drain waits for more lines before it writes,
// but a batch that reaches batchFullBytes is written at once, and Close
// writes what is pending without waiting for the linger to end.
func TestSinkLinger(t *testing.T) {
	w := &countingWriter{}
	q := newQueue("test", w, 1<<20)
	q.linger = time.Hour
	go q.run()
	written := func() int {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.buf.Len()
	}
	line := []byte(strings.Repeat("x", 1023) + "\n")
	q.add(line)
	time.Sleep(50 * time.Millisecond)
	if n := written(); n != 0 {
		t.Fatalf("one line was written (%d bytes) before the linger ended", n)
	}
	for range batchFullBytes / len(line) {
		q.add(line)
	}
	deadline := time.Now().Add(10 * time.Second)
	for written() < batchFullBytes && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := written(); n < batchFullBytes {
		t.Fatalf("a full batch was not written during the linger: %d bytes", n)
	}
	q.add(line)
	start := time.Now()
	q.close()
	<-q.done
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("close waited %v", d)
	}
	want := (batchFullBytes/len(line) + 2) * len(line)
	if n := written(); n != want {
		t.Errorf("after close %d bytes written, want %d", n, want)
	}
}
