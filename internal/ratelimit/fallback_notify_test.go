package ratelimit

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
	clock := newFakeClock()
	primary := &switchable{inner: newTestMemory(t, 1000, defaultMaxKeys, clock)}
	var buf logBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var changes []bool
	l := NewFallbackNotify(primary, newTestMemory(t, 1000, defaultMaxKeys, clock), logger, nil,
		func(down bool) { changes = append(changes, down) }).(*fallback)
	l.now = clock.Now
	ctx := context.Background()
	steps := []struct {
		fail bool
		want []bool
	}{
		{false, nil},
		{true, []bool{true}},
		{true, []bool{true}},
		{false, []bool{true, false}},
		{false, []bool{true, false}},
		{true, []bool{true, false, true}},
	}
	for i, st := range steps {
		primary.fail.Store(st.fail)
		clock.Advance(time.Second)
		for range 5 {
			if d, err := l.Allow(ctx, "k"); err != nil || !d.Allowed {
				t.Fatalf("step %d: Allow() = %+v, %v", i, d, err)
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
