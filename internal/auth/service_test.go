package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/sqlstore"
	"github.com/authserve/authserve/internal/token"
)

const pw = "Corr3ct-Horse!"

// clock is a settable time source for the service under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingObserver counts events and password comparisons.
type countingObserver struct {
	mu       sync.Mutex
	events   map[string]int
	compares atomic.Int64
}

func (o *countingObserver) Event(name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.events == nil {
		o.events = map[string]int{}
	}
	o.events[name]++
}
func (o *countingObserver) HashQueued(int) {}
func (o *countingObserver) HashDone(op string, _, _ time.Duration) {
	if op == "compare" {
		o.compares.Add(1)
	}
}
func (o *countingObserver) count(name string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.events[name]
}

type fixture struct {
	svc   *auth.Service
	store *sqlstore.Store
	clock *clock
	obs   *countingObserver
}

func newFixture(t *testing.T, mutate func(*auth.Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "auth.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	obs := &countingObserver{}
	h, err := auth.NewHasher(4, 4, 5*time.Second, obs)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewHMACKeySet([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	tm, err := token.NewManager(token.Config{Issuer: "authserve", TTL: 15 * time.Minute}, keys)
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.Config{
		Password:                auth.PasswordPolicy{MinLength: 8, MinClasses: 3},
		RefreshTokenTTL:         720 * time.Hour,
		SessionMaxLifetime:      2160 * time.Hour,
		RefreshReuseInterval:    10 * time.Second,
		LockoutThreshold:        5,
		LockoutAccountThreshold: 50,
		LockoutDuration:         15 * time.Minute,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c := &clock{t: time.Now().UTC()}
	svc := auth.NewService(cfg, auth.Deps{
		Store: st, Hasher: h, Tokens: tm, Lockout: st,
		Logger: slog.New(slog.DiscardHandler), Observer: obs, Now: c.Now,
	})
	return &fixture{svc: svc, store: st, clock: c, obs: obs}
}

func (f *fixture) register(t *testing.T, email string) auth.User {
	t.Helper()
	u, err := f.svc.Register(context.Background(), auth.Registration{Email: email, Password: pw})
	if err != nil {
		t.Fatalf("Register(%q) = %v", email, err)
	}
	return u
}

func TestRegister(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.register(t, "  Alice@Example.COM ")
	if u.Email != "alice@example.com" || !u.IsActive || u.ID == 0 || strings.Contains(u.PasswordHash, pw) {
		t.Errorf("Register = %+v", u)
	}
	tests := []struct {
		name   string
		r      auth.Registration
		want   error
		fields []string
	}{
		{"same email other case", auth.Registration{Email: "ALICE@example.com", Password: pw}, auth.ErrEmailTaken, nil},
		{"every rule listed", auth.Registration{Email: "nope", Password: "abc", FirstName: strings.Repeat("x", 101)},
			nil, []string{"email", "password", "password", "first_name"}},
		{"missing password", auth.Registration{Email: "b@example.com"}, nil, []string{"password"}},
		{"name with control character", auth.Registration{Email: "c@example.com", Password: pw, LastName: "a\x00b"}, nil, []string{"last_name"}},
	}
	for _, tt := range tests {
		_, err := f.svc.Register(ctx, tt.r)
		if tt.want != nil {
			if !errors.Is(err, tt.want) {
				t.Errorf("%s: Register = %v, want %v", tt.name, err, tt.want)
			}
			continue
		}
		var v *auth.ValidationError
		if !errors.As(err, &v) {
			t.Fatalf("%s: Register = %v, want a validation error", tt.name, err)
		}
		var got []string
		for _, fe := range v.Fields {
			got = append(got, fe.Field)
		}
		if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
			t.Errorf("%s: fields = %v, want %v", tt.name, got, tt.fields)
		}
	}
	if n := f.obs.count("user.registered"); n != 1 {
		t.Errorf("user.registered events = %d, want 1", n)
	}
}

func TestConcurrentRegistrationOfOneEmail(t *testing.T) {
	f := newFixture(t, nil)
	var ok, taken atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_, err := f.svc.Register(context.Background(), auth.Registration{Email: "race@example.com", Password: pw})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, auth.ErrEmailTaken):
				taken.Add(1)
			default:
				t.Errorf("Register = %v, want nil or ErrEmailTaken", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || taken.Load() != 9 {
		t.Errorf("%d succeeded, %d taken; want 1 and 9", ok.Load(), taken.Load())
	}
}

func TestLoginAndAuthenticate(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	u := f.register(t, "alice@example.com")
	c := auth.Client{IP: "192.0.2.1", UserAgent: "test"}

	tok, err := f.svc.Login(ctx, "ALICE@example.com", pw, c)
	if err != nil || tok.User.ID != u.ID || tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresIn != 15*time.Minute {
		t.Fatalf("Login = %+v, %v", tok, err)
	}
	p, err := f.svc.Authenticate(ctx, tok.AccessToken)
	if err != nil || p.User.ID != u.ID || p.SessionID != tok.SessionID {
		t.Errorf("Authenticate = %+v, %v", p, err)
	}
	tests := []struct {
		name, email, password string
		want                  error
	}{
		{"wrong password", "alice@example.com", "Wr0ng-Horse!", auth.ErrInvalidCredentials},
		{"unknown email", "bob@example.com", pw, auth.ErrInvalidCredentials},
		{"malformed email", "not an email", pw, auth.ErrInvalidCredentials},
		{"73-byte password never matches", "alice@example.com", pw + strings.Repeat("x", 73-len(pw)), auth.ErrInvalidCredentials},
		{"password NFKC-normalised", "alice@example.com", "Ｃorr3ct-Horse!", nil},
	}
	for _, tt := range tests {
		_, err := f.svc.Login(ctx, tt.email, tt.password, auth.Client{IP: "192.0.2.99"})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Login = %v, want %v", tt.name, err, tt.want)
		}
	}
	var v *auth.ValidationError
	if _, err := f.svc.Login(ctx, "", "", c); !errors.As(err, &v) || len(v.Fields) != 2 {
		t.Errorf("Login with nothing = %v, want two field errors", err)
	}

	if _, err := f.svc.SetActive(ctx, "alice@example.com", false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Login(ctx, "alice@example.com", pw, c); !errors.Is(err, auth.ErrAccountDisabled) {
		t.Errorf("Login when disabled = %v, want ErrAccountDisabled", err)
	}
	if _, err := f.svc.Refresh(ctx, tok.RefreshToken); !errors.Is(err, auth.ErrAccountDisabled) {
		t.Errorf("Refresh when disabled = %v, want ErrAccountDisabled", err)
	}
	// Disabling ended the sessions: the access token is refused at once.
	if _, err := f.svc.Authenticate(ctx, tok.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Authenticate when disabled = %v, want ErrInvalidToken", err)
	}
	if _, err := f.svc.SetActive(ctx, "alice@example.com", true); err != nil {
		t.Fatal(err)
	}
	// Enabling again does not bring the old session back.
	if _, err := f.svc.Refresh(ctx, tok.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Refresh of a session ended by disabling, once enabled = %v, want ErrInvalidToken", err)
	}
	if _, err := f.svc.DeleteUser(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, tok.AccessToken); !errors.Is(err, auth.ErrUserNotFound) && !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Authenticate after delete = %v, want ErrUserNotFound or ErrInvalidToken", err)
	}
	f.clock.Advance(16 * time.Minute)
	if _, err := f.svc.Authenticate(ctx, tok.AccessToken); !errors.Is(err, auth.ErrTokenExpired) {
		t.Errorf("Authenticate after expiry = %v, want ErrTokenExpired", err)
	}
}

func TestLockout(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.LockoutThreshold = 3; c.LockoutAccountThreshold = 5 })
	ctx := context.Background()
	f.register(t, "alice@example.com")
	attacker := auth.Client{IP: "203.0.113.1"}
	for i := range 3 {
		if _, err := f.svc.Login(ctx, "alice@example.com", "Wr0ng-Horse!", attacker); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("failure %d = %v", i, err)
		}
	}
	_, err := f.svc.Login(ctx, "alice@example.com", pw, attacker)
	if d, ok := auth.RetryAfter(err); !errors.Is(err, auth.ErrLocked) || !ok || d <= 0 || d > 15*time.Minute {
		t.Errorf("right password from the locked address = %v (retry %v), want ErrLocked", err, d)
	}
	if n := f.obs.count("user.locked"); n != 1 {
		t.Errorf("user.locked events = %d, want 1", n)
	}
	// The victim, elsewhere, is not locked out by the attacker.
	if _, err := f.svc.Login(ctx, "alice@example.com", pw, auth.Client{IP: "198.51.100.7"}); err != nil {
		t.Errorf("login from another address = %v, want success", err)
	}
	// Unknown emails lock exactly like known ones.
	for range 3 {
		f.svc.Login(ctx, "ghost@example.com", pw, attacker)
	}
	if _, err := f.svc.Login(ctx, "ghost@example.com", pw, attacker); !errors.Is(err, auth.ErrLocked) {
		t.Errorf("unknown email after 3 failures = %v, want ErrLocked", err)
	}
	f.clock.Advance(15*time.Minute + time.Second)
	if _, err := f.svc.Login(ctx, "alice@example.com", pw, attacker); err != nil {
		t.Errorf("login after the lock expired = %v, want success", err)
	}

	// A success resets the per-address count.
	other := auth.Client{IP: "203.0.113.2"}
	for range 2 {
		f.svc.Login(ctx, "alice@example.com", "Wr0ng-Horse!", other)
	}
	if _, err := f.svc.Login(ctx, "alice@example.com", pw, other); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		f.svc.Login(ctx, "alice@example.com", "Wr0ng-Horse!", other)
	}
	if _, err := f.svc.Login(ctx, "alice@example.com", pw, other); err != nil {
		t.Errorf("login after 2+2 failures split by a success = %v, want success", err)
	}
}

func TestAccountWideLockout(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.LockoutThreshold = 3; c.LockoutAccountThreshold = 4 })
	ctx := context.Background()
	f.register(t, "alice@example.com")
	for i := range 4 {
		ip := auth.Client{IP: "203.0.113." + string(rune('1'+i))}
		f.svc.Login(ctx, "alice@example.com", "Wr0ng-Horse!", ip)
	}
	if _, err := f.svc.Login(ctx, "alice@example.com", pw, auth.Client{IP: "198.51.100.7"}); !errors.Is(err, auth.ErrLocked) {
		t.Errorf("login after failures spread over addresses = %v, want ErrLocked everywhere", err)
	}
}

// Parallel guesses cannot buy more real password checks than the
// threshold: counting is atomic and happens before bcrypt.
func TestParallelGuessesBoundedByThreshold(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.LockoutThreshold = 5 })
	f.register(t, "alice@example.com")
	before := f.obs.compares.Load()
	var wg sync.WaitGroup
	var locked atomic.Int32
	for range 30 {
		wg.Go(func() {
			_, err := f.svc.Login(context.Background(), "alice@example.com", "Wr0ng-Horse!", auth.Client{IP: "203.0.113.9"})
			if errors.Is(err, auth.ErrLocked) {
				locked.Add(1)
			}
		})
	}
	wg.Wait()
	if n := f.obs.compares.Load() - before; n > 5 {
		t.Errorf("%d password comparisons for 30 parallel guesses, want at most 5", n)
	}
	if locked.Load() < 25 {
		t.Errorf("%d of 30 refused as locked, want at least 25", locked.Load())
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.register(t, "alice@example.com")
	tok, err := f.svc.Login(ctx, "alice@example.com", pw, auth.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	next, err := f.svc.Refresh(ctx, tok.RefreshToken)
	if err != nil || next.RefreshToken == tok.RefreshToken || next.SessionID != tok.SessionID {
		t.Fatalf("Refresh = %+v, %v", next, err)
	}
	// Within the grace interval a second tab's refresh succeeds too.
	f.clock.Advance(5 * time.Second)
	if _, err := f.svc.Refresh(ctx, tok.RefreshToken); err != nil {
		t.Errorf("Refresh within the grace interval = %v, want success", err)
	}
	// After it, the spent token is theft: the whole family is revoked.
	f.clock.Advance(6 * time.Second)
	if _, err := f.svc.Refresh(ctx, tok.RefreshToken); !errors.Is(err, auth.ErrRefreshReused) {
		t.Errorf("Refresh after the grace interval = %v, want ErrRefreshReused", err)
	}
	if _, err := f.svc.Refresh(ctx, next.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Refresh of a sibling after reuse = %v, want ErrInvalidToken", err)
	}
	if _, err := f.svc.Authenticate(ctx, next.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("access token of a revoked family = %v, want ErrInvalidToken", err)
	}
	if n := f.obs.count("token.reuse_detected"); n != 1 {
		t.Errorf("token.reuse_detected events = %d, want 1", n)
	}
	if _, err := f.svc.Refresh(ctx, "not-a-token"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Refresh of garbage = %v, want ErrInvalidToken", err)
	}
	var v *auth.ValidationError
	if _, err := f.svc.Refresh(ctx, ""); !errors.As(err, &v) {
		t.Errorf("Refresh of nothing = %v, want a validation error", err)
	}
}

func TestRefreshExpiryAndSessionDeadline(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.RefreshTokenTTL = time.Hour; c.SessionMaxLifetime = 90 * time.Minute })
	ctx := context.Background()
	f.register(t, "alice@example.com")
	tok, _ := f.svc.Login(ctx, "alice@example.com", pw, auth.Client{})
	f.clock.Advance(61 * time.Minute)
	if _, err := f.svc.Refresh(ctx, tok.RefreshToken); !errors.Is(err, auth.ErrTokenExpired) {
		t.Errorf("Refresh of an expired token = %v, want ErrTokenExpired", err)
	}
	tok, _ = f.svc.Login(ctx, "alice@example.com", pw, auth.Client{})
	f.clock.Advance(50 * time.Minute)
	next, err := f.svc.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	// The session's absolute lifetime ends 90 minutes after login, however
	// recently it was refreshed.
	f.clock.Advance(41 * time.Minute)
	if _, err := f.svc.Refresh(ctx, next.RefreshToken); !errors.Is(err, auth.ErrTokenExpired) {
		t.Errorf("Refresh past the session deadline = %v, want ErrTokenExpired", err)
	}
}

func TestStrictRefreshRace(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.RefreshReuseInterval = 0 })
	ctx := context.Background()
	f.register(t, "alice@example.com")
	tok, _ := f.svc.Login(ctx, "alice@example.com", pw, auth.Client{})
	var ok, reused atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_, err := f.svc.Refresh(ctx, tok.RefreshToken)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, auth.ErrRefreshReused):
				reused.Add(1)
			default:
				t.Errorf("Refresh = %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || reused.Load() != 9 {
		t.Errorf("%d succeeded, %d reused; want 1 and 9", ok.Load(), reused.Load())
	}
}

func TestLogoutAndSessions(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.register(t, "alice@example.com")
	f.register(t, "bob@example.com")
	a1, _ := f.svc.Login(ctx, "alice@example.com", pw, auth.Client{IP: "192.0.2.1", UserAgent: "phone"})
	f.clock.Advance(time.Second)
	a2, _ := f.svc.Login(ctx, "alice@example.com", pw, auth.Client{IP: "192.0.2.2", UserAgent: "laptop"})
	b1, _ := f.svc.Login(ctx, "bob@example.com", pw, auth.Client{})
	p, err := f.svc.Authenticate(ctx, a2.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.Sessions(ctx, p)
	if err != nil || len(list) != 2 || list[0].ID != a2.SessionID || list[0].UserAgent != "laptop" || list[1].ClientIP != "192.0.2.1" {
		t.Fatalf("Sessions = %+v, %v", list, err)
	}
	if err := f.svc.RevokeSession(ctx, p, b1.SessionID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("revoking another user's session = %v, want ErrNotFound", err)
	}
	if err := f.svc.RevokeSession(ctx, p, a1.SessionID); err != nil {
		t.Errorf("RevokeSession = %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, a1.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("access token of a revoked session = %v, want ErrInvalidToken", err)
	}
	if err := f.svc.Logout(ctx, a2.RefreshToken); err != nil {
		t.Errorf("Logout = %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, a2.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("access token after logout = %v, want ErrInvalidToken", err)
	}
	for _, tok := range []string{a2.RefreshToken, "unknown"} {
		if err := f.svc.Logout(ctx, tok); err != nil {
			t.Errorf("Logout(%q) again = %v, want nil (RFC 7009)", tok, err)
		}
	}
	if n, err := f.svc.RevokeAllSessions(ctx, "bob@example.com"); err != nil || n != 1 {
		t.Errorf("RevokeAllSessions = %d, %v; want 1", n, err)
	}
	if us, err := f.svc.ListUsers(ctx, 0); err != nil || len(us) != 2 {
		t.Errorf("ListUsers = %d users, %v", len(us), err)
	}
	if _, err := f.svc.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("UserByEmail(unknown) = %v", err)
	}
}
