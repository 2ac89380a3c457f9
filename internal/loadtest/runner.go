package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits on the configuration, so that a typo cannot start an unbounded run.
const (
	MaxUsers       = 100_000
	MaxRequestsCap = 10_000_000 // exact percentiles keep 8 bytes per request
	MaxDuration    = time.Hour
	setupAttempts  = 5
	maxRunIDLength = 24
)

// Config describes one benchmark run.
type Config struct {
	// Addr is the server's base address, as returned by CheckAddr.
	Addr *url.URL
	// AllowRemote lets the dialer connect to non-loopback addresses.
	AllowRemote bool
	// RunID goes into every generated email, so reruns never collide.
	RunID string
	// Users is how many accounts are registered before the phases.
	Users int
	// Password is the password template of generated accounts; "{n}" is
	// replaced by the account's number. It must satisfy the server's policy.
	Password string
	// Phases run in order.
	Phases []Phase
	// Duration is the time each phase issues requests for.
	Duration time.Duration
	// MaxRequests caps the requests of each phase.
	MaxRequests int
	// Timeout bounds one request.
	Timeout time.Duration
	// BcryptCost is the server's cost, used to measure the bound locally.
	BcryptCost int
	// BoundDuration is how long the bound is measured for.
	BoundDuration time.Duration
	// BoundWorkers is the number of hashing goroutines; 0 means one per CPU.
	BoundWorkers int
	// ProbeHealthz runs a /healthz prober during login phases.
	ProbeHealthz bool
	// ProbeInterval is the prober's period; 0 means 20ms (50 per second).
	ProbeInterval time.Duration
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
	// Bearer, when set, is the access token of every me request, so that
	// me phases need no registered users and no login: a server that only
	// checks tokens (the ceiling reference, cmd/authceiling) can be driven.
	Bearer string
}

// NewRunID returns a short random identifier for a run.
func NewRunID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

func (c *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Addr == nil {
		bad("no server address")
	} else if _, err := CheckAddr(c.Addr.String(), c.AllowRemote); err != nil {
		errs = append(errs, err)
	}
	if c.RunID == "" || len(c.RunID) > maxRunIDLength || strings.Trim(c.RunID, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		bad("run id %q: want 1 to %d characters of a-z, 0-9 and -", c.RunID, maxRunIDLength)
	}
	if len(c.Phases) == 0 {
		bad("no phases")
	}
	for _, p := range c.Phases {
		if p.Concurrency < 1 || p.Concurrency > MaxConcurrency {
			bad("phase %v: concurrency outside 1..%d", p, MaxConcurrency)
		}
		if p.Kind.needsUsers() && c.Users < 1 && (p.Kind != KindMe || c.Bearer == "") {
			bad("phase %v needs registered users: set users to at least 1", p)
		}
	}
	if c.Users < 0 || c.Users > MaxUsers {
		bad("users %d outside 0..%d", c.Users, MaxUsers)
	}
	if c.Password == "" {
		bad("empty password template")
	} else if n := len(c.password(999_999_999)); n > 72 {
		bad("password template gives %d-byte passwords; bcrypt's limit is 72", n)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		bad("phase duration %v outside (0, %v]", c.Duration, MaxDuration)
	}
	if c.MaxRequests < 1 || c.MaxRequests > MaxRequestsCap {
		bad("max requests %d outside 1..%d", c.MaxRequests, MaxRequestsCap)
	}
	if c.Timeout <= 0 || c.Timeout > 10*time.Minute {
		bad("request timeout %v outside (0, 10m]", c.Timeout)
	}
	if c.BoundDuration <= 0 || c.BoundDuration > time.Minute {
		bad("bound duration %v outside (0, 1m]", c.BoundDuration)
	}
	if c.BoundWorkers < 0 || c.BoundWorkers > 1024 {
		bad("bound workers %d outside 0..1024", c.BoundWorkers)
	}
	if c.ProbeInterval < 0 || (c.ProbeInterval > 0 && c.ProbeInterval < time.Millisecond) {
		bad("probe interval %v: want at least 1ms", c.ProbeInterval)
	}
	return errors.Join(errs...)
}

func (c *Config) password(n int) string {
	return strings.ReplaceAll(c.Password, "{n}", strconv.Itoa(n))
}

// benchUser is an account registered for the run.
type benchUser struct {
	email, password string
	loginBody       []byte
}

// runner holds what one Run shares between its steps.
type runner struct {
	cfg     Config
	tr      *http.Transport // the load
	probeTr *http.Transport // its own pool, so probes never queue behind load
	urls    struct{ healthz, register, login, refresh, me string }
	users   []benchUser
	setupN  int // parallelism of untimed setup work
	report  *Report
}

// Run performs a benchmark: it checks that the server answers, measures
// the bcrypt bound while the server is idle, registers the users, then runs
// every phase in order. On an interrupt (ctx done) it returns the results
// gathered so far together with ctx's error. A phase that cannot start (its
// logins fail) is reported with its error and the run goes on.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.BoundWorkers == 0 {
		cfg.BoundWorkers = runtime.NumCPU()
	}
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = 20 * time.Millisecond
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	conns := 8
	for _, p := range cfg.Phases {
		conns = max(conns, p.Concurrency+8)
	}
	r := &runner{
		cfg:     cfg,
		tr:      newTransport(conns, cfg.Timeout, cfg.AllowRemote),
		probeTr: newTransport(2, cfg.Timeout, cfg.AllowRemote),
		setupN:  min(2*runtime.NumCPU(), 16),
		report:  newReport(cfg),
	}
	defer r.tr.CloseIdleConnections()
	defer r.probeTr.CloseIdleConnections()
	base := cfg.Addr.String()
	r.urls.healthz = base + "/healthz"
	r.urls.register = base + "/api/auth/register"
	r.urls.login = base + "/api/auth/login"
	r.urls.refresh = base + "/api/auth/refresh"
	r.urls.me = base + "/api/auth/me"

	rep := r.report
	if err := r.checkHealth(ctx); err != nil {
		return rep, err
	}
	r.logf("measuring the bcrypt bound: cost %d on %d goroutines for %v (server idle)", cfg.BcryptCost, cfg.BoundWorkers, cfg.BoundDuration)
	b, err := MeasureBcrypt(ctx, cfg.BcryptCost, cfg.BoundWorkers, cfg.BoundDuration)
	if err != nil {
		return rep, fmt.Errorf("bcrypt bound: %w", err)
	}
	rep.Bound = &b
	r.logf("bcrypt bound: %.1f hashes/s (%d in %.2fs, %.1f ms per hash per core)", b.PerSecond, b.Hashes, b.Seconds, b.HashMS)

	if slices.ContainsFunc(cfg.Phases, func(p Phase) bool { return p.Kind.needsUsers() && (p.Kind != KindMe || cfg.Bearer == "") }) {
		if err := r.registerUsers(ctx); err != nil {
			return rep, err
		}
		if err := r.checkCost(ctx); err != nil {
			return rep, err
		}
	}
	for i, p := range cfg.Phases {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		r.logf("phase %d/%d: %v for %v", i+1, len(cfg.Phases), p, cfg.Duration)
		res := r.runPhase(ctx, i, p)
		rep.Phases = append(rep.Phases, res)
		if res.Error != "" {
			r.logf("phase %v failed: %s", p, res.Error)
		} else {
			r.logf("phase %v: %d requests, %.1f req/s, p99 %.1f ms", p, res.Requests, res.RPS, res.Latency.P99)
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
	}
	rep.addWarnings()
	return rep, nil
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "authbench: "+format+"\n", args...)
}

// checkHealth fails fast with a clear message when nothing answers.
func (r *runner) checkHealth(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := newGet(ctx, r.urls.healthz, "")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	o, err := send(r.probeTr, req, &buf, false)
	if err != nil {
		return fmt.Errorf("no server answering at %s: %w", r.cfg.Addr, err)
	}
	if o.status != http.StatusOK {
		return fmt.Errorf("GET %s answered %v, want 200", r.urls.healthz, o)
	}
	return nil
}

// registerUsers creates the accounts the login, me and refresh phases use.
func (r *runner) registerUsers(ctx context.Context) error {
	n := r.cfg.Users
	r.users = make([]benchUser, n)
	for i := range r.users {
		u := benchUser{
			email:    fmt.Sprintf("bench-%s-u%d@example.com", r.cfg.RunID, i),
			password: r.cfg.password(i),
		}
		body, err := json.Marshal(credentials{Email: u.email, Password: u.password})
		if err != nil {
			return err
		}
		u.loginBody = body
		r.users[i] = u
	}
	r.logf("registering %d users (run id %s)", n, r.cfg.RunID)
	start := time.Now()
	err := forEach(ctx, n, r.setupN, func(ctx context.Context, i int) error {
		return r.register(ctx, r.users[i].loginBody)
	})
	if err != nil {
		return fmt.Errorf("registering users: %w", err)
	}
	r.logf("registered %d users in %.1fs", n, time.Since(start).Seconds())
	return nil
}

// register creates one account, retrying a bounded number of times while
// the server sheds load. An existing account (409) is accepted: with a
// repeated --run-id the accounts of the earlier run are reused.
func (r *runner) register(ctx context.Context, body []byte) error {
	for attempt := 1; ; attempt++ {
		o, resp, err := r.post(ctx, r.urls.register, body)
		switch {
		case err == nil && (o.status == http.StatusCreated || o.status == http.StatusConflict):
			return nil
		case ctx.Err() != nil:
			return ctx.Err() // an interrupt, not the server's answer
		case attempt >= setupAttempts || !retryable(o):
			return fmt.Errorf("POST /api/auth/register: %s", describe(o, resp, err))
		}
		if err := sleep(ctx, time.Duration(attempt)*200*time.Millisecond); err != nil {
			return err
		}
	}
}

// login returns a fresh session of u, retrying like register.
func (r *runner) login(ctx context.Context, u benchUser) (tokens, error) {
	for attempt := 1; ; attempt++ {
		o, resp, err := r.post(ctx, r.urls.login, u.loginBody)
		if err == nil && o.status == http.StatusOK {
			var t tokens
			if err := json.Unmarshal(resp, &t); err != nil || t.AccessToken == "" || t.RefreshToken == "" {
				return tokens{}, fmt.Errorf("POST /api/auth/login: 200 without access_token and refresh_token")
			}
			return t, nil
		}
		if ctx.Err() != nil {
			return tokens{}, ctx.Err() // an interrupt, not the server's answer
		}
		if attempt >= setupAttempts || !retryable(o) {
			return tokens{}, fmt.Errorf("POST /api/auth/login as %s: %s", u.email, describe(o, resp, err))
		}
		if err := sleep(ctx, time.Duration(attempt)*200*time.Millisecond); err != nil {
			return tokens{}, err
		}
	}
}

// post is an untimed JSON POST for setup work, bounded by the request
// timeout.
func (r *runner) post(ctx context.Context, url string, body []byte) (outcome, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := newJSONPost(ctx, url, body)
	if err != nil {
		return outcome{}, nil, err
	}
	var buf bytes.Buffer
	o, err := send(r.tr, req, &buf, true)
	return o, buf.Bytes(), err
}

// checkCost compares an idle login with one local bcrypt comparison: if
// they differ by about a factor of two or more, the server's cost is not
// --bcrypt-cost and every efficiency figure would be off by that factor.
func (r *runner) checkCost(ctx context.Context) error {
	const samples = 3
	d := make([]time.Duration, 0, samples)
	for range samples {
		t0 := time.Now()
		if _, err := r.login(ctx, r.users[0]); err != nil {
			return fmt.Errorf("idle login: %w", err)
		}
		d = append(d, time.Since(t0))
	}
	idle := Summarize(d).P50
	r.report.IdleLoginMS = idle
	hash := r.report.Bound.HashMS
	r.logf("idle login: %.1f ms (one local bcrypt comparison: %.1f ms)", idle, hash)
	// Below ~10ms per hash, request overhead dominates and the ratio says
	// nothing about the cost.
	if hash >= 10 {
		switch ratio := idle / hash; {
		case ratio < 0.6:
			r.report.warn("an idle login took %.0f ms but one bcrypt comparison at cost %d takes %.0f ms here: the server's AUTH_BCRYPT_COST is probably lower than --bcrypt-cost, so efficiency is understated (or the machine was busy)", idle, r.cfg.BcryptCost, hash)
		case ratio > 1.8:
			r.report.warn("an idle login took %.0f ms but one bcrypt comparison at cost %d takes %.0f ms here: the server's AUTH_BCRYPT_COST is probably higher than --bcrypt-cost, so efficiency is overstated (or the machine was busy)", idle, r.cfg.BcryptCost, hash)
		}
	}
	return nil
}

// task is one client of a phase. prepare readies the next request outside
// the timed section (a re-login); do performs the timed request.
type task interface {
	prepare(ctx context.Context) error
	do(ctx context.Context) (outcome, error)
}

// record is what one client observed; each client has its own, so the hot
// loop shares nothing but the request counter.
type record struct {
	durations []time.Duration
	counts    map[outcome]int
	prepFails int
	sampleErr string
}

func (rec *record) add(d time.Duration, o outcome, err error) {
	rec.durations = append(rec.durations, d)
	rec.counts[o]++
	if err != nil && rec.sampleErr == "" {
		rec.sampleErr = err.Error()
	}
}

// runPhase runs one phase: untimed setup of its clients, then the clients
// issue requests until the phase's duration has passed or MaxRequests have
// been issued. Requests in flight at the deadline are waited for (so the
// server is idle when the next phase starts) but bounded by a hard deadline
// of Duration + Timeout.
func (r *runner) runPhase(ctx context.Context, idx int, p Phase) PhaseResult {
	res := PhaseResult{Kind: p.Kind, Concurrency: p.Concurrency, Statuses: map[string]int{}}
	tasks, err := r.makeTasks(ctx, idx, p)
	if err != nil {
		res.Error = err.Error()
		res.Interrupted = ctx.Err() != nil
		return res
	}

	hard, cancel := context.WithTimeout(ctx, r.cfg.Duration+r.cfg.Timeout)
	defer cancel()
	maxReq := int64(r.cfg.MaxRequests)
	perClient := min(r.cfg.MaxRequests/p.Concurrency+1, 1<<16)
	recs := make([]record, p.Concurrency)
	var issued atomic.Int64
	start := time.Now()
	deadline := start.Add(r.cfg.Duration)

	var probe *ProbeResult
	probeCtx, stopProbe := context.WithCancel(hard)
	defer stopProbe()
	probeDone := make(chan struct{})
	if p.Kind == KindLogin && r.cfg.ProbeHealthz {
		go func() {
			defer close(probeDone)
			probe = r.probe(probeCtx, ctx, deadline)
		}()
	} else {
		close(probeDone)
	}

	var wg sync.WaitGroup
	for i, t := range tasks {
		recs[i] = record{durations: make([]time.Duration, 0, perClient), counts: map[outcome]int{}}
		wg.Go(func() { work(hard, ctx, t, deadline, &issued, maxReq, &recs[i]) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProbe()
	<-probeDone

	total := 0
	for _, rec := range recs {
		total += len(rec.durations)
	}
	all := make([]time.Duration, 0, total)
	for _, rec := range recs {
		all = append(all, rec.durations...)
		for o, n := range rec.counts {
			res.Statuses[o.String()] += n
			if o.ok() {
				res.OK += n
			}
		}
		res.PrepareFailures += rec.prepFails
		if res.SampleError == "" {
			res.SampleError = rec.sampleErr
		}
	}
	for _, t := range tasks {
		if rt, ok := t.(*refreshTask); ok {
			res.Relogins += rt.relogins
		}
	}
	res.Requests = len(all)
	res.Seconds = elapsed.Seconds()
	res.RPS = PerSecond(res.Requests, elapsed)
	res.OKPerSecond = PerSecond(res.OK, elapsed)
	res.Latency = Summarize(all)
	res.Capped = int64(res.Requests+res.PrepareFailures) >= maxReq
	res.Interrupted = ctx.Err() != nil
	res.Probe = probe
	if p.Kind.PasswordPath() && r.report.Bound != nil {
		if e, ok := Efficiency(res.OKPerSecond, r.report.Bound.PerSecond); ok {
			res.Efficiency = &e
		}
	}
	return res
}

// work is the loop of one client, bounded by the shared request count and
// by the deadline. hard carries the requests; parent tells an interrupt
// (not the server's doing, so not recorded) from a timeout.
func work(hard, parent context.Context, t task, deadline time.Time, issued *atomic.Int64, maxReq int64, rec *record) {
	for issued.Add(1) <= maxReq {
		if hard.Err() != nil || !time.Now().Before(deadline) {
			return
		}
		if err := t.prepare(hard); err != nil {
			if parent.Err() != nil {
				return
			}
			rec.prepFails++
			if rec.sampleErr == "" {
				rec.sampleErr = err.Error()
			}
			// A failing setup request returns fast; pausing keeps a dead
			// server from turning the loop into a spin.
			_ = sleep(hard, 10*time.Millisecond)
			continue
		}
		t0 := time.Now()
		o, err := t.do(hard)
		d := time.Since(t0)
		if err != nil && parent.Err() != nil {
			return
		}
		rec.add(d, o, err)
	}
}

// probe sends GET /healthz every ProbeInterval while a phase runs, one at
// a time, to measure how the cheapest endpoint fares beside the load.
func (r *runner) probe(ctx, parent context.Context, deadline time.Time) *ProbeResult {
	res := &ProbeResult{IntervalMS: ms(r.cfg.ProbeInterval), Statuses: map[string]int{}}
	req, err := newGet(ctx, r.urls.healthz, "")
	if err != nil {
		return res
	}
	limit := int(r.cfg.Duration/r.cfg.ProbeInterval) + 2
	d := make([]time.Duration, 0, limit)
	tick := time.NewTicker(r.cfg.ProbeInterval)
	defer tick.Stop()
	var buf bytes.Buffer
	for range limit {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			break
		}
		t0 := time.Now()
		o, err := send(r.probeTr, req, &buf, false)
		dur := time.Since(t0)
		// A probe cut off because the phase ended says nothing.
		if err != nil && (ctx.Err() != nil || parent.Err() != nil) {
			break
		}
		d = append(d, dur)
		res.Statuses[o.String()]++
	}
	res.Requests = len(d)
	res.Latency = Summarize(d)
	return res
}

// makeTasks builds the clients of a phase, logging in where the phase
// needs sessions; this happens before the clock starts.
func (r *runner) makeTasks(ctx context.Context, idx int, p Phase) ([]task, error) {
	tasks := make([]task, p.Concurrency)
	switch p.Kind {
	case KindLogin:
		for w := range tasks {
			tasks[w] = &loginTask{r: r, next: w % len(r.users), step: p.Concurrency}
		}
	case KindRegister:
		for w := range tasks {
			tasks[w] = &registerTask{r: r, prefix: fmt.Sprintf("bench-%s-p%d-w%d-", r.cfg.RunID, idx, w)}
		}
	case KindHealthz:
		for w := range tasks {
			tasks[w] = &getTask{r: r, url: r.urls.healthz}
		}
	case KindMe:
		if r.cfg.Bearer != "" {
			for w := range tasks {
				tasks[w] = &getTask{r: r, url: r.urls.me, bearer: r.cfg.Bearer}
			}
			break
		}
		// A few sessions are enough: /me costs the same for any user.
		k := min(p.Concurrency, len(r.users), 8)
		sessions := make([]tokens, k)
		err := forEach(ctx, k, r.setupN, func(ctx context.Context, i int) error {
			t, err := r.login(ctx, r.users[i])
			sessions[i] = t
			return err
		})
		if err != nil {
			return nil, err
		}
		for w := range tasks {
			tasks[w] = &getTask{r: r, url: r.urls.me, bearer: sessions[w%k].AccessToken}
		}
	case KindRefresh:
		err := forEach(ctx, len(tasks), r.setupN, func(ctx context.Context, w int) error {
			u := r.users[w%len(r.users)]
			t, err := r.login(ctx, u)
			tasks[w] = &refreshTask{r: r, user: u, refreshToken: t.RefreshToken}
			return err
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown phase kind %q", p.Kind)
	}
	return tasks, nil
}

// loginTask logs in as the users it cycles through, always with the right
// password (a wrong one would trip the lockout, not measure login).
type loginTask struct {
	r          *runner
	next, step int
	buf        bytes.Buffer
}

func (t *loginTask) prepare(context.Context) error { return nil }

func (t *loginTask) do(ctx context.Context) (outcome, error) {
	u := t.r.users[t.next]
	t.next = (t.next + t.step) % len(t.r.users)
	req, err := newJSONPost(ctx, t.r.urls.login, u.loginBody)
	if err != nil {
		return outcome{code: "other"}, err
	}
	return send(t.r.tr, req, &t.buf, false)
}

// registerTask creates accounts with emails unique to the run, phase,
// client and attempt.
type registerTask struct {
	r      *runner
	prefix string
	seq    int
	buf    bytes.Buffer
}

func (t *registerTask) prepare(context.Context) error { return nil }

func (t *registerTask) do(ctx context.Context) (outcome, error) {
	t.seq++
	body, err := json.Marshal(credentials{
		Email:    t.prefix + strconv.Itoa(t.seq) + "@example.com",
		Password: t.r.cfg.password(t.seq),
	})
	if err != nil {
		return outcome{code: "other"}, err
	}
	req, err := newJSONPost(ctx, t.r.urls.register, body)
	if err != nil {
		return outcome{code: "other"}, err
	}
	return send(t.r.tr, req, &t.buf, false)
}

// getTask repeats one prebuilt GET (me with a Bearer token, or healthz):
// the fast paths, where the client's own cost matters most.
type getTask struct {
	r           *runner
	url, bearer string
	req         *http.Request
	buf         bytes.Buffer
}

func (t *getTask) prepare(ctx context.Context) error {
	if t.req != nil {
		return nil
	}
	var err error
	t.req, err = newGet(ctx, t.url, t.bearer)
	return err
}

func (t *getTask) do(context.Context) (outcome, error) {
	return send(t.r.tr, t.req, &t.buf, false)
}

// refreshTask holds one session and refreshes it again and again, always
// presenting the newest refresh token, as a well-behaved client does. When
// the session dies (401) it logs in again before its next request.
type refreshTask struct {
	r            *runner
	user         benchUser
	refreshToken string
	relogins     int
	buf          bytes.Buffer
}

func (t *refreshTask) prepare(ctx context.Context) error {
	if t.refreshToken != "" {
		return nil
	}
	tok, err := t.r.login(ctx, t.user)
	if err != nil {
		return err
	}
	t.refreshToken = tok.RefreshToken
	t.relogins++
	return nil
}

func (t *refreshTask) do(ctx context.Context) (outcome, error) {
	body, err := json.Marshal(refreshBody{RefreshToken: t.refreshToken})
	if err != nil {
		return outcome{code: "other"}, err
	}
	req, err := newJSONPost(ctx, t.r.urls.refresh, body)
	if err != nil {
		return outcome{code: "other"}, err
	}
	o, err := send(t.r.tr, req, &t.buf, true)
	switch {
	case err != nil:
	case o.status == http.StatusOK:
		var tok tokens
		if json.Unmarshal(t.buf.Bytes(), &tok) != nil || tok.RefreshToken == "" {
			t.refreshToken = ""
			return o, errors.New("refresh: 200 without refresh_token")
		}
		t.refreshToken = tok.RefreshToken
	case o.status == http.StatusUnauthorized:
		t.refreshToken = "" // the session is gone; log in again untimed
	}
	return o, err
}

// forEach calls fn for 0..n-1 on par goroutines and returns the first
// error; the others stop taking new work once one fails.
func forEach(ctx context.Context, n, par int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	for range min(max(par, 1), n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// retryable reports whether a setup request is worth repeating: the server
// shedding load or briefly unavailable, or a transport hiccup.
func retryable(o outcome) bool {
	return o.status == 0 || o.status == http.StatusServiceUnavailable
}

// describe renders a failed setup request for an error message, with the
// problem's detail and field errors, and a hint where the cause is the
// server's protection rather than the load tool.
func describe(o outcome, body []byte, err error) string {
	if err != nil {
		return err.Error()
	}
	s := o.String()
	var p struct {
		Detail string `json:"detail"`
		Errors []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &p) == nil {
		if p.Detail != "" {
			s += ": " + p.Detail
		}
		for _, e := range p.Errors {
			s += "; " + e.Field + " " + e.Message
		}
	}
	switch o.code {
	case "rate_limited":
		s += " (run the server with AUTH_RATE_LIMIT_PER_MINUTE=0 for load tests)"
	case "account_locked":
		s += " (run the server with AUTH_LOCKOUT_THRESHOLD=0 or wait for AUTH_LOCKOUT_DURATION)"
	}
	return s
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sortedStatuses returns the keys of a status count map in order.
func sortedStatuses(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
