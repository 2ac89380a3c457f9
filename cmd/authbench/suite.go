package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // CREATE and DROP DATABASE for fresh PostgreSQL servers

	"github.com/authserve/authserve/internal/loadtest"
	"github.com/authserve/authserve/internal/logging"
)

// The suite (authbench suite, run by make bench) measures the rows of the
// performance table (docs/performance.md) side by side in one run: for each engine and
// pass, start-up of fresh servers, idle memory, GET /api/auth/me with
// info-level access logs, with warn (no access lines), and against the
// ceiling reference (cmd/authceiling), and login at 8 and 64 clients with
// the bcrypt bound read around it. Figures are medians of the passes;
// ratios are computed within a pass, so that they compare runs made
// seconds apart on the same machine.

// meRounds is how many times each /me server is driven per pass, and
// loginRounds how many slices login@8 is cut into, the bound read between.
const (
	meRounds    = 3
	loginRounds = 3
)

// suiteSecret signs every token of a suite run, authserve's and the
// ceiling's alike.
const suiteSecret = "authbench-suite-secret-0123456789-abcdef"

// SuitePass is what one pass measured on one engine.
type SuitePass struct {
	StartupMS  []float64 `json:"startup_ms"` // start → first 200 on /healthz, each run
	ReadyMS    []float64 `json:"ready_ms"`   // start → first 200 on /readyz, each run
	IdleRSSMiB float64   `json:"idle_rss_mib"`
	// The load server (bcrypt cost 10) with AUTH_LOG_LEVEL=info, with warn,
	// and the ceiling, each driven by me@32.
	MeInfoRPS  float64 `json:"me_info_rps"`
	MeWarnRPS  float64 `json:"me_warn_rps"`
	CeilingRPS float64 `json:"ceiling_rps"`
	// Each round's figures, and its ratios (log cost 1 − info ÷ warn;
	// info ÷ ceiling).
	MeInfoRounds  []float64 `json:"me_info_rounds"`
	MeWarnRounds  []float64 `json:"me_warn_rounds"`
	CeilingRounds []float64 `json:"ceiling_rounds"`
	LogCostRounds []float64 `json:"log_cost_rounds"`
	// The servers' own CPU time per request (µs, user + system, from
	// /proc), each round, and the log cost it implies for a server that
	// has the CPU to itself: 1 − warn's CPU ÷ info's. Unlike throughput,
	// CPU time per request hardly moves with the machine's other load.
	MeInfoCPU          []float64 `json:"me_info_cpu_us"`
	MeWarnCPU          []float64 `json:"me_warn_cpu_us"`
	CeilingCPU         []float64 `json:"ceiling_cpu_us"`
	LogCostCPURounds   []float64 `json:"log_cost_cpu_rounds"`
	CeilingRatioRounds []float64 `json:"ceiling_ratio_rounds"`
	// Login at 8 clients, its bcrypt bound readings and efficiency (ok/s ÷
	// the median reading); login at 64 with /healthz probed beside it.
	Login8OKPerSecond float64        `json:"login8_ok_per_second"`
	Login8Rounds      []float64      `json:"login8_ok_per_second_rounds"`
	Login8EffRounds   []float64      `json:"login8_efficiency_rounds"`
	Login8Bounds      []float64      `json:"login8_bounds"`
	Login8Efficiency  float64        `json:"login8_efficiency"`
	Login64HealthzP99 float64        `json:"login64_healthz_p99_ms"`
	Login64Statuses   map[string]int `json:"login64_statuses"`
	Login64HealthzSt  map[string]int `json:"login64_healthz_statuses"`
}

// SuiteSummary holds the medians over an engine's passes; the ratios are
// medians of each pass's own ratio.
type SuiteSummary struct {
	StartupMS        float64 `json:"startup_ms"`
	ReadyMS          float64 `json:"ready_ms"`
	IdleRSSMiB       float64 `json:"idle_rss_mib"`
	MeInfoRPS        float64 `json:"me_info_rps"`
	MeWarnRPS        float64 `json:"me_warn_rps"`
	CeilingRPS       float64 `json:"ceiling_rps"`
	LogCost          float64 `json:"log_cost"`     // 1 − info ÷ warn
	LogCostCPU       float64 `json:"log_cost_cpu"` // 1 − warn's CPU ÷ info's, per request
	MeInfoCPU        float64 `json:"me_info_cpu_us"`
	MeWarnCPU        float64 `json:"me_warn_cpu_us"`
	CeilingCPU       float64 `json:"ceiling_cpu_us"`
	MeCeilingRatio   float64 `json:"me_ceiling_ratio"`   // info ÷ ceiling
	Login8Efficiency float64 `json:"login8_efficiency"`  // ok/s ÷ bound
	HealthzP99MS     float64 `json:"healthz_p99_ms"`     // during login@64
	Login8OKPerSec   float64 `json:"login8_ok_per_sec"`  // for the notes
	Login8BoundPerS  float64 `json:"login8_bound_per_s"` // median of all readings
	// The spread behind the medians: every round's log cost and ceiling
	// ratio, every pass's login efficiency, lowest and highest.
	LogCostRange    [2]float64 `json:"log_cost_range"`
	CeilingRange    [2]float64 `json:"me_ceiling_ratio_range"`
	EfficiencyRange [2]float64 `json:"login8_efficiency_range"`
}

// span returns the lowest and highest of v.
func span(v []float64) [2]float64 {
	if len(v) == 0 {
		return [2]float64{}
	}
	return [2]float64{slices.Min(v), slices.Max(v)}
}

// SuiteEngine is one engine's passes and their medians.
type SuiteEngine struct {
	Engine  string       `json:"engine"`
	Passes  []SuitePass  `json:"passes"`
	Summary SuiteSummary `json:"summary"`
}

// SuiteReport is the JSON make bench writes and the performance table is
// generated from.
type SuiteReport struct {
	Tool        string        `json:"tool"`
	Mode        string        `json:"mode"`
	Started     time.Time     `json:"started"`
	Seconds     float64       `json:"seconds"`
	Commit      string        `json:"commit,omitempty"`
	GoVersion   string        `json:"go_version"`
	NumCPU      int           `json:"num_cpu"`
	LoadBefore  string        `json:"loadavg_before"`
	LoadAfter   string        `json:"loadavg_after"`
	Passes      int           `json:"passes"`
	PhaseSecs   float64       `json:"phase_seconds"`
	StartupRuns int           `json:"startup_runs"`
	ExtraEnv    []string      `json:"extra_env,omitempty"`
	Engines     []SuiteEngine `json:"engines"`
}

type suite struct {
	authserve, ceiling string
	pgURL              string
	passes             int
	duration           time.Duration
	startupRuns        int
	boundDuration      time.Duration
	idleWait           time.Duration
	extraEnv           []string
	work               string
	port               int
	log                io.Writer
	spawned            int
}

// runSuite is `authbench suite`.
func runSuite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("authbench suite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := &suite{log: stderr}
	var engines, jsonOut, svgOut, mode, extra string
	fs.StringVar(&s.authserve, "authserve", "bin/authserve", "the authserve `binary` to measure")
	fs.StringVar(&s.ceiling, "ceiling", "bin/authceiling", "the ceiling reference `binary` (cmd/authceiling)")
	fs.StringVar(&engines, "engines", "sqlite,postgres", "engines, comma-separated")
	fs.StringVar(&s.pgURL, "postgres-url", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server; fresh databases are created and dropped there")
	fs.StringVar(&mode, "mode", "full", "full (3 passes of 10 s phases, docs/performance.md's figures) or quick (1 pass of 2 s phases, CI)")
	fs.StringVar(&jsonOut, "json", "", "write the report as JSON to `FILE`")
	fs.StringVar(&svgOut, "svg", "", "write a chart of the ratios to `FILE`")
	fs.StringVar(&extra, "env", "", "extra server settings, `K=V,K=V` (e.g. features switched on)")
	fs.IntVar(&s.port, "port", 18190, "first of the loopback ports used")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch mode {
	case "full":
		s.passes, s.duration, s.startupRuns, s.boundDuration, s.idleWait = 3, 10*time.Second, 5, 2*time.Second, 2*time.Second
	case "quick":
		s.passes, s.duration, s.startupRuns, s.boundDuration, s.idleWait = 1, 2*time.Second, 3, 500*time.Millisecond, time.Second
	default:
		return fmt.Errorf("suite: --mode %q: want full or quick", mode)
	}
	if extra != "" {
		s.extraEnv = strings.Split(extra, ",")
	}
	var err error
	// The servers run in a scratch directory (no .env, no stray files).
	if s.authserve, err = filepath.Abs(s.authserve); err != nil {
		return err
	}
	if s.ceiling, err = filepath.Abs(s.ceiling); err != nil {
		return err
	}
	if s.work, err = os.MkdirTemp("", "authbench-suite-"); err != nil {
		return err
	}
	defer os.RemoveAll(s.work)

	rep := &SuiteReport{Tool: "authbench suite", Mode: mode, Started: time.Now().UTC(), GoVersion: runtime.Version(),
		NumCPU: runtime.NumCPU(), LoadBefore: loadavg(), Passes: s.passes, PhaseSecs: s.duration.Seconds(),
		StartupRuns: s.startupRuns, ExtraEnv: redactEnv(s.extraEnv), Commit: gitCommit()}
	for _, engine := range strings.Split(engines, ",") {
		e := SuiteEngine{Engine: engine}
		for pass := range s.passes {
			s.logf("%s: pass %d/%d", engine, pass+1, s.passes)
			p, err := s.runPass(ctx, engine, pass)
			if err != nil {
				return fmt.Errorf("%s pass %d: %w", engine, pass+1, err)
			}
			e.Passes = append(e.Passes, p)
		}
		e.Summary = summarize(e.Passes)
		rep.Engines = append(rep.Engines, e)
	}
	rep.LoadAfter = loadavg()
	rep.Seconds = time.Since(rep.Started).Seconds()
	if err := writeSuiteTable(stdout, rep); err != nil {
		return err
	}
	if jsonOut != "" {
		if err := writeFile(jsonOut, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}); err != nil {
			return err
		}
	}
	if svgOut != "" {
		return writeFile(svgOut, func(w io.Writer) error { return writeSuiteSVG(w, rep) })
	}
	return nil
}

func (s *suite) logf(format string, args ...any) {
	fmt.Fprintf(s.log, "authbench suite: "+format+"\n", args...)
}

// runPass measures one pass on one engine.
func (s *suite) runPass(ctx context.Context, engine string, pass int) (SuitePass, error) {
	var p SuitePass
	// Start-up, at the default bcrypt cost (12), each on a fresh database.
	for i := range s.startupRuns {
		last := i == s.startupRuns-1
		st, ready, rss, err := s.startup(ctx, engine, last)
		if err != nil {
			return p, fmt.Errorf("startup: %w", err)
		}
		p.StartupMS = append(p.StartupMS, st)
		p.ReadyMS = append(p.ReadyMS, ready)
		if last {
			p.IdleRSSMiB = rss
		}
	}
	s.logf("%s: start-up %v ms (ready %v ms), idle RSS %.1f MiB", engine, p.StartupMS, p.ReadyMS, p.IdleRSSMiB)

	// /me: the three servers run side by side (an idle one costs
	// nothing) and are driven in turn, in meRounds rounds of a third of
	// the phase each, the order rotating, so that drift in the machine's
	// load hits all three alike; each round gives its own ratios.
	info, err := s.start(ctx, engine, "info", 10)
	if err != nil {
		return p, err
	}
	defer info.stop()
	warn, err := s.start(ctx, engine, "warn", 10)
	if err != nil {
		return p, err
	}
	defer warn.stop()
	infoToken, err := loginToken(ctx, info.addr)
	if err != nil {
		return p, err
	}
	warnToken, err := loginToken(ctx, warn.addr)
	if err != nil {
		return p, err
	}
	ceil, err := s.startCeiling(ctx)
	if err != nil {
		return p, err
	}
	defer ceil.stop()
	slice := max(s.duration/meRounds, 500*time.Millisecond)
	// Every server is driven with a token it issued (the ceiling with the
	// info server's), so that nothing but the phase runs on it while its
	// CPU time is read.
	targets := []struct {
		proc   *process
		bearer string
		rps    *[]float64
		cpu    *[]float64
	}{{info, infoToken, &p.MeInfoRounds, &p.MeInfoCPU}, {warn, warnToken, &p.MeWarnRounds, &p.MeWarnCPU}, {ceil, infoToken, &p.CeilingRounds, &p.CeilingCPU}}
	for round := range meRounds {
		for k := range targets {
			t := targets[(k+round+pass)%len(targets)]
			before, err := cpuTime(t.proc.cmd.Process.Pid)
			if err != nil {
				return p, err
			}
			rep, err := s.loadFor(ctx, t.proc.addr, "me:32", 0, t.bearer, slice)
			if err != nil {
				return p, err
			}
			after, err := cpuTime(t.proc.cmd.Process.Pid)
			if err != nil {
				return p, err
			}
			ph := rep.Phases[0]
			*t.rps = append(*t.rps, ph.OKPerSecond)
			us := 0.0
			if ph.OK > 0 {
				us = float64((after - before).Microseconds()) / float64(ph.OK)
			}
			*t.cpu = append(*t.cpu, us)
		}
	}
	p.MeInfoRPS, p.MeWarnRPS, p.CeilingRPS = median(p.MeInfoRounds), median(p.MeWarnRounds), median(p.CeilingRounds)
	for i := range p.MeInfoRounds {
		p.LogCostRounds = append(p.LogCostRounds, 1-p.MeInfoRounds[i]/p.MeWarnRounds[i])
		p.CeilingRatioRounds = append(p.CeilingRatioRounds, p.MeInfoRounds[i]/p.CeilingRounds[i])
		if p.MeInfoCPU[i] > 0 {
			p.LogCostCPURounds = append(p.LogCostCPURounds, 1-p.MeWarnCPU[i]/p.MeInfoCPU[i])
		}
	}
	info.stop()
	warn.stop()
	ceil.stop()
	s.logf("%s: me info %.0f/s, warn %.0f/s, ceiling %.0f/s (rounds: %.0f / %.0f / %.0f); CPU per request %.0f / %.0f / %.0f µs", engine,
		p.MeInfoRPS, p.MeWarnRPS, p.CeilingRPS, p.MeInfoRounds, p.MeWarnRounds, p.CeilingRounds, p.MeInfoCPU, p.MeWarnCPU, p.CeilingCPU)

	// Logins at 8 clients in rounds, the bound read between them (before
	// the first, after each): each round's efficiency divides its ok/s by
	// the mean of the readings on either side, so that the bound follows
	// the machine's load as closely as the logins do. Then 64 clients with
	// /healthz probed beside them.
	srv, err := s.start(ctx, engine, "info", 10)
	if err != nil {
		return p, err
	}
	defer srv.stop()
	bound := func() (float64, error) {
		b, err := loadtest.MeasureBcrypt(ctx, 10, runtime.NumCPU(), s.boundDuration)
		return b.PerSecond, err
	}
	runID := loadtest.NewRunID() // the rounds reuse one set of accounts
	prev, err := bound()
	if err != nil {
		return p, err
	}
	p.Login8Bounds = append(p.Login8Bounds, prev)
	for range loginRounds {
		rep, err := s.loadWith(ctx, srv.addr, "login:8", 16, "", max(s.duration/loginRounds, time.Second), runID)
		if err != nil {
			return p, err
		}
		next, err := bound()
		if err != nil {
			return p, err
		}
		p.Login8Bounds = append(p.Login8Bounds, next)
		ok := rep.Phases[0].OKPerSecond
		p.Login8Rounds = append(p.Login8Rounds, ok)
		if b := (prev + next) / 2; b > 0 {
			p.Login8EffRounds = append(p.Login8EffRounds, ok/b)
		}
		prev = next
	}
	p.Login8OKPerSecond, p.Login8Efficiency = median(p.Login8Rounds), median(p.Login8EffRounds)
	rep, err := s.load(ctx, srv.addr, "login:64", 64, "")
	if err != nil {
		return p, err
	}
	l64 := rep.Phases[0]
	p.Login64Statuses = l64.Statuses
	if l64.Probe != nil {
		p.Login64HealthzP99 = l64.Probe.Latency.P99
		p.Login64HealthzSt = l64.Probe.Statuses
	}
	s.logf("%s: login@8 %.1f ok/s (rounds %.1f), bounds %.1f, efficiency %.3f (rounds %.3f); /healthz p99 at login@64 %.1f ms",
		engine, p.Login8OKPerSecond, p.Login8Rounds, p.Login8Bounds, p.Login8Efficiency, p.Login8EffRounds, p.Login64HealthzP99)
	return p, nil
}

// load drives addr with authbench's engine for the suite's phase duration.
func (s *suite) load(ctx context.Context, addr, phases string, users int, bearer string) (*loadtest.Report, error) {
	return s.loadFor(ctx, addr, phases, users, bearer, s.duration)
}

// loadFor drives addr with authbench's engine, each phase for d.
func (s *suite) loadFor(ctx context.Context, addr, phases string, users int, bearer string, d time.Duration) (*loadtest.Report, error) {
	return s.loadWith(ctx, addr, phases, users, bearer, d, loadtest.NewRunID())
}

// loadWith is loadFor with the run id of the accounts (one id reuses
// them: registering an existing account answers 409, which is accepted).
func (s *suite) loadWith(ctx context.Context, addr, phases string, users int, bearer string, d time.Duration, runID string) (*loadtest.Report, error) {
	u, err := loadtest.CheckAddr(addr, false)
	if err != nil {
		return nil, err
	}
	ph, err := loadtest.ParsePhases(phases)
	if err != nil {
		return nil, err
	}
	bound := 200 * time.Millisecond // the me phases do not use it
	if strings.HasPrefix(phases, "login") {
		bound = s.boundDuration
	}
	rep, err := loadtest.Run(ctx, loadtest.Config{
		Addr: u, RunID: runID, Users: users, Password: "Bench-Passw0rd-{n}", Phases: ph,
		Duration: d, MaxRequests: 1_000_000, Timeout: 10 * time.Second, BcryptCost: 10,
		BoundDuration: bound, ProbeHealthz: strings.HasPrefix(phases, "login"), Bearer: bearer,
	})
	if err != nil {
		return nil, err
	}
	for _, ph := range rep.Phases {
		if ph.Error != "" {
			return nil, fmt.Errorf("phase %s@%d: %s", ph.Kind, ph.Concurrency, ph.Error)
		}
	}
	return rep, nil
}

// process is a spawned server.
type process struct {
	cmd     *exec.Cmd
	addr    string
	drop    func()
	stopped bool
}

// stop ends the process (SIGTERM, then SIGKILL after 15 s) and drops its
// database; calling it again does nothing.
func (p *process) stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	if p.drop != nil {
		p.drop()
	}
}

// database returns a fresh database URL for engine and a function that
// drops it.
func (s *suite) database(ctx context.Context, engine string) (string, func(), error) {
	s.spawned++
	switch engine {
	case "sqlite":
		path := filepath.Join(s.work, fmt.Sprintf("bench-%d.db", s.spawned))
		return "sqlite:" + path, func() {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				_ = os.Remove(path + suffix)
			}
		}, nil
	case "postgres":
		admin, err := sql.Open("pgx", s.pgURL)
		if err != nil {
			return "", nil, err
		}
		name := fmt.Sprintf("authbench_%d_%d", os.Getpid(), s.spawned)
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			admin.Close()
			return "", nil, fmt.Errorf("create database: %w", err)
		}
		u, err := url.Parse(s.pgURL)
		if err != nil {
			admin.Close()
			return "", nil, err
		}
		u.Path = "/" + name
		return u.String(), func() {
			_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			admin.Close()
		}, nil
	}
	return "", nil, fmt.Errorf("unknown engine %q (want sqlite or postgres)", engine)
}

// spawn starts bin with env on the next port, its output to a log file.
func (s *suite) spawn(bin string, env []string) (*process, error) {
	s.port++
	addr := "127.0.0.1:" + strconv.Itoa(s.port)
	logf, err := os.Create(filepath.Join(s.work, fmt.Sprintf("server-%d.log", s.port)))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Dir = s.work
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "AUTH_ADDR=" + addr, "AUTH_JWT_SECRET=" + suiteSecret}, env...)
	cmd.Env = append(cmd.Env, s.extraEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	logf.Close() // the child holds its own descriptor
	return &process{cmd: cmd, addr: "http://" + addr}, nil
}

// start spawns authserve on a fresh database and waits until it is ready.
func (s *suite) start(ctx context.Context, engine, level string, cost int) (*process, error) {
	dbURL, drop, err := s.database(ctx, engine)
	if err != nil {
		return nil, err
	}
	p, err := s.spawn(s.authserve, []string{"AUTH_DATABASE_URL=" + dbURL, "AUTH_LOG_LEVEL=" + level,
		"AUTH_BCRYPT_COST=" + strconv.Itoa(cost), "AUTH_RATE_LIMIT_PER_MINUTE=0",
		"AUTH_LOCKOUT_THRESHOLD=0", "AUTH_LOCKOUT_ACCOUNT_THRESHOLD=0"})
	if err != nil {
		drop()
		return nil, err
	}
	p.drop = drop
	if _, err := waitFor(ctx, p.addr+"/readyz", time.Now()); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (s *suite) startCeiling(ctx context.Context) (*process, error) {
	p, err := s.spawn(s.ceiling, nil)
	if err != nil {
		return nil, err
	}
	if _, err := waitFor(ctx, p.addr+"/healthz", time.Now()); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// startup spawns authserve at its defaults (bcrypt cost 12) on a fresh
// database and returns the milliseconds from spawning to the first 200 on
// /healthz and on /readyz, and, when rss is set, its resident memory after
// idling.
func (s *suite) startup(ctx context.Context, engine string, rss bool) (float64, float64, float64, error) {
	dbURL, drop, err := s.database(ctx, engine)
	if err != nil {
		return 0, 0, 0, err
	}
	t0 := time.Now()
	p, err := s.spawn(s.authserve, []string{"AUTH_DATABASE_URL=" + dbURL})
	if err != nil {
		drop()
		return 0, 0, 0, err
	}
	p.drop = drop
	defer p.stop()
	healthy, err := waitFor(ctx, p.addr+"/healthz", t0)
	if err != nil {
		return 0, 0, 0, err
	}
	ready, err := waitFor(ctx, p.addr+"/readyz", t0)
	if err != nil {
		return 0, 0, 0, err
	}
	var mib float64
	if rss {
		time.Sleep(s.idleWait) // start-up's garbage collectable, FreeOSMemory done
		mib, err = residentMiB(p.cmd.Process.Pid)
		if err != nil {
			return 0, 0, 0, err
		}
	}
	return msSince(healthy), msSince(ready), mib, nil
}

func msSince(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// waitFor polls url every millisecond until it answers 200 and returns
// the time since t0; bounded by 30 s.
func waitFor(ctx context.Context, url string, t0 time.Time) (time.Duration, error) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(t0), nil
			}
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("%s: no 200 within 30s", url)
}

// cpuTime reads the user and system CPU time pid has used.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticksPerSecond, nil
}

// residentMiB reads VmRSS of pid.
func residentMiB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kib / 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// loginToken registers a user on addr and returns an access token.
func loginToken(ctx context.Context, addr string) (string, error) {
	body := []byte(`{"email":"ceiling-` + loadtest.NewRunID() + `@example.com","password":"Bench-Passw0rd-1"}`)
	post := func(path string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, addr+path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		return http.DefaultClient.Do(req)
	}
	resp, err := post("/api/auth/register")
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp, err = post("/api/auth/login"); err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("login for the ceiling's token: %d %v", resp.StatusCode, err)
	}
	return t.AccessToken, nil
}

// redactEnv returns the settings as the report may show them: the value
// of every key the logs would redact (keys, secrets, URLs with passwords
// are named so) replaced.
func redactEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if logging.SensitiveKey(k) || strings.Contains(k, "_URL") || strings.HasSuffix(k, "_KEY") || strings.HasSuffix(k, "_KEYS") {
			kv = k + "=" + logging.Redacted
		}
		out = append(out, kv)
	}
	return out
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// summarize takes the medians over the passes; ratios are taken within
// each round of a pass first, then the median of the rounds.
func summarize(passes []SuitePass) SuiteSummary {
	col := func(f func(SuitePass) float64) float64 {
		v := make([]float64, 0, len(passes))
		for _, p := range passes {
			v = append(v, f(p))
		}
		return median(v)
	}
	var bounds []float64
	for _, p := range passes {
		bounds = append(bounds, p.Login8Bounds...)
	}
	return SuiteSummary{
		StartupMS:        col(func(p SuitePass) float64 { return median(p.StartupMS) }),
		ReadyMS:          col(func(p SuitePass) float64 { return median(p.ReadyMS) }),
		IdleRSSMiB:       col(func(p SuitePass) float64 { return p.IdleRSSMiB }),
		MeInfoRPS:        col(func(p SuitePass) float64 { return p.MeInfoRPS }),
		MeWarnRPS:        col(func(p SuitePass) float64 { return p.MeWarnRPS }),
		CeilingRPS:       col(func(p SuitePass) float64 { return p.CeilingRPS }),
		LogCost:          col(func(p SuitePass) float64 { return median(p.LogCostRounds) }),
		MeCeilingRatio:   col(func(p SuitePass) float64 { return median(p.CeilingRatioRounds) }),
		Login8Efficiency: col(func(p SuitePass) float64 { return p.Login8Efficiency }),
		HealthzP99MS:     col(func(p SuitePass) float64 { return p.Login64HealthzP99 }),
		Login8OKPerSec:   col(func(p SuitePass) float64 { return p.Login8OKPerSecond }),
		Login8BoundPerS:  median(bounds),
		LogCostCPU:       col(func(p SuitePass) float64 { return median(p.LogCostCPURounds) }),
		MeInfoCPU:        col(func(p SuitePass) float64 { return median(p.MeInfoCPU) }),
		MeWarnCPU:        col(func(p SuitePass) float64 { return median(p.MeWarnCPU) }),
		CeilingCPU:       col(func(p SuitePass) float64 { return median(p.CeilingCPU) }),
		LogCostRange:     span(all(passes, func(p SuitePass) []float64 { return p.LogCostRounds })),
		CeilingRange:     span(all(passes, func(p SuitePass) []float64 { return p.CeilingRatioRounds })),
		EfficiencyRange:  span(all(passes, func(p SuitePass) []float64 { return p.Login8EffRounds })),
	}
}

// all concatenates f over the passes.
func all(passes []SuitePass, f func(SuitePass) []float64) []float64 {
	var v []float64
	for _, p := range passes {
		v = append(v, f(p)...)
	}
	return v
}

// writeSuiteTable prints the summary.
func writeSuiteTable(w io.Writer, rep *SuiteReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "authbench suite (%s): %d pass(es), %.0fs phases, %d CPUs, load %s → %s, %.0fs\n",
		rep.Mode, rep.Passes, rep.PhaseSecs, rep.NumCPU, rep.LoadBefore, rep.LoadAfter, rep.Seconds)
	for _, e := range rep.Engines {
		s := e.Summary
		fmt.Fprintf(&b, "%-8s start→/healthz %.0f ms (ready %.0f ms), idle RSS %.1f MiB, me info %.0f/s warn %.0f/s ceiling %.0f/s: log cost %.1f %%, me÷ceiling %.3f; login@8 efficiency %.3f (%.1f ok/s, bound %.1f/s); /healthz p99 at login@64 %.1f ms\n",
			e.Engine, s.StartupMS, s.ReadyMS, s.IdleRSSMiB, s.MeInfoRPS, s.MeWarnRPS, s.CeilingRPS, 100*s.LogCost, s.MeCeilingRatio,
			s.Login8Efficiency, s.Login8OKPerSec, s.Login8BoundPerS, s.HealthzP99MS)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
