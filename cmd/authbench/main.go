// Command authbench is the load tool of authserve. It drives a running
// server over HTTP and reports what it sustains.
//
// It registers --users accounts, then runs timed phases of login, register,
// me (GET /api/auth/me with a Bearer token) and refresh (each client rotates
// its own session, always presenting the newest refresh token) at chosen
// concurrencies. For each phase it prints requests/s, p50/p95/p99 latency
// (exact, from every request) and counts by status and problem code. Before
// the phases, while the server is idle, it measures the bcrypt bound of the
// same machine (bcrypt comparisons per second at --bcrypt-cost on one
// goroutine per CPU) and prints, for the password paths, efficiency =
// successful requests/s ÷ bound. Results can be written as JSON and drawn as
// an SVG chart of throughput and p99 against concurrency.
//
// Usage:
//
//	# The server must not rate-limit the benchmark's own address:
//	AUTH_RATE_LIMIT_PER_MINUTE=0 AUTH_BCRYPT_COST=10 go run ./cmd/authserve &
//
//	go run ./cmd/authbench \
//	    --phases 'login:1,8,32,64;register:8;me:32;refresh:8' \
//	    --duration 10s --probe-healthz --json bench.json --svg bench.svg
//
// Flags:
//
//	--addr URL           server base address (default http://127.0.0.1:8080);
//	                     only loopback addresses unless --allow-remote
//	--users N            accounts registered before the phases (default 64)
//	--phases LIST        kind:conc[,conc...] groups separated by ';'; kinds are
//	                     login, register, me, refresh and healthz
//	--duration D         time each phase issues requests for (default 10s)
//	--max-requests N     hard cap on the requests of one phase (default 1000000)
//	--timeout D          bound on one request (default 10s)
//	--bcrypt-cost N      the server's AUTH_BCRYPT_COST, for the bound (default 10)
//	--bound-duration D   how long the bound is measured (default 2s)
//	--probe-healthz      GET /healthz about 50 times a second during login
//	                     phases and report its p50/p99 and statuses
//	--password T         password of generated accounts, {n} replaced by a
//	                     number (default Bench-Passw0rd-{n})
//	--run-id ID          goes into generated emails (default: random), so
//	                     reruns never collide; repeat one to reuse its users
//	--json FILE          write the results as JSON
//	--svg FILE           draw requests/s and p99 against concurrency
//
// --bcrypt-cost must be the server's AUTH_BCRYPT_COST (whose default is 12);
// an idle login is compared with one local bcrypt comparison and a warning
// is printed when they disagree. Logins always use the right password, so
// the lockout never triggers, but the per-address rate limit would answer
// 429 rate_limited: switch it off as above.
//
// Medians of repeated runs (what docs/performance.md quotes):
//
//	authbench median run1.json run2.json run3.json [--json m.json] [--svg m.svg]
//
// prints and writes one report whose every figure is the median of the
// runs' figures, phase by phase (bench/load.sh runs the whole procedure).
//
// The side-by-side set behind the performance table (docs/performance.md, make bench):
//
//	authbench suite --authserve bin/authserve --ceiling bin/authceiling \
//	    --mode full|quick --json docs/performance/bench.json --svg docs/performance/bench.svg
//	authbench readme --json docs/performance/bench.json docs/performance.md
//
// For each engine and pass: start-up of fresh servers (spawn → first 200
// on /healthz and on /readyz, idle RSS), GET /api/auth/me with info and warn
// logging and against the ceiling reference (cmd/authceiling), login at 8
// and 64 clients with the bcrypt bound read around it (suite.go).
//
// Single measurements:
//
//	authbench --phases login:8                    # login efficiency at 8 clients
//	authbench --phases login:64 --probe-healthz   # /healthz p99 beside 64 logins;
//	                                              # expect only 200 and 503 overloaded
//	authbench --phases me:32 --users 8            # GET /api/auth/me requests/s
//
// Statuses are counted by status and problem code ("200", "503 overloaded",
// "error: timeout"). Every loop is bounded by a count and by time, and
// Ctrl-C stops the run cleanly, printing and writing what was measured so
// far (exit status 130). The tool shares the machine with the server: its
// own CPU use is part of the picture, and the bound is what the whole
// machine can hash.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/authserve/authserve/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		stop()
		switch {
		case errors.Is(err, flag.ErrHelp):
			os.Exit(2)
		case errors.Is(err, context.Canceled):
			fmt.Fprintln(os.Stderr, "authbench: interrupted; the results above cover what ran")
			os.Exit(130) // the shell's code for a run ended by Ctrl-C
		default:
			fmt.Fprintln(os.Stderr, "authbench:", err)
			os.Exit(1)
		}
	}
}

// options are the parsed command line.
type options struct {
	cfg     loadtest.Config
	jsonOut string
	svgOut  string
}

// parseArgs turns the command line into a run configuration, checking the
// address before anything is sent.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	var (
		o           options
		addr        string
		phases      string
		allowRemote bool
	)
	fs := flag.NewFlagSet("authbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&addr, "addr", "http://127.0.0.1:8080", "server base `URL`; loopback only unless --allow-remote")
	fs.BoolVar(&allowRemote, "allow-remote", false, "allow a non-loopback --addr")
	fs.IntVar(&o.cfg.Users, "users", 64, "accounts registered before the phases")
	fs.StringVar(&phases, "phases", "login:1,8,32,64;register:8;me:32;refresh:8", "phases as kind:conc[,conc...] separated by ';' (login, register, me, refresh, healthz)")
	fs.DurationVar(&o.cfg.Duration, "duration", 10*time.Second, "time each phase issues requests for")
	fs.IntVar(&o.cfg.MaxRequests, "max-requests", 1_000_000, "hard cap on the requests of one phase")
	fs.DurationVar(&o.cfg.Timeout, "timeout", 10*time.Second, "bound on one request")
	fs.IntVar(&o.cfg.BcryptCost, "bcrypt-cost", 10, "the server's AUTH_BCRYPT_COST, used to measure the bcrypt bound")
	fs.DurationVar(&o.cfg.BoundDuration, "bound-duration", 2*time.Second, "how long the bcrypt bound is measured")
	fs.BoolVar(&o.cfg.ProbeHealthz, "probe-healthz", false, "probe GET /healthz about 50 times a second during login phases")
	fs.StringVar(&o.cfg.Password, "password", "Bench-Passw0rd-{n}", "password of generated accounts; {n} is replaced by a number")
	fs.StringVar(&o.cfg.RunID, "run-id", loadtest.NewRunID(), "identifier put in generated emails (a-z, 0-9, -)")
	fs.StringVar(&o.jsonOut, "json", "", "write the results as JSON to `FILE`")
	fs.StringVar(&o.svgOut, "svg", "", "write an SVG chart of requests/s and p99 against concurrency to `FILE`")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	u, err := loadtest.CheckAddr(addr, allowRemote)
	if err != nil {
		return o, err
	}
	o.cfg.Addr = u
	o.cfg.AllowRemote = allowRemote
	if o.cfg.Phases, err = loadtest.ParsePhases(phases); err != nil {
		return o, err
	}
	return o, nil
}

// run parses args, runs the benchmark and writes its results; an
// interrupted run still prints and writes what it measured.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "median":
			return runMedian(args[1:], stdout, stderr)
		case "suite":
			return runSuite(ctx, args[1:], stdout, stderr)
		case "readme":
			return runReadme(args[1:], stderr)
		}
	}
	o, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	o.cfg.Progress = stderr
	rep, runErr := loadtest.Run(ctx, o.cfg)
	if rep == nil {
		return runErr
	}
	errs := []error{runErr}
	if len(rep.Phases) > 0 || runErr == nil {
		errs = append(errs, rep.WriteTable(stdout))
	}
	if o.jsonOut != "" {
		errs = append(errs, writeFile(o.jsonOut, rep.WriteJSON))
	}
	if o.svgOut != "" {
		errs = append(errs, writeFile(o.svgOut, func(w io.Writer) error { return loadtest.WriteSVG(w, rep) }))
	}
	return errors.Join(errs...)
}

// runMedian reads the JSON reports of repeated runs and prints (and writes)
// their medians.
func runMedian(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("authbench median", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.String("json", "", "write the medians as JSON to `FILE`")
	svgOut := fs.String("svg", "", "write an SVG chart of the medians to `FILE`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: authbench median [--json FILE] [--svg FILE] RUN.json...")
		fs.PrintDefaults()
	}
	// Flags may come before or after the files.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) == 0 {
		fs.Usage()
		return errors.New("median: no report files given")
	}
	runs := make([]*loadtest.Report, 0, len(files))
	for _, f := range files {
		r, err := readReport(f)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	rep, err := loadtest.Median(runs)
	if err != nil {
		return err
	}
	errs := []error{rep.WriteTable(stdout)}
	if *jsonOut != "" {
		errs = append(errs, writeFile(*jsonOut, rep.WriteJSON))
	}
	if *svgOut != "" {
		errs = append(errs, writeFile(*svgOut, func(w io.Writer) error { return loadtest.WriteSVG(w, rep) }))
	}
	return errors.Join(errs...)
}

// readReport reads one JSON report written by --json.
func readReport(path string) (*loadtest.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r loadtest.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not an authbench report: %w", path, err)
	}
	if r.Tool != "authbench" {
		return nil, fmt.Errorf("%s: not an authbench report (tool %q)", path, r.Tool)
	}
	return &r, nil
}

// writeFile writes a result file completely or reports why not.
func writeFile(path string, write func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write %s: %w", path, cerr)
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
