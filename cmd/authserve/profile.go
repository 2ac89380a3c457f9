//go:build profile

package main

// Profiling hooks for the performance work (docs/performance): compiled
// only with `-tags profile`, never into a release binary.
//
//	AUTH_PPROF_ADDR=127.0.0.1:6061  serves net/http/pprof there (loopback)
//	AUTH_STARTUP_CPUPROFILE=FILE    CPU profile from process start until the
//	                                listener is up
//	AUTH_STARTUP_TRACE=FILE         the same span as an execution trace
//	AUTH_MEMPROFILE_ALL=1           record every allocation in the heap
//	                                profile (exact, slower), not a sample

import (
	"net/http"
	_ "net/http/pprof" // the profiling endpoints, for this build only
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

func init() {
	if os.Getenv("AUTH_MEMPROFILE_ALL") != "" {
		runtime.MemProfileRate = 1
	}
	if addr := os.Getenv("AUTH_PPROF_ADDR"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
	var stops []func()
	if path := os.Getenv("AUTH_STARTUP_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := os.Getenv("AUTH_STARTUP_TRACE"); path != "" {
		if f, err := os.Create(path); err == nil && trace.Start(f) == nil {
			stops = append(stops, func() { trace.Stop(); f.Close() })
		}
	}
	if len(stops) > 0 {
		afterListen = func() {
			for _, stop := range stops {
				stop()
			}
		}
	}
}
