package lockout

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFallbackNotify: the hook hears each change once, and both ends of an
// outage are warnings.
func TestFallbackNotify(t *testing.T) {
	primary := &switchable{inner: NewMemory()}
	var buf logBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var changes []bool
	l := NewFallbackNotify(primary, NewMemory(), logger, func(down bool) { changes = append(changes, down) }).(*fallback)
	clock := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return clock }
	ctx := context.Background()
	steps := []struct {
		fail bool
		want []bool
	}{
		{false, nil},
		{true, []bool{true}},
		{true, []bool{true}},
		{false, []bool{true, false}},
		{true, []bool{true, false, true}},
	}
	for i, st := range steps {
		primary.fail.Store(st.fail)
		clock = clock.Add(time.Second)
		for range 3 {
			if err := l.Succeed(ctx, "k", true); err != nil {
				t.Fatalf("step %d: Succeed() = %v", i, err)
			}
		}
		if !slices.Equal(changes, st.want) {
			t.Errorf("step %d: changes %v, want %v", i, changes, st.want)
		}
	}
	logs := buf.buf.String()
	if strings.Count(logs, "level=WARN msg=\""+downMsg) != 2 || strings.Count(logs, "level=WARN msg=\""+upMsg) != 1 {
		t.Errorf("warnings = %q, want two outage starts and one end, each a warning", logs)
	}
}
