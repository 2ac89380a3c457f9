package logging

import (
	"github.com/authserve/authserve/internal/logtest"

	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// stuckWriter blocks every Write until release is closed: a terminal
// nobody reads, a full pipe, a hung network mount.
type stuckWriter struct{ release chan struct{} }

func (w stuckWriter) Write(p []byte) (int, error) {
	<-w.release
	return len(p), nil
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    slog.Level
		wantErr bool
	}{
		{"debug", slog.LevelDebug, false},
		{"INFO", slog.LevelInfo, false},
		{" warn ", slog.LevelWarn, false},
		{"Error", slog.LevelError, false},
		{"warning", 0, true},
		{"loud", 0, true},
		{"info+2", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v, want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	_, err := ParseLevel("loud")
	if want := `unknown log level "loud" (want debug, info, warn or error)`; err == nil || err.Error() != want {
		t.Errorf("ParseLevel(loud) error = %v, want %q", err, want)
	}
}

func TestNewFormatsAndLevels(t *testing.T) {
	tests := []struct {
		format    string
		level     slog.Level
		wantLines int
		isJSON    bool
	}{
		{"", slog.LevelInfo, 3, true},
		{"json", slog.LevelDebug, 4, true},
		{"text", slog.LevelWarn, 2, false},
		{"json", slog.LevelError, 1, true},
	}
	for _, tt := range tests {
		out := &logtest.Buffer{}
		l, sink, err := New(Options{Level: tt.level, Format: tt.format, Stdout: out})
		if err != nil {
			t.Fatalf("New(%q) error = %v", tt.format, err)
		}
		l.Debug("d")
		l.Info("i")
		l.Warn("w")
		l.Error("e")
		if err := sink.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != tt.wantLines {
			t.Errorf("New(%q, %v) wrote %d lines, want %d:\n%s", tt.format, tt.level, len(lines), tt.wantLines, out)
		}
		for _, line := range lines {
			if got := json.Valid([]byte(line)); got != tt.isJSON {
				t.Errorf("New(%q): line %q is JSON = %v, want %v", tt.format, line, got, tt.isJSON)
			}
		}
	}
	if _, _, err := New(Options{Format: "xml"}); err == nil || err.Error() != `unknown log format "xml" (want json or text)` {
		t.Errorf("New(xml) error = %v, want unknown log format", err)
	}
}

func TestStuckSinkNeverBlocks(t *testing.T) {
	w := stuckWriter{release: make(chan struct{})}
	defer close(w.release) // lets the drain goroutine finish
	const buffer, lines = 8, 1000
	l, sink, err := New(Options{Stdout: w, BufferLines: buffer, FlushTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}

	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		for i := range lines {
			l.Info("line", "i", i)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%d log calls against a stuck writer still running after 5s", lines)
	}
	t.Logf("%d calls took %v", lines, time.Since(start))

	// The drain goroutine holds at most one line and the queue buffer more.
	if got, min := sink.Dropped(), uint64(lines-buffer-1); got < min {
		t.Errorf("Dropped() = %d, want at least %d", got, min)
	}

	start = time.Now()
	err = sink.Close()
	if err == nil {
		t.Errorf("Close() with a stuck writer = nil, want a flush timeout error")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close() with a stuck writer took %v, want about the 50ms flush timeout", took)
	}
}

func TestCloseFlushesEverything(t *testing.T) {
	out := &logtest.Buffer{}
	l, sink, err := New(Options{Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, perG = 8, 250 // 2000 lines, under the default buffer
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			ctx, f := WithFields(WithRequestID(context.Background(), fmt.Sprintf("req-%d", g)))
			f.SetUserID(int64(g))
			lg := l.With("g", g)
			for i := range perG {
				lg.InfoContext(ctx, "line", "i", i)
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
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var m struct {
			RequestID string  `json:"request_id"`
			UserID    float64 `json:"user_id"`
			G         float64 `json:"g"`
			I         float64 `json:"i"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if m.RequestID != fmt.Sprintf("req-%d", int(m.G)) || m.UserID != m.G {
			t.Errorf("line %q mixes up request ids", sc.Text())
		}
		seen[fmt.Sprintf("%v/%v", m.G, m.I)] = true
	}
	if len(seen) != goroutines*perG {
		t.Errorf("%d distinct lines written, want %d", len(seen), goroutines*perG)
	}

	// After Close, lines are dropped and counted, never written or panicking.
	l.Info("late")
	if got := sink.Dropped(); got != 1 {
		t.Errorf("Dropped() after a late line = %d, want 1", got)
	}
	if strings.Contains(out.String(), "late") {
		t.Errorf("a line logged after Close was written")
	}
	if err := sink.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
}

func TestLogFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "dir", "authserve.log")
	out := &logtest.Buffer{}
	l, sink, err := New(Options{Stdout: out, File: path, MaxSizeMB: 1, MaxBackups: 2, MaxAgeDays: 1})
	if err != nil {
		t.Fatalf("New(File) error = %v", err)
	}
	l.Info("to both", "password", "p4ssw0rd!")
	if err := sink.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{"file": string(b), "stdout": out.String()} {
		if !strings.Contains(got, "to both") {
			t.Errorf("%s = %q, want the line", name, got)
		}
		if strings.Contains(got, "p4ssw0rd!") {
			t.Errorf("%s = %q reveals the password", name, got)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("log file mode = %v, want 0600", mode)
	}
}

func TestLogFileUnwritable(t *testing.T) {
	// A regular file where a directory should be: the path can never be
	// created, whoever runs the test.
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := New(Options{Stdout: &logtest.Buffer{}, File: filepath.Join(blocker, "authserve.log")})
	if err == nil || !strings.HasPrefix(err.Error(), "log file: ") {
		t.Errorf("New(unwritable File) error = %v, want a log file error", err)
	}
}

func TestStack(t *testing.T) {
	a := Stack()
	if a.Key != "stack" {
		t.Errorf("Stack().Key = %q, want \"stack\"", a.Key)
	}
	if s := a.Value.String(); !strings.Contains(s, "goroutine") || !strings.Contains(s, "TestStack") {
		t.Errorf("Stack() = %q, want a trace through TestStack", s)
	}
}
