package config

import (
	"runtime/debug"
	"testing"
)

func TestSetGCPercent(t *testing.T) {
	const before = 123
	defer debug.SetGCPercent(debug.SetGCPercent(before))
	tests := []struct {
		name string
		gogc string
		want int
	}{
		{"GOGC unset: authserve's default", "", GCPercent},
		{"GOGC set: left to the runtime", "50", before},
		{"GOGC=off set: left to the runtime", "off", before},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(before)
			SetGCPercent(func(k string) string {
				if k == "GOGC" {
					return tc.gogc
				}
				return ""
			})
			if got := debug.SetGCPercent(before); got != tc.want {
				t.Errorf("GC percent = %d, want %d", got, tc.want)
			}
		})
	}
}
