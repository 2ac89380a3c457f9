package fallback

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/logtest"
)

// TestOnChange: the hook hears each change once, whatever the number of
// calls, and both ends of an outage are warnings.
func TestOnChange(t *testing.T) {
	var buf logtest.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var changes []bool
	clock := time.Unix(1_700_000_000, 0)
	sw := New(Options{Name: "limiter", To: "in-process", Logger: logger,
		OnChange: func(down bool) { changes = append(changes, down) },
		Now:      func() time.Time { return clock }})
	ctx := context.Background()
	fail := false
	primary := func() (int, error) {
		if fail {
			return 0, errors.New("connection refused")
		}
		return 1, nil
	}
	local := func() (int, error) { return 2, nil }
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
		fail = st.fail
		clock = clock.Add(ProbeEvery)
		for range 5 {
			if _, err := Do(ctx, sw, primary, local); err != nil {
				t.Fatalf("step %d: Do() = %v", i, err)
			}
		}
		if !slices.Equal(changes, st.want) {
			t.Errorf("step %d: changes %v, want %v", i, changes, st.want)
		}
		if sw.Down() != st.fail {
			t.Errorf("step %d: Down() = %v, want %v", i, sw.Down(), st.fail)
		}
	}
	logs := buf.String()
	if strings.Count(logs, `level=WARN msg="limiter falling back to in-process"`) != 2 ||
		strings.Count(logs, `level=WARN msg="limiter recovered"`) != 1 {
		t.Errorf("warnings = %q, want two outage starts and one end, each a warning", logs)
	}
}
