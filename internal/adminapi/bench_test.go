package adminapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/breaker"
	"github.com/authserve/authserve/internal/httpapi"
	"github.com/authserve/authserve/internal/sqlstore"
	"github.com/authserve/authserve/internal/token"
)

// BenchmarkLoginAudit measures what the audit log costs logins: the same
// login flood (8 clients, each its own account, through the public
// handler with the breaker, the SQL lockout and real bcrypt) against two
// services on two databases of one engine, the audit log off on one and
// on on the other (a user.login_succeeded row in every login's
// transaction). The two run in alternating windows, so that the load of
// a shared machine falls on both alike.
//
// Reported, as medians over the windows: logins/s of each, and the
// process's CPU time per login (user + system, getrusage) of each, and
// audit-cost-% from the CPU times. At 8 clients logins are CPU-bound
// (bcrypt), so throughput is the cores divided by the CPU per login, and
// the CPU per login is the measure that other processes on a shared
// machine do not distort: wall-clock windows there swing by a factor of
// two or more. (With SQLite the database's work is in this process and
// counted; a PostgreSQL or MariaDB server's own CPU is not.)
//
//	AUTH_BENCH_BCRYPT_COST (default 10), AUTH_BENCH_ROUNDS (default 6),
//	AUTH_BENCH_WINDOW (default 2s); PostgreSQL and MariaDB too when
//	their test URLs are set. Run once: -run '^$' -bench LoginAudit -benchtime 1x
func BenchmarkLoginAudit(b *testing.B) {
	cost := benchInt("AUTH_BENCH_BCRYPT_COST", 10)
	rounds := benchInt("AUTH_BENCH_ROUNDS", 6)
	window, err := time.ParseDuration(cmpOr(os.Getenv("AUTH_BENCH_WINDOW"), "2s"))
	if err != nil {
		b.Fatal(err)
	}
	const clients = 8
	for _, eng := range engines {
		b.Run(eng.name, func(b *testing.B) {
			eng.skip(b)
			off := newBenchService(b, eng.opts(b), cost, false, clients)
			on := newBenchService(b, eng.opts(b), cost, true, clients)
			var offRates, onRates, offCPU, onCPU []float64
			for range b.N {
				for r := range rounds {
					// Alternate which goes first, so neither always
					// inherits the other's warm (or hot) machine.
					first, second := off, on
					if r%2 == 1 {
						first, second = on, off
					}
					ra, ca := first.flood(b, clients, window)
					rb, cb := second.flood(b, clients, window)
					if first == on {
						ra, rb, ca, cb = rb, ra, cb, ca
					}
					offRates, onRates = append(offRates, ra), append(onRates, rb)
					offCPU, onCPU = append(offCPU, ca), append(onCPU, cb)
				}
			}
			cOff, cOn := median(offCPU), median(onCPU)
			b.ReportMetric(median(offRates), "logins/s-audit-off")
			b.ReportMetric(median(onRates), "logins/s-audit-on")
			b.ReportMetric(cOff, "cpu-ms/login-audit-off")
			b.ReportMetric(cOn, "cpu-ms/login-audit-on")
			b.ReportMetric(100*(cOn-cOff)/cOff, "audit-cost-%")
			b.Logf("%s, bcrypt cost %d, %d clients, %d rounds of %v:\n  logins/s off %.1f\n  logins/s on  %.1f\n  cpu-ms/login off %.2f\n  cpu-ms/login on  %.2f",
				eng.name, cost, clients, rounds, window, offRates, onRates, offCPU, onCPU)
			on.check(b)
		})
	}
}

type benchService struct {
	handler http.Handler
	writer  *auth.AuditWriter
	db      *sqlstore.Store
	audit   bool
	logins  atomic.Int64
}

func newBenchService(b *testing.B, o sqlstore.Options, cost int, audit bool, clients int) *benchService {
	b.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	store := breaker.NewStore(db, db, breaker.Options{})
	hasher, err := auth.NewHasher(cost, runtime.GOMAXPROCS(0), time.Minute, nil)
	if err != nil {
		b.Fatal(err)
	}
	keys, _ := token.NewHMACKeySet([]byte("adminapi-bench-secret-0123456789abcdef"))
	tokens, _ := token.NewManager(token.Config{Issuer: "authserve", TTL: 15 * time.Minute}, keys)
	s := &benchService{db: db, audit: audit}
	deps := auth.Deps{Store: store, Hasher: hasher, Tokens: tokens, Lockout: store, Admin: store, AuditLog: store}
	if audit {
		s.writer = auth.NewAuditWriter(store, auth.AuditWriterOptions{})
		b.Cleanup(func() { s.writer.Close(context.Background()) })
		deps.Audit = s.writer
	}
	svc := auth.NewService(auth.Config{
		Password: auth.PasswordPolicy{MinLength: 8, MinClasses: 3}, RefreshTokenTTL: time.Hour, SessionMaxLifetime: 24 * time.Hour,
		LockoutThreshold: 5, LockoutAccountThreshold: 50, LockoutDuration: 15 * time.Minute,
	}, deps)
	for i := range clients {
		if _, err := svc.Register(ctx, auth.Registration{Email: fmt.Sprintf("bench%d@example.com", i), Password: testPassword}); err != nil {
			b.Fatal(err)
		}
	}
	s.handler = httpapi.NewHandler(httpapi.Options{Service: svc})
	return s
}

// flood runs clients logging in for d and returns logins per second and
// the process's CPU milliseconds per login.
func (s *benchService) flood(b *testing.B, clients int, d time.Duration) (float64, float64) {
	runtime.GC() // the previous window's garbage is not this one's cost
	cpu0 := cpuTime(b)
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for c := range clients {
		body := `{"email":"bench` + strconv.Itoa(c) + `@example.com","password":"` + testPassword + `"}`
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				req := httptest.NewRequest(http.MethodPost, "/api/auth/login", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				s.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Errorf("login = %d %s", rec.Code, rec.Body)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	cpu := cpuTime(b) - cpu0
	s.logins.Add(n.Load())
	return float64(n.Load()) / took.Seconds(), float64(cpu.Microseconds()) / 1000 / float64(max(n.Load(), 1))
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// check confirms the audited service did write an event per login.
func (s *benchService) check(b *testing.B) {
	evs, err := s.db.ListAudit(context.Background(), auth.AuditQuery{Event: "user.login_succeeded", Limit: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	if int64(len(evs)) != s.logins.Load() {
		b.Errorf("audit events = %d, want one per login (%d)", len(evs), s.logins.Load())
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func benchInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
