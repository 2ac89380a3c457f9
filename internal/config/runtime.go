package config

import "runtime/debug"

// GCPercent is the GOGC authserve runs with unless the environment sets
// GOGC. Its live heap is a few MiB, so Go's default (100) collects every
// few MiB of allocation: about 25 times a second under me@32 on two
// cores, each collection stopping the world twice, and with more Ps than
// cores (serve.go's GOMAXPROCS) a stop waits for threads the kernel has
// not scheduled. 200 halves the collections (113 → 49 in 5 s) for a few
// MiB more heap under load: SQLite GET /me +14 % requests/s and −14 % CPU
// per request (medians of 5 interleaved rounds; 2–27 % and 4–24 %), peak
// RSS 40 → 45 MiB under me@32 and login@8; idle memory is unchanged
// (docs/performance/README.md).
const GCPercent = 200

// SetGCPercent applies GCPercent unless getenv names a GOGC, which the
// runtime has already applied. cmd/authceiling calls it too, so that the
// reference /me is measured against runs with the same collector setting.
func SetGCPercent(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
}
