package loadtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMeasureBcrypt(t *testing.T) {
	b, err := MeasureBcrypt(t.Context(), 4, 2, 150*time.Millisecond)
	if err != nil {
		t.Fatalf("MeasureBcrypt(cost 4) error = %v", err)
	}
	if b.Cost != 4 || b.Workers != 2 || b.Hashes < 1 {
		t.Errorf("MeasureBcrypt(cost 4) = %+v, want cost 4, 2 workers, some hashes", b)
	}
	// The rate is the count over the elapsed time, and the elapsed time is
	// at least the requested duration (workers finish their last hash).
	if b.Seconds < 0.15 {
		t.Errorf("MeasureBcrypt(cost 4).Seconds = %v, want at least 0.15", b.Seconds)
	}
	if want := float64(b.Hashes) / b.Seconds; b.PerSecond < want*0.999 || b.PerSecond > want*1.001 {
		t.Errorf("MeasureBcrypt(cost 4).PerSecond = %v, want %v (hashes/seconds)", b.PerSecond, want)
	}
	if b.HashMS <= 0 || b.HashMS > 1000*b.Seconds {
		t.Errorf("MeasureBcrypt(cost 4).HashMS = %v, want within (0, %v]", b.HashMS, 1000*b.Seconds)
	}
}

func TestMeasureBcryptRefusals(t *testing.T) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		cost    int
		workers int
		want    string
	}{
		{"cost below bcrypt's minimum", t.Context(), 3, 1, "outside 4..31"},
		{"cost above bcrypt's maximum", t.Context(), 32, 1, "outside 4..31"},
		{"no workers", t.Context(), 4, 0, "at least 1"},
		{"interrupted", canceled, 4, 1, context.Canceled.Error()},
	}
	for _, tt := range tests {
		_, err := MeasureBcrypt(tt.ctx, tt.cost, tt.workers, 50*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("MeasureBcrypt(%s) error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := MeasureBcrypt(canceled, 4, 1, time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("MeasureBcrypt(canceled) error = %v, want context.Canceled", err)
	}
}
